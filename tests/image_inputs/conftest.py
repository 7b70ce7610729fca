"""Image-input fidelity fixtures: all three families loaded, EXIF-oriented test images, transformers oracles.

The oracles are transformers' own image processors fed by ``transformers.image_utils.load_image``
(which applies ``ImageOps.exif_transpose``, as vLLM's loader does); nothing here asks mmrender.
"""

from __future__ import annotations

import functools
import io
import json
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mmrender import plugins
from PIL import Image

FAMILY_PLUGINS = ("mmrender-qwen3-vl", "mmrender-qwen3-5", "mmrender-kimi-k25", "mmrender-storage")
#: family → model id the renderer is asked for
MODELS = {
    "qwen3_vl": "Qwen/Qwen3-VL-8B-Instruct",
    "qwen3_5": "Qwen/Qwen3.5-0.8B",
    "kimi_k25": "moonshotai/Kimi-K2.6",
}
ORIENTATIONS = tuple(range(1, 9))
FORMATS = ("JPEG", "PNG", "WEBP")


@pytest.fixture(scope="package", autouse=True)
def _families(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The three families and the storage backends by entry point, with a package-wide store."""
    with pytest.MonkeyPatch.context() as mp, plugins.restricted(*FAMILY_PLUGINS):
        mp.setenv("MMRENDER_STORE", str(tmp_path_factory.mktemp("image-inputs-store")))
        yield


@functools.cache
def renderer(family: str, **options: Any) -> Any:
    import mmrender

    return mmrender.get_renderer(MODELS[family], **options)


def _asset_dir(module: str, sub: str) -> Path:
    import importlib

    return Path(importlib.import_module(module).__file__).parent / "assets" / sub


@functools.cache
def oracle(family: str) -> Callable[..., Any]:
    """transformers' image processor for ``family``, configured from the bundled preprocessor config."""
    if family == "kimi_k25":
        from transformers import Kimi_K25ImageProcessor

        cfg = json.loads((_asset_dir("mmrender_kimi_k25", "media_proc_cfg.DERIVED.json")).read_text())
        cfg = cfg.get("media_proc_cfg", cfg)
        side = cfg["patch_limit_on_one_side"]
        return Kimi_K25ImageProcessor(
            max_patches=cfg["in_patch_limit"],
            size={"max_height": side, "max_width": side},
            patch_size=cfg["patch_size"],
            merge_size=cfg["merge_kernel_size"],
            image_mean=cfg.get("image_mean", [0.5, 0.5, 0.5]),
            image_std=cfg.get("image_std", [0.5, 0.5, 0.5]),
        )
    from transformers import AutoImageProcessor

    folder = {
        "qwen3_vl": ("mmrender_qwen3_vl", "Qwen3-VL-8B-Instruct"),
        "qwen3_5": ("mmrender_qwen3_5", "Qwen3.5-0.8B"),
    }
    return AutoImageProcessor.from_pretrained(str(_asset_dir(*folder[family])), local_files_only=True)


def oracle_outputs(family: str, source: Any) -> dict[str, np.ndarray]:
    """``pixel_values`` and ``image_grid_thw`` transformers computes for a source as ``load_image`` reads it."""
    from transformers.image_utils import load_image

    image = source if isinstance(source, np.ndarray) else load_image(source)
    out = oracle(family)(images=[image], return_tensors="pt")
    return {k: out[k].numpy() for k in ("pixel_values", "image_grid_thw")}


def pattern(width: int, height: int) -> Image.Image:
    """An RGB image no flip or rotation maps onto itself, that still compresses well."""
    y, x = np.mgrid[0:height, 0:width]
    arr = np.stack([(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)), (x * y) % 251], axis=-1)
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def oriented_bytes(width: int, height: int, orientation: int, fmt: str) -> bytes:
    """``pattern(width, height)`` encoded as ``fmt`` with EXIF orientation tag 0x0112 set."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    pattern(width, height).save(buf, format=fmt, exif=exif.tobytes())
    return buf.getvalue()


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, whole chunk bytes) of every chunk of a PNG."""
    pos, out = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        out.append((data[pos + 4 : pos + 8], data[pos : pos + 12 + length]))
        pos += 12 + length
    return out


def exif_after_idat(png: bytes) -> bytes:
    """The same PNG with its eXIf chunk moved after the image data (where some writers put it)."""
    chunks = png_chunks(png)
    exif = [c for t, c in chunks if t == b"eXIf"]
    rest = [c for t, c in chunks if t not in (b"eXIf", b"IEND")]
    assert len(exif) == 1
    return png[:8] + b"".join(rest) + exif[0] + chunks[-1][1]


@pytest.fixture(scope="package")
def write(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, bytes], str]:
    root = tmp_path_factory.mktemp("oriented")

    def write(name: str, data: bytes) -> str:
        path = root / name
        path.write_bytes(data)
        return str(path)

    return write


def image_part(source: Any) -> dict[str, Any]:
    return {"type": "image", "image": source}


def first_item(rendered: Any) -> Any:
    return rendered.multi_modal_data.mm_items["image"][0]


def grid_of(family: str, item: Any) -> list[list[int]]:
    return item.payload["grid_thws" if family == "kimi_k25" else "image_grid_thw"]
