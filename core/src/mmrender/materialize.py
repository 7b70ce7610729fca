"""Consumer side: turn a ref back into verified bytes and pixels, re-checking its layout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import cattrs
from PIL import Image

from .dispatch import engines_for, open_store, read_uri
from .errors import (
    AssetIntegrityError,
    MMRenderError,
    RefError,
    RefFieldError,
    RefFormatError,
    UnknownFamilyError,
)
from .family import LayoutEngine
from .images import ImageBytes, decode_pixels, probe
from .ref_codecs import check_layout_params, layout_fingerprint, mm_hash_of, validate
from .refs import parse
from .storage import Store
from .types import RAW_ITEM_KIND, ImageLayout, RawMMItem, RawMMRef, converter
from .video import VIDEO_MODALITY

if TYPE_CHECKING:
    from .materialize_video import MaterializedVideo


@attrs.frozen
class MaterializedImage:
    ref: RawMMRef
    image: ImageBytes
    layout: ImageLayout | None

    def pixels(self) -> Image.Image:
        """Upright RGB pixels: the EXIF orientation is applied, as transformers' ``load_image`` and vLLM do."""
        return decode_pixels(self.image.data)


def _layout_for(ref: RawMMRef, width: int, height: int) -> ImageLayout:
    engines = engines_for(ref.family)
    if not engines:
        raise UnknownFamilyError(
            f"ref family {ref.family!r} is not provided by any installed plugin; install its family package"
        )
    if ref.layout_params is not None:
        return _layout_with_params(ref, engines, width, height)
    for engine in engines:
        if layout_fingerprint(engine.family, engine.default_params) == ref.fingerprint:
            return engine.compute(width, height, engine.default_params)
    raise UnknownFamilyError(
        f"ref fingerprint {ref.fingerprint} is not the default layout of any installed {ref.family!r} engine, "
        "and the ref carries no layout_params saying which parameters it used (a layout-hook override "
        "whose ImageLayout has no params, or another producer); its layout cannot be re-checked: "
        "materialize(..., verify_layout=False) checks the bytes by hash only"
    )


def _layout_with_params(ref: RawMMRef, engines: list[LayoutEngine], width: int, height: int) -> ImageLayout:
    """Lay the image out with the ref's own parameters, once they are proven to be the fingerprinted ones."""
    params = dict(ref.layout_params or {})
    check_layout_params(ref.family, ref.fingerprint, params)
    engine = next((e for e in engines if set(e.default_params) == set(params)), None)
    if engine is None:
        expected = " or ".join(str(sorted(e.default_params)) for e in engines)
        raise RefFieldError("layout_params", f"has keys {sorted(params)}; {ref.family!r} layouts take {expected}")
    try:
        if engine.check_params is not None:
            engine.check_params(params)
        layout = engine.compute(width, height, params)
    except MMRenderError:
        raise
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        raise RefFieldError("layout_params", f"{params} cannot lay out a {ref.family!r} image: {exc}") from exc
    if layout.fingerprint != ref.fingerprint:
        raise RefFieldError(
            "layout_params",
            f"the {ref.family!r} engine lays out {params} under fingerprint {layout.fingerprint}, "
            f"not the ref's {ref.fingerprint}",
        )
    return layout


def fetch_bytes(ref: RawMMRef, store: Store | str | None = None) -> bytes:
    """Bytes behind a ref, verified against its ``mm_hash``.

    With ``store`` the read is confined to that store: ``raw_image_id`` (the portable name under
    a shared root) is looked up there first, else ``raw_uri`` must be a location inside it — a
    ``file://`` or ``s3://`` ref that points elsewhere raises :class:`UnsafeLocatorError`.
    Inline ``data:`` refs carry their bytes and need no store. Without ``store`` the ``raw_uri``
    is read through its backend as is (trust the ref's producer).
    """
    if ref.raw_uri is not None and ref.raw_uri.startswith("data:"):
        data = read_uri(ref.raw_uri)
    elif store is not None:
        data = open_store(store).get(ref.raw_image_id if ref.raw_image_id is not None else ref.raw_uri or "")
    elif ref.raw_uri is not None:
        data = read_uri(ref.raw_uri)
    else:
        raise RefError("ref has only raw_image_id; pass the store it lives in")
    if mm_hash_of(data) != ref.mm_hash:
        raise AssetIntegrityError(f"bytes for {ref.mm_hash} hash to {mm_hash_of(data)} (tampered or wrong asset)")
    return data


def _from_mapping(value: Mapping[str, Any], mm_hash: str | None) -> RawMMRef | RawMMItem:
    """The JSON form of an ``mm_items`` entry (it has ``kind``) or of a ref (``mmrender ref inspect``)."""
    target: type[RawMMRef] | type[RawMMItem] = RawMMItem if "kind" in value else RawMMRef
    try:
        obj = converter.structure(dict(value), target)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        summary = "; ".join(cattrs.transform_error(exc)) if isinstance(exc, cattrs.BaseValidationError) else str(exc)
        what = "an mm_items entry" if target is RawMMItem else "a ref"
        raise RefFormatError(f"dict is not {what} in JSON form: {summary}") from exc
    if isinstance(obj, RawMMItem):
        if obj.kind != RAW_ITEM_KIND:
            raise RefFieldError("kind", f"must be {RAW_ITEM_KIND!r}, got {obj.kind!r}")
        return obj
    if mm_hash is not None and mm_hash != obj.mm_hash:
        raise RefFieldError("mm_hash", f"the dict says {obj.mm_hash}, the mm_hash argument {mm_hash}")
    return validate(obj)


def materialize(
    ref: RawMMRef | RawMMItem | Mapping[str, Any] | str,
    *,
    mm_hash: str | None = None,
    store: Store | str | None = None,
    verify_layout: bool = True,
) -> MaterializedImage | MaterializedVideo:
    """Fetch, verify (hash and, by default, layout) and return one image (or video).

    ``ref`` is a ref string, a :class:`RawMMRef`, an ``mm_items`` entry (with ``mm_hash``), or the
    JSON dict of either (as read back from a dataset line or printed by ``mmrender ref inspect``).
    A ``video`` ref gives a :class:`MaterializedVideo` whose ``frames()`` are the sampled ones.
    """
    if isinstance(ref, Mapping):
        ref = _from_mapping(ref, mm_hash)
    if isinstance(ref, str):
        ref = parse(ref)
    elif isinstance(ref, RawMMItem):
        if mm_hash is None:
            raise RefError("materialising an mm_items entry needs its mm_hash")
        ref = RawMMRef.from_item(ref, mm_hash)
    if ref.modality == VIDEO_MODALITY:
        from .materialize_video import materialize_video

        return materialize_video(ref, store=store, verify_layout=verify_layout)
    image = probe(fetch_bytes(ref, store), ref.raw_uri or ref.raw_image_id or "")
    layout = None
    if verify_layout:
        layout = _layout_for(ref, image.width, image.height)
        expected: dict[str, Any] = dict(layout.payload)
        if expected != dict(ref.payload):
            raise AssetIntegrityError(
                f"ref payload {dict(ref.payload)} does not match the layout of its {image.width}x{image.height} "
                f"image {expected}"
            )
    return MaterializedImage(ref=ref, image=image, layout=layout)
