"""Combine multimodal sidecars across turns without touching the caller's objects."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import cattrs

from .errors import WireValidationError
from .types import RAW_ITEM_KIND, MultiModalData, PlaceholderRange, RawMMItem, converter


def as_multi_modal_data(value: MultiModalData | Mapping[str, Any] | None) -> MultiModalData:
    """Accept the attrs object or its JSON form (as read back from a dataset)."""
    if value is None:
        return MultiModalData()
    if isinstance(value, MultiModalData):
        return value
    # Deep-copied so the result never shares the caller's dicts; raw envelopes become RawMMItem
    # again so a sidecar read back from a dataset can go straight to the wire.
    try:
        data = converter.structure(copy.deepcopy(dict(value)), MultiModalData)
        items = {m: tuple(_structure_item(i) for i in xs) for m, xs in data.mm_items.items()}
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        summary = "; ".join(cattrs.transform_error(exc)) if isinstance(exc, cattrs.BaseValidationError) else str(exc)
        raise WireValidationError(f"malformed multi_modal_data: {summary}") from exc
    return MultiModalData(mm_hashes=data.mm_hashes, mm_placeholders=data.mm_placeholders, mm_items=items)


def _structure_item(value: Any) -> Any:
    if isinstance(value, Mapping) and value.get("kind") == RAW_ITEM_KIND:
        return converter.structure(dict(value), RawMMItem)
    return value


def merge_multi_modal_data(
    previous: MultiModalData | Mapping[str, Any] | None, new: MultiModalData | Mapping[str, Any] | None
) -> MultiModalData:
    """A new sidecar holding ``previous`` then ``new`` per modality; neither input is modified."""
    prev, nxt = as_multi_modal_data(previous), as_multi_modal_data(new)
    hashes: dict[str, tuple[str, ...]] = {}
    places: dict[str, tuple[PlaceholderRange, ...]] = {}
    items: dict[str, tuple[Any, ...]] = {}
    for data in (prev, nxt):
        for modality in data.mm_hashes:
            hashes[modality] = hashes.get(modality, ()) + tuple(data.mm_hashes[modality])
            places[modality] = places.get(modality, ()) + tuple(data.mm_placeholders.get(modality, ()))
            items[modality] = items.get(modality, ()) + tuple(data.mm_items.get(modality, ()))
    return MultiModalData(mm_hashes=hashes, mm_placeholders=places, mm_items=items)
