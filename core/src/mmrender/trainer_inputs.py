"""From refs to pixels: fetch and verify every image and video a sample names, then run its family's processor.

Why here and not in the renderer: a trainer holds samples (ids plus raw refs), not a renderer. Each
ref names its layout family; that family's :class:`~mmrender.family.LayoutEngine` (for a video,
:class:`~mmrender.video.VideoLayoutEngine`) re-checks the layout and carries the processor
(``process``), so core finds the processor through the same registration that re-checks refs,
without naming a family.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import background
from .dispatch import engines_for, open_store, video_engines_for
from .errors import ConfigError, RefError, UnknownFamilyError
from .materialize import MaterializedImage, materialize
from .materialize_video import MaterializedVideo
from .storage import Store
from .types import MultiModalData, ProcessedMMItem

if TYPE_CHECKING:
    import numpy as np

    from .family import LayoutEngine
    from .video import VideoLayoutEngine

#: The modalities refs and processors handle: images, and videos (their sampled frames).
IMAGE, VIDEO = "image", "video"
MODALITIES = (IMAGE, VIDEO)

#: One stream entry: ``(modality, mm_hash, item)``.
Entry = tuple[str, str, Any]
#: A fetched raw item: the materialized ref and its pixels (a PIL image, or a video's ``(N, H, W, 3)`` frames).
Fetched = tuple[MaterializedImage | MaterializedVideo, Any]


def processed_inputs(sample_or_multi_modal_data: Any, *, store: Store | str | None = None) -> dict[str, np.ndarray]:
    """The processor outputs (``pixel_values``, ``image_grid_thw``, ``pixel_values_videos``,
    ``video_grid_thw``, …) for every image and video of a sample, each modality in stream order.

    ``sample_or_multi_modal_data`` is a :class:`~mmrender.samples.TrainingSample`, a
    :class:`~mmrender.types.RenderedTokens`, a :class:`~mmrender.types.MultiModalData`, or the JSON
    dict of any of them (as read back from a dataset line). Every ref is fetched (from ``store``
    when given, see :func:`~mmrender.materialize.fetch_bytes`), checked against its ``mm_hash``
    (:class:`~mmrender.errors.AssetIntegrityError` otherwise) and its layout re-computed from the
    header; the images (and each video's sampled frames) then go through their family's transformers
    processor in one call per run, so the arrays are bit-identical to running that processor on the
    originals. A sample with no images or videos gives ``{}``.
    """
    return processed_batch([sample_or_multi_modal_data], store=store)


def processed_batch(samples: Iterable[Any], *, store: Store | str | None = None) -> dict[str, np.ndarray]:
    """:func:`processed_inputs` over several samples at once: their items in order, one processor call per run."""
    entries = [entry for sample in samples for entry in stream_entries(multi_modal_data_of(sample))]
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
    return [(mm_hash, item) for _modality, mm_hash, item in stream_entries(mmd)]


def stream_entries(mmd: MultiModalData | Mapping[str, Any]) -> list[Entry]:
    """``(modality, mm_hash, item)`` of every multimodal item, ordered by where its placeholders start."""
    get = mmd.get if isinstance(mmd, Mapping) else lambda key: getattr(mmd, key)
    hashes, places, items = get("mm_hashes") or {}, get("mm_placeholders") or {}, get("mm_items") or {}
    found: list[tuple[int, str, str, Any]] = []
    for modality, modality_hashes in hashes.items():
        modality_items = list(items.get(modality, ()))
        modality_places = list(places.get(modality, ()))
        if len(modality_items) != len(modality_hashes) or len(modality_places) != len(modality_hashes):
            raise RefError(
                f"multi_modal_data for {modality!r} has {len(modality_hashes)} hashes, {len(modality_items)} items "
                f"and {len(modality_places)} placeholder ranges; they must be parallel"
            )
        if modality_hashes and modality not in MODALITIES:
            raise ConfigError(f"processed_inputs handles image and video items only, not {modality!r}")
        for mm_hash, item, place in zip(modality_hashes, modality_items, modality_places, strict=True):
            offset = place["offset"] if isinstance(place, Mapping) else place.offset
            found.append((int(offset), modality, str(mm_hash), item))
    found.sort(key=lambda entry: entry[0])
    return [(modality, mm_hash, item) for _offset, modality, mm_hash, item in found]


def fetch_all(entries: Sequence[Entry], store: Store | None) -> list[ProcessedMMItem | Fetched]:
    """Every raw item fetched, verified and decoded on worker threads (reads, sha256 and decoding release
    the GIL); processed items as they are. The first failure in stream order is raised."""
    fetched = [
        item if isinstance(item, ProcessedMMItem) else background.submit(lambda i=item, h=mm_hash: _fetch(i, h, store))
        for _modality, mm_hash, item in entries
    ]
    return [entry if isinstance(entry, ProcessedMMItem) else entry.result() for entry in fetched]


def _process(entries: Sequence[Entry], store: Store | None) -> dict[str, np.ndarray]:
    """Fetch everything first, then run each run of items that share one processor in one call; images
    and videos are processed apart (each modality keeps its stream order, as in transformers' processor)."""
    ready = fetch_all(entries, store)
    outputs: list[tuple[str, ProcessedMMItem]] = []
    for modality in MODALITIES:
        run: list[Fetched] = []
        for (kind, _hash, _item), entry in zip(entries, ready, strict=True):
            if kind != modality:
                continue
            if run and (isinstance(entry, ProcessedMMItem) or _run_key(entry[0]) != _run_key(run[0][0])):
                outputs.append((modality, _process_run(run)))
                run = []
            if isinstance(entry, ProcessedMMItem):
                outputs.append((modality, entry))  # a processed-mode render already holds its processor outputs
            else:
                run.append(entry)
        if run:
            outputs.append((modality, _process_run(run)))
    return _concatenate(outputs)


def _fetch(item: Any, mm_hash: str, store: Store | None) -> Fetched:
    """Bytes verified against ``mm_hash``, the layout re-computed from their header (materialize), then
    the upright RGB pixels the processor takes: an image's, or a video's sampled frames."""
    found = materialize(item, mm_hash=mm_hash, store=store)
    if isinstance(found, MaterializedVideo):
        return found, found.frames()
    return found, found.pixels()


def _run_key(found: MaterializedImage | MaterializedVideo) -> tuple[str, tuple[tuple[str, Any], ...]]:
    layout = found.layout
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


def _video_engine_for(video: MaterializedVideo) -> VideoLayoutEngine:
    """The video engine of the ref's family that carries a processor (``VideoLayoutEngine.process``)."""
    for engine in video_engines_for(video.ref.family):
        if engine.process is not None:
            return engine
    raise UnknownFamilyError(
        f"no installed {video.ref.family!r} video layout engine provides a video processor "
        f"(VideoLayoutEngine.process) for ref {video.ref.mm_hash}; install the family package that registers one"
    )


def _process_run(run: list[Fetched]) -> ProcessedMMItem:
    """One processor call for items of one family and parameter set; its grids must equal the layouts'."""
    found = [item for item, _pixels in run]
    first = found[0].layout
    assert first is not None
    if isinstance(found[0], MaterializedVideo):
        video_engine = _video_engine_for(found[0])
        assert video_engine.process is not None
        out = video_engine.process([pixels for _item, pixels in run], dict(first.params))
        what = "video"
    else:
        engine = _engine_for(found[0])
        assert engine.process is not None
        params = dict(first.params) if first.params is not None else dict(engine.default_params)
        out = engine.process([pixels for _item, pixels in run], params)
        what = "image"
    expected = [int(v) for item in found if item.layout is not None for v in item.layout.grid]
    if out.grid is None or [int(v) for v in out.grid] != expected:
        raise ConfigError(
            f"the {first.family!r} {what} processor produced grids {list(out.grid or ())} for "
            f"{len(found)} {what}(s), but their layouts say {expected}"
        )
    return out


def _concatenate(parts: list[tuple[str, ProcessedMMItem]]) -> dict[str, np.ndarray]:
    """Join per-run outputs key by key along the item/patch axis (every key is per-item rows); items of
    one modality must produce the same keys."""
    if not parts:
        return {}
    import numpy as np

    keys: dict[str, list[str]] = {}
    for modality, part in parts:
        found = keys.setdefault(modality, list(part.data))
        if list(part.data) != found:
            raise ConfigError(
                f"{modality} items of one batch produced different processor outputs: {found} and {list(part.data)}"
            )
    joined: dict[str, np.ndarray] = {}
    for modality, names in keys.items():
        arrays = [part.data for kind, part in parts if kind == modality]
        for key in names:
            if key in joined:
                raise ConfigError(f"image and video processors both produced {key!r}")
            values = [np.asarray(data[key]) for data in arrays]
            joined[key] = values[0] if len(values) == 1 else np.concatenate(values, axis=0)
    return joined
