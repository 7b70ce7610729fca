"""Header-only reads (``count_tokens``, ``mmrender lengths``) give what a whole read gives: size, format,
orientation and errors, on files larger than the prefix too (EXIF-rotated JPEGs, ``eXIf`` after the
PNG image data, a JPEG whose header runs past the prefix, truncated files)."""

from __future__ import annotations

import io
import random

import pytest
from mmrender import images
from mmrender.errors import ImageSourceError
from mmrender.image_headers import HEAD_BYTES, read_header
from mmrender.images import load_image
from PIL import Image

from .conftest import FORMATS, ORIENTATIONS, exif_after_idat, oriented_bytes


def _noise(width: int, height: int) -> Image.Image:
    """Random pixels: they do not compress, so the file outgrows the header prefix."""
    return Image.frombytes("RGB", (width, height), random.Random(width * height).randbytes(width * height * 3))


def _encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **params)
    return buf.getvalue()


def _rotated_big(fmt: str, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encoded(_noise(400, 300), fmt, exif=exif.tobytes())


def _corpus() -> dict[str, bytes]:
    small = {f"{fmt}-{o}": oriented_bytes(23, 9, o, fmt) for fmt in FORMATS for o in ORIENTATIONS}
    big = {f"big-{fmt}-{o}": _rotated_big(fmt, o) for fmt in ("JPEG", "PNG") for o in (1, 6, 8)}
    late = {f"late-{k}": exif_after_idat(v) for k, v in {**small, **big}.items() if k.startswith(("PNG", "big-PNG"))}
    big_icc = _encoded(_noise(80, 60), "JPEG", icc_profile=bytes(3 * HEAD_BYTES))  # SOF past the prefix
    return {
        **small,
        **big,
        **late,
        "jpeg-header-past-prefix": big_icc,
        "gif": _encoded(_noise(40, 30).convert("P"), "GIF"),
        "bmp": _encoded(_noise(40, 30), "BMP"),
        "truncated-big-jpeg": big["big-JPEG-6"][:-100],
        "truncated-big-png": big["big-PNG-6"][: HEAD_BYTES + 500],
        "truncated-header-png": big["big-PNG-1"][:20],
        "empty": b"",
        "text": b"not an image at all, just some text",
    }


CORPUS = _corpus()


def _facts(read, path: str) -> tuple:
    try:
        image = read(path)
    except ImageSourceError as exc:
        return ("error", str(exc))
    return (image.width, image.height, image.format, image.orientation)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_header_read_equals_the_whole_read(name, tmp_path):
    path = tmp_path / name
    path.write_bytes(CORPUS[name])
    assert _facts(read_header, str(path)) == _facts(load_image, str(path))


def test_the_big_files_are_larger_than_the_prefix():
    assert all(len(CORPUS[k]) > HEAD_BYTES for k in CORPUS if k.startswith(("big-", "late-big-", "truncated-big")))


@pytest.mark.parametrize("name", ["big-JPEG-6", "big-PNG-8", "late-big-PNG-6"])
def test_a_big_jpeg_or_png_is_not_read_whole(name, tmp_path, monkeypatch):
    path = tmp_path / name
    path.write_bytes(CORPUS[name])
    expected = _facts(load_image, str(path))

    def whole_read(*args, **kwargs):
        raise AssertionError("read the whole file")

    monkeypatch.setattr(images, "_read_path", whole_read)
    assert _facts(read_header, str(path)) == expected
    assert expected[3] in (6, 8)


def _png_of_size(width: int, height: int, size: int) -> bytes:
    """A PNG of ``width``x``height`` padded with a text chunk to exactly ``size`` bytes."""
    import struct
    import zlib

    bare = _encoded(Image.new("RGB", (width, height), (200, 30, 30)), "PNG")
    text = b"pad\x00" + b"x" * (size - len(bare) - 12 - 4)
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
    padded = bare[:-12] + chunk + bare[-12:]  # before IEND
    assert len(padded) == size
    return padded


def test_a_file_rewritten_in_place_is_read_again(tmp_path) -> None:
    """Headers are remembered per file as ``os.stat`` describes it: the same size, inode and
    modification time but a new change time (an in-place rewrite) is a different file."""
    import os

    path = tmp_path / "same-name.png"
    path.write_bytes(_png_of_size(40, 20, 600))
    before = os.stat(path)
    assert (read_header(str(path)).width, read_header(str(path)).height) == (40, 20)
    with open(path, "r+b") as f:  # same inode, same size
        f.write(_png_of_size(20, 40, 600))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert (read_header(str(path)).width, read_header(str(path)).height) == (20, 40)
