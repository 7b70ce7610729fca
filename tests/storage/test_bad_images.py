"""Bad image inputs through a real render: each is a typed error naming message, part and source."""

from __future__ import annotations

import base64
import functools
import http.server
import io
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mmrender.errors import FetchRefusedError, ImageSourceError, MMRenderError
from mmrender.images import probe
from mmrender.refs import dump
from mmrender.types import RawMMRef
from PIL import Image, ImageFile
from storage_helpers import image_bytes, image_message, png_bytes

GOOD = png_bytes(0)


def render_bad(renderer: Any, bad: Any) -> ImageSourceError:
    """Put ``bad`` at message 2, part 2 (after a text and a good image) and return the error."""
    messages = [
        {"role": "system", "content": "sys"},
        image_message(GOOD),
        {"role": "user", "content": [{"type": "text", "text": "t"}, {"type": "image", "image": GOOD}, bad]},
    ]
    with pytest.raises(ImageSourceError) as info:
        renderer.render(messages)
    err = info.value
    assert (err.message_index, err.part_index) == (2, 2), str(err)
    assert "message 2, part 2" in str(err)
    return err


def part(source: Any) -> dict[str, Any]:
    if isinstance(source, str):
        return {"type": "image_url", "image_url": {"url": source}}
    return {"type": "image", "image": source}


def noisy(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    img = Image.frombytes("RGB", size, bytes((i * 37 + i // 7) % 256 for i in range(size[0] * size[1] * 3)))
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG: valid IHDR claiming ``width``×``height``, no pixel data at all, IEND."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.fixture
def renderer(renderer_for: Any, tmp_path: Path) -> Any:
    return renderer_for(str(tmp_path / "store"))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP"])
def test_truncated_images(renderer: Any, fmt: str) -> None:
    data = noisy(fmt)
    probe(data)  # the whole file is fine
    err = render_bad(renderer, part(data[: int(len(data) * 0.6)]))
    assert "truncated" in str(err) or "corrupt" in str(err)
    assert err.source.startswith("<")


def test_truncated_file_on_disk_names_its_path(renderer: Any, tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    path.write_bytes(noisy("JPEG")[:300])
    err = render_bad(renderer, part(str(path)))
    assert err.source == str(path)


def test_corrupt_header(renderer: Any) -> None:
    data = bytearray(noisy("PNG"))
    data[16:24] = b"\xff" * 8  # IHDR width/height bytes, CRC now wrong
    err = render_bad(renderer, part(bytes(data)))
    assert "corrupt" in str(err)


def test_non_image_bytes_and_files(renderer: Any, tmp_path: Path) -> None:
    err = render_bad(renderer, part(b"just some text, not an image at all"))
    assert "not a recognised image" in str(err)
    path = tmp_path / "notes.png"
    path.write_text("hello")
    err = render_bad(renderer, part(path.as_uri()))
    assert "not a recognised image" in str(err) and err.source == path.as_uri()


def test_zero_byte_file_and_bytes(renderer: Any, tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert "0 bytes" in str(render_bad(renderer, part(str(path))))
    assert "0 bytes" in str(render_bad(renderer, part(b"")))


@pytest.mark.parametrize(
    ("uri", "needle"),
    [
        ("data:image/png;base64,@@not-base64@@", "does not decode"),
        ("data:image/png;base64,iVBORw0KGgo=x", "does not decode"),
        ("data:text/plain;base64," + base64.b64encode(b"hello").decode(), "not an image"),
        ("data:image/png;base64," + base64.b64encode(b"hello, not a png").decode(), "not a recognised image"),
        ("data:image/png," + "x" * 10, "not base64"),
        ("data:image/png;base64", "no comma"),
        ("data:image/png;base64,", "0 bytes"),
    ],
)
def test_bad_data_uris(renderer: Any, uri: str, needle: str) -> None:
    err = render_bad(renderer, part(uri))
    assert needle in str(err)
    assert err.source.startswith("data:")


def test_line_wrapped_base64_data_uri_is_accepted(renderer: Any) -> None:
    b64 = base64.encodebytes(GOOD).decode()  # MIME style, newline every 76 characters
    assert "\n" in b64.strip()
    out = renderer.render([image_message("data:image/png;base64," + b64)])
    assert out.multi_modal_data.mm_hashes["image"]


@pytest.fixture
def decode_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record any pixel decode (``ImageFile.load``) while the test runs."""
    calls: list[str] = []
    original = ImageFile.ImageFile.load

    def spy(self: Any) -> Any:
        calls.append(type(self).__name__)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return calls


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (10_000, 9_000), (2**31 - 1, 2)])
def test_decompression_bomb_is_refused_from_the_header_alone(
    renderer: Any, decode_spy: list[str], width: int, height: int
) -> None:
    data = png_header(width, height)
    assert len(data) < 64 and width * height > Image.MAX_IMAGE_PIXELS
    err = render_bad(renderer, part(data))
    assert "decompression bomb" in str(err) or "pixel limit" in str(err)
    assert decode_spy == []


def test_pixel_limit_follows_pillows_setting(
    renderer: Any, decode_spy: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40 * 30)  # the good images are 40x30
    err = render_bad(renderer, part(noisy("PNG")))  # 64x48
    assert "pixel" in str(err) or "bomb" in str(err)
    assert decode_spy == []


def test_raw_render_of_a_good_image_never_decodes(renderer: Any, decode_spy: list[str]) -> None:
    renderer.render([image_message(noisy("JPEG"), noisy("PNG"))])
    assert decode_spy == []


@pytest.mark.parametrize(("fmt", "name"), [("TIFF", "TIFF"), ("ICO", "ICO"), ("PDF", "PDF")])
def test_unsupported_formats_are_named(renderer: Any, fmt: str, name: str) -> None:
    err = render_bad(renderer, part(image_bytes(fmt)))
    assert f"unsupported image format {name}" in str(err)


def test_byte_limit(renderer: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    big = noisy("PNG")
    monkeypatch.setenv("MMRENDER_MAX_IMAGE_BYTES", str(len(big) - 1))
    assert len(GOOD) < len(big) - 1
    path = tmp_path / "big.png"
    path.write_bytes(big)
    assert "byte limit" in str(render_bad(renderer, part(str(path))))
    assert "byte limit" in str(render_bad(renderer, part(big)))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_and_directory_paths_are_refused_without_opening(renderer: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)  # opening it for reading would block forever
    assert "not a regular file" in str(render_bad(renderer, part(str(fifo))))
    assert "directory" in str(render_bad(renderer, part(str(tmp_path))))
    assert "not found" in str(render_bad(renderer, part(str(tmp_path / "missing.png"))))


def test_unsupported_source_types(renderer: Any) -> None:
    assert "unsupported image source type" in str(render_bad(renderer, part(12345)))
    assert "empty string" in str(render_bad(renderer, {"type": "image", "image": ""}))


# -- remote sources and the fetch policy ---------------------------------------------------------


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    """A loopback HTTP server serving ``tmp_path/www`` (no network beyond 127.0.0.1)."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "cat.png").write_bytes(GOOD)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_sources_are_refused_by_default(renderer: Any, http_server: str) -> None:
    for url in (f"{http_server}/cat.png", "https://example.invalid/cat.png", "ftp://example.invalid/cat.png"):
        err = render_bad(renderer, part(url))
        assert isinstance(err, FetchRefusedError)
        assert "MMRENDER_FETCH_POLICY" in str(err) and err.source == url


def test_http_fetch_with_an_explicit_policy(renderer: Any, http_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"{http_server}/cat.png"
    monkeypatch.setenv("MMRENDER_FETCH_POLICY", "allow-hosts:127.0.0.1")
    out = renderer.render([image_message(url)])
    assert out.multi_modal_data.mm_items["image"][0].raw_image_id is not None
    err = render_bad(renderer, part("http://localhost:1/cat.png"))
    assert isinstance(err, FetchRefusedError) and "'localhost'" in str(err)
    monkeypatch.setenv("MMRENDER_FETCH_POLICY", "allow")
    assert renderer.render([image_message(url)]).token_ids
    assert "not found" in str(render_bad(renderer, part(f"{http_server}/missing.png")))
    monkeypatch.setenv("MMRENDER_FETCH_POLICY", "sometimes")
    assert "unknown MMRENDER_FETCH_POLICY" in str(render_bad(renderer, part(url)))


def test_refs_with_http_uris_obey_the_fetch_policy_too(http_server: str) -> None:
    import mmrender

    ref = RawMMRef(
        family="storetest",
        fingerprint="9ed74be9eb6e236654b6b085548848cd",
        modality="image",
        mm_hash="0" * 32,
        payload={},
        raw_uri=f"{http_server}/cat.png",
    )
    with pytest.raises(FetchRefusedError):
        mmrender.materialize(dump(ref))


def test_every_bad_input_error_is_an_mmrender_error() -> None:
    assert issubclass(ImageSourceError, MMRenderError) and issubclass(FetchRefusedError, ImageSourceError)
