"""The whole parity corpus again, each message an OpenAI-SDK-shaped pydantic object (nested parts and tool
calls too): mmrender renders the objects token for token as transformers does.

The oracle gets ``_normalize_chat_messages(objects)``: transformers' own first step of
``apply_chat_template`` (``model_dump()``, None-valued keys dropped), checked here to give the same text.
"""

from __future__ import annotations

from typing import Any

import pytest
from mmrender_qwen3_5.templates import VARIANTS
from transformers.utils.chat_template_utils import _normalize_chat_messages

from .cases import CASES
from .conftest import PARITY, oracle, renderer


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_as_message_objects(name: str, tok: Any, images: dict[str, str], as_message_objects: Any) -> None:
    args = CASES[name](images)
    messages, tools = args.pop("messages"), args.pop("tools", None)
    gen = args.pop("add_generation_prompt", False)
    objects = as_message_objects(messages)
    as_dicts = _normalize_chat_messages(objects)
    template = VARIANTS["large"].text()
    assert tok.apply_chat_template(objects, tools=tools, tokenize=False, chat_template=template, **args) == (
        tok.apply_chat_template(as_dicts, tools=tools, tokenize=False, chat_template=template, **args)
    )
    expected, ranges, _ = oracle(tok, "large", as_dicts, tools=tools, add_generation_prompt=gen, **args)
    options = {"add_vision_id": args.pop("add_vision_id")} if "add_vision_id" in args else {}
    options.update(PARITY)
    ours = renderer("large", **options).render(objects, tools=tools, add_generation_prompt=gen, **args)
    assert list(ours.token_ids) == expected
    assert [(p.offset, p.length) for p in ours.multi_modal_data.mm_placeholders.get("image", ())] == ranges
