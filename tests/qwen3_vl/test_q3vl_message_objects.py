"""Both parity corpora again, each message an OpenAI-SDK-shaped pydantic object (nested parts and tool
calls too), on the Instruct and Thinking checkpoints: mmrender renders the objects token for token as
transformers does.

The oracle gets ``_normalize_chat_messages(objects)``: transformers' own first step of
``apply_chat_template`` (``model_dump()``, None-valued keys dropped), checked here to give the same text.
"""

from __future__ import annotations

import pytest
from transformers.utils.chat_template_utils import _normalize_chat_messages

from .corpus import CASES
from .oracle import PARITY, Oracle
from .test_q3vl_thinking_parity import ALL


@pytest.fixture(scope="module")
def instruct_oracle(oracle_tokenizer, oracle_image_processor) -> Oracle:
    return Oracle(oracle_tokenizer, oracle_image_processor)


def _check(oracle, renderer, case, as_message_objects) -> None:
    messages, tools, add_vision_id = case
    objects = as_message_objects(messages)
    as_dicts = _normalize_chat_messages(objects)
    assert oracle.text(objects, tools=tools, add_vision_id=add_vision_id) == oracle.text(
        as_dicts, tools=tools, add_vision_id=add_vision_id
    )
    expected, ranges, _ = oracle.render(as_dicts, tools=tools, add_vision_id=add_vision_id, add_generation_prompt=True)
    got = renderer.render(objects, tools=tools, add_vision_id=add_vision_id, add_generation_prompt=True)
    assert list(got.token_ids) == expected
    assert [(p.offset, p.length) for p in got.multi_modal_data.mm_placeholders.get("image", ())] == ranges


@pytest.mark.parametrize("name", sorted(CASES))
def test_instruct_corpus_as_message_objects(name, instruct_oracle, sources, make_renderer, as_message_objects):
    _check(
        instruct_oracle, make_renderer("Qwen/Qwen3-VL-8B-Instruct", **PARITY), CASES[name](sources), as_message_objects
    )


@pytest.mark.parametrize("name", sorted(ALL))
def test_thinking_corpus_as_message_objects(name, thinking_oracle, sources, make_renderer, as_message_objects):
    _check(
        thinking_oracle, make_renderer("Qwen/Qwen3-VL-8B-Thinking", **PARITY), ALL[name](sources), as_message_objects
    )
