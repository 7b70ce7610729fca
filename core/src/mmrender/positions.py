"""Rotary position ids from a layout alone: 1-D text positions and multimodal RoPE (M-RoPE).

M-RoPE is a technique several model families share, so it lives here, parameterised by the spatial
merge size; a family picks its scheme in its training declaration. Pure Python: no pixels, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from .errors import ConfigError

#: One placeholder run: (offset, length, grid (t, h, w) in patches).
Run = tuple[int, int, tuple[int, ...]]
Positions = tuple[tuple[tuple[int, ...], ...], int | None]


class PositionScheme(Protocol):
    """How a family numbers positions: ``rows`` (one per axis) and a ``rope_delta`` (None when unused)."""

    def positions(self, length: int, runs: Sequence[Run]) -> Positions: ...


@attrs.frozen
class TextPositions:
    """One row ``0..L-1``: what a text model with 1-D RoPE takes as ``position_ids``."""

    def positions(self, length: int, runs: Sequence[Run]) -> Positions:
        return (tuple(range(length)),), None


@attrs.frozen
class MRoPE:
    """Three rows (t, h, w) and ``rope_delta``, as transformers' ``Qwen3VLModel.get_rope_index`` computes them.

    Text advances all three axes together; an image of grid ``(1, h, w)`` patches takes ``(h/m) * (w/m)``
    positions laid out on its merged grid starting at the current position, after which text resumes at
    ``current + max(h, w) / m`` (``m`` = ``spatial_merge_size``). Every run is one frame: transformers
    splits a Qwen3-VL video into one-frame grids separated by timestamp text, and mmrender renders images.
    ``rope_delta`` = max position + 1 - length, what generation adds to later positions.
    """

    spatial_merge_size: int

    def positions(self, length: int, runs: Sequence[Run]) -> Positions:
        m = self.spatial_merge_size
        t_row: list[int] = []
        h_row: list[int] = []
        w_row: list[int] = []
        pos = 0
        done = 0
        for offset, run_length, grid in sorted(runs):
            text = range(pos, pos + offset - done)
            t_row += text
            h_row += text
            w_row += text
            pos += offset - done
            frames, gh, gw = grid[0], grid[1] // m, grid[2] // m
            if frames != 1 or gh * gw != run_length:
                raise ConfigError(
                    f"placeholder run at {offset} ({run_length} ids) does not match the one-frame grid {list(grid)}"
                    f" with spatial merge {m}"
                )
            for y in range(gh):
                t_row += [pos] * gw
                h_row += [pos + y] * gw
                w_row += range(pos, pos + gw)
            pos += max(grid[1], grid[2]) // m
            done = offset + run_length
        text = range(pos, pos + length - done)
        t_row += text
        h_row += text
        w_row += text
        highest = max(max(t_row, default=-1), max(h_row, default=-1), max(w_row, default=-1))
        return (tuple(t_row), tuple(h_row), tuple(w_row)), highest + 1 - length
