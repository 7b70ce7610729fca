"""Processed mode: transformers' own ``Kimi_K25ImageProcessor``, imported lazily (it needs torch).

Raw mode never comes here. The processor is configured from the same ``media_proc_cfg`` values
the layout uses, so its grid must equal the raw layout's; the renderer checks that.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from mmrender import ProcessedMMItem
from mmrender.images import ImageBytes, decode_pixels
from PIL import Image


@functools.lru_cache(maxsize=4)
def image_processor(params: tuple[tuple[str, int], ...], mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    """A cached processor per configuration (building one imports torch and torchvision)."""
    from transformers import Kimi_K25ImageProcessor

    p = dict(params)
    side = p["patch_limit_on_one_side"]
    return Kimi_K25ImageProcessor(
        max_patches=p["in_patch_limit"],
        size={"max_height": side, "max_width": side},
        patch_size=p["patch_size"],
        merge_size=p["merge_kernel_size"],
        image_mean=list(mean),
        image_std=list(std),
    )


def process_kimi_image(image: ImageBytes, params: Mapping[str, int], media_cfg: Mapping[str, Any]) -> ProcessedMMItem:
    """``pixel_values`` ``[patches, 3, p, p]`` float32 and the grid (under vLLM's and transformers' keys)."""
    mean = tuple(float(v) for v in media_cfg.get("image_mean", (0.5, 0.5, 0.5)))
    std = tuple(float(v) for v in media_cfg.get("image_std", (0.5, 0.5, 0.5)))
    processor = image_processor(tuple(sorted(params.items())), mean, std)
    out = processor(images=[decode_pixels(image.data)], return_tensors="pt")
    pixel_values = out["pixel_values"].numpy()
    grid = out["image_grid_thw"].numpy()
    return ProcessedMMItem(
        data={"pixel_values": pixel_values, "grid_thws": grid, "image_grid_thw": grid.copy()},
        grid=tuple(int(v) for v in grid.reshape(-1)),
    )


@functools.lru_cache(maxsize=1)
def _bundled_normalisation() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``image_mean``/``image_std`` of the bundled ``media_proc_cfg`` (refs carry only the layout settings)."""
    import json

    from .layout import DEFAULT_MEDIA_PROC_CFG

    block = json.loads(DEFAULT_MEDIA_PROC_CFG.read_text(encoding="utf-8"))["media_proc_cfg"]
    return tuple(float(v) for v in block["image_mean"]), tuple(float(v) for v in block["image_std"])


def process_kimi_images(pixels: Sequence[Image.Image], params: Mapping[str, int]) -> ProcessedMMItem:
    """Every image through one ``Kimi_K25ImageProcessor`` call (the layout engine's ``process``)."""
    mean, std = _bundled_normalisation()
    processor = image_processor(tuple(sorted((k, int(v)) for k, v in params.items())), mean, std)
    out = processor(images=list(pixels), return_tensors="pt")
    grid = out["image_grid_thw"].numpy()
    return ProcessedMMItem(
        data={"pixel_values": out["pixel_values"].numpy(), "grid_thws": grid, "image_grid_thw": grid.copy()},
        grid=tuple(int(v) for v in grid.reshape(-1)),
    )
