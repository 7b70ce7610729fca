"""M-RoPE on hand-made layouts against ``Qwen3VLModel.get_rope_index`` (config-only stand-in), and its refusals."""

from __future__ import annotations

import functools
import types

import pytest
from mmrender import ConfigError
from mmrender.positions import MRoPE, TextPositions


def _get_rope_index(ids_len: int, runs: list[tuple[int, int, tuple[int, int, int]]]) -> tuple[list[list[int]], int]:
    import torch
    from transformers import Qwen3VLConfig, Qwen3VLModel

    kinds = [0] * ids_len
    for offset, length, _ in runs:
        kinds[offset : offset + length] = [1] * length
    stand_in = types.SimpleNamespace(config=Qwen3VLConfig())
    stand_in.get_vision_position_ids = functools.partial(Qwen3VLModel.get_vision_position_ids, stand_in)
    grids = torch.tensor([list(g) for _, _, g in runs]) if runs else None
    pos, delta = Qwen3VLModel.get_rope_index(
        stand_in, torch.zeros(1, ids_len, dtype=torch.long), torch.tensor([kinds]), image_grid_thw=grids
    )
    return pos[:, 0, :].tolist(), int(delta.reshape(-1)[0])


@pytest.mark.parametrize(
    "length, runs",
    [
        (5, []),
        (10, [(2, 4, (1, 4, 4))]),  # square image
        (3 + 6 + 2, [(3, 6, (1, 4, 6))]),  # wide: text resumes at max(h, w) / 2
        (1 + 6 + 1 + 12 + 4, [(1, 6, (1, 6, 4)), (8, 12, (1, 8, 6))]),  # tall, then larger, text after
        (4 + 20, [(4, 20, (1, 10, 8))]),  # ends with the image
    ],
)
def test_mrope_equals_get_rope_index(length: int, runs: list) -> None:
    rows, delta = MRoPE(spatial_merge_size=2).positions(length, runs)
    want_rows, want_delta = _get_rope_index(length, runs)
    assert [list(r) for r in rows] == want_rows and delta == want_delta


def test_mrope_refuses_runs_that_do_not_match_their_grid() -> None:
    with pytest.raises(ConfigError, match="does not match the one-frame grid"):
        MRoPE(spatial_merge_size=2).positions(10, [(0, 5, (1, 4, 4))])
    with pytest.raises(ConfigError, match="one-frame grid"):
        MRoPE(spatial_merge_size=2).positions(10, [(0, 8, (2, 4, 4))])


def test_text_positions_are_one_row() -> None:
    assert TextPositions().positions(4, [(1, 1, (1, 8, 8))]) == (((0, 1, 2, 3),), None)
