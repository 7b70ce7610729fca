"""From refs to pixels: fetch and verify every image a sample names, then run its family's image processor.

Why here and not in the renderer: a trainer holds samples (ids plus raw refs), not a renderer. Each
ref names its layout family; that family's :class:`~mmrender.family.LayoutEngine` re-checks the
layout and carries the processor (``LayoutEngine.process``), so core finds the processor through the
same registration that re-checks refs, without naming a family.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import background
from .dispatch import engines_for, open_store
from .errors import ConfigError, RefError, UnknownFamilyError
from .materialize import MaterializedImage, materialize
from .storage import Store
from .types import MultiModalData, ProcessedMMItem

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from .family import LayoutEngine

#: The modality refs and processors handle; video refs do not exist yet.
IMAGE = "image"


def processed_inputs(sample_or_multi_modal_data: Any, *, store: Store | str | None = None) -> dict[str, np.ndarray]:
    """The processor outputs (``pixel_values``, ``image_grid_thw``, …) for every image of a sample, in stream order.

    ``sample_or_multi_modal_data`` is a :class:`~mmrender.samples.TrainingSample`, a
    :class:`~mmrender.types.RenderedTokens`, a :class:`~mmrender.types.MultiModalData`, or the JSON
    dict of any of them (as read back from a dataset line). Every ref is fetched (from ``store``
    when given, see :func:`~mmrender.materialize.fetch_bytes`), checked against its ``mm_hash``
    (:class:`~mmrender.errors.AssetIntegrityError` otherwise) and its layout re-computed from the
    header; the images then go through their family's transformers image processor in one call, so
    the arrays are bit-identical to running that processor on the original images. A sample with
    no images gives ``{}``.
    """
    return processed_batch([sample_or_multi_modal_data], store=store)


def processed_batch(samples: Iterable[Any], *, store: Store | str | None = None) -> dict[str, np.ndarray]:
    """:func:`processed_inputs` over several samples at once: their images in order, one processor call per family."""
    entries = [entry for sample in samples for entry in stream_items(multi_modal_data_of(sample))]
    return _process(entries, open_store(store) if store is not None else None)


def multi_modal_data_of(value: Any) -> MultiModalData | Mapping[str, Any]:
    """The sidecar of a sample, a render, a sidecar, or the JSON dict of one of them."""
    if isinstance(value, MultiModalData):
        return value
    inner = getattr(value, "multi_modal_data", None)
    if isinstance(inner, MultiModalData | Mapping):
        return inner
    if isinstance(value, Mapping):
        if "multi_modal_data" in value:
            return multi_modal_data_of(value["multi_modal_data"])
        if "mm_hashes" in value:
            return value
    raise ConfigError(
        f"processed_inputs needs a TrainingSample, RenderedTokens or MultiModalData (or its JSON dict), "
        f"got {type(value).__name__}"
    )


def stream_items(mmd: MultiModalData | Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(mm_hash, item)`` of every multimodal item, ordered by where its placeholders start."""
    get = mmd.get if isinstance(mmd, Mapping) else lambda key: getattr(mmd, key)
    hashes, places, items = get("mm_hashes") or {}, get("mm_placeholders") or {}, get("mm_items") or {}
    found: list[tuple[int, str, Any]] = []
    for modality, modality_hashes in hashes.items():
        modality_items = list(items.get(modality, ()))
        modality_places = list(places.get(modality, ()))
        if len(modality_items) != len(modality_hashes) or len(modality_places) != len(modality_hashes):
            raise RefError(
                f"multi_modal_data for {modality!r} has {len(modality_hashes)} hashes, {len(modality_items)} items "
                f"and {len(modality_places)} placeholder ranges; they must be parallel"
            )
        if modality_hashes and modality != IMAGE:
            raise ConfigError(f"processed_inputs handles image items only, not {modality!r}")
        for mm_hash, item, place in zip(modality_hashes, modality_items, modality_places, strict=True):
            offset = place["offset"] if isinstance(place, Mapping) else place.offset
            found.append((int(offset), str(mm_hash), item))
    found.sort(key=lambda entry: entry[0])
    return [(mm_hash, item) for _offset, mm_hash, item in found]


def fetch_all(
    entries: Sequence[tuple[str, Any]], store: Store | None
) -> list[ProcessedMMItem | tuple[MaterializedImage, Image.Image]]:
    """Every raw item fetched, verified and decoded on worker threads (reads, sha256 and decoding release
    the GIL); processed items as they are. The first failure in stream order is raised."""
    fetched = [
        item if isinstance(item, ProcessedMMItem) else background.submit(lambda i=item, h=mm_hash: _fetch(i, h, store))
        for mm_hash, item in entries
    ]
    return [entry if isinstance(entry, ProcessedMMItem) else entry.result() for entry in fetched]


def _process(entries: Sequence[tuple[str, Any]], store: Store | None) -> dict[str, np.ndarray]:
    """Fetch everything first, then run each run of images that share one processor in one call."""
    ready = fetch_all(entries, store)
    outputs: list[ProcessedMMItem] = []
    run: list[tuple[MaterializedImage, Image.Image]] = []
    for entry in ready:
        if run and (isinstance(entry, ProcessedMMItem) or _run_key(entry[0]) != _run_key(run[0][0])):
            outputs.append(_process_run(run))
            run = []
        if isinstance(entry, ProcessedMMItem):
            outputs.append(entry)  # a processed-mode render already holds its processor outputs
        else:
            run.append(entry)
    if run:
        outputs.append(_process_run(run))
    return _concatenate([out.data for out in outputs])


def _fetch(item: Any, mm_hash: str, store: Store | None) -> tuple[MaterializedImage, Image.Image]:
    """Bytes verified against ``mm_hash``, the layout re-computed from their header (materialize), then
    the upright RGB pixels the processor takes (decoding releases the GIL, so images decode in parallel)."""
    image = materialize(item, mm_hash=mm_hash, store=store)
    return image, image.pixels()


def _run_key(image: MaterializedImage) -> tuple[str, tuple[tuple[str, Any], ...]]:
    layout = image.layout
    assert layout is not None  # materialize verifies the layout by default
    return layout.family, tuple(sorted((layout.params or {}).items()))


def _engine_for(image: MaterializedImage) -> LayoutEngine:
    """The engine that laid the ref out (same family, same parameter names) and carries a processor."""
    layout = image.layout
    assert layout is not None
    names = set(layout.params or image.ref.layout_params or {})
    candidates = [e for e in engines_for(layout.family) if e.process is not None]
    for engine in candidates:
        if not names or set(engine.default_params) == names:
            return engine
    raise UnknownFamilyError(
        f"no installed {layout.family!r} layout engine provides an image processor (LayoutEngine.process) "
        f"for ref {image.ref.mm_hash}; install the family package that registers one"
    )


def _process_run(run: list[tuple[MaterializedImage, Image.Image]]) -> ProcessedMMItem:
    """One processor call for images of one family and parameter set; its grids must equal the layouts'."""
    images = [image for image, _pixels in run]
    first = images[0].layout
    assert first is not None
    engine = _engine_for(images[0])
    assert engine.process is not None
    params = dict(first.params) if first.params is not None else dict(engine.default_params)
    out = engine.process([pixels for _image, pixels in run], params)
    expected = [int(v) for image in images if image.layout is not None for v in image.layout.grid]
    if out.grid is None or [int(v) for v in out.grid] != expected:
        raise ConfigError(
            f"the {first.family!r} image processor produced grids {list(out.grid or ())} for "
            f"{len(images)} image(s), but their layouts say {expected}"
        )
    return out


def _concatenate(parts: list[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Join per-run outputs key by key along the image/patch axis (every key is per-image rows)."""
    if not parts:
        return {}
    import numpy as np

    keys = list(parts[0])
    for part in parts[1:]:
        if list(part) != keys:
            raise ConfigError(f"images of one batch produced different processor outputs: {keys} and {list(part)}")
    if len(parts) == 1:
        return {key: np.asarray(value) for key, value in parts[0].items()}
    return {key: np.concatenate([np.asarray(part[key]) for part in parts], axis=0) for key in keys}
