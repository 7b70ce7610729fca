"""Training samples to model inputs: a padded batch (``collate``) or one padding-free row (``pack``).

Why here: ids, masks, token types and positions are already on each :class:`TrainingSample`, so
batching is only padding or concatenating them; pixels come from the samples' refs through
:func:`mmrender.processed_inputs`. Nothing is recomputed, so what the trainer sees is what was rendered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from .errors import SampleTooLongError, TrainingInputError
from .samples import TrainingSample
from .storage import Store
from .trainer_inputs import processed_batch
from .types import converter

#: ``labels`` value the loss ignores (transformers' and PyTorch's ``ignore_index``).
IGNORE_INDEX = -100
ReturnTensors = Literal["np", "pt"] | None


def collate(
    samples: Iterable[TrainingSample | Mapping[str, Any]],
    *,
    store: Store | str | None = None,
    pad_to_multiple_of: int | None = None,
    return_tensors: ReturnTensors = None,
    pad_token_id: int = 0,
) -> dict[str, Any]:
    """A right-padded batch with the keys ``Qwen3VLForConditionalGeneration.forward`` takes.

    ``input_ids``, ``attention_mask``, ``labels`` (the id where ``loss_mask`` is 1, ``-100`` elsewhere
    and on padding) and ``mm_token_type_ids`` are ``B × L``; ``position_ids`` is ``3 × B × L`` for
    M-RoPE families (one row per axis) and ``B × L`` for 1-D ones, 0 on padding (as transformers'
    ``get_rope_index`` leaves it under an attention mask); then the processor outputs
    (``pixel_values``, ``image_grid_thw``, …) of every image, in sample and stream order. ``L`` is the
    longest sample, rounded up to ``pad_to_multiple_of``. numpy arrays, or torch tensors with
    ``return_tensors="pt"``.
    """
    import numpy as np  # numpy is core's optional extra: imported only when a trainer batches

    batch = _samples(samples, "collate")
    width = _padded(max(len(s) for s in batch), pad_to_multiple_of)
    rows = len(batch[0].position_ids)
    input_ids = np.full((len(batch), width), pad_token_id, dtype=np.int64)
    attention_mask = np.zeros((len(batch), width), dtype=np.int64)
    labels = np.full((len(batch), width), IGNORE_INDEX, dtype=np.int64)
    token_types = np.zeros((len(batch), width), dtype=np.int64)
    positions = np.zeros((rows, len(batch), width), dtype=np.int64)
    for row, sample in enumerate(batch):
        n = len(sample)
        ids = np.asarray(sample.token_ids, dtype=np.int64)
        input_ids[row, :n] = ids
        attention_mask[row, :n] = 1
        labels[row, :n] = np.where(np.asarray(sample.loss_mask, dtype=bool), ids, IGNORE_INDEX)
        token_types[row, :n] = sample.mm_token_type_ids
        positions[:, row, :n] = sample.position_ids
    out: dict[str, Any] = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "labels": labels,
        "position_ids": positions if rows > 1 else positions[0],
        "mm_token_type_ids": token_types,
    }
    out.update(processed_batch(batch, store=store))
    return _as(out, return_tensors)


def pack(
    samples: Iterable[TrainingSample | Mapping[str, Any]],
    *,
    max_tokens: int,
    store: Store | str | None = None,
    return_tensors: ReturnTensors = None,
) -> dict[str, Any]:
    """Every sample concatenated into one padding-free row of at most ``max_tokens`` ids.

    ``input_ids``, ``labels`` and ``mm_token_type_ids`` are ``1 × L``. For M-RoPE families
    ``position_ids`` is ``4 × 1 × L``: a leading text row counting 0, 1, … within each sample (so
    flash-attention, and transformers' mask, see where each sample starts) above the sample's own
    (t, h, w) rows, each also restarting at 0; 1-D families get ``1 × L``. ``cu_seqlens`` (int32,
    ``n + 1``) holds the sample boundaries for a varlen attention kernel; there is no ``attention_mask``.
    A sample longer than ``max_tokens`` raises :class:`SampleTooLongError`; samples that are fine
    alone but exceed ``max_tokens`` together raise :class:`TrainingInputError` — split them first with
    :func:`pack_groups`, which never drops or reorders a sample's contents.
    """
    import numpy as np

    batch = _samples(samples, "pack")
    _check_fits(batch, max_tokens)
    total = sum(len(s) for s in batch)
    if total > max_tokens:
        raise TrainingInputError(
            f"{len(batch)} samples hold {total} ids together, over max_tokens={max_tokens}; "
            f"group them with mmrender.pack_groups(samples, max_tokens={max_tokens}) and pack each group"
        )
    ids = np.concatenate([np.asarray(s.token_ids, dtype=np.int64) for s in batch])
    keep = np.concatenate([np.asarray(s.loss_mask, dtype=bool) for s in batch])
    types = np.concatenate([np.asarray(s.mm_token_type_ids, dtype=np.int64) for s in batch])
    rows = np.concatenate([np.asarray(s.position_ids, dtype=np.int64) for s in batch], axis=1)
    if rows.shape[0] > 1:
        text = np.concatenate([np.arange(len(s), dtype=np.int64) for s in batch])
        position_ids = np.concatenate([text[None], rows])[:, None, :]
    else:
        position_ids = rows
    lengths = np.asarray([len(s) for s in batch], dtype=np.int32)
    out: dict[str, Any] = {
        "input_ids": ids[None],
        "labels": np.where(keep, ids, IGNORE_INDEX)[None],
        "position_ids": position_ids,
        "mm_token_type_ids": types[None],
        "cu_seqlens": np.concatenate([np.zeros(1, dtype=np.int32), np.cumsum(lengths, dtype=np.int32)]),
    }
    out.update(processed_batch(batch, store=store))
    return _as(out, return_tensors)


def pack_groups(samples: Sequence[TrainingSample | Mapping[str, Any] | int], max_tokens: int) -> list[list[int]]:
    """Indices of ``samples`` grouped into rows of at most ``max_tokens`` ids (first fit, in input order).

    Each sample goes into the first row that still has room, so rows fill up without sorting and a
    group's indices stay ascending. Items may be samples or bare lengths. A sample longer than
    ``max_tokens`` raises :class:`SampleTooLongError`: it fits in no row, and cutting it is
    ``build_training_sample(max_length=...)``'s job, which never splits an image.
    """
    lengths = [
        item if isinstance(item, int) else len(_sample(item, i, "pack_groups")) for i, item in enumerate(samples)
    ]
    _check_fits(lengths, max_tokens)
    groups: list[list[int]] = []
    room: list[int] = []
    for index, length in enumerate(lengths):
        slot = next((g for g, free in enumerate(room) if free >= length), None)
        if slot is None:
            groups.append([])
            room.append(max_tokens)
            slot = len(groups) - 1
        groups[slot].append(index)
        room[slot] -= length
    return groups


def _check_fits(batch: Sequence[TrainingSample] | Sequence[int], max_tokens: int) -> None:
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise TrainingInputError(f"max_tokens must be a positive int, got {max_tokens!r}")
    for index, item in enumerate(batch):
        length = item if isinstance(item, int) else len(item)
        if length > max_tokens:
            raise SampleTooLongError(
                f"sample {index} has {length} ids, over max_tokens={max_tokens}; it fits in no packed row "
                "(cut it with build_training_sample(max_length=...), which never splits an image)",
                index=index,
                length=length,
                max_tokens=max_tokens,
            )


def _sample(value: TrainingSample | Mapping[str, Any], index: int, what: str) -> TrainingSample:
    if isinstance(value, TrainingSample):
        return value
    if isinstance(value, Mapping):
        try:
            return converter.structure(dict(value), TrainingSample)
        except Exception as exc:  # cattrs raises its own groups; name the sample either way
            raise TrainingInputError(f"{what}: sample {index} is not a TrainingSample in JSON form: {exc}") from exc
    raise TrainingInputError(f"{what}: sample {index} is a {type(value).__name__}, not a TrainingSample")


def _samples(values: Iterable[TrainingSample | Mapping[str, Any]], what: str) -> list[TrainingSample]:
    """The samples, checked to share one model and one position layout (rows are stacked together)."""
    batch = [_sample(value, i, what) for i, value in enumerate(values)]
    if not batch:
        raise TrainingInputError(f"{what} needs at least one sample")
    first = batch[0]
    for index, sample in enumerate(batch[1:], start=1):
        if sample.model != first.model:
            raise TrainingInputError(
                f"{what}: sample {index} is for {sample.model!r}, sample 0 for {first.model!r}; batch one model"
            )
        if len(sample.position_ids) != len(first.position_ids):
            raise TrainingInputError(
                f"{what}: sample {index} has {len(sample.position_ids)} position rows, sample 0 "
                f"{len(first.position_ids)}"
            )
    return batch


def _padded(length: int, multiple: int | None) -> int:
    if multiple is None:
        return length
    if isinstance(multiple, bool) or not isinstance(multiple, int) or multiple < 1:
        raise TrainingInputError(f"pad_to_multiple_of must be a positive int or None, got {multiple!r}")
    return -(-length // multiple) * multiple


def _as(arrays: dict[str, Any], return_tensors: ReturnTensors) -> dict[str, Any]:
    if return_tensors in (None, "np"):
        return arrays
    if return_tensors == "pt":
        import numpy as np
        import torch

        return {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in arrays.items()}
    raise TrainingInputError(f"return_tensors must be None, 'np' or 'pt', got {return_tensors!r}")
