"""Thinking bridge, exhaustively over small shapes: accepted means equal to the oracle, refused means needed.

Every history × sampled turn × new messages below is bridged. An accepted bridge must equal the
official Thinking template's full render; a refusal must be one the oracle justifies (its full render
does not start with the previous ids), so the bridge is neither wrong nor needlessly conservative here.
"""

from __future__ import annotations

import pytest

from .corpus import WEATHER, call
from .oracle import PARITY

MODEL = "Qwen/Qwen3-VL-8B-Thinking"
Q = {"role": "user", "content": "Q"}
WRAPPED = {"role": "user", "content": "<tool_response>\nx\n</tool_response>"}
CALL = [call("get_weather", {"city": "x"})]
HISTORIES = {
    "query": [Q],
    "system-query": [{"role": "system", "content": "S"}, Q],
    "answered-then-query": [
        Q,
        {"role": "assistant", "content": "A", "reasoning_content": "r"},
        {"role": "user", "content": "Q2"},
    ],
    "reasoned-step-tool": [
        Q,
        {"role": "assistant", "content": "", "reasoning_content": "r", "tool_calls": CALL},
        {"role": "tool", "content": "t"},
    ],
    "bare-step-tool": [Q, {"role": "assistant", "content": "c", "tool_calls": CALL}, {"role": "tool", "content": "t"}],
    "wrapper-only": [WRAPPED],
    "query-wrapper": [Q, WRAPPED],
    "ends-bare-assistant": [Q, {"role": "assistant", "content": "pre"}],
    "ends-reasoned-assistant": [Q, {"role": "assistant", "content": "pre", "reasoning_content": "rr"}],
    "query-late-system": [Q, {"role": "system", "content": "late"}],
}
SAMPLED = {
    "answer": {"role": "assistant", "content": "Ans.", "reasoning_content": "think"},
    "call": {
        "role": "assistant",
        "content": "",
        "reasoning_content": "think",
        "tool_calls": [call("get_weather", {"city": "y"})],
    },
    "no-reasoning": {"role": "assistant", "content": "Ans."},
    "newlines": {"role": "assistant", "content": "\nAns.", "reasoning_content": "\nthink\n"},
}
NEW = {
    "tool": [{"role": "tool", "content": "t2"}],
    "two-tools": [{"role": "tool", "content": "a"}, {"role": "tool", "content": "b"}],
    "query": [{"role": "user", "content": "U"}],
    "system": [{"role": "system", "content": "s2"}],
    "wrapper": [{"role": "user", "content": "<tool_response>\nw\n</tool_response>"}],
    "tool-then-query": [{"role": "tool", "content": "a"}, {"role": "user", "content": "U"}],
}


@pytest.mark.parametrize("sampled", sorted(SAMPLED))
@pytest.mark.parametrize("history", sorted(HISTORIES))
def test_bridge_is_exact_or_a_needed_refusal(history, sampled, thinking_oracle, make_renderer):
    r = make_renderer(MODEL, **PARITY)
    h, a = HISTORIES[history], SAMPLED[sampled]
    head = thinking_oracle.text([Q], tools=[WEATHER], add_generation_prompt=True)
    full = thinking_oracle.text([Q, a], tools=[WEATHER])
    completion = thinking_oracle.tok.encode(full[len(head) : -1], add_special_tokens=False)
    prompt = r.render(h, tools=[WEATHER], add_generation_prompt=True).token_ids
    assert list(prompt) == thinking_oracle.render(h, tools=[WEATHER], add_generation_prompt=True)[0]
    for name, new in NEW.items():
        bridged = r.bridge_to_next_turn(prompt, completion, new)
        expected, _, _ = thinking_oracle.render([*h, a, *new], tools=[WEATHER], add_generation_prompt=True)
        if bridged is not None:
            assert list(bridged.token_ids) == expected, name
        else:
            kept = [*prompt, *completion]
            assert expected[: len(kept)] != kept, f"{name}: refused although a full render keeps the previous ids"


@pytest.mark.parametrize("sampled", sorted(SAMPLED))
@pytest.mark.parametrize("history", sorted(HISTORIES))
def test_plain_bridge_is_exact_or_a_needed_refusal(history, sampled, make_renderer):
    """With ``special_tokens_in_text="plain"`` (``<tool_response>`` typed in a user message is text, yet the
    template still reads it as a wrapper): an accepted bridge equals this renderer's full render."""
    r = make_renderer(MODEL, special_tokens_in_text="plain")
    h, a = HISTORIES[history], SAMPLED[sampled]
    head = r.tokenizer.decode(r.render([Q], tools=[WEATHER], add_generation_prompt=True).token_ids)
    full = r.tokenizer.decode(r.render([Q, a], tools=[WEATHER]).token_ids)
    completion = r.tokenizer.encode(full[len(head) : -1], add_special_tokens=False)  # what the model samples
    prompt = r.render(h, tools=[WEATHER], add_generation_prompt=True).token_ids
    for name, new in NEW.items():
        bridged = r.bridge_to_next_turn(prompt, completion, new)
        expected = r.render([*h, a, *new], tools=[WEATHER], add_generation_prompt=True).token_ids
        if bridged is not None:
            assert bridged.token_ids == expected, name
        else:
            kept = (*prompt, *completion)
            assert expected[: len(kept)] != kept, f"{name}: refused although a full render keeps the previous ids"
