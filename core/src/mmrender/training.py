"""What a family declares so core can build training samples, and the family-neutral pieces of a sample.

A family's ``training.py`` builds one :class:`TrainingSpec` (where an assistant turn's generated part
starts and ends, its position scheme, where a raw item keeps its grid); everything here reads only
ids, ``message_indices`` and the sidecar, so it never decodes pixels or imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from .errors import ConfigError, MMRenderError
from .positions import PositionScheme, Run
from .types import MultiModalData, PlaceholderRange, ProcessedMMItem, RawMMItem, RenderedTokens

TrainOn = Literal["assistant", "last_assistant", "all"]
TRAIN_ON: tuple[str, ...] = ("assistant", "last_assistant", "all")
#: ``mm_token_type_ids`` values, as transformers' processors return them with ``return_mm_token_type_ids``.
TEXT_TOKEN, IMAGE_TOKEN, VIDEO_TOKEN = 0, 1, 2
#: ``mm_token_type_ids`` value per sidecar modality.
TOKEN_TYPES = {"image": IMAGE_TOKEN, "video": VIDEO_TOKEN}
VIDEO = "video"


class TruncationError(MMRenderError, ValueError):
    """``max_length`` leaves no room for one whole image; names the image's message and part."""

    def __init__(self, message: str, *, message_index: int, part_index: int | None) -> None:
        super().__init__(message)
        self.message_index = message_index
        self.part_index = part_index


@attrs.frozen
class TurnBoundaries:
    """Where an assistant turn's generated part lies within that message's ids.

    The turn starts with ``turn_start``; its header is then either the ids ``header`` (Qwen:
    ``assistant\\n``) or everything up to and including ``header_end`` (Kimi: ``<|im_middle|>``). The
    generated part runs from the first id after the header through the last ``turn_end`` of the
    message. When text merges with the header's last characters into one id (Qwen: content starting
    with a newline), that id counts as generated, as transformers' ``char_to_token`` would mark it.
    """

    turn_start: int
    turn_end: int
    header: tuple[int, ...] = attrs.field(default=(), converter=tuple)
    header_end: int | None = None

    def generated_span(self, ids: Sequence[int], message_index: int) -> tuple[int, int]:
        """``(start, end)`` of the generated part, relative to ``ids`` (one assistant message's ids)."""
        if not ids or ids[0] != self.turn_start:
            raise ConfigError(f"assistant message {message_index} does not start with its turn header id")
        if self.header_end is not None:
            try:
                start = list(ids).index(self.header_end) + 1
            except ValueError:
                raise ConfigError(f"assistant message {message_index} has no end of its role header") from None
        else:
            start = 1
            for expected, got in zip(self.header, ids[1:], strict=False):
                if expected != got:
                    break
                start += 1
        end = len(ids)
        while end > start and ids[end - 1] != self.turn_end:
            end -= 1
        if end == start:
            raise ConfigError(f"assistant message {message_index} has no turn end id")
        return start, end


@attrs.frozen
class TrainingSpec:
    """A family's training declaration (``Renderer.training_spec``).

    ``turns``: the assistant-turn rule; ``positions``: the position scheme (``MRoPE`` or
    ``TextPositions``); ``grid_key``: the raw item payload key holding ``[[t, h, w]]``;
    ``video_grid_key`` the same for video items.
    """

    turns: TurnBoundaries
    positions: PositionScheme
    grid_key: str
    #: The payload key of a video item's grid (None: the family renders no videos).
    video_grid_key: str | None = None


def item_grid(item: Any, grid_key: str, where: str) -> tuple[int, ...]:
    """An item's grid from the sidecar alone: a processed item's declared grid or a raw item's payload."""
    if isinstance(item, ProcessedMMItem) and item.grid is not None:
        return tuple(int(v) for v in item.grid)
    payload = (
        item.payload if isinstance(item, RawMMItem) else item.get("payload") if isinstance(item, Mapping) else None
    )
    try:
        grid = payload[grid_key][0]  # type: ignore[index]
        return tuple(int(v) for v in grid)
    except (TypeError, KeyError, IndexError, ValueError):
        raise ConfigError(f"{where} carries no grid (payload[{grid_key!r}] or ProcessedMMItem.grid)") from None


def placeholder_runs(
    data: MultiModalData, grid_key: str, video_grid_key: str | None = None
) -> list[tuple[str, PlaceholderRange, tuple[int, ...]]]:
    """Every sidecar item as ``(modality, range, grid)``, in stream order."""
    runs = []
    for modality, ranges in data.mm_placeholders.items():
        items = data.mm_items.get(modality, ())
        if len(items) != len(ranges):
            raise ConfigError(f"sidecar has {len(ranges)} {modality} ranges but {len(items)} items")
        key = video_grid_key if modality == VIDEO and video_grid_key else grid_key
        for k, (rng, item) in enumerate(zip(ranges, items, strict=True)):
            runs.append((modality, rng, item_grid(item, key, f"{modality} item {k}")))
    return sorted(runs, key=lambda run: run[1].offset)


def _pad_runs(token_ids: Sequence[int], rng: PlaceholderRange, pads: frozenset[int]) -> list[tuple[int, int]]:
    """The maximal runs of placeholder ids inside a video's range: one per temporal group (its frame)."""
    runs: list[tuple[int, int]] = []
    start = None
    for position in range(rng.offset, rng.end + 1):
        inside = position < rng.end and token_ids[position] in pads
        if inside and start is None:
            start = position
        elif not inside and start is not None:
            runs.append((start, position - start))
            start = None
    return runs


def token_types(
    length: int, data: MultiModalData, token_ids: Sequence[int] = (), placeholder_ids: frozenset[int] = frozenset()
) -> list[int]:
    """``mm_token_type_ids`` from the sidecar ranges: 0 text, 1 image, 2 video. A video's range holds its
    timestamps and markers too; as the processor does, only its placeholder ids (``placeholder_ids``) get 2."""
    types = [TEXT_TOKEN] * length
    for modality, ranges in data.mm_placeholders.items():
        kind = TOKEN_TYPES.get(modality)
        if kind is None:
            raise ConfigError(f"no mm_token_type_ids value for sidecar modality {modality!r}")
        for rng in ranges:
            if rng.offset < 0 or rng.end > length:
                raise ConfigError(f"{modality} range {rng.offset}+{rng.length} lies outside {length} ids")
            if modality == VIDEO:
                for start, run in _pad_runs(token_ids, rng, placeholder_ids):
                    types[start : start + run] = [kind] * run
            else:
                types[rng.offset : rng.end] = [kind] * rng.length
    return types


def position_runs(
    data: MultiModalData,
    grid_key: str,
    *,
    token_ids: Sequence[int] = (),
    placeholder_ids: frozenset[int] = frozenset(),
    video_grid_key: str | None = None,
) -> list[Run]:
    """One run per image and one per video frame group: ``get_rope_index`` splits a video's grid ``(t, h, w)``
    into ``t`` one-frame grids, each at its own run of placeholder ids between timestamp text."""
    runs: list[Run] = []
    for modality, rng, grid in placeholder_runs(data, grid_key, video_grid_key):
        if modality != VIDEO:
            runs.append((rng.offset, rng.length, grid))
            continue
        frames = _pad_runs(token_ids, rng, placeholder_ids)
        if len(frames) != grid[0]:
            raise ConfigError(
                f"video range at {rng.offset} holds {len(frames)} placeholder runs, its grid {list(grid)} says {grid[0]}"
            )
        runs.extend((start, run, (1, *grid[1:])) for start, run in frames)
    return runs


def _message_span(message_indices: tuple[int, ...], index: int) -> tuple[int, int] | None:
    """``(first, end)`` of a message's ids (contiguous in a render), or None when it wrote none.

    The first id is found at C speed; only the message's own ids are walked, so masking costs the
    assistant turns' length, not the (image-heavy) whole prompt's.
    """
    try:
        first = message_indices.index(index)
    except ValueError:
        return None
    end = first + 1
    while end < len(message_indices) and message_indices[end] == index:
        end += 1
    return first, end


def loss_mask(spec: TrainingSpec, rendered: RenderedTokens, roles: Sequence[str], train_on: str) -> list[int]:
    """1 on the generated part of the assistant turns ``train_on`` selects, 0 elsewhere.

    Image placeholders are never generated, so they stay 0 even inside an assistant turn;
    ``"all"`` is 1 on every id.
    """
    if train_on not in TRAIN_ON:
        raise ConfigError(f"train_on must be one of {', '.join(TRAIN_ON)}, got {train_on!r}")
    ids = rendered.token_ids
    if train_on == "all":
        return [1] * len(ids)
    assistants = [i for i, role in enumerate(roles) if role == "assistant"]
    if train_on == "last_assistant":
        assistants = assistants[-1:]
    mask = [0] * len(ids)
    for index in assistants:
        span = _message_span(tuple(rendered.message_indices), index)
        if span is None:
            continue  # the template wrote nothing for this message
        first, end = span
        start, stop = spec.turns.generated_span(ids[first:end], index)
        mask[first + start : first + stop] = [1] * (stop - start)
    for begin, stop in rendered.placeholder_spans():
        mask[begin:stop] = [0] * (stop - begin)
    return mask


def cut_point(rendered: RenderedTokens, max_length: int) -> int:
    """The largest length ``<= max_length`` that splits no placeholder run."""
    cut = max_length
    for begin, stop in rendered.placeholder_spans():
        if begin < cut < stop:
            cut = begin
    return min(cut, len(rendered.token_ids))


def truncated_render(rendered: RenderedTokens, cut: int) -> RenderedTokens:
    """The first ``cut`` ids with the sidecar items that lie wholly inside them."""
    data = rendered.multi_modal_data
    hashes, places, items = {}, {}, {}
    for modality, ranges in data.mm_placeholders.items():
        keep = [k for k, rng in enumerate(ranges) if rng.end <= cut]
        if not keep:
            continue
        hashes[modality] = tuple(data.mm_hashes[modality][k] for k in keep)
        places[modality] = tuple(ranges[k] for k in keep)
        items[modality] = tuple(data.mm_items[modality][k] for k in keep)
    kept = MultiModalData(mm_hashes=hashes, mm_placeholders=places, mm_items=items)
    return RenderedTokens.trusted(
        rendered.token_ids[:cut], rendered.message_indices[:cut], kept, rendered.placeholder_ids
    )


def first_image_error(
    rendered: RenderedTokens, max_length: int, images_by_message: Mapping[int, Sequence[int]]
) -> None:
    """Raise :class:`TruncationError` when ``max_length`` ends before the first image's last placeholder."""
    spans = sorted(rendered.placeholder_spans())
    if not spans or spans[0][1] <= max_length:
        return
    begin, stop = spans[0]
    message = rendered.message_indices[begin]
    parts = images_by_message.get(message, ())
    part = parts[0] if parts else None
    where = f"message {message}" + (f", part {part}" if part is not None else "")
    raise TruncationError(
        f"max_length {max_length} cannot hold one image: the first image ({where}) needs ids {begin}..{stop - 1}",
        message_index=message,
        part_index=part,
    )
