"""An image's displayed size from the first bytes of its file, for counting tokens without reading it whole.

Why: ``count_tokens`` (``mmrender lengths``) needs only the size an image is laid out from, and a
photo's header is a few kilobytes of a file of megabytes. A local JPEG or PNG is probed from its
first :data:`HEAD_BYTES`, its last bytes (the truncation check) and, for a PNG, the chunk headers
after the image data (an ``eXIf`` chunk may sit there); anything else, and any image whose prefix
does not hold its header (a JPEG whose EXIF/ICC segments run past the prefix), is read whole by
:func:`mmrender.images.load_image`, so sizes and errors are exactly what a render sees. An image
behind a URI whose backend reads byte ranges (``s3://``, the other fsspec object stores and, where
the fetch policy allows fetching it, ``http(s)://``) is probed the same way through those ranges;
one that fails there in any way is read whole too.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Callable
from typing import Any

import attrs

from .errors import FetchRefusedError, ImageFetchError, ImageSourceError, NetworkError
from .images import (
    FETCH_SCHEMES,
    TAIL_BYTES,
    UriReader,
    _describe,
    _supported_magic,
    check_fetch_policy,
    load_image,
    max_image_bytes,
    probe_parts,
)
from .network import TIMED_OUT, TIMED_OUT_CONNECTING, TIMED_OUT_READING
from .storage import ObjectRanges, scheme_of

#: Opens a URI as byte ranges, fetching its first and last bytes, through the installed backends
#: (:func:`mmrender.dispatch.open_ranges`): ``open_ranges(uri, head, tail)``.
RangeOpener = Callable[[str, int, int], ObjectRanges | None]

#: What a header-only read takes from the start of a file: the headers of nearly every JPEG and PNG.
HEAD_BYTES = 64 * 1024
#: What a header read through byte ranges takes from the end of an object: the truncation check's
#: bytes and, on a PNG, the chunks that usually follow the image data (``eXIf``, ``IEND``).
END_BYTES = 4096
#: The least image data a PNG chunk header fetched on its own must let a header read skip: on S3 a
#: GET costs the client about the time and CPU of receiving this much more (see docs/performance.md).
MIN_SKIP = 256 * 1024
#: How many local files' headers a process remembers (keyed by what ``os.stat`` says of each file).
HEADER_CACHE_SIZE = 8192
#: Network failures that cost a whole timeout to learn: a header read reports them instead of reading whole.
_TIMEOUT_KINDS = frozenset({TIMED_OUT, TIMED_OUT_CONNECTING, TIMED_OUT_READING})
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


def read_header(
    source: Any, *, read_uri: UriReader | None = None, open_ranges: RangeOpener | None = None
) -> ImageHeader:
    """The header facts :func:`~mmrender.images.load_image` would give, reading as little as it can."""
    path = os.fspath(source) if isinstance(source, os.PathLike) else source
    header = None
    if isinstance(path, str) and path and not path.startswith("data:"):
        scheme = scheme_of(path)
        if scheme == "file" and "://" not in path:
            header = _local_header(path)
        elif open_ranges is not None and _may_fetch(path, scheme):
            header = _ranged_header(path, open_ranges)
    if header is not None:
        return header
    image = load_image(source, read_uri=read_uri)
    return ImageHeader(image.width, image.height, image.format, image.origin, image.orientation)


def _may_fetch(uri: str, scheme: str) -> bool:
    """Whether ranges of ``uri`` may be asked for: a remote URL only if the fetch policy allows it
    (a refused one goes on to the whole read, which raises the refusal as a render does)."""
    if scheme not in FETCH_SCHEMES:
        return True
    try:
        check_fetch_policy(uri)
    except FetchRefusedError:
        return False
    return True


def _local_header(path: str) -> ImageHeader | None:
    """The header of a regular local JPEG/PNG from a bounded read, or None to read it whole instead
    (missing, not a regular file, another format, or a header the prefix does not hold)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or not 0 < info.st_size <= max_image_bytes():
        return None
    return _probed_file(path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


@functools.lru_cache(maxsize=HEADER_CACHE_SIZE)
def _probed_file(path: str, _dev: int, _ino: int, size: int, _mtime_ns: int, _ctime_ns: int) -> ImageHeader | None:
    """:func:`_local_header`'s read, remembered for the file as ``os.stat`` describes it.

    Why: datasets ask about the same image many times (several questions per image, every turn of a
    rollout), and a changed file gets a new key (size, modification and change times, inode).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        head = os.pread(fd, HEAD_BYTES, 0)
        if _supported_magic(head) not in _PREFIX_FORMATS:
            return None
        tail = head[-TAIL_BYTES:] if len(head) >= size else os.pread(fd, TAIL_BYTES, max(size - TAIL_BYTES, 0))
        facts = probe_parts(head, tail, size, _describe(path), read_at=lambda offset, n: os.pread(fd, n, offset))
    except (ImageSourceError, OSError):
        return None
    finally:
        os.close(fd)
    return ImageHeader(*facts)


def _ranged_header(uri: str, open_ranges: RangeOpener) -> ImageHeader | None:
    """The header of a JPEG/PNG object from a few byte ranges, or None to read it whole instead.

    Any failure here (a missing object, the network, a truncated or corrupt image, a backend that
    returned other lengths than asked) is left to the whole read, which reports it as a render would;
    but a host that timed out is reported at once, as the render reports it, rather than waited for twice.
    """
    try:
        ranges = open_ranges(uri, HEAD_BYTES, END_BYTES)
    except NetworkError as exc:
        if exc.kind in _TIMEOUT_KINDS:
            raise ImageFetchError.from_network(exc, source=_describe(uri)) from exc
        return None
    except Exception:  # reported by the whole read that follows
        return None
    try:
        if ranges is None or not 0 < ranges.size <= max_image_bytes():
            return None
        size, head, end = ranges.size, ranges.head, ranges.tail
        if (len(head), len(end)) != (min(size, HEAD_BYTES), min(size, END_BYTES)):
            raise ValueError(f"the object's ends came back with {len(head)} and {len(end)} bytes")
        if _supported_magic(head) not in _PREFIX_FORMATS:
            return None
        reads = _ChunkHeaderReads(ranges)
        facts = probe_parts(head, end[-TAIL_BYTES:], size, _describe(uri), read_at=reads.read_at)
    except Exception:  # every failure is reported by the whole read that follows
        return None
    return ImageHeader(*facts)


def _exact(ranges: ObjectRanges, wanted: list[tuple[int, int]]) -> list[bytes]:
    """The bytes of ``wanted`` ranges, refusing any answer of another length than the object holds there."""
    got = ranges.read_ranges(wanted)
    expected = [max(0, min(n, ranges.size - offset)) for offset, n in wanted]
    if [len(data) for data in got] != expected:
        raise ValueError(f"ranges {wanted} came back with {[len(d) for d in got]} bytes, not {expected}")
    return got


class _ChunkHeaderReads:
    """``read_at`` for the PNG chunk walk over byte ranges: a round trip per chunk would cost more
    than the whole read, so a chunk header past the prefix is fetched together with the next ones
    the chunk stride predicts (encoders write the image data in equal chunks) up to the object's end,
    in one batch of concurrent requests; after a wrong guess, in batches growing from one.
    Chunks shorter than :data:`MIN_SKIP` (libpng writes 8 KiB ones, Pillow 64 KiB) are not worth a
    GET each: the rest of the object is read in one range instead."""

    MAX_BATCH = 256

    def __init__(self, ranges: ObjectRanges) -> None:
        self.ranges, self.head, self.end = ranges, ranges.head, ranges.tail
        self.end_at = ranges.size - len(self.end)
        self.predicted: dict[int, bytes] = {}
        self.last: int | None = None
        self.batch = self.MAX_BATCH

    def read_at(self, offset: int, n: int) -> bytes:
        if offset + n <= len(self.head):
            data = self.head[offset : offset + n]
        elif offset >= self.end_at:
            data = self.end[offset - self.end_at : offset - self.end_at + n]
        elif n == 8 and offset in self.predicted:
            data = self.predicted.pop(offset)
        elif n == 8 and self.last is not None and offset - self.last >= MIN_SKIP:
            data = self._batch(offset, offset - self.last)
        elif n == 8 and self.last is not None:  # small chunks: read the rest once, serve it from ``end``
            (rest,) = _exact(self.ranges, [(offset, self.end_at - offset)])
            self.end, self.end_at = rest + self.end, offset
            data = self.end[:n]
        else:
            (data,) = _exact(self.ranges, [(offset, n)])
        if n == 8:
            self.last = offset
        return data

    def _batch(self, offset: int, stride: int) -> bytes:
        if self.predicted:  # a guess was wrong: the chunks are not equal, guess less
            self.predicted.clear()
            self.batch = 1
        starts = [offset + k * stride for k in range(self.batch) if offset + k * stride + 8 <= self.end_at]
        first, *rest = _exact(self.ranges, [(start, 8) for start in starts or [offset]])
        self.predicted.update(zip(starts[1:], rest, strict=True))
        self.batch = min(self.batch * 2, self.MAX_BATCH)
        return first
