"""Processed mode: transformers' Kimi_K25ImageProcessor outputs, with ids and placeholders equal to raw mode's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from mmrender import ProcessedMMItem, RawMMItem
from PIL import Image

from .cases import img
from .conftest import renderer


@pytest.fixture(scope="module")
def conversation(images: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": [img(images["wide"]), {"type": "text", "text": "and"}, img(images["big"], 1)]},
        {"role": "assistant", "content": "Two images."},
        {"role": "user", "content": [img(images["tiny"]), img(images["wide"])]},
    ]


def test_processed_matches_raw(conversation: list[dict[str, Any]], images: dict[str, str]) -> None:
    from transformers import Kimi_K25ImageProcessor

    raw = renderer().render(conversation, add_generation_prompt=True)
    proc_renderer = renderer(multimodal_output="processed")
    out = proc_renderer.render(conversation, add_generation_prompt=True)
    assert out.token_ids == raw.token_ids and out.message_indices == raw.message_indices
    assert out.multi_modal_data.mm_hashes == raw.multi_modal_data.mm_hashes
    assert out.multi_modal_data.mm_placeholders == raw.multi_modal_data.mm_placeholders
    assert all(p.length == 1 for p in out.multi_modal_data.mm_placeholders["image"])
    oracle = Kimi_K25ImageProcessor(
        max_patches=16384, size={"max_height": 512, "max_width": 512}, patch_size=14, merge_size=2
    )
    paths = [images[k] for k in ("wide", "big", "tiny", "wide")]
    raw_items = raw.multi_modal_data.mm_items["image"]
    for path, item, raw_item in zip(paths, out.multi_modal_data.mm_items["image"], raw_items, strict=True):
        assert isinstance(item, ProcessedMMItem) and isinstance(raw_item, RawMMItem)
        grid = raw_item.payload["grid_thws"]
        assert item.data["grid_thws"].tolist() == grid == item.data["image_grid_thw"].tolist()
        (_, h, w), p = grid[0], 14
        assert item.data["pixel_values"].shape == (h * w, 3, p, p) and item.data["pixel_values"].dtype == np.float32
        with Image.open(path) as im:
            want = oracle(images=[im.convert("RGB")], return_tensors="pt")
        np.testing.assert_array_equal(item.data["pixel_values"], want["pixel_values"].numpy())
    items = out.multi_modal_data.mm_items["image"]
    assert items[0] is items[3]  # the same bytes are processed once


def test_processed_mode_of_bridge(conversation: list[dict[str, Any]], images: dict[str, str]) -> None:
    r = renderer(multimodal_output="processed")
    prompt = r.render(conversation[:1], add_generation_prompt=True)
    completion = r.tokenizer.encode("</think>Two images.<|im_end|>", allow_special=True)
    out = r.bridge_to_next_turn(
        prompt.token_ids, completion, conversation[2:], previous_multi_modal_data=prompt.multi_modal_data
    )
    full = r.render(conversation, add_generation_prompt=True)
    assert out is not None and out.token_ids == full.token_ids
    assert out.multi_modal_data.mm_placeholders == full.multi_modal_data.mm_placeholders
