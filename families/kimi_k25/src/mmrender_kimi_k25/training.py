"""Kimi K2.5 training declaration: its assistant turns and 1-D positions.

An assistant turn is ``<|im_assistant|>{name}<|im_middle|>`` + what the model generates (``<think>…</think>``,
content, tool-call section) + ``<|im_end|>``; nothing follows the end token. The language model is
DeepSeek-V3 (``config.json`` ``text_config.architectures``), whose RoPE takes plain 1-D positions, and
transformers' ``Kimi_K25Model.forward`` hands ``position_ids`` straight to it (its vision tower's 2-D
rope is internal to the tower), so a sample carries one row ``0..L-1``.
"""

from __future__ import annotations

from mmrender.positions import TextPositions
from mmrender.training import TrainingSpec, TurnBoundaries

#: Where a raw Kimi item keeps its grid (``payload["grid_thws"] == [[t, h, w]]``).
GRID_KEY = "grid_thws"


def kimi_training_spec(im_assistant: int, im_middle: int, im_end: int) -> TrainingSpec:
    turns = TurnBoundaries(turn_start=im_assistant, turn_end=im_end, header_end=im_middle)
    return TrainingSpec(turns=turns, positions=TextPositions(), grid_key=GRID_KEY)
