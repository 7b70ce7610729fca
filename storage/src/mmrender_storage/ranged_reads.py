"""One object opened by byte ranges for a header read: its size and both ends in one round trip, more ranges on demand.

Why here: ``count_tokens`` needs a few KiB of an image of megabytes, and each filesystem gives
ranges its own way. S3 takes two concurrent ranged GETs (the size from their ``Content-Range``);
HTTP(S) too, with every answer's status checked, because fsspec's ``cat_file(start, end)`` hands
back the whole body as "the range" when a server ignores ``Range`` (a ``200`` here is used as the
whole object, and a later range is cut from it); other filesystems ask ``info`` for the size first.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from typing import Any

import fsspec
import fsspec.asyn
from mmrender.errors import StorageError
from mmrender.storage import ObjectRanges

from .network import HTTP_PROTOCOLS, S3_PROTOCOLS

#: Fetches ``(start, end)`` spans (end exclusive, non-empty, inside the object) and returns their bytes in order.
SpanFetcher = Callable[[list[tuple[int, int]]], list[bytes]]

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
#: Asked of every ranged HTTP GET: a compressed answer's ranges would count encoded bytes, not the file's.
_IDENTITY = {"Accept-Encoding": "identity"}


def object_ranges(fs: fsspec.AbstractFileSystem, path: str, head: int, tail: int) -> ObjectRanges | None:
    """``path`` on ``fs`` with its first ``head`` and last ``tail`` bytes read, or None when it is not one file."""
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    if S3_PROTOCOLS & protocols and hasattr(fs, "_call_s3"):
        size, first, last = fsspec.asyn.sync(fs.loop, s3_ends, fs, path, head, tail)
        return ObjectRanges(size, first, last, span_reader(size, _cat_ranges(fs, path)))
    if HTTP_PROTOCOLS & protocols and hasattr(fs, "set_session"):
        return http_ranges(fs, path, head, tail)
    info = fs.info(path)
    size = info.get("size")
    if info.get("type", "file") != "file" or not isinstance(size, int):
        return None
    read_ranges = span_reader(size, _cat_ranges(fs, path))
    first, last = read_ranges([(0, head), (max(size - tail, 0), tail)])
    return ObjectRanges(size, first, last, read_ranges)


def span_reader(size: int, fetch: SpanFetcher) -> Callable[[Sequence[tuple[int, int]]], list[bytes]]:
    """``read_ranges`` of :class:`ObjectRanges` for an object of ``size`` bytes: ``(offset, length)``
    pairs clipped to the object, the non-empty ones fetched together by ``fetch``."""

    def read_ranges(wanted: Sequence[tuple[int, int]]) -> list[bytes]:
        spans = [(offset, min(offset + n, size)) for offset, n in wanted]
        todo = [i for i, (start, end) in enumerate(spans) if 0 <= start < end]
        out = [b""] * len(spans)
        for i, data in zip(todo, fetch([spans[i] for i in todo]) if todo else [], strict=True):
            out[i] = data
        return out

    return read_ranges


def _cat_ranges(fs: fsspec.AbstractFileSystem, path: str) -> SpanFetcher:
    """Spans of one object in one ``cat_ranges`` (concurrent requests on async filesystems)."""
    return lambda spans: fs.cat_ranges(
        [path] * len(spans), [s for s, _ in spans], [e for _, e in spans], on_error="raise"
    )


async def s3_ends(fs: Any, path: str, head: int, tail: int) -> tuple[int, bytes, bytes]:
    """The size, first ``head`` and last ``tail`` bytes of an S3 object from two concurrent ranged GETs."""
    bucket, key, version = fs.split_path(path)
    version_kw = {"VersionId": version} if version else {}

    async def get(byte_range: str) -> tuple[str, bytes]:
        resp = await fs._call_s3("get_object", Bucket=bucket, Key=key, Range=byte_range, **version_kw)
        try:
            return str(resp.get("ContentRange") or ""), await resp["Body"].read()
        finally:
            resp["Body"].close()

    (first_range, first), (last_range, last) = await asyncio.gather(get(f"bytes=0-{head - 1}"), get(f"bytes=-{tail}"))
    sizes = {answer.rpartition("/")[2] for answer in (first_range, last_range)}
    size = sizes.pop() if len(sizes) == 1 else ""
    if not size.isdigit():  # a server that ignored the ranges, or an object replaced between the two
        raise StorageError(f"s3://{path}: ranged reads answered Content-Range {first_range!r} and {last_range!r}")
    return int(size), first, last


# -- HTTP(S) ---------------------------------------------------------------------------------------


def http_ranges(fs: Any, url: str, head: int, tail: int) -> ObjectRanges:
    """``url`` opened by two concurrent ranged GETs on ``fs``'s own aiohttp session (its timeout and
    options): both ``206`` give the ends and the size; a ``200`` (the server ignored ``Range``) is
    the whole object, which then serves every range; any other answer raises."""
    size, first, last, whole = fsspec.asyn.sync(fs.loop, _http_ends, fs, url, head, tail)
    if whole is not None:
        return ObjectRanges(size, whole[:head], whole[max(size - tail, 0) :], span_reader(size, _slices(whole)))
    return ObjectRanges(size, first, last, span_reader(size, _http_spans(fs, url)))


def _slices(whole: bytes) -> SpanFetcher:
    return lambda spans: [whole[start:end] for start, end in spans]


def _http_spans(fs: Any, url: str) -> SpanFetcher:
    """Spans of ``url`` by concurrent ranged GETs, each required to answer ``206`` with exactly that span."""

    async def fetch(spans: list[tuple[int, int]]) -> list[bytes]:
        session = await fs.set_session()

        async def one(start: int, end: int) -> bytes:
            response = await _get(fs, session, url, f"bytes={start}-{end - 1}")
            try:
                got_start, _, data = await _partial(fs, response, url)
            finally:
                response.close()
            if (got_start, len(data)) != (start, end - start):
                raise StorageError(f"{url}: asked for bytes {start}-{end - 1}, got {len(data)} from {got_start}")
            return data

        return list(await asyncio.gather(*(one(start, end) for start, end in spans)))

    return lambda spans: fsspec.asyn.sync(fs.loop, fetch, spans)


async def _http_ends(fs: Any, url: str, head: int, tail: int) -> tuple[int, bytes, bytes, bytes | None]:
    """(size, first bytes, last bytes, None) from two ``206`` answers, or (size, b"", b"", the whole
    body) when either answered ``200``; the other answer is then dropped unread."""
    session = await fs.set_session()
    answers = await asyncio.gather(
        _get(fs, session, url, f"bytes=0-{head - 1}"), _get(fs, session, url, f"bytes=-{tail}"), return_exceptions=True
    )
    try:
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        whole = next((answer for answer in answers if answer.status == 200), None)
        if whole is not None:
            body = await whole.read()
            return len(body), b"", b"", body
        (first_start, size, first), (last_start, last_size, last) = [await _partial(fs, a, url) for a in answers]
        if (first_start, last_size, last_start, len(last)) != (0, size, max(size - tail, 0), min(tail, size)):
            raise StorageError(
                f"{url}: its ends came back as bytes {last_start}+{len(last)} of {last_size}, not of {size}"
            )
        return size, first, last, None
    finally:
        for answer in answers:
            if not isinstance(answer, BaseException):
                answer.close()  # a read answer's connection is already back in the pool; an unread one is dropped


async def _get(fs: Any, session: Any, url: str, byte_range: str) -> Any:
    """The response (headers only, body unread) to a GET of ``byte_range`` with ``fs``'s request options."""
    options = fs.kwargs.copy()
    headers = {**options.pop("headers", {}), **_IDENTITY, "Range": byte_range}
    return await session.get(fs.encode_url(url), headers=headers, **options)


async def _partial(fs: Any, response: Any, url: str) -> tuple[int, int, bytes]:
    """(start, object size, bytes) of a ``206`` answer; any other status or a malformed answer raises
    (a ``404`` as fsspec's ``FileNotFoundError``, other errors as aiohttp's)."""
    if response.status != 206:
        fs._raise_not_found_for_status(response, url)  # 4xx/5xx: the same exceptions as fsspec's whole read
        raise StorageError(f"{url}: answered HTTP {response.status} to a range request")
    content_range = response.headers.get("Content-Range", "").strip()
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    match = _CONTENT_RANGE.fullmatch(content_range)
    if match is None or encoding != "identity":
        raise StorageError(f"{url}: a 206 answer with Content-Range {content_range!r}, Content-Encoding {encoding!r}")
    start, end, size = (int(n) for n in match.groups())
    data = await response.read()
    if len(data) != end - start + 1 or end >= size:
        raise StorageError(f"{url}: Content-Range bytes {start}-{end}/{size} came with {len(data)} bytes")
    return start, size, data
