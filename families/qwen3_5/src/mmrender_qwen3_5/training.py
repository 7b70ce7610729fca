"""Qwen3.5 training declaration: the Qwen ChatML turn rule and M-RoPE of its Qwen3-VL vision tower.

Qwen3.5's ``get_rope_index`` (transformers ``models/qwen3_5``) is statement for statement Qwen3-VL's,
and its assistant turns are ChatML, so the spec is Qwen3-VL's built from this tokenizer's ids.
"""

from __future__ import annotations

from typing import Any

from mmrender.training import TrainingSpec
from mmrender_qwen3_vl.training import qwen_training_spec


def training_spec(renderer: Any, merge_size: int) -> TrainingSpec:
    """The spec for a :class:`~.renderer.Qwen35Renderer` (its special ids and text encoder)."""
    ids = renderer.ids
    header = renderer.encoder.encode("assistant\n")
    return qwen_training_spec(ids["<|im_start|>"], ids["<|im_end|>"], header, merge_size)
