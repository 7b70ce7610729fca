"""Sidecar merge across turns: a new object, inputs untouched, stream order kept, JSON form accepted."""

from __future__ import annotations

import copy
import json

import cattrs
import pytest
from mmrender import (
    MultiModalData,
    PlaceholderRange,
    ProcessedMMItem,
    RawMMItem,
    RenderedTokens,
    merge_multi_modal_data,
)
from mmrender.errors import WireValidationError
from mmrender.types import to_jsonable
from mmrender.wire import generate_request

FP = "f" * 32


def _item(n: int, modality: str = "image") -> RawMMItem:
    return RawMMItem(
        modality=modality,
        family="qwen_vl",
        layout_fingerprint=FP,
        payload={"image_grid_thw": [[1, 2, 2 * n]]},
        raw_image_id=f"{n:064x}",
    )


def _data(start: int, *numbers: int, modality: str = "image") -> MultiModalData:
    return MultiModalData(
        mm_hashes={modality: tuple(f"{n:032x}" for n in numbers)},
        mm_placeholders={modality: tuple(PlaceholderRange(start + 10 * i, n) for i, n in enumerate(numbers))},
        mm_items={modality: tuple(_item(n, modality) for n in numbers)},
    )


def _snapshot(obj):
    return copy.deepcopy(obj)


def test_merge_keeps_order_and_values():
    prev, new = _data(0, 1, 2), _data(100, 3)
    merged = merge_multi_modal_data(prev, new)
    assert merged.mm_hashes == {"image": (f"{1:032x}", f"{2:032x}", f"{3:032x}")}
    assert merged.mm_placeholders["image"] == (
        PlaceholderRange(0, 1),
        PlaceholderRange(10, 2),
        PlaceholderRange(100, 3),
    )
    assert merged.mm_items["image"] == (_item(1), _item(2), _item(3))


def test_merge_never_mutates_attrs_inputs():
    prev, new = _data(0, 1, 2), _data(100, 3)
    before = (_snapshot(prev), _snapshot(new))
    merged = merge_multi_modal_data(prev, new)
    assert (prev, new) == before
    assert merged is not prev and merged.mm_hashes is not prev.mm_hashes
    merged.mm_hashes["image"] = ()  # the result's containers are its own
    merged.mm_placeholders.clear()
    assert (prev, new) == before


def test_merge_never_mutates_json_inputs():
    prev, new = to_jsonable(_data(0, 1, 2)), to_jsonable(_data(100, 3))
    json.dumps(prev)  # really the JSON form
    before = (_snapshot(prev), _snapshot(new))
    merged = merge_multi_modal_data(prev, new)
    assert (prev, new) == before
    merged.mm_items["image"][0].payload["image_grid_thw"].append("mutated")  # result shares nothing with input
    assert (prev, new) == before


def test_json_form_merges_to_the_same_result_as_attrs_form():
    prev, new = _data(0, 1, 2), _data(100, 3)
    expected = merge_multi_modal_data(prev, new)
    assert merge_multi_modal_data(to_jsonable(prev), to_jsonable(new)) == expected
    assert merge_multi_modal_data(prev, json.loads(json.dumps(to_jsonable(new)))) == expected


def test_json_form_merge_goes_straight_to_the_wire():
    merged = merge_multi_modal_data(to_jsonable(_data(0, 1, 2)), None)
    body = generate_request(RenderedTokens(list(range(20)), [-1] * 20, merged))
    assert len(body["features"]["kwargs_data"]["image"]) == 2


def test_none_and_empty_sides():
    data = _data(0, 1)
    assert merge_multi_modal_data(None, data) == data
    assert merge_multi_modal_data(data, None) == data
    assert merge_multi_modal_data(None, None) == MultiModalData()
    assert not merge_multi_modal_data(MultiModalData(), {})


def test_modalities_merge_independently():
    merged = merge_multi_modal_data(_data(0, 1), _data(50, 2, modality="video"))
    assert set(merged.mm_hashes) == {"image", "video"}
    assert merged.mm_items["video"] == (_item(2, "video"),)
    merged = merge_multi_modal_data(merged, _data(90, 3))
    assert [p.offset for p in merged.mm_placeholders["image"]] == [0, 90]


def test_processed_items_are_carried_through():
    item = ProcessedMMItem({"image_grid_thw": [[1, 2, 2]]})
    prev = MultiModalData({"image": ("a" * 32,)}, {"image": (PlaceholderRange(0, 1),)}, {"image": (item,)})
    assert merge_multi_modal_data(prev, None).mm_items["image"] == (item,)


def test_json_form_with_unknown_keys_is_rejected():
    bad = to_jsonable(_data(0, 1))
    bad["mm_pixels"] = {}
    with pytest.raises(WireValidationError, match="mm_pixels") as info:
        merge_multi_modal_data(bad, None)
    assert isinstance(info.value.__cause__, cattrs.ClassValidationError)
