"""Per family and chat template (Qwen3-VL Instruct/Thinking, Qwen3.5 large/small, Kimi K2.6/K2.5), 32 conversations: a training sample equals the independent references (see ``oracles``).

ids and ``mm_token_type_ids`` equal the family's transformers processor's; Qwen ``position_ids`` and
``rope_delta`` equal ``get_rope_index``; Kimi positions are one row ``0..L-1``; loss masks equal the
decoded-text turn finder for ``assistant`` and ``last_assistant``, and are all ones for ``all``.
"""

from __future__ import annotations

import copy
from typing import Any

import mmrender
import pytest

from .conversations import CASES
from .oracles import PARITY, VARIANTS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("family", sorted(VARIANTS))
def test_sample_equals_oracles(family: str, case: str, images: dict[str, str]) -> None:
    oracle = VARIANTS[family]()
    args: dict[str, Any] = CASES[case](images)
    messages, tools = args["messages"], args["tools"]
    renderer = mmrender.get_renderer(oracle.model, **PARITY)
    sample = renderer.build_training_sample(copy.deepcopy(messages), tools=tools)

    want = oracle.run(copy.deepcopy(messages), tools)
    assert list(sample.token_ids) == want["ids"]
    assert list(sample.mm_token_type_ids) == want["types"]
    assert sample == renderer.build_training_sample(copy.deepcopy(messages), tools=tools, train_on="assistant")
    rendered = renderer.render(copy.deepcopy(messages), tools=tools)
    assert sample.token_ids == rendered.token_ids and sample.message_indices == rendered.message_indices
    assert sample.multi_modal_data == rendered.multi_modal_data
    assert not sample.truncated and sample.logprobs is None and (sample.segment, sample.num_segments) == (0, 1)

    if oracle.rope_model is not None:
        rows, delta = oracle.positions(want["ids"], want["types"], want["grids"])
        assert [list(r) for r in sample.position_ids] == rows
        assert sample.rope_delta == delta
    else:
        assert sample.position_ids == (tuple(range(len(sample))),) and sample.rope_delta is None

    for train_on in ("assistant", "last_assistant"):
        got = renderer.build_training_sample(copy.deepcopy(messages), tools=tools, train_on=train_on)
        want_mask = oracle.loss_mask(want["ids"], train_on)
        assert 1 in want_mask  # every case has an assistant turn, so the reference marks something
        assert list(got.loss_mask) == want_mask, train_on
    every = renderer.build_training_sample(copy.deepcopy(messages), tools=tools, train_on="all")
    assert set(every.loss_mask) == {1}
