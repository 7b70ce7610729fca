"""Damaged EXIF/XMP metadata: the header probe agrees with Pillow's ``exif_transpose`` or raises a typed error.

Differential: for byte-flipped metadata, whenever both the probe and a full decode with
``exif_transpose`` (what transformers' ``load_image`` runs) succeed, the displayed sizes agree, and
the probe refuses only bytes that the full decode refuses too.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from mmrender.errors import ImageSourceError
from mmrender.images import probe
from PIL import Image, ImageOps, PngImagePlugin

from .conftest import exif_after_idat, oriented_bytes


def _xmp_png(orientation: int) -> bytes:
    info = PngImagePlugin.PngInfo()
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="{orientation}"/></x:xmpmeta>'
    info.add_itxt("XML:com.adobe.xmp", xmp)
    buf = io.BytesIO()
    Image.new("RGB", (37, 11), (1, 2, 3)).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


SEEDS = {
    "jpeg": oriented_bytes(37, 11, 6, "JPEG"),
    "png": oriented_bytes(37, 11, 5, "PNG"),
    "png-late": exif_after_idat(oriented_bytes(37, 11, 8, "PNG")),
    "webp": oriented_bytes(37, 11, 7, "WEBP"),
    "png-xmp": _xmp_png(6),
}


def _upright_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as im:
            return ImageOps.exif_transpose(im).size
    except Exception:
        return None


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_orientation_matches_pillow(name):
    image = probe(SEEDS[name])
    assert image.orientation in (5, 6, 7, 8)
    assert (image.width, image.height) == _upright_size(SEEDS[name]) == (11, 37)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(SEEDS))
def test_flipped_metadata_bytes_agree_with_pillow_or_fail_typed(name):
    seed = SEEDS[name]
    marker = {"jpeg": b"Exif", "png": b"eXIf", "png-late": b"eXIf", "webp": b"EXIF", "png-xmp": b"iTXt"}[name]
    start = seed.index(marker)
    end = min(start + 120, len(seed))
    if name.startswith("png"):  # flip inside the chunk's data and fix its CRC, so the bytes reach the parser
        (length,) = struct.unpack(">I", seed[start - 4 : start])
        start, end = start + 4, start + 4 + length
    rng = random.Random(name)
    agreed = 0
    for _ in range(300):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(start, end)] = rng.randrange(256)
        if name.startswith("png"):
            data[end : end + 4] = struct.pack(">I", zlib.crc32(data[start - 4 : end]))
        try:
            image = probe(bytes(data))
        except ImageSourceError:
            assert _upright_size(bytes(data)) is None  # refused only what load_image would refuse too
            continue
        want = _upright_size(bytes(data))
        if want is not None:
            assert (image.width, image.height) == want
            agreed += 1
    assert agreed > 30
