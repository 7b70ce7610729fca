"""The torch-free ``smart_resize`` port in ``mmrender_qwen3_vl.layout`` against transformers' own function.

Raw mode computes every Qwen layout with the port (importing transformers' version pulls in torch), so
the port must agree with the original on every size, not just typical ones: every width x height in a
small square (each setting's min/max edges fall inside it), a strided sweep up to ~20k px, bands around
each ``max_pixels`` and ``min_pixels`` edge, rounding ties (``x = k * factor + factor / 2``, where
Python's ``round`` goes to even) and aspect ratios at and just past the 200 limit. Errors count too: both
must raise the same exception type with the same message.
"""

from __future__ import annotations

import inspect
import math

import pytest
from mmrender_qwen3_vl import layout as qwen
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize as transformers_smart_resize

# (factor, min_pixels, max_pixels): Qwen3-VL's bundled config, Qwen2-VL's defaults, and settings small
# enough that a 1..SQUARE grid crosses both edges, including min == max and a factor that is not 2^k.
SETTINGS = [
    (32, 65536, 16777216),
    (28, 56 * 56, 28 * 28 * 1280),
    (32, 32 * 32 * 4, 32 * 32 * 48),
    (28, 28 * 28 * 3, 28 * 28 * 3),
    (14, 14 * 14 * 2, 14 * 14 * 90),
    (32, 1, 32 * 32 * 16),
]
SQUARE = 260


def _outcome(fn, height: int, width: int, factor: int, min_pixels: int, max_pixels: int):
    try:
        return fn(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    except Exception as exc:  # the port must fail exactly where and how transformers fails
        return (type(exc), str(exc))


def _edge_sizes(factor: int, min_pixels: int, max_pixels: int) -> set[tuple[int, int]]:
    """(height, width) pairs whose area sits within a few rows/columns of either pixel limit."""
    sizes: set[tuple[int, int]] = set()
    for limit in (min_pixels, max_pixels):
        side = math.isqrt(limit)
        for h in {*range(max(1, side // 8), side * 8, max(1, side // 40)), *range(max(1, side - 40), side + 41)}:
            target = limit / h
            for w in range(max(1, int(target) - factor - 2), int(target) + factor + 3):
                sizes.add((h, w))
    return sizes


def _special_sizes(factor: int) -> set[tuple[int, int]]:
    """Ties, multiples of the factor +- 1, a strided sweep to ~20k px and aspect ratios around 200."""
    sizes: set[tuple[int, int]] = {(16, 2048), (2048, 16), (4112, 4096), (4096, 4112)}
    ties = [k * factor + factor // 2 for k in range(0, 300, 7)]
    near = [k * factor + d for k in range(1, 600, 11) for d in (-1, 0, 1)]
    for a in ties + near:
        for b in (1, 7, 333, 480, 1024, 2047, 4096, 8191):
            sizes |= {(a, b), (b, a)}
    sweep = range(1, 20_001, 97)
    sizes |= {(h, w) for h in sweep for w in range(1, 20_001, 389)}
    for s in range(1, 120):
        for d in (-1, 0, 1):
            sizes |= {(s, 200 * s + d), (200 * s + d, s)}
    return sizes


@pytest.mark.parametrize(("factor", "min_pixels", "max_pixels"), SETTINGS, ids=[str(s) for s in SETTINGS])
def test_port_equals_transformers_on_every_small_size(factor, min_pixels, max_pixels):
    mismatches = [
        (h, w)
        for h in range(1, SQUARE + 1)
        for w in range(1, SQUARE + 1)
        if _outcome(qwen.smart_resize, h, w, factor, min_pixels, max_pixels)
        != _outcome(transformers_smart_resize, h, w, factor, min_pixels, max_pixels)
    ]
    assert mismatches == []


@pytest.mark.parametrize(("factor", "min_pixels", "max_pixels"), SETTINGS, ids=[str(s) for s in SETTINGS])
def test_port_equals_transformers_at_the_edges_and_traps(factor, min_pixels, max_pixels):
    sizes = _edge_sizes(factor, min_pixels, max_pixels) | _special_sizes(factor)
    assert len(sizes) > 20_000
    mismatches = [
        (h, w)
        for h, w in sorted(sizes)
        if _outcome(qwen.smart_resize, h, w, factor, min_pixels, max_pixels)
        != _outcome(transformers_smart_resize, h, w, factor, min_pixels, max_pixels)
    ]
    assert mismatches == []


def test_the_grids_reach_every_branch():
    """Guards the test itself: the sizes above must exercise rounding, both rescales and the refusal."""
    factor, min_pixels, max_pixels = SETTINGS[0]
    sizes = _edge_sizes(factor, min_pixels, max_pixels) | _special_sizes(factor)
    seen = set()
    for h, w in sizes:
        if max(h, w) / min(h, w) > 200:
            seen.add("refused")
            continue
        rounded = round(h / factor) * factor * round(w / factor) * factor
        seen.add("down" if rounded > max_pixels else "up" if rounded < min_pixels else "rounded")
    assert seen == {"refused", "down", "up", "rounded"}


def test_port_defaults_are_transformers_defaults():
    ours = inspect.signature(qwen.smart_resize).parameters
    theirs = inspect.signature(transformers_smart_resize).parameters
    assert [(p.name, p.default) for p in ours.values()] == [(p.name, p.default) for p in theirs.values()]
