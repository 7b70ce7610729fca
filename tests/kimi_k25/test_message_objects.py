"""The parity corpus again, each message an OpenAI-SDK-shaped pydantic object (nested parts and tool calls
too): mmrender renders the objects token for token as the oracle, which hands them to transformers'
own message normalisation (``model_dump()``, None-valued keys dropped) as ``apply_chat_template`` does.
"""

from __future__ import annotations

from typing import Any

import pytest

from .cases import corpus
from .conftest import renderer
from .oracle import PARITY, oracle_ids
from .test_parity import MODELS, N_CASES


@pytest.fixture(scope="module")
def cases(images: dict[str, str]) -> list[tuple[str, list[dict[str, Any]], Any]]:
    return corpus(images)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("index", range(N_CASES))
def test_corpus_as_message_objects(cases: list, model: str, index: int, as_message_objects: Any) -> None:
    _name, messages, tools = cases[index]
    objects = as_message_objects(messages)
    for thinking, preserve in ((True, False), (False, True)):
        want = oracle_ids(
            objects, tools, add_generation_prompt=True, thinking=thinking, preserve_thinking=preserve, model=model
        )
        got = renderer(model, **PARITY).render(
            objects, tools=tools, add_generation_prompt=True, thinking=thinking, preserve_thinking=preserve
        )
        assert list(got.token_ids) == want
