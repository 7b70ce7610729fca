"""Kimi K2.5 NaViT image layout from the image size alone (no pixels, no torch).

Why: the placeholder count of an image must be known from its header. Kimi's processor
(transformers ``Kimi_K25ImageProcessor``, vLLM's port of Moonshot's ``navit_resize_image``)
shrinks an image, never enlarging it, until it has at most ``in_patch_limit`` patches of
``patch_size`` pixels and at most ``patch_limit_on_one_side`` patches per side. It then pads
right/bottom to a multiple of ``patch_size * merge_kernel_size``. The grid is
``[1, padded_h / patch, padded_w / patch]`` and the LLM sees ``grid product / merge_kernel**2``
media tokens. transformers' ``navit_resize`` lives in a module that imports torch, so the same
float arithmetic is restated here, step for step. Its oracle is the live processor
(tests/kimi_k25/test_layout_parity.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

DEFAULT_MEDIA_PROC_CFG = Path(__file__).parent / "assets" / "media_proc_cfg.DERIVED.json"


@dataclass(frozen=True)
class KimiMediaConfig:
    """The four ``media_proc_cfg`` settings that decide an image's layout."""

    patch_size: int
    merge_kernel_size: int
    in_patch_limit: int
    patch_limit_on_one_side: int

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> KimiMediaConfig:
        """Read a ``preprocessor_config.json`` dict, or its inner ``media_proc_cfg`` block."""
        block = config.get("media_proc_cfg", config)
        return cls(
            patch_size=int(block["patch_size"]),
            merge_kernel_size=int(block["merge_kernel_size"]),
            in_patch_limit=int(block["in_patch_limit"]),
            patch_limit_on_one_side=int(block["patch_limit_on_one_side"]),
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "in_patch_limit": self.in_patch_limit,
            "merge_kernel_size": self.merge_kernel_size,
            "patch_limit_on_one_side": self.patch_limit_on_one_side,
            "patch_size": self.patch_size,
        }


@lru_cache(maxsize=1)
def default_config() -> KimiMediaConfig:
    """Settings of the bundled ``media_proc_cfg.DERIVED.json`` (14 / 2 / 16384 / 512)."""
    return KimiMediaConfig.from_mapping(json.loads(DEFAULT_MEDIA_PROC_CFG.read_text(encoding="utf-8")))


class KimiLayout(NamedTuple):
    grid_thws: list[int]  # [1, h, w] in patches, after padding
    num_media_tokens: int  # h * w // merge_kernel_size**2
    resized: tuple[int, int]  # (width, height) after the resize
    padded: tuple[int, int]  # (width, height) after zero padding


def kimi_layout(width: int, height: int, cfg: KimiMediaConfig | None = None) -> KimiLayout:
    """Layout of a ``width`` x ``height`` image, exactly as the Kimi K2.5 processor computes it."""
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"image {name} must be a positive int, got {value!r}")
    cfg = cfg or default_config()
    patch, side_limit = cfg.patch_size, cfg.patch_limit_on_one_side
    patches_h = max(1.0, height // patch)
    patches_w = max(1.0, width // patch)
    scale = min(
        1.0,
        math.sqrt(cfg.in_patch_limit / (patches_h * patches_w)),
        (side_limit * patch) / height,
        (side_limit * patch) / width,
    )
    new_h = min(max(1, int(height * scale)), side_limit * patch)
    new_w = min(max(1, int(width * scale)), side_limit * patch)
    factor = cfg.merge_kernel_size * patch
    pad_h = new_h + (factor - new_h % factor) % factor
    pad_w = new_w + (factor - new_w % factor) % factor
    grid_h, grid_w = pad_h // patch, pad_w // patch
    return KimiLayout(
        grid_thws=[1, grid_h, grid_w],
        num_media_tokens=grid_h * grid_w // cfg.merge_kernel_size**2,
        resized=(new_w, new_h),
        padded=(pad_w, pad_h),
    )
