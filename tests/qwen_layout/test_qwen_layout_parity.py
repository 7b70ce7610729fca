"""Qwen layout parity: ``mmrender_qwen3_vl.layout.qwen_layout`` vs transformers' own Qwen image processor.

The oracle is ``Qwen2VLImageProcessorPil`` configured from the bundled Qwen3-VL-8B-Instruct
``preprocessor_config.json``, run on real (solid-colour) PIL images: its ``image_grid_thw`` must
equal our grid and its ``pixel_values`` must have one row per grid cell. Sizes cover the rounding
traps: multiples of 32 ± 1, exact ties (x ≡ 16 mod 32, where Python rounds half to even),
the min/max pixel edges, aspect ratios around the 200 limit, and a seeded random spread.
Images whose resized area is near max_pixels (~16.7M pixels) take seconds each in the processor,
so only a subset of them runs through it; the rest are checked against transformers'
``smart_resize`` (the function the processor's ``resize`` calls).
"""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from mmrender.errors import ImageSourceError
from mmrender_qwen3_vl import layout as qwen
from PIL import Image
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil, smart_resize

CONFIG_PATH = qwen.ASSETS / "Qwen3-VL-8B-Instruct" / "preprocessor_config.json"
FINGERPRINT = "c2f096345b0d84e6bd2ee38b815cc329"  # the brief's value for the default Qwen preimage
FACTOR = 32
MIN_PIXELS, MAX_PIXELS = 65536, 16777216


def _sizes() -> list[tuple[int, int]]:
    """(width, height) pairs the real processor runs on; every one is cheap (resized area < ~4.2M px)."""
    sizes: list[tuple[int, int]] = [(640, 480), (480, 640), (1920, 1080), (1, 1), (32, 32), (16, 16)]
    others = (480, 333, 1000, 64, 777, 1201)
    # multiples of 32, ± 1, on each axis and on both
    for i, k in enumerate((1, 2, 3, 5, 8, 10, 15, 16, 20, 24, 31, 32, 40, 47, 48, 63, 64)):
        for x in (32 * k - 1, 32 * k, 32 * k + 1):
            sizes.append((x, others[i % len(others)]) if i % 2 else (others[i % len(others)], x))
    for a, b in ((3, 7), (10, 10), (17, 33), (40, 9), (25, 60)):
        for da, db in ((-1, -1), (1, 1), (-1, 1), (1, -1)):
            sizes.append((32 * a + da, 32 * b + db))
    # ties: x = 32k + 16 rounds to the even multiple (16x2048 is the brief's trap)
    sizes += [(16, 2048), (2048, 16), (48, 48), (80, 112), (144, 176), (208, 240), (1040, 1072)]
    for i, k in enumerate(range(0, 40, 2)):
        tie = 32 * k + 16
        sizes.append((tie, (720, 1024, 512, 333)[i % 4]) if i % 2 else ((720, 1024, 512, 333)[i % 4], tie))
        sizes.append((tie + 32, 400 + 32 * i + 16))
    # min_pixels edge: rounded area exactly 65536 (32a x 32b, a*b = 64), one step below or above
    for a, b in ((8, 8), (4, 16), (16, 4), (2, 32), (32, 2), (1, 64)):
        for dw, dh in ((0, 0), (15, 0), (16, 0), (17, 0), (-16, 0), (-17, 0), (0, -16), (-1, -1), (16, 16)):
            w, h = 32 * a + dw, 32 * b + dh
            if w > 0 and h > 0:
                sizes.append((w, h))
    sizes += [(255, 256), (256, 255), (200, 327), (327, 200), (181, 362), (128, 512), (100, 100), (250, 262)]
    # aspect ratio near the 200 limit (allowed up to exactly 200)
    sizes += [
        (1, 200),
        (200, 1),
        (1, 199),
        (2, 399),
        (2, 400),
        (10, 1999),
        (1999, 10),
        (10, 2000),
        (32, 6399),
        (32, 6400),
        (6400, 32),
        (33, 6599),
        (13, 2599),
        (7, 1400),
        (20, 3990),
        (3990, 20),
        (16, 3200),
        (100, 19999),
    ]
    # a seeded log-uniform spread of ordinary sizes
    rng = random.Random(20240501)
    while len(sizes) < 300:
        w, h = (int(math.exp(rng.uniform(math.log(8), math.log(2600)))) for _ in range(2))
        if max(w, h) / min(w, h) <= 200:
            sizes.append((w, h))
    return list(dict.fromkeys(sizes))


SIZES = _sizes()
# Resized area near max_pixels: seconds each in the processor, so a representative subset.
BIG_SIZES = [(4096, 4096), (4112, 4096), (4113, 4096), (4095, 4097), (2048, 8208), (16384, 1024)]
# Checked against transformers' smart_resize only (same function the processor's resize calls).
NEAR_MAX = sorted(
    {
        (32 * a + d1, 32 * b + d2)
        for a, b in ((128, 128), (64, 256), (256, 64), (32, 512), (512, 32), (16, 1024))
        for d1, d2 in ((0, 0), (15, 0), (16, 0), (17, 0), (-16, 0), (-17, 0), (1, 1), (-1, -1), (16, 16))
    }
    | {(5000, 5000), (8000, 6000), (20000, 100), (12345, 6789)}
)
TOO_ELONGATED = [(1, 201), (201, 1), (2, 401), (10, 2001), (2001, 10), (32, 6401), (33, 6601), (100, 20001)]


def _processor() -> Qwen2VLImageProcessorPil:
    config = json.loads(CONFIG_PATH.read_text(encoding="utf-8"))
    config = {k: v for k, v in config.items() if k not in ("processor_class", "image_processor_type")}
    return Qwen2VLImageProcessorPil(**config)


PROCESSOR = _processor()


def _transformers_grid(width: int, height: int) -> list[int]:
    image = Image.new("RGB", (width, height), (90, 140, 200))
    out = PROCESSOR(images=image, return_tensors="np")
    (grid,) = np.asarray(out["image_grid_thw"]).tolist()
    assert out["pixel_values"].shape[0] == grid[0] * grid[1] * grid[2]
    return grid


def test_processor_is_configured_from_the_bundled_preprocessor_config():
    assert (PROCESSOR.patch_size, PROCESSOR.merge_size, PROCESSOR.temporal_patch_size) == (16, 2, 2)
    assert (PROCESSOR.size.shortest_edge, PROCESSOR.size.longest_edge) == (MIN_PIXELS, MAX_PIXELS)
    assert qwen.DEFAULT_PARAMS == {
        "patch_size": 16,
        "merge_size": 2,
        "temporal_patch_size": 2,
        "min_pixels": MIN_PIXELS,
        "max_pixels": MAX_PIXELS,
    }


def test_enough_sizes_and_the_traps_are_in():
    assert len(SIZES) >= 200
    assert (16, 2048) in SIZES and (640, 480) in SIZES
    assert sum(1 for w, h in SIZES if w % 32 == 16 or h % 32 == 16) >= 30
    assert sum(1 for w, h in SIZES if w % 32 in (1, 31) or h % 32 in (1, 31)) >= 40


def test_brief_facts_640x480():
    layout = qwen.qwen_layout(640, 480)
    assert list(layout.grid) == [1, 30, 40]
    assert layout.num_tokens == layout.num_placeholders == 300
    assert layout.fingerprint == FINGERPRINT
    assert _transformers_grid(640, 480) == [1, 30, 40]


def _check(width: int, height: int, expected: list[int]) -> None:
    layout = qwen.qwen_layout(width, height)
    assert list(layout.grid) == expected
    t, gh, gw = expected
    assert layout.num_tokens == layout.num_placeholders == t * gh * gw // 4
    assert layout.resized == (gw * 16, gh * 16)
    assert dict(layout.payload) == {"image_grid_thw": [expected]}
    assert layout.family == "qwen_vl" and layout.fingerprint == FINGERPRINT
    assert MIN_PIXELS <= gh * gw * 256 <= MAX_PIXELS


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_layout_equals_transformers_processor(width, height):
    _check(width, height, _transformers_grid(width, height))


@pytest.mark.parametrize(("width", "height"), BIG_SIZES, ids=[f"{w}x{h}" for w, h in BIG_SIZES])
def test_layout_equals_transformers_processor_near_max_pixels(width, height):
    _check(width, height, _transformers_grid(width, height))


@pytest.mark.parametrize(("width", "height"), NEAR_MAX, ids=[f"{w}x{h}" for w, h in NEAR_MAX])
def test_layout_equals_transformers_smart_resize_near_max_pixels(width, height):
    rh, rw = smart_resize(height, width, factor=FACTOR, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
    _check(width, height, [1, rh // 16, rw // 16])


def test_ties_round_half_to_even():
    # 16x2048: w rounds to 0 (half to even), area 0 < min_pixels, upscaled by sqrt(2): [1, 182, 2]
    assert list(qwen.qwen_layout(16, 2048).grid) == _transformers_grid(16, 2048) == [1, 182, 2]
    # 4112 = 32 * 128.5 rounds down to 4096 (even), so 4112x4096 stays exactly at max_pixels
    assert list(qwen.qwen_layout(4112, 4096).grid) == [1, 256, 256]


@pytest.mark.parametrize(("width", "height"), TOO_ELONGATED, ids=[f"{w}x{h}" for w, h in TOO_ELONGATED])
def test_aspect_ratio_over_200_is_refused_by_both(width, height):
    with pytest.raises(ImageSourceError, match="aspect ratio"):
        qwen.qwen_layout(width, height)
    with pytest.raises(ValueError, match="aspect ratio"):
        PROCESSOR(images=Image.new("RGB", (width, height)), return_tensors="np")
