"""Combine multimodal sidecars across turns without touching the caller's objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .types import MultiModalData, PlaceholderRange, converter


def as_multi_modal_data(value: MultiModalData | Mapping[str, Any] | None) -> MultiModalData:
    """Accept the attrs object or its JSON form (as read back from a dataset)."""
    if value is None:
        return MultiModalData()
    if isinstance(value, MultiModalData):
        return value
    return converter.structure(dict(value), MultiModalData)


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
