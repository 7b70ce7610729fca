"""Header reads of images in S3 (the suite's real SeaweedFS server) go through byte ranges: the facts
and errors are the whole read's, and a count moves a few KiB of a large image, not all of it."""

from __future__ import annotations

import math
import struct
import uuid
import zlib
from typing import Any

import fsspec
import pytest
import s3fs
from fsspec.implementations.memory import MemoryFileSystem
from mmrender import dispatch
from mmrender.errors import ImageSourceError
from mmrender.image_headers import END_BYTES, HEAD_BYTES, read_header
from mmrender.images import load_image
from PIL import Image

from .conftest import exif_after_idat, image_part, png_chunks, renderer
from .test_header_reads import CORPUS, _encoded, _noise


class CountingS3(s3fs.S3FileSystem):
    """The real s3fs, counting each GET and the object bytes it brings back (HEADs carry none), and
    the ``cat_ranges`` batches (each one round trip: s3fs sends a batch's GETs concurrently)."""

    received: list[int] = []  # noqa: RUF012 - one tally shared by every instance fsspec builds
    batches: list[int] = []  # noqa: RUF012

    async def _call_s3(self, method, *args, **kwargs):
        resp = await super()._call_s3(method, *args, **kwargs)
        if method == "get_object":
            resp["Body"] = _CountedBody(resp["Body"])
        return resp

    async def _cat_ranges(self, paths, starts, ends, *args, **kwargs):
        CountingS3.batches.append(len(paths))
        return await super()._cat_ranges(paths, starts, ends, *args, **kwargs)


class _CountedBody:
    """A GET's response body that adds what is read from it to :attr:`CountingS3.received`."""

    def __init__(self, body: Any) -> None:
        self.body = body
        self.tally = len(CountingS3.received)
        CountingS3.received.append(0)

    async def read(self, *args: Any) -> bytes:
        data = await self.body.read(*args)
        CountingS3.received[self.tally] += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.body, name)


@pytest.fixture
def s3_images(s3_server: Any, monkeypatch: pytest.MonkeyPatch):
    """``put(name, data)`` → an ``s3://`` URI read through :class:`CountingS3` with the server's options."""
    monkeypatch.setitem(fsspec.config.conf, "s3", s3_server.storage_options())
    real = fsspec.get_filesystem_class("s3")
    fsspec.register_implementation("s3", CountingS3, clobber=True)
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3_server.storage_options())
    prefix = f"{s3_server.bucket}/headers-{uuid.uuid4().hex[:12]}"

    def put(name: str, data: bytes) -> str:
        fs.pipe_file(f"{prefix}/{name}", data)
        return f"s3://{prefix}/{name}"

    CountingS3.received = []
    try:
        yield put
    finally:
        fsspec.register_implementation("s3", real, clobber=True)


def _facts(read, uri: str) -> tuple:
    try:
        image = read(uri)
    except ImageSourceError as exc:
        return ("error", str(exc))
    return (image.width, image.height, image.format, image.orientation)


def _header(uri: str) -> Any:
    return read_header(uri, read_uri=dispatch.read_uri, open_ranges=dispatch.open_ranges)


def _whole(uri: str) -> Any:
    return load_image(uri, read_uri=dispatch.read_uri)


def _photo(fmt: str, orientation: int, **params: Any) -> bytes:
    """Random pixels (they do not compress) of 1000x700: a file of megabytes, orientation tagged."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encoded(_noise(1000, 700), fmt, exif=exif.tobytes(), **params)


def _in_idat_chunks(png: bytes, size: int) -> bytes:
    """The same PNG with its image data in ``size``-byte IDAT chunks (libpng writes 8 KiB ones)."""
    chunks = png_chunks(png)
    idat = b"".join(c[8:-4] for t, c in chunks if t == b"IDAT")
    first = next(i for i, (t, _) in enumerate(chunks) if t == b"IDAT")
    parts = [idat[i : i + size] for i in range(0, len(idat), size)]
    rechunked = [struct.pack(">I", len(p)) + b"IDAT" + p + struct.pack(">I", zlib.crc32(b"IDAT" + p)) for p in parts]
    rest = [c for t, c in chunks[first:] if t != b"IDAT"]
    return png[:8] + b"".join(c for _, c in chunks[:first]) + b"".join(rechunked) + b"".join(rest)


LARGE = {
    "photo.jpg": lambda: _photo("JPEG", 6, quality=95),
    "big-chunks.png": lambda: _in_idat_chunks(_photo("PNG", 8), 1 << 20),
    "late-exif-big-chunks.png": lambda: _in_idat_chunks(exif_after_idat(_photo("PNG", 6)), 1 << 19),
    "pillow-chunks.png": lambda: exif_after_idat(_photo("PNG", 6)),
    "libpng-chunks.png": lambda: _in_idat_chunks(exif_after_idat(_photo("PNG", 6)), 8192),
}


@pytest.mark.parametrize("name", ["photo.jpg", "big-chunks.png", "late-exif-big-chunks.png"])
def test_a_count_reads_a_few_kib_of_a_large_s3_image(s3_images, name) -> None:
    data = LARGE[name]()
    uri = s3_images(name, data)
    counting = renderer("qwen3_vl")
    messages = [{"role": "user", "content": [image_part(uri), {"type": "text", "text": "what is this?"}]}]

    CountingS3.received, CountingS3.batches = [], []
    counted = counting.count_tokens(messages)
    header_reads, batches = list(CountingS3.received), list(CountingS3.batches)
    CountingS3.received = []
    rendered = counting.render(messages)

    assert counted == len(rendered.token_ids)
    assert _whole(uri).orientation in (6, 8), "the displayed size differs from the stored one"
    assert sum(CountingS3.received) >= len(data) > 500_000, "the render reads the whole object"
    assert sum(header_reads) <= HEAD_BYTES + END_BYTES + 2048, header_reads
    if name.endswith(".jpg"):
        assert sorted(header_reads) == sorted([HEAD_BYTES, END_BYTES]) and not batches, "both ends, one round trip"
    else:
        chunks = len(png_chunks(data))
        assert len(batches) <= 1 + math.log2(chunks), f"chunk headers come in growing batches: {batches}"


@pytest.mark.parametrize("name", ["pillow-chunks.png", "libpng-chunks.png"])
def test_a_png_in_small_chunks_is_read_past_its_prefix_in_one_range(s3_images, name) -> None:
    """A GET per 64 or 8 KiB chunk would cost more than reading them: the rest comes in one GET."""
    data = LARGE[name]()
    uri = s3_images(name, data)
    CountingS3.received, CountingS3.batches = [], []
    facts = _facts(_header, uri)
    assert len(CountingS3.received) == 3, "both ends, then the rest"
    assert sum(CountingS3.received) <= len(data)
    assert facts == _facts(_whole, uri)
    assert facts[3] == 6


def test_s3_header_reads_equal_the_whole_reads(s3_images) -> None:
    corpus = {**CORPUS, **{name: make() for name, make in LARGE.items()}}
    uris = {name: s3_images(name, data) for name, data in corpus.items()}
    uris["missing"] = uris["gif"] + "-not-there"
    got = {name: _facts(_header, uri) for name, uri in uris.items()}
    want = {name: _facts(_whole, uri) for name, uri in uris.items()}
    assert got == want
    assert {name for name, facts in want.items() if facts[0] == "error"} >= {"truncated-big-jpeg", "missing"}


class CountingMemory(MemoryFileSystem):
    """fsspec's in-memory filesystem (no ranged-GET shortcut: ``info`` then ``cat_ranges``), counting reads."""

    received: list[int] = []  # noqa: RUF012

    def cat_file(self, path, start=None, end=None, **kwargs):
        data = super().cat_file(path, start=start, end=end, **kwargs)
        CountingMemory.received.append(len(data))
        return data


def test_other_fsspec_filesystems_read_headers_by_ranges_too() -> None:
    real = fsspec.get_filesystem_class("memory")
    fsspec.register_implementation("memory", CountingMemory, clobber=True)
    prefix = f"/headers-{uuid.uuid4().hex[:12]}"
    fs = CountingMemory()
    fs.mkdir(prefix)
    try:
        corpus = {
            **CORPUS,
            "photo.jpg": LARGE["photo.jpg"](),
            "late-exif-big-chunks.png": LARGE["late-exif-big-chunks.png"](),
        }
        for name, data in corpus.items():
            fs.pipe_file(f"{prefix}/{name}", data)
        uris = {name: f"memory://{prefix}/{name}" for name in corpus}
        assert {n: _facts(_header, u) for n, u in uris.items()} == {n: _facts(_whole, u) for n, u in uris.items()}
        CountingMemory.received = []
        _header(uris["photo.jpg"])
        assert sum(CountingMemory.received) == HEAD_BYTES + END_BYTES
    finally:
        fs.rm(prefix, recursive=True)
        fsspec.register_implementation("memory", real, clobber=True)
