"""An image's displayed size from the first bytes of its file, for counting tokens without reading it whole.

Why: ``count_tokens`` (``mmrender lengths``) needs only the size an image is laid out from, and a
photo's header is a few kilobytes of a file of megabytes. A local JPEG or PNG is probed from its
first :data:`HEAD_BYTES`, its last bytes (the truncation check) and, for a PNG, the chunk headers
after the image data (an ``eXIf`` chunk may sit there); anything else, and any image whose prefix
does not hold its header (a JPEG whose EXIF/ICC segments run past the prefix), is read whole by
:func:`mmrender.images.load_image`, so sizes and errors are exactly what a render sees.
"""

from __future__ import annotations

import os
import stat
from typing import Any

import attrs

from .errors import ImageSourceError
from .images import TAIL_BYTES, UriReader, _describe, _supported_magic, load_image, max_image_bytes, probe_parts
from .storage import scheme_of

#: What a header-only read takes from the start of a file: the headers of nearly every JPEG and PNG.
HEAD_BYTES = 64 * 1024
#: Formats whose header parsers stop at the image data (so a prefix is enough) and read no further.
_PREFIX_FORMATS = ("JPEG", "PNG")


@attrs.frozen
class ImageHeader:
    """What the header says: the displayed size (EXIF orientation applied), format and orientation."""

    width: int
    height: int
    format: str
    origin: str
    orientation: int = 1


def read_header(source: Any, *, read_uri: UriReader | None = None) -> ImageHeader:
    """The header facts :func:`~mmrender.images.load_image` would give, reading as little as it can."""
    path = os.fspath(source) if isinstance(source, os.PathLike) else source
    local = isinstance(path, str) and path and not path.startswith("data:") and "://" not in path
    if local and scheme_of(path) == "file" and (header := _local_header(path)) is not None:
        return header
    image = load_image(source, read_uri=read_uri)
    return ImageHeader(image.width, image.height, image.format, image.origin, image.orientation)


def _local_header(path: str) -> ImageHeader | None:
    """The header of a regular local JPEG/PNG from a bounded read, or None to read it whole instead
    (missing, not a regular file, another format, or a header the prefix does not hold)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or not 0 < info.st_size <= max_image_bytes():
            return None
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        head = os.pread(fd, HEAD_BYTES, 0)
        if _supported_magic(head) not in _PREFIX_FORMATS:
            return None
        size = info.st_size
        tail = head[-TAIL_BYTES:] if len(head) >= size else os.pread(fd, TAIL_BYTES, max(size - TAIL_BYTES, 0))
        facts = probe_parts(head, tail, size, _describe(path), read_at=lambda offset, n: os.pread(fd, n, offset))
    except (ImageSourceError, OSError):
        return None
    finally:
        os.close(fd)
    return ImageHeader(*facts)
