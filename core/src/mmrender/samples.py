"""Training samples: what a trainer's forward pass needs besides pixels, derived from a render.

One frozen type shared by ``build_training_sample``, trajectories, ``collate`` and ``pack``, so every
path into a trainer carries the same fields and serialises through the one cattrs converter.
"""

from __future__ import annotations

import attrs

from .types import MultiModalData, _tuple_of_ints

#: ``mm_token_type_ids`` values, as transformers' processors return them with ``return_mm_token_type_ids``.
TEXT_TOKEN, IMAGE_TOKEN, VIDEO_TOKEN = 0, 1, 2


def _rows(value: object) -> tuple[tuple[int, ...], ...]:
    return tuple(_tuple_of_ints(row) for row in value)  # type: ignore[attr-defined]


def _floats(value: object) -> tuple[float, ...] | None:
    return None if value is None else tuple(float(v) for v in value)  # type: ignore[attr-defined]


@attrs.frozen(kw_only=True)
class TrainingSample:
    """One training row: ids, masks, token types and positions, all of length ``len(token_ids)``.

    ``position_ids`` holds one row per position axis: three (t, h, w) for M-RoPE families with
    ``rope_delta`` beside them, one row for families with 1-D positions (``rope_delta`` None).
    ``logprobs`` are the sampler's, aligned to ``token_ids`` with 0.0 where nothing was sampled.
    ``segment``/``num_segments`` say which piece of a trajectory this is (0 of 1 for a plain sample).
    """

    model: str
    token_ids: tuple[int, ...] = attrs.field(converter=_tuple_of_ints)
    message_indices: tuple[int, ...] = attrs.field(converter=_tuple_of_ints)
    multi_modal_data: MultiModalData = attrs.field(factory=MultiModalData)
    loss_mask: tuple[int, ...] = attrs.field(converter=_tuple_of_ints)
    mm_token_type_ids: tuple[int, ...] = attrs.field(converter=_tuple_of_ints)
    position_ids: tuple[tuple[int, ...], ...] = attrs.field(converter=_rows)
    rope_delta: int | None = None
    truncated: bool = False
    logprobs: tuple[float, ...] | None = attrs.field(default=None, converter=_floats)
    segment: int = 0
    num_segments: int = 1

    def __attrs_post_init__(self) -> None:
        n = len(self.token_ids)
        rows = {"message_indices": self.message_indices, "loss_mask": self.loss_mask}
        rows["mm_token_type_ids"] = self.mm_token_type_ids
        rows.update({f"position_ids[{i}]": row for i, row in enumerate(self.position_ids)})
        if self.logprobs is not None:
            rows["logprobs"] = self.logprobs  # type: ignore[assignment]
        for name, row in rows.items():
            if len(row) != n:
                raise ValueError(f"TrainingSample.{name} has {len(row)} entries for {n} token ids")
        if not self.position_ids:
            raise ValueError("TrainingSample.position_ids needs at least one row")

    def __len__(self) -> int:
        return len(self.token_ids)
