"""Processed mode: transformers' own Qwen image processor, built once from the checkpoint's preprocessor config.

The processor class is the one ``AutoImageProcessor`` picks for these checkpoints (and vLLM runs):
the torchvision-backed ``Qwen2VLImageProcessor`` when torchvision is installed, else the torch-free
``Qwen2VLImageProcessorPil`` (same grids; pixel values can differ by one rounding step). Images are
decoded with Pillow, as vLLM does, and handed to the processor as PIL images.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmrender import ProcessedMMItem
from mmrender.images import ImageBytes, decode_pixels
from PIL import Image

from .layout import DEFAULT_PREPROCESSOR

_CONFIG_KEYS = ("size", "patch_size", "temporal_patch_size", "merge_size", "image_mean", "image_std")


def torchvision_available() -> bool:
    return importlib.util.find_spec("torchvision") is not None and importlib.util.find_spec("torch") is not None


@functools.lru_cache(maxsize=8)
def image_processor(
    preprocessor_config: Path = DEFAULT_PREPROCESSOR,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    backend: str | None = None,
) -> Any:
    """Load lazily: importing the processor is slow and raw mode never needs it.

    ``min_pixels`` / ``max_pixels`` override the config's ``size`` (the renderer's options), so the
    processor resizes exactly as the layout that counted the placeholders. ``backend`` is
    ``"torchvision"`` or ``"pil"`` (default: torchvision when installed).
    """
    backend = backend or ("torchvision" if torchvision_available() else "pil")
    if backend == "torchvision":
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor as cls
    else:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil as cls

    config = json.loads(Path(preprocessor_config).read_text(encoding="utf-8"))
    kwargs = {k: config[k] for k in _CONFIG_KEYS if k in config}
    if min_pixels is not None or max_pixels is not None:
        size = dict(kwargs.get("size") or {})
        if min_pixels is not None:
            size["shortest_edge"] = min_pixels
        if max_pixels is not None:
            size["longest_edge"] = max_pixels
        size.setdefault("shortest_edge", config.get("min_pixels"))
        size.setdefault("longest_edge", config.get("max_pixels"))
        kwargs["size"] = size
    return cls(**kwargs)


def process_qwen_image(
    image: ImageBytes,
    preprocessor_config: Path = DEFAULT_PREPROCESSOR,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
) -> ProcessedMMItem:
    """``pixel_values`` (float32) and ``image_grid_thw`` (int64) for one image, as numpy arrays.

    numpy is imported here, not with the module: raw-mode renderers import this module and never need it.
    """
    processor = image_processor(Path(preprocessor_config), min_pixels, max_pixels)
    out = processor(images=[decode_pixels(image.data)], return_tensors="pt" if torchvision_available() else "np")
    return _processed_item(out)


def _processed_item(out: Mapping[str, Any]) -> ProcessedMMItem:
    """A processor's output as numpy arrays, with the grid core checks against the layout."""
    import numpy as np

    values, grid = out["pixel_values"], out["image_grid_thw"]
    grid = np.asarray(grid.numpy() if hasattr(grid, "numpy") else grid)
    values = np.asarray(values.numpy() if hasattr(values, "numpy") else values)
    return ProcessedMMItem(
        data={"pixel_values": values, "image_grid_thw": grid}, grid=tuple(int(v) for v in grid.reshape(-1))
    )


@functools.lru_cache(maxsize=8)
def _processor_for(items: tuple[tuple[str, int], ...]) -> Any:
    """The processor for a ref's layout params: the bundled config's normalisation, the ref's geometry."""
    params = dict(items)
    base = image_processor(DEFAULT_PREPROCESSOR, params["min_pixels"], params["max_pixels"])
    geometry = {k: params[k] for k in ("patch_size", "temporal_patch_size", "merge_size")}
    if all(getattr(base, k) == v for k, v in geometry.items()):
        return base
    return type(base)(**{**base.to_dict(), **geometry})


def process_qwen_images(pixels: Sequence[Image.Image], params: Mapping[str, Any]) -> ProcessedMMItem:
    """Every image through one processor call (the layout engine's ``process``, for ``processed_inputs``).

    One call over the whole list is what a trainer's own ``processor(images=[...])`` does, so the
    ``pixel_values`` rows and ``image_grid_thw`` come out bit-identical to it.
    """
    processor = _processor_for(tuple(sorted((k, int(v)) for k, v in params.items())))
    out = processor(images=list(pixels), return_tensors="pt" if torchvision_available() else "np")
    return _processed_item(out)
