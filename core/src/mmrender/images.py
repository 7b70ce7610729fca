"""Read image sources to bytes and probe their size from the header, never decoding pixels.

Everything here handles untrusted input, so: only the parsers of supported formats ever see the
bytes (``Image.open(formats=...)``), the pixel limit is checked from the header before anything
could decode, non-regular files (FIFOs, devices) are never opened, and every failure is an
:class:`ImageSourceError` that names its source.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import stat
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import FetchRefusedError, ImageFetchError, ImageSourceError, MMRenderError, NetworkError
from .image_limits import DEFAULT_MAX_BYTES, MAX_BYTES_ENV, SUPPORTED_FORMATS, max_image_bytes
from .in_memory_images import array_to_image, encode_png, pil_bytes
from .orientation import ReadAt, displayed_size, exif_orientation
from .storage import scheme_of

__all__ = ["DEFAULT_MAX_BYTES", "MAX_BYTES_ENV", "SUPPORTED_FORMATS", "ImageBytes", "load_image", "max_image_bytes"]

#: Reads a URI through the installed storage backends (:func:`mmrender.dispatch.read_uri`); handed in,
#: because this module sits below the plugin manager.
UriReader = Callable[[str], bytes]
#: The parsers ``Image.open`` may try (Pillow's JPEG parser is the one that yields MPO).
_OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
FETCH_ENV = "MMRENDER_FETCH_POLICY"
#: URI schemes that fetch from arbitrary hosts: refused unless a fetch policy allows them.
FETCH_SCHEMES = ("http", "https", "ftp")
_MIME = {"MPO": "image/jpeg"}
#: The end-of-file bytes the truncation checks look at.
TAIL_BYTES = 64

#: Magic numbers of common formats we refuse, so the error can name what it got.
_MAGIC = (
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x02\x00", "CUR"),
    (b"icns", "ICNS"),
    (b"%PDF", "PDF"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"qoif", "QOI"),
    (b"DDS ", "DDS"),
)


@attrs.frozen
class ImageBytes:
    """Encoded image bytes plus what the header said about them.

    ``width`` and ``height`` are the *displayed* size, after the EXIF ``orientation`` (1-8) is
    applied, as transformers' ``load_image`` and vLLM do; ``data`` stays the original bytes.
    """

    data: bytes = attrs.field(repr=False)
    width: int
    height: int
    format: str
    origin: str
    orientation: int = 1

    @property
    def stored_size(self) -> tuple[int, int]:
        """(width, height) as stored in the file, before the orientation is applied."""
        return displayed_size(self.width, self.height, self.orientation)

    @property
    def mime(self) -> str:
        return _MIME.get(self.format) or Image.MIME.get(self.format, "application/octet-stream")


def _describe(source: Any) -> str:
    if isinstance(source, str):
        return source if len(source) <= 80 else source[:60] + "…"
    if isinstance(source, bytes | bytearray | memoryview):
        return f"<{len(source)} bytes>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.size[0]}x{source.size[1]}>"
    if type(source).__module__ == "numpy" and hasattr(source, "shape"):
        return f"<numpy array {tuple(source.shape)}>"
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
        # Line-wrapped base64 (MIME style) is common; any other stray character is an error.
        return base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageSourceError(f"data URI base64 does not decode: {exc}", source=_describe(uri)) from exc


def bare_base64_image(text: str) -> bytes | None:
    """The bytes of a bare base64 string (no ``data:`` prefix) if they start like an image, else ``None``.

    transformers' ``load_image`` accepts such strings when they are not a file path; the magic-number
    check keeps a mistyped path (which may well be valid base64) reported as a missing file.
    """
    if len(text) < 16:
        return None
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if _supported_magic(data) or _name_unsupported(data) else None


def check_fetch_policy(uri: str, label: str | None = None) -> None:
    """Refuse remote (http/https/ftp) URIs unless ``$MMRENDER_FETCH_POLICY`` allows them.

    Values: unset, ``deny`` or ``none`` (default: refuse); ``allow`` (any host);
    ``allow-hosts:HOST[,HOST…]`` (only those host names). Fetching arbitrary URLs found in
    user data is a server-side request forgery risk, so it must be switched on deliberately.
    """
    label = label if label is not None else _describe(uri)
    policy = os.environ.get(FETCH_ENV, "").strip()
    lowered = policy.lower()
    if lowered in ("allow", "all", "1", "http"):
        return
    if lowered.startswith("allow-hosts:"):
        hosts = {h.strip().lower() for h in policy.split(":", 1)[1].split(",") if h.strip()}
        host = (urlsplit(uri).hostname or "").lower()
        if host in hosts:
            return
        raise FetchRefusedError(f"host {host!r} is not in {FETCH_ENV}=allow-hosts:…", source=label)
    if lowered not in ("", "deny", "none", "0"):
        raise FetchRefusedError(
            f"unknown {FETCH_ENV} value {policy!r} (use deny, allow or allow-hosts:HOST,…)", source=label
        )
    raise FetchRefusedError(
        f"remote image URLs are not fetched unless {FETCH_ENV}=allow (or allow-hosts:HOST,…) is set", source=label
    )


def _read_path(path: Path, label: str) -> bytes:
    """Read a local image file; FIFOs and devices are refused before they are opened (no hangs)."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise ImageSourceError("image file not found", source=label) from exc
    except OSError as exc:
        raise ImageSourceError(f"image file cannot be read: {exc.strerror or exc}", source=label) from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageSourceError("image path is a directory", source=label)
    if not stat.S_ISREG(info.st_mode):
        raise ImageSourceError("image path is not a regular file", source=label)
    if info.st_size > max_image_bytes():
        raise ImageSourceError(
            f"image file is {info.st_size} bytes, over the {max_image_bytes()}-byte limit ({MAX_BYTES_ENV})",
            source=label,
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImageSourceError(f"image file cannot be read: {exc.strerror or exc}", source=label) from exc


def source_bytes(source: Any, read_uri: UriReader | None = None) -> tuple[bytes, str]:
    """Return the encoded bytes behind an image source and a short label naming it.

    Paths, ``data:`` URIs, bytes, PIL images and arrays are read here; any other URI goes to ``read_uri``.
    """
    label = _describe(source)
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), label
    if isinstance(source, Image.Image):
        try:
            return pil_bytes(source), label
        except (OSError, ValueError) as exc:
            raise ImageSourceError(f"PIL image cannot be encoded as PNG: {exc}", source=label) from exc
    if type(source).__module__ == "numpy" and hasattr(source, "shape"):
        try:
            return encode_png(array_to_image(source)), label
        except (OSError, ValueError, TypeError) as exc:
            raise ImageSourceError(f"numpy image array cannot be used: {exc}", source=label) from exc
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        raise ImageSourceError(f"unsupported image source type {type(source).__name__}", source=label)
    if not source:
        raise ImageSourceError("image source is an empty string", source=label)
    if source.startswith("data:"):
        return decode_data_uri(source), label
    scheme = scheme_of(source)
    if scheme in FETCH_SCHEMES:
        check_fetch_policy(source, label)
    if scheme == "file" and "://" not in source:
        try:
            return _read_path(Path(source), label), label
        except ImageSourceError:  # only then: a path lookup per image is the hot path
            if not os.path.exists(source) and (decoded := bare_base64_image(source)) is not None:
                return decoded, "<base64 image>"
            raise
    if read_uri is None:
        raise ImageSourceError(
            f"{scheme}:// images are read through a storage backend: pass read_uri=mmrender.dispatch.read_uri",
            source=label,
        )
    try:
        return read_uri(source), label
    except NetworkError as exc:  # before FileNotFoundError: an unreachable host is not a missing file
        raise ImageFetchError.from_network(exc, source=label) from exc
    except FileNotFoundError as exc:
        raise ImageSourceError("image file not found", source=label) from exc
    except ImageSourceError:
        raise
    except MMRenderError as exc:
        raise ImageSourceError(str(exc), source=label) from exc
    except OSError as exc:
        raise ImageSourceError(f"image cannot be read: {exc}", source=label) from exc


def _looks_complete(head: bytes, tail: bytes, size: int, fmt: str, img: Image.Image) -> bool:
    """Cheap end-of-stream checks that catch truncated files without decoding pixels.

    ``head`` is the start of the file (or all of it), ``tail`` its last bytes, ``size`` its length.
    """
    end = tail[-64:].rstrip(b"\x00\r\n ")
    if fmt in ("JPEG", "MPO"):
        return end.endswith(b"\xff\xd9")
    if fmt == "PNG":
        return b"IEND" in tail[-32:]
    if fmt == "GIF":
        return end.endswith(b";")
    if fmt == "WEBP":
        return size >= 8 and int.from_bytes(head[4:8], "little") + 8 <= size
    if fmt == "BMP":
        declared = int.from_bytes(head[2:6], "little")  # bfSize; some writers leave it 0
        if declared and declared > size:
            return False
        tile = getattr(img, "tile", None) or []
        if len(tile) == 1 and tile[0][0] == "raw":
            offset, args = tile[0][2], tile[0][3]
            stride = args[1] if isinstance(args, tuple) and len(args) > 1 and args[1] else 0
            rows = img.size[1]
            if stride and offset + abs(stride) * rows > size:
                return False
    return True


def _supported_magic(data: bytes) -> str | None:
    """Which supported format the bytes claim to be (so a parser failure reads as corruption)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WEBP"
    if data.startswith(b"BM") and int.from_bytes(data[14:18], "little") in (12, 16, 40, 52, 56, 64, 108, 124):
        return "BMP"  # "BM" plus a known DIB header size
    return None


def _name_unsupported(data: bytes) -> str | None:
    head = data[:16]
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        brand = data[8:12].decode("ascii", "replace").strip()
        return {"avif": "AVIF", "heic": "HEIC", "heix": "HEIC", "mif1": "HEIF"}.get(brand, f"ISO-BMFF ({brand})")
    if head.lstrip().startswith((b"<svg", b"<?xml")):
        return "SVG/XML"
    return None


def probe(data: bytes, origin: str = "") -> ImageBytes:
    """Read width, height and format from the header; refuse non-images, truncation and bombs."""
    return ImageBytes(data, *probe_parts(data, data[-TAIL_BYTES:], len(data), origin))


def probe_parts(
    head: bytes, tail: bytes, size: int, origin: str = "", read_at: ReadAt | None = None
) -> tuple[int, int, str, str, int]:
    """(width, height, format, origin, orientation) of an image of ``size`` bytes from its first bytes
    ``head`` (all of them, or a prefix holding the header), its last ``TAIL_BYTES`` and ``read_at``
    (which a PNG's chunks after the image data are read with); the checks :func:`probe` makes."""
    if not size:
        raise ImageSourceError("image is empty (0 bytes)", source=origin)
    if size > max_image_bytes():
        raise ImageSourceError(
            f"image is {size} bytes, over the {max_image_bytes()}-byte limit ({MAX_BYTES_ENV})", source=origin
        )
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the supported formats' header parsers run; open() reads the header, never pixels.
            with Image.open(io.BytesIO(head), formats=_OPEN_FORMATS) as img:
                width, height = img.size
                fmt = img.format or ""
                complete = _looks_complete(head, tail, size, fmt, img)
                orientation = exif_orientation(img, head, read_at, size)
    except UnidentifiedImageError as exc:
        claimed = _supported_magic(head)
        if claimed:
            raise ImageSourceError(f"{claimed} header is corrupt or truncated", source=origin) from exc
        other = _name_unsupported(head)
        if other:
            raise ImageSourceError(
                f"unsupported image format {other} (supported: {', '.join(SUPPORTED_FORMATS)})", source=origin
            ) from exc
        raise ImageSourceError("not a recognised image", source=origin) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageSourceError(f"image too large (decompression bomb guard): {exc}", source=origin) from exc
    except Exception as exc:
        # Any failure of a header parser on untrusted bytes (struct.error, EOFError, SyntaxError …)
        # means the header is corrupt; none of them may escape as an untyped error.
        raise ImageSourceError(f"image header is corrupt: {type(exc).__name__}: {exc}", source=origin) from exc
    if limit is not None and width * height > limit:
        raise ImageSourceError(
            f"image of {width}x{height} exceeds the {limit}-pixel limit (Image.MAX_IMAGE_PIXELS)", source=origin
        )
    if width <= 0 or height <= 0:
        raise ImageSourceError(f"image has an empty size {width}x{height}", source=origin)
    if not complete:
        raise ImageSourceError(f"{fmt} file is truncated", source=origin)
    width, height = displayed_size(width, height, orientation)
    return width, height, fmt, origin, orientation


def mime_of(data: bytes) -> str:
    """The ``image/*`` media type of encoded bytes (``image/unknown`` when the header says nothing)."""
    try:
        return probe(data).mime
    except ImageSourceError:
        return "image/unknown"


def load_image(source: Any, *, read_uri: UriReader | None = None) -> ImageBytes:
    """Source → verified-looking encoded bytes with their size (header read only); URIs other than
    paths and ``data:`` are read with ``read_uri`` (a renderer passes its plugins' reader)."""
    data, label = source_bytes(source, read_uri)
    return probe(data, label)


def decode_pixels(data: bytes) -> Image.Image:
    """Decode to upright RGB pixels (EXIF orientation applied, as transformers' ``load_image`` does);
    only processed mode and consumers call this."""
    with Image.open(io.BytesIO(data), formats=_OPEN_FORMATS) as img:
        return ImageOps.exif_transpose(img).convert("RGB")
