"""Training samples: what a trainer's forward pass needs besides pixels, derived from a render.

One frozen type shared by ``build_training_sample``, trajectories, ``collate`` and ``pack``, so every
path into a trainer carries the same fields and serialises through the one cattrs converter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import cattrs

from .conversation import normalize_conversation
from .errors import ConfigError
from .merge import as_multi_modal_data
from .training import (
    IMAGE_TOKEN,
    TEXT_TOKEN,
    VIDEO_TOKEN,
    cut_point,
    first_image_error,
    loss_mask,
    position_runs,
    token_types,
    truncated_render,
)
from .types import MultiModalData, RenderedTokens, _tuple_of_ints, converter

if TYPE_CHECKING:
    from .renderer import Renderer

__all__ = [
    "IMAGE_TOKEN",
    "TEXT_TOKEN",
    "VIDEO_TOKEN",
    "TrainingSample",
    "build_training_sample",
    "sample_from_rendered",
]


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

    @classmethod
    def trusted(
        cls,
        *,
        model: str,
        token_ids: tuple[int, ...],
        message_indices: tuple[int, ...],
        multi_modal_data: MultiModalData,
        loss_mask: tuple[int, ...],
        mm_token_type_ids: tuple[int, ...],
        position_ids: tuple[tuple[int, ...], ...],
        rope_delta: int | None,
        truncated: bool,
        logprobs: tuple[float, ...] | None,
        segment: int,
        num_segments: int,
    ) -> TrainingSample:
        """Build from tuples of Python ints without the per-id conversion (lengths are still checked).

        The builders already hold exact ints; converting six rows of a long multimodal sample id by id
        would cost more than computing them.
        """
        values = locals()
        obj = object.__new__(cls)
        for field in attrs.fields(cls):
            object.__setattr__(obj, field.name, values[field.name])
        obj.__attrs_post_init__()
        return obj


def _structure_sample(value: Any, _type: type) -> TrainingSample:
    """Structure a sample's JSON form; raw items in its sidecar become ``RawMMItem`` again."""
    sample = _plain_structure(value, TrainingSample)
    return attrs.evolve(sample, multi_modal_data=as_multi_modal_data(converter.unstructure(sample.multi_modal_data)))


_plain_structure = cattrs.gen.make_dict_structure_fn(TrainingSample, converter, _cattrs_forbid_extra_keys=True)
converter.register_structure_hook(TrainingSample, _structure_sample)


def sample_from_rendered(
    renderer: Renderer,
    rendered: RenderedTokens,
    loss_mask: Sequence[int],
    *,
    logprobs: Sequence[float] | None = None,
    segment: int = 0,
    num_segments: int = 1,
    truncated: bool = False,
) -> TrainingSample:
    """A :class:`TrainingSample` from ids already rendered and a loss mask the caller chose.

    Why a second entry: trajectories (and any caller holding sampled ids) decide the mask themselves;
    token types and positions still come from the sidecar's ranges and grids alone, through the
    family's ``renderer.training_spec``. ``loss_mask`` (and ``logprobs``, when given) must have one
    entry per id.
    """
    spec = renderer.training_spec
    n = len(rendered.token_ids)
    for name, row in (("loss_mask", loss_mask), ("logprobs", logprobs)):
        if row is not None and len(row) != n:
            raise ConfigError(f"{name} has {len(row)} entries for {n} token ids")
    data = rendered.multi_modal_data
    runs = position_runs(
        data,
        spec.grid_key,
        token_ids=rendered.token_ids,
        placeholder_ids=rendered.placeholder_ids,
        video_grid_key=spec.video_grid_key,
    )
    rows, rope_delta = spec.positions.positions(n, runs)
    return TrainingSample.trusted(
        model=renderer.model_id,
        token_ids=rendered.token_ids,
        message_indices=rendered.message_indices,
        multi_modal_data=data,
        loss_mask=_tuple_of_ints(loss_mask),  # the caller's values: converted
        mm_token_type_ids=tuple(token_types(n, data, rendered.token_ids, rendered.placeholder_ids)),
        position_ids=rows,
        rope_delta=rope_delta,
        truncated=bool(truncated),
        logprobs=_floats(logprobs),
        segment=int(segment),
        num_segments=int(num_segments),
    )


def build_training_sample(
    renderer: Renderer,
    messages: Sequence[Any],
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    max_length: int | None = None,
    train_on: str = "assistant",
    **template_kwargs: Any,
) -> TrainingSample:
    """``Renderer.build_training_sample``: render without a generation prompt, mask, type, position, truncate."""
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1):
        raise ConfigError(f"max_length must be a positive int or None, got {max_length!r}")
    conv = normalize_conversation(messages, tools=tools, add_generation_prompt=False, template_kwargs=template_kwargs)
    rendered = renderer.render_normalized(conv)
    roles = [message.role for message in conv.messages]
    mask = loss_mask(renderer.training_spec, rendered, roles, train_on)
    if max_length is None or max_length >= len(rendered.token_ids):
        return sample_from_rendered(renderer, rendered, mask)
    images = {m.index: [p.part_index for p in m.images] for m in conv.messages}
    first_image_error(rendered, max_length, images)
    cut = cut_point(rendered, max_length)
    return sample_from_rendered(renderer, truncated_render(rendered, cut), mask[:cut], truncated=True)
