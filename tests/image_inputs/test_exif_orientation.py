"""EXIF orientation: layouts, processed pixels and materialised pixels follow the displayed (upright) image.

transformers' ``load_image`` and vLLM apply ``ImageOps.exif_transpose``; a phone photo stored
1600x1200 with orientation 6 is seen as 1200x1600. Every family must lay out and decode it so,
while the stored asset (and its hash) stays the caller's original bytes.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from mmrender import materialize
from PIL import Image, ImageFile, ImageOps, WebPImagePlugin

from .conftest import (
    FORMATS,
    MODELS,
    ORIENTATIONS,
    exif_after_idat,
    first_item,
    grid_of,
    image_part,
    oracle_outputs,
    oriented_bytes,
    renderer,
)

SIZES = ((1600, 1200), (1000, 301), (333, 517))
#: the formats, plus PNG with its eXIf chunk after the image data
VARIANTS = (*FORMATS, "PNG-late-eXIf")


def _encode(width: int, height: int, orientation: int, variant: str) -> bytes:
    if variant == "PNG-late-eXIf":
        return exif_after_idat(oriented_bytes(width, height, orientation, "PNG"))
    return oriented_bytes(width, height, orientation, variant)


def _render(family: str, path: str, **options):
    return renderer(family, **options).render([{"role": "user", "content": [image_part(path)]}])


@pytest.mark.parametrize("family", sorted(MODELS))
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_raw_layout_equals_transformers_grid(family, variant, size, write):
    for orientation in ORIENTATIONS:
        path = write(f"{family}-{variant}-{size[0]}x{size[1]}-o{orientation}", _encode(*size, orientation, variant))
        item = first_item(_render(family, path))
        want = oracle_outputs(family, path)["image_grid_thw"].tolist()
        assert grid_of(family, item) == want, f"orientation {orientation}"


@pytest.mark.parametrize("family", sorted(MODELS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_processed_pixel_values_equal_transformers(family, variant, write):
    for orientation in ORIENTATIONS:
        path = write(f"proc-{family}-{variant}-o{orientation}", _encode(331, 149, orientation, variant))
        raw_item = first_item(_render(family, path))
        item = first_item(_render(family, path, multimodal_output="processed"))
        want = oracle_outputs(family, path)
        assert item.data["image_grid_thw"].tolist() == want["image_grid_thw"].tolist() == grid_of(family, raw_item)
        np.testing.assert_array_equal(item.data["pixel_values"], want["pixel_values"], f"orientation {orientation}")


@pytest.mark.parametrize("variant", VARIANTS)
def test_materialized_pixels_are_upright_and_bytes_original(variant, write):
    for family in sorted(MODELS):
        for orientation in ORIENTATIONS:
            data = _encode(61, 23, orientation, variant)
            path = write(f"mat-{family}-{variant}-o{orientation}", data)
            rendered = _render(family, path)
            mm_hash = rendered.multi_modal_data.mm_hashes["image"][0]
            assert mm_hash == hashlib.sha256(data).hexdigest()[:32]
            got = materialize(first_item(rendered), mm_hash=mm_hash)
            assert got.image.data == data
            with Image.open(path) as im:
                want = ImageOps.exif_transpose(im).convert("RGB")
            assert (got.image.width, got.image.height) == want.size
            pixels = got.pixels()
            assert pixels.size == want.size and pixels.tobytes() == want.tobytes(), f"{family} o{orientation}"


def test_layout_reads_the_orientation_without_decoding(write, monkeypatch):
    """Raw mode stays header-only: with Pillow's pixel loading disabled, layouts still see the orientation."""
    cases = []
    for variant in VARIANTS:
        for orientation in (1, 5, 6, 8):
            # a size no other test uses, so no cache anywhere has seen these bytes
            path = write(f"nodecode-{variant}-o{orientation}", _encode(997, 301, orientation, variant))
            cases.append((path, {f: oracle_outputs(f, path)["image_grid_thw"].tolist() for f in MODELS}))

    def no_decode(self):
        raise AssertionError("raw mode decoded pixels")

    # every pixel decode goes through ImageFile.load, except WebP's, which decodes in its own load()
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "load", no_decode)
    for path, want in cases:
        for family in MODELS:
            got = _render(family, path)
            assert grid_of(family, first_item(got)) == want[family], path
