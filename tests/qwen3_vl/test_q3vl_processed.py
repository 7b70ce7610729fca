"""Processed mode: same ids and placeholders as raw mode; pixel values from transformers' own processor."""

from __future__ import annotations

import mmrender
import numpy as np
import pytest
from mmrender import ProcessedMMItem

from .conftest import ORACLE_DIR, decode_source
from .corpus import CASES, img, txt


@pytest.fixture(scope="module")
def auto_image_processor():
    from transformers import AutoImageProcessor

    return AutoImageProcessor.from_pretrained(str(ORACLE_DIR), local_files_only=True)


@pytest.mark.parametrize(
    "name", ["multi_image_interleaved", "agent_loop_images", "big_and_tiny_images", "pil_and_bytes"]
)
def test_placeholders_equal_raw(name, make_renderer, sources):
    messages, tools, vid = CASES[name](sources)
    raw = make_renderer(add_vision_id=vid).render(messages, tools=tools, add_generation_prompt=True)
    processed = make_renderer(add_vision_id=vid, multimodal_output="processed").render(
        messages, tools=tools, add_generation_prompt=True
    )
    assert processed.token_ids == raw.token_ids
    assert processed.message_indices == raw.message_indices
    assert processed.multi_modal_data.mm_placeholders == raw.multi_modal_data.mm_placeholders
    assert processed.multi_modal_data.mm_hashes == raw.multi_modal_data.mm_hashes
    for item, raw_item in zip(
        processed.multi_modal_data.mm_items["image"], raw.multi_modal_data.mm_items["image"], strict=True
    ):
        assert isinstance(item, ProcessedMMItem)
        assert item.data["image_grid_thw"].tolist() == raw_item.payload["image_grid_thw"]


def test_pixel_values_equal_transformers(make_renderer, sources, auto_image_processor):
    """Bit-identical to transformers' AutoImageProcessor (what vLLM runs) on the Pillow-decoded image."""
    renderer = make_renderer(multimodal_output="processed")
    for name in ("jpg640", "png333", "gif", "png_tie"):
        got = renderer.render([{"role": "user", "content": [img(sources.path(name)), txt("?")]}])
        item = got.multi_modal_data.mm_items["image"][0]
        ref = auto_image_processor(images=[decode_source(sources.path(name))], return_tensors="np")
        assert item.data["pixel_values"].dtype == np.float32
        np.testing.assert_array_equal(item.data["pixel_values"], np.asarray(ref["pixel_values"]))
        np.testing.assert_array_equal(item.data["image_grid_thw"], np.asarray(ref["image_grid_thw"]))


def test_pixel_budget_options_apply_to_both_modes(make_renderer, sources):
    opts = {"min_pixels": 32 * 32 * 4, "max_pixels": 256 * 256}
    messages = [{"role": "user", "content": [img(sources.path("jpg_big")), img(sources.path("bmp_tiny"))]}]
    raw = make_renderer(**opts).render(messages)
    processed = make_renderer(multimodal_output="processed", **opts).render(messages)
    default = make_renderer().render(messages)
    assert raw.token_ids == processed.token_ids
    assert raw.multi_modal_data.mm_placeholders == processed.multi_modal_data.mm_placeholders
    assert raw.multi_modal_data.mm_placeholders["image"][0].length <= 256 * 256 // (32 * 32)
    assert len(raw.token_ids) < len(default.token_ids)
    assert raw.multi_modal_data.mm_items["image"][0].layout_fingerprint != (
        default.multi_modal_data.mm_items["image"][0].layout_fingerprint
    )


def test_processed_items_are_cached_by_hash(make_renderer, sources):
    renderer = make_renderer(multimodal_output="processed")
    messages = [{"role": "user", "content": [img(sources.path("png333")), img(sources.raw("png333"))]}]
    items = renderer.render(messages).multi_modal_data.mm_items["image"]
    assert items[0] is items[1]


def test_processor_grid_that_disagrees_with_the_layout_is_refused(make_renderer, sources):
    """Core re-checks every processed item: a processor configured differently from the layout must not pass."""
    renderer = make_renderer(multimodal_output="processed")
    real = renderer.process_image

    def skewed(image):
        item = real(image)
        grid = np.array(item.data["image_grid_thw"]) + np.array([[0, 2, 0]])
        return ProcessedMMItem(data={**item.data, "image_grid_thw": grid}, grid=tuple(int(v) for v in grid.reshape(-1)))

    renderer.process_image = skewed
    messages, tools, _ = CASES["pil_and_bytes"](sources)
    with pytest.raises(mmrender.ConfigError, match="differs from the layout grid"):
        renderer.render(messages, tools=tools)


def test_processed_item_without_a_declared_grid_is_refused(make_renderer, sources):
    """Core checks the grid the family declares (never a processor's key name): an item without one is refused."""
    renderer = make_renderer(multimodal_output="processed")
    real = renderer.process_image
    renderer.process_image = lambda image: ProcessedMMItem(data=dict(real(image).data))
    messages, tools, _ = CASES["pil_and_bytes"](sources)
    with pytest.raises(mmrender.ConfigError, match="declares no grid"):
        renderer.render(messages, tools=tools)
