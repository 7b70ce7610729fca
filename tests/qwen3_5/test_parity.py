"""Token-for-token parity with transformers' ``apply_chat_template`` and image processor.

Every conversation in :mod:`.cases` is rendered with both official templates (0.8B: thinking
closed by default; 9B: open) and compared id for id, placeholder range for placeholder range,
grid for grid, against the oracle in :mod:`.conftest`.
"""

from __future__ import annotations

from typing import Any

import pytest
from mmrender import RawMMItem

from .cases import CASES
from .conftest import PARITY, oracle, renderer

VARIANTS = ("small", "large")


def test_enough_conversations() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_parity(name: str, variant: str, tok: Any, images: dict[str, str]) -> None:
    args = CASES[name](images)
    messages, tools = args.pop("messages"), args.pop("tools", None)
    gen = args.pop("add_generation_prompt", False)
    expected, ranges, grids = oracle(tok, variant, messages, tools=tools, add_generation_prompt=gen, **args)

    options = {"add_vision_id": args.pop("add_vision_id")} if "add_vision_id" in args else {}
    options.update(PARITY)
    ours = renderer(variant, **options).render(messages, tools=tools, add_generation_prompt=gen, **args)

    assert list(ours.token_ids) == expected
    assert len(ours.message_indices) == len(expected)
    mm = ours.multi_modal_data
    placeholders = [(p.offset, p.length) for p in mm.mm_placeholders.get("image", ())]
    assert placeholders == ranges
    items = mm.mm_items.get("image", ())
    assert [tuple(item.payload["image_grid_thw"][0]) for item in items] == grids
    assert all(isinstance(item, RawMMItem) and item.family == "qwen_vl" for item in items)
    assert len(mm.mm_hashes.get("image", ())) == len(grids)


@pytest.mark.parametrize("variant", VARIANTS)
def test_template_kwarg_add_vision_id_matches_option(variant: str, tok: Any, images: dict[str, str]) -> None:
    """``add_vision_id`` passed per call equals the option (and the oracle)."""
    messages = [{"role": "user", "content": [{"type": "image", "image": images["vga"]}, {"type": "text", "text": "x"}]}]
    expected, _, _ = oracle(tok, variant, messages, add_vision_id=True)
    assert list(renderer(variant).render(messages, add_vision_id=True).token_ids) == expected
    assert list(renderer(variant, add_vision_id=True).render(messages).token_ids) == expected


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("thinking", [None, True, False])
def test_enable_thinking_option_matches_template_kwarg(variant: str, thinking: bool | None, tok: Any) -> None:
    messages = [{"role": "user", "content": "hi"}]
    kwargs = {} if thinking is None else {"enable_thinking": thinking}
    expected, _, _ = oracle(tok, variant, messages, add_generation_prompt=True, **kwargs)
    ours = renderer(variant, enable_thinking=thinking).render(messages, add_generation_prompt=True)
    assert list(ours.token_ids) == expected


def test_message_indices_attribute_each_turn(tok: Any) -> None:
    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"},
    ]
    out = renderer("large").render(messages, add_generation_prompt=True)
    ids, owners = list(out.token_ids), list(out.message_indices)
    im_start = tok.convert_tokens_to_ids("<|im_start|>")
    starts = [i for i, t in enumerate(ids) if t == im_start]
    assert [owners[i] for i in starts] == [0, 1, 2, -1]
    assert owners[-1] == -1 and set(owners) == {-1, 0, 1, 2}


def test_processed_mode_matches_processor(tok: Any, images: dict[str, str], tmp_path: Any) -> None:
    """Processed mode equals what ``AutoImageProcessor`` gives for Qwen3.5's preprocessor config."""
    import shutil

    import numpy as np
    from PIL import Image
    from transformers import AutoImageProcessor

    from .conftest import PREPROCESSOR

    shutil.copy(PREPROCESSOR, tmp_path / "preprocessor_config.json")
    processor = AutoImageProcessor.from_pretrained(str(tmp_path))
    messages = [{"role": "user", "content": [{"type": "image", "image": images["odd"]}, {"type": "text", "text": "?"}]}]
    raw = renderer("small").render(messages)
    processed = renderer("small", multimodal_output="processed").render(messages)
    assert processed.token_ids == raw.token_ids
    assert processed.multi_modal_data.mm_placeholders == raw.multi_modal_data.mm_placeholders
    item = processed.multi_modal_data.mm_items["image"][0]
    with Image.open(images["odd"]) as im:
        ref = processor(images=[im.convert("RGB")], return_tensors="np")
    np.testing.assert_array_equal(item.data["image_grid_thw"], ref["image_grid_thw"])
    np.testing.assert_allclose(item.data["pixel_values"], ref["pixel_values"], rtol=0, atol=1e-6)
