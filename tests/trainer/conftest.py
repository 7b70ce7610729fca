"""Trainer-side fixtures: ≥ 20 images of many sizes and formats, renderers, and the transformers oracles.

Every image is generated here with Pillow (noise, so no codec can cheat), in every format and mode
the loaders meet: JPEG (baseline, progressive, grayscale, CMYK, EXIF-rotated), PNG (RGB, RGBA,
palette, LA, EXIF-rotated, tiny, very tall), WebP (lossy, lossless, RGBA), GIF (still, animated), BMP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mmrender import plugins
from PIL import Image

PLUGINS = "mmrender-qwen3-vl,mmrender-qwen3-5,mmrender-kimi-k25,mmrender-storage"
QWEN3_VL = "Qwen/Qwen3-VL-8B-Instruct"

#: name -> (width, height, format, mode, save options, EXIF orientation or None)
IMAGE_SPECS: dict[str, tuple[int, int, str, str, dict[str, Any], int | None]] = {
    "jpeg_640": (640, 480, "JPEG", "RGB", {"quality": 90}, None),
    "jpeg_big": (1600, 1200, "JPEG", "RGB", {"quality": 85}, None),
    "jpeg_odd": (1023, 769, "JPEG", "RGB", {}, None),
    "jpeg_gray": (300, 200, "JPEG", "L", {}, None),
    "jpeg_cmyk": (200, 300, "JPEG", "CMYK", {}, None),
    "jpeg_progressive": (800, 600, "JPEG", "RGB", {"progressive": True}, None),
    "jpeg_exif6": (400, 240, "JPEG", "RGB", {}, 6),
    "jpeg_exif3": (352, 288, "JPEG", "RGB", {}, 3),
    "jpeg_exif8": (500, 180, "JPEG", "RGB", {}, 8),
    "png_rgb": (333, 517, "PNG", "RGB", {}, None),
    "png_rgba": (256, 256, "PNG", "RGBA", {}, None),
    "png_palette": (120, 90, "PNG", "P", {}, None),
    "png_la": (100, 130, "PNG", "LA", {}, None),
    "png_tall": (16, 2048, "PNG", "RGB", {}, None),
    "png_tiny": (8, 8, "PNG", "RGB", {}, None),
    "png_exif6": (210, 110, "PNG", "RGB", {}, 6),
    "webp_wide": (1024, 96, "WEBP", "RGB", {"quality": 80}, None),
    "webp_lossless": (500, 375, "WEBP", "RGB", {"lossless": True}, None),
    "webp_rgba": (300, 300, "WEBP", "RGBA", {}, None),
    "gif_still": (97, 203, "GIF", "P", {}, None),
    "gif_animated": (64, 64, "GIF", "P", {"save_all": True}, None),
    "bmp_tiny": (31, 29, "BMP", "RGB", {}, None),
}


def _noise(width: int, height: int, mode: str, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    rgb = Image.fromarray(rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8), "RGB")
    if mode == "RGBA":
        alpha = Image.fromarray(rng.integers(0, 256, size=(height, width), dtype=np.uint8), "L")
        rgba = rgb.convert("RGBA")
        rgba.putalpha(alpha)
        return rgba
    if mode == "LA":
        return rgb.convert("LA")
    if mode == "P":
        return rgb.quantize(colors=64)
    return rgb.convert(mode)


def write_image(path: Path, spec: tuple[int, int, str, str, dict[str, Any], int | None], seed: int) -> Path:
    width, height, fmt, mode, options, orientation = spec
    img = _noise(width, height, mode, seed)
    options = dict(options)
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    if options.pop("save_all", False):
        frames = [img, _noise(width, height, mode, seed + 1000)]
        frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=50, loop=0)
    else:
        img.save(path, format=fmt, **options)
    return path


@pytest.fixture(scope="session")
def image_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("trainer-images")
    return {
        name: write_image(root / f"{name}.{spec[2].lower()}", spec, seed)
        for seed, (name, spec) in enumerate(IMAGE_SPECS.items())
    }


@pytest.fixture(scope="module", autouse=True)
def _bundled_plugins() -> Iterator[None]:
    """The three bundled families and the storage backends only (a sibling mid-development cannot break us)."""
    with plugins.restricted(*PLUGINS.split(",")):
        yield


def load_original(path: Path) -> Image.Image:
    """The oracle's decoding: transformers' own ``load_image`` on the original file."""
    from transformers.image_utils import load_image

    return load_image(str(path))


def qwen_oracle(preprocessor_dir: Path) -> Any:
    """transformers' image processor as ``AutoImageProcessor`` builds it from a checkpoint's config."""
    from transformers import AutoImageProcessor

    return AutoImageProcessor.from_pretrained(str(preprocessor_dir), local_files_only=True)


def kimi_oracle(media_proc_cfg: Path) -> Any:
    """``Kimi_K25ImageProcessor`` configured from a checkpoint's ``media_proc_cfg`` block."""
    from transformers import Kimi_K25ImageProcessor

    cfg = json.loads(media_proc_cfg.read_text(encoding="utf-8"))["media_proc_cfg"]
    side = cfg["patch_limit_on_one_side"]
    return Kimi_K25ImageProcessor(
        max_patches=cfg["in_patch_limit"],
        size={"max_height": side, "max_width": side},
        patch_size=cfg["patch_size"],
        merge_size=cfg["merge_kernel_size"],
        image_mean=cfg["image_mean"],
        image_std=cfg["image_std"],
    )


def image_message(paths: list[Path], text: str = "Describe every picture.") -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [*({"type": "image", "image": str(p)} for p in paths), {"type": "text", "text": text}],
        }
    ]
