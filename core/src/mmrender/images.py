"""Read image sources to bytes and probe their size from the header, never decoding pixels."""

from __future__ import annotations

import base64
import binascii
import io
import os
import warnings
from pathlib import Path
from typing import Any

import attrs
from PIL import Image, UnidentifiedImageError

from .errors import FetchRefusedError, ImageSourceError, StorageError
from .storage import read_uri, scheme_of

#: Formats every supported vision processor decodes; others are refused up front.
SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP"})
FETCH_ENV = "MMRENDER_FETCH_POLICY"


@attrs.frozen
class ImageBytes:
    """Encoded image bytes plus what the header said about them."""

    data: bytes = attrs.field(repr=False)
    width: int
    height: int
    format: str
    origin: str

    @property
    def mime(self) -> str:
        return Image.MIME.get(self.format, "application/octet-stream")


def _describe(source: Any) -> str:
    if isinstance(source, str):
        return source if len(source) <= 80 else source[:60] + "…"
    if isinstance(source, bytes | bytearray | memoryview):
        return f"<{len(source)} bytes>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.size[0]}x{source.size[1]}>"
    return f"<{type(source).__name__}>"


def decode_data_uri(uri: str) -> bytes:
    """Strictly decode a base64 ``data:image/…`` URI; undecodable input is an error, never passed through."""
    header, sep, body = uri.partition(",")
    if not sep or not header.startswith("data:"):
        raise ImageSourceError("malformed data URI (no comma)", source=_describe(uri))
    mime = header[5:].split(";")[0].strip().lower()
    if mime and not mime.startswith("image/"):
        raise ImageSourceError(f"data URI media type {mime!r} is not an image", source=_describe(uri))
    if ";base64" not in header.lower():
        raise ImageSourceError("data URI is not base64-encoded", source=_describe(uri))
    try:
        return base64.b64decode(body.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageSourceError(f"data URI base64 does not decode: {exc}", source=_describe(uri)) from exc


def _fetch_allowed() -> bool:
    return os.environ.get(FETCH_ENV, "").strip().lower() in ("allow", "http", "1")


def source_bytes(source: Any) -> tuple[bytes, str]:
    """Return the encoded bytes behind an image source and a short label naming it."""
    label = _describe(source)
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), label
    if isinstance(source, Image.Image):
        buf = io.BytesIO()
        fmt = source.format if source.format in SUPPORTED_FORMATS else "PNG"
        source.save(buf, format=fmt)
        return buf.getvalue(), label
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        raise ImageSourceError(f"unsupported image source type {type(source).__name__}", source=label)
    if source.startswith("data:"):
        return decode_data_uri(source), label
    scheme = scheme_of(source)
    if scheme in ("http", "https") and not _fetch_allowed():
        raise FetchRefusedError(
            f"remote image URLs are not fetched unless {FETCH_ENV}=allow is set", source=label
        )
    try:
        if scheme == "file" and "://" not in source:
            return Path(source).read_bytes(), label
        return read_uri(source), label
    except FileNotFoundError as exc:
        raise ImageSourceError("image file not found", source=label) from exc
    except IsADirectoryError as exc:
        raise ImageSourceError("image path is a directory", source=label) from exc
    except PermissionError as exc:
        raise ImageSourceError("image file is not readable", source=label) from exc
    except StorageError as exc:
        raise ImageSourceError(str(exc), source=label) from exc


def _looks_complete(data: bytes, fmt: str) -> bool:
    """Cheap end-of-stream checks that catch truncated files without decoding pixels."""
    tail = data[-64:].rstrip(b"\x00\r\n ")
    if fmt == "JPEG":
        return tail.endswith(b"\xff\xd9")
    if fmt == "PNG":
        return b"IEND" in data[-32:]
    if fmt == "GIF":
        return tail.endswith(b";")
    if fmt == "WEBP":
        return len(data) >= 8 and int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return True


def probe(data: bytes, origin: str = "") -> ImageBytes:
    """Read width, height and format from the header; refuse non-images, truncation and bombs."""
    if not data:
        raise ImageSourceError("image is empty (0 bytes)", source=origin)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                fmt = img.format or ""
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise ImageSourceError("not a recognised image", source=origin) from exc
        raise ImageSourceError(f"image too large (decompression bomb guard): {exc}", source=origin) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageSourceError(f"image header is corrupt: {exc}", source=origin) from exc
    if fmt not in SUPPORTED_FORMATS:
        raise ImageSourceError(
            f"unsupported image format {fmt or 'unknown'} (supported: {', '.join(sorted(SUPPORTED_FORMATS))})",
            source=origin,
        )
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        raise ImageSourceError(
            f"image of {width}x{height} exceeds the {limit}-pixel limit (Image.MAX_IMAGE_PIXELS)", source=origin
        )
    if width <= 0 or height <= 0:
        raise ImageSourceError(f"image has an empty size {width}x{height}", source=origin)
    if not _looks_complete(data, fmt):
        raise ImageSourceError(f"{fmt} file is truncated", source=origin)
    return ImageBytes(data=data, width=width, height=height, format=fmt, origin=origin)


def load_image(source: Any) -> ImageBytes:
    """Source → verified-looking encoded bytes with their size (header read only)."""
    data, label = source_bytes(source)
    return probe(data, label)


def decode_pixels(data: bytes) -> Image.Image:
    """Decode to RGB pixels; only processed mode and consumers call this."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.convert("RGB")
