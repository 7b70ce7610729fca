"""Header reads of ``http://`` images go through ranged GETs: the facts and errors are the whole read's,
a count moves a few KiB of a large image, a server that ignores ``Range`` still gives the right
answer from one body per request, and the fetch policy still refuses before any request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mmrender import dispatch
from mmrender.errors import FetchRefusedError, ImageFetchError, ImageSourceError, StorageError
from mmrender.image_headers import END_BYTES, HEAD_BYTES, read_header
from mmrender.images import load_image

from .conftest import image_part, renderer
from .range_server import ImageServer, serving
from .test_header_reads import CORPUS
from .test_s3_header_reads import LARGE


@pytest.fixture(scope="module")
def server() -> Iterator[ImageServer]:
    with serving({**CORPUS, **{name: make() for name, make in LARGE.items()}}) as httpd:
        yield httpd


@pytest.fixture
def images(server: ImageServer, monkeypatch: pytest.MonkeyPatch) -> ImageServer:
    """The server with fetching allowed from it and its request log emptied."""
    monkeypatch.setenv("MMRENDER_FETCH_POLICY", "allow-hosts:127.0.0.1")
    server.requests.clear()
    return server


def _facts(read, uri: str) -> tuple:
    try:
        image = read(uri)
    except ImageSourceError as exc:
        return ("error", type(exc).__name__, str(exc))
    return (image.width, image.height, image.format, image.orientation)


def _header(uri: str) -> Any:
    return read_header(uri, read_uri=dispatch.read_uri, open_ranges=dispatch.open_ranges)


def _whole(uri: str) -> Any:
    return load_image(uri, read_uri=dispatch.read_uri)


def _messages(uri: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [image_part(uri), {"type": "text", "text": "what is this?"}]}]


def _outcome(call) -> tuple:
    try:
        return ("ok", call())
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


@pytest.mark.parametrize("name", ["photo.jpg", "big-chunks.png", "late-exif-big-chunks.png"])
def test_a_count_reads_a_few_kib_of_a_large_http_image(images, name) -> None:
    uri = images.url("ranges", name)
    counting = renderer("qwen3_vl")
    counted = counting.count_tokens(_messages(uri))
    header_reads = list(images.requests)
    images.requests.clear()
    rendered = counting.render(_messages(uri))

    assert counted == len(rendered.token_ids)
    assert _whole(uri).orientation in (6, 8), "the displayed size differs from the stored one"
    assert images.sent() >= len(images.files[name]) > 500_000, "the render reads the whole image"
    assert sum(r["sent"] for r in header_reads) <= HEAD_BYTES + END_BYTES + 2048, header_reads
    assert all(r["status"] == 206 for r in header_reads), header_reads
    if name.endswith(".jpg"):
        assert sorted(r["range"] for r in header_reads) == [f"bytes=-{END_BYTES}", f"bytes=0-{HEAD_BYTES - 1}"]


@pytest.mark.parametrize("mode", ["ranges", "ignore", "ends-only"])
def test_http_header_reads_equal_the_whole_reads(images, mode) -> None:
    uris = {name: images.url(mode, name) for name in images.files}
    uris["missing"] = images.url(mode, "not-there.png")
    got = {name: _facts(_header, uri) for name, uri in uris.items()}
    want = {name: _facts(_whole, uri) for name, uri in uris.items()}
    assert got == want
    errors = {name for name, facts in want.items() if facts[0] == "error"}
    assert errors >= {"truncated-big-jpeg", "truncated-big-png", "text", "empty", "missing"}
    assert len(errors) < len(want) / 2


@pytest.mark.parametrize("name", sorted(LARGE))
def test_a_server_that_ignores_range_sends_one_body_per_request(images, name) -> None:
    """The first ``200`` is the whole image: it serves the PNG chunk reads too, no third request."""
    uri = images.url("ignore", name)
    facts = _facts(_header, uri)
    header_reads = list(images.requests)
    assert facts == _facts(_whole, uri) and facts[0] != "error"
    assert len(header_reads) <= 2, header_reads
    assert all(r["sent"] <= len(images.files[name]) for r in header_reads), header_reads


def test_a_range_is_never_answered_with_the_whole_body(images) -> None:
    """``ends-only`` answers a range in the middle with ``200`` and the whole file: that is refused,
    and a header read that needs such a range (a PNG's chunk headers) reads the image whole instead."""
    uri = images.url("ends-only", "big-chunks.png")
    ranges = dispatch.open_ranges(uri, HEAD_BYTES, END_BYTES)
    assert ranges is not None and ranges.size == len(images.files["big-chunks.png"])
    data = images.files["big-chunks.png"]
    assert (ranges.head, ranges.tail) == (data[:HEAD_BYTES], data[-END_BYTES:])
    with pytest.raises(StorageError, match="answered HTTP 200 to a range request"):
        ranges.read_ranges([(HEAD_BYTES + 100, 8)])
    assert _facts(_header, uri) == _facts(_whole, uri)


@pytest.mark.parametrize(
    ("mode", "name"),
    [
        ("ranges", "not-there.png"),
        ("ranges", "truncated-big-jpeg"),
        ("ranges", "truncated-big-png"),
        ("ranges", "text"),
        ("ignore", "truncated-big-jpeg"),
        ("close", "photo.jpg"),
        ("close", "big-PNG-6"),
    ],
)
def test_a_count_fails_as_the_render_does(images, mode, name) -> None:
    uri = images.url(mode, name)
    counting = renderer("qwen3_vl")
    counted = _outcome(lambda: counting.count_tokens(_messages(uri)))
    rendered = _outcome(lambda: counting.render(_messages(uri)))
    assert counted[0] == "error" and counted == rendered
    assert counted[1] in ("ImageSourceError", "ImageFetchError")


def test_a_count_times_out_as_the_render_does(images, monkeypatch) -> None:
    """The network timeout applies to the ranged GETs, and a host that timed out on them is not
    asked again by a whole read (that would wait the timeout twice)."""
    monkeypatch.setenv("MMRENDER_TIMEOUT", "0.5")
    uri = images.url("stall", "photo.jpg")
    counting = renderer("qwen3_vl")
    counted = _outcome(lambda: counting.count_tokens(_messages(uri)))
    assert sorted(r["range"] for r in images.requests) == [f"bytes=-{END_BYTES}", f"bytes=0-{HEAD_BYTES - 1}"]
    rendered = _outcome(lambda: counting.render(_messages(uri)))
    assert counted == rendered
    assert counted[1] == ImageFetchError.__name__ and "timed out" in counted[2] and "0.5 s" in counted[2]


@pytest.mark.parametrize("policy", [None, "deny", "allow-hosts:example.com"])
def test_the_fetch_policy_refuses_before_any_request(server, monkeypatch, policy) -> None:
    if policy is None:
        monkeypatch.delenv("MMRENDER_FETCH_POLICY", raising=False)
    else:
        monkeypatch.setenv("MMRENDER_FETCH_POLICY", policy)
    server.requests.clear()
    uri = server.url("ranges", "photo.jpg")
    with pytest.raises(FetchRefusedError, match="MMRENDER_FETCH_POLICY"):
        renderer("qwen3_vl").count_tokens(_messages(uri))
    with pytest.raises(FetchRefusedError):
        dispatch.open_ranges(uri, HEAD_BYTES, END_BYTES)
    assert server.requests == []
