"""Qwen training declaration: ChatML assistant turns and M-RoPE positions (shared by Qwen3-VL and Qwen3.5).

An assistant turn is ``<|im_start|>assistant\\n`` + what the model generates + ``<|im_end|>``, then a
``\\n`` the template writes outside the turn. Positions are M-RoPE with the vision tower's spatial merge
size, as ``Qwen3VLModel.get_rope_index`` computes them (Qwen3.5's ``get_rope_index`` is the same code).
"""

from __future__ import annotations

from collections.abc import Sequence

from mmrender.positions import MRoPE
from mmrender.training import TrainingSpec, TurnBoundaries

#: Where a raw Qwen item keeps its grid (``payload["image_grid_thw"] == [[t, h, w]]``).
GRID_KEY = "image_grid_thw"
VIDEO_GRID_KEY = "video_grid_thw"


def qwen_training_spec(im_start: int, im_end: int, header: Sequence[int], merge_size: int) -> TrainingSpec:
    """The spec from the ids of ``<|im_start|>``, ``<|im_end|>`` and the header text ``assistant\\n``."""
    turns = TurnBoundaries(turn_start=im_start, turn_end=im_end, header=tuple(header))
    return TrainingSpec(
        turns=turns,
        positions=MRoPE(spatial_merge_size=merge_size),
        grid_key=GRID_KEY,
        video_grid_key=VIDEO_GRID_KEY,
    )
