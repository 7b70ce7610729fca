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
