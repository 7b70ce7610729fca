"""Processed mode: transformers' own Qwen image processor, built once from the checkpoint's preprocessor config."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from mmrender import ProcessedMMItem
from mmrender.images import ImageBytes, decode_pixels

from .layout import DEFAULT_PREPROCESSOR


@functools.lru_cache(maxsize=8)
def image_processor(preprocessor_config: Path = DEFAULT_PREPROCESSOR) -> Any:
    """Load lazily: importing the processor is slow and raw mode never needs it."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    config = json.loads(Path(preprocessor_config).read_text(encoding="utf-8"))
    kwargs = {k: config[k] for k in ("size", "patch_size", "temporal_patch_size", "merge_size") if k in config}
    for key in ("image_mean", "image_std"):
        if key in config:
            kwargs[key] = config[key]
    return Qwen2VLImageProcessorPil(**kwargs)


def process_qwen_image(image: ImageBytes, preprocessor_config: Path = DEFAULT_PREPROCESSOR) -> ProcessedMMItem:
    """``pixel_values`` and ``image_grid_thw`` for one image, as numpy arrays."""
    out = image_processor(Path(preprocessor_config))(images=[decode_pixels(image.data)], return_tensors="np")
    return ProcessedMMItem(
        data={
            "pixel_values": np.asarray(out["pixel_values"]),
            "image_grid_thw": np.asarray(out["image_grid_thw"]),
        }
    )
