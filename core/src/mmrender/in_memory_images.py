"""Encoded bytes for in-memory images (PIL images, numpy arrays) without changing a single pixel.

Why: the stored asset, its hash and processed mode must see exactly the pixels the caller handed
over. A PIL image that is still the unmodified file it was opened from keeps that file's bytes
(so it shares its hash with the path, and keeps the file's EXIF orientation); anything else is
encoded losslessly as PNG, upright (EXIF orientation applied first, as transformers' ``load_image``
would) and in a mode PNG stores exactly.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from .image_limits import SUPPORTED_FORMATS, max_image_bytes

#: Modes PNG stores bit-exactly; other modes are converted to RGB first, as every consumer does.
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I;16"})


def _same_pixels(img: Image.Image, reopened: Image.Image) -> bool:
    """Whether an already-decoded image still holds its file's pixels (and palette)."""
    reopened.load()
    if img.getpalette() != reopened.getpalette():
        return False
    return img.tobytes() == reopened.tobytes()


def _read_whole(fp: Any, limit: int) -> bytes | None:
    """All bytes of an open file object, leaving its position as it was (``None`` if over ``limit``)."""
    position = fp.tell()
    try:
        if fp.seek(0, io.SEEK_END) > limit:
            return None
        fp.seek(0)
        return fp.read()
    finally:
        fp.seek(position)


def unmodified_file_bytes(img: Image.Image) -> bytes | None:
    """The bytes of the file ``img`` was opened from, or ``None`` unless it is surely unmodified.

    Conservative: the image must name a file, be in a supported format and on its first frame. If its
    pixels were never loaded they cannot have been edited, and its still-open file is read; if they
    were, the file (by name) must hold exactly those pixels. The bytes must reopen with the image's
    format, mode and size. Any doubt returns ``None`` and the caller encodes PNG.
    """
    filename = getattr(img, "filename", None)
    if not isinstance(filename, str | bytes | os.PathLike) or not filename or img.format not in SUPPORTED_FORMATS:
        return None
    if getattr(img, "tell", lambda: 0)() != 0:
        return None
    loaded = getattr(img, "_im", None) is not None
    try:
        if not loaded and getattr(img, "fp", None) is not None:
            data = _read_whole(img.fp, max_image_bytes())
        else:
            path = Path(os.fsdecode(filename))
            data = path.read_bytes() if path.is_file() and path.stat().st_size <= max_image_bytes() else None
        if data is None:
            return None
        with Image.open(io.BytesIO(data)) as reopened:
            if (reopened.format, reopened.mode, reopened.size) != (img.format, img.mode, img.size):
                return None
            if loaded and not _same_pixels(img, reopened):
                return None
    except Exception:
        return None  # unreadable or undecodable file: fall back to encoding the pixels we were given
    return data


def encode_png(img: Image.Image) -> bytes:
    """Lossless PNG of the image as transformers would see it (upright; modes PNG can't hold → RGB)."""
    upright = ImageOps.exif_transpose(img)
    if upright.mode not in _PNG_MODES:
        upright = upright.convert("RGBA" if "A" in upright.mode or "a" in upright.mode else "RGB")
    buf = io.BytesIO()
    upright.save(buf, format="PNG")
    return buf.getvalue()


def pil_bytes(img: Image.Image) -> bytes:
    """Original file bytes for an unmodified file-backed image, else a lossless PNG."""
    original = unmodified_file_bytes(img)
    return original if original is not None else encode_png(img)


def array_to_image(array: Any) -> Image.Image:
    """A uint8 RGB numpy array as a PIL image, channels-first ``3xHxW`` or channels-last ``HxWx3``.

    These are the layouts transformers' image processors accept for RGB; like them, a shape that
    could be either (``3xHx3``) is read as channels-first. Other dtypes would need a rescale, and
    grey or RGBA arrays are not what the processors read as RGB, so both are refused.
    """
    import numpy as np

    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"numpy image arrays must be uint8, got {array.dtype}")
    if array.ndim != 3 or 3 not in (array.shape[0], array.shape[-1]):
        raise ValueError(f"numpy image arrays must be 3xHxW or HxWx3 (RGB), got shape {array.shape}")
    if array.shape[0] == 3:
        array = np.moveaxis(array, 0, -1)
    return Image.fromarray(np.ascontiguousarray(array))
