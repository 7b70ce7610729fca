"""Qwen vision layout (family id ``qwen_vl``), shared by every Qwen checkpoint with the Qwen3-VL vision tower.

It lives here, in the Qwen3-VL package, because the layout belongs to that vision tower;
Qwen3.5 reuses the tower (its processor is Qwen3-VL's) and so depends on this package
rather than copying the math.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmrender import ImageLayout, LayoutEngine, ProcessedMMItem
from mmrender.errors import ImageSourceError
from mmrender.layout_engines import check_positive_ints
from mmrender.ref_codecs import layout_fingerprint
from PIL import Image

FAMILY = "qwen_vl"
ASSETS = Path(__file__).parent / "assets"
DEFAULT_PREPROCESSOR = ASSETS / "Qwen3-VL-8B-Instruct" / "preprocessor_config.json"


def params_from_preprocessor(config: Mapping[str, Any]) -> dict[str, int]:
    """The five settings that decide the layout, read from a ``preprocessor_config.json`` dict."""
    size = config.get("size") or {}
    min_pixels = config.get("min_pixels", size.get("shortest_edge"))
    max_pixels = config.get("max_pixels", size.get("longest_edge"))
    if min_pixels is None or max_pixels is None:
        raise ValueError("preprocessor config has neither size.shortest_edge/longest_edge nor min/max_pixels")
    return {
        "max_pixels": int(max_pixels),
        "merge_size": int(config["merge_size"]),
        "min_pixels": int(min_pixels),
        "patch_size": int(config["patch_size"]),
        "temporal_patch_size": int(config["temporal_patch_size"]),
    }


def load_params(path: Path = DEFAULT_PREPROCESSOR) -> dict[str, int]:
    return params_from_preprocessor(json.loads(Path(path).read_text(encoding="utf-8")))


DEFAULT_PARAMS: dict[str, int] = load_params()


def smart_resize(
    height: int, width: int, factor: int = 28, min_pixels: int = 56 * 56, max_pixels: int = 14 * 14 * 4 * 1280
) -> tuple[int, int]:
    """transformers' ``smart_resize`` (``models/qwen2_vl/image_processing_pil_qwen2_vl.py``, Apache-2.0), restated
    statement for statement because importing it pulls in torch.

    Kept byte-for-byte in its arithmetic: ``round`` ties to even (``16 / 32`` rounds to 0, which then takes the
    ``min_pixels`` branch), and the divisions run in transformers' order. tests/qwen_layout/test_smart_resize_port.py
    checks it against transformers' function over a grid of sizes and settings.
    """
    if max(height, width) / min(height, width) > 200:
        raise ValueError(
            f"absolute aspect ratio must be smaller than 200, got {max(height, width) / min(height, width)}"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@functools.lru_cache(maxsize=64)
def _fingerprint(items: tuple[tuple[str, Any], ...]) -> str:
    """The layout fingerprint, cached: it depends only on the settings, not on the image."""
    return layout_fingerprint(FAMILY, dict(items))


def qwen_layout(width: int, height: int, params: Mapping[str, Any] = DEFAULT_PARAMS) -> ImageLayout:
    """Grid ``[1, h/patch, w/patch]`` from ``smart_resize`` (transformers' arithmetic); tokens = product // merge²."""
    patch, merge = int(params["patch_size"]), int(params["merge_size"])
    try:
        resized_h, resized_w = smart_resize(
            height, width, factor=patch * merge, min_pixels=params["min_pixels"], max_pixels=params["max_pixels"]
        )
    except ValueError as exc:
        raise ImageSourceError(f"image of {width}x{height} cannot be laid out: {exc}") from exc
    grid = (1, resized_h // patch, resized_w // patch)
    tokens = grid[0] * grid[1] * grid[2] // (merge * merge)
    return ImageLayout(
        family=FAMILY,
        fingerprint=_fingerprint(tuple(sorted(params.items()))),
        grid=grid,
        num_tokens=tokens,
        num_placeholders=tokens,
        payload={"image_grid_thw": [list(grid)]},
        resized=(resized_w, resized_h),
        params=dict(params),
    )


def check_params(params: Mapping[str, Any]) -> None:
    """A ref's ``layout_params`` (untrusted JSON): positive ints, and a pixel budget that is not inverted."""
    check_positive_ints(params)
    if params["min_pixels"] > params["max_pixels"]:
        raise ValueError(f"min_pixels {params['min_pixels']} exceeds max_pixels {params['max_pixels']}")


def process_images(pixels: Sequence[Image.Image], params: Mapping[str, Any]) -> ProcessedMMItem:
    """The engine's processor (imported on first use: raw mode never loads transformers or torch)."""
    from .vision import process_qwen_images

    return process_qwen_images(pixels, params)


ENGINE = LayoutEngine(
    family=FAMILY,
    compute=qwen_layout,
    default_params=DEFAULT_PARAMS,
    check_params=check_params,
    process=process_images,
)
