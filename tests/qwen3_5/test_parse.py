"""parse_response: reasoning, content and typed XML tool calls, round-tripped through the real template."""

from __future__ import annotations

from typing import Any

import pytest
from mmrender import ToolCall

from .cases import TOOLS, A, U
from .conftest import completion_of, oracle, renderer

ROUND_TRIPS = {
    "plain": A("The answer is 4.", reasoning="2+2=4"),
    "no_reasoning": A("Just content."),
    "multiline": A("Line 1\n\nLine 2", reasoning="step 1\nstep 2"),
    "string_arg": A("", reasoning="call", calls=[("get_weather", {"city": "Paris"})]),
    "typed_args": A(
        "Let me check.",
        reasoning="typed",
        calls=[
            (
                "get_weather",
                {
                    "city": "Oslo",
                    "days": 3,
                    "metric": False,
                    "threshold": 0.25,
                    "options": {"unit": "C", "nested": [1, {"a": None}]},
                    "tags": ["x", "ü"],
                    "note": None,
                },
            )
        ],
    ),
    "numeric_looking_string": A("", calls=[("get_weather", {"city": "1234"})]),
    "two_calls": A("", calls=[("search", {"query": "a\nb", "k": 2}), ("get_weather", {"city": "B", "metric": True})]),
    "unicode": A("答案 ✓", reasoning="思考 🤔", calls=[("search", {"query": "北京 天气"})]),
}


@pytest.mark.parametrize("variant", ["small", "large"])
@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_round_trip(name: str, variant: str, tok: Any) -> None:
    """Render the turn with the official template, parse the assistant part, get the message back."""
    message = ROUND_TRIPS[name]
    # with thinking open and no reasoning the full render writes "\n\n" where the prompt ended in "\n"
    # (one BPE token vs two), so such a turn is never a continuation of the prompt: use closed thinking.
    thinking = bool(message.get("reasoning_content"))
    prefix = [U("question")]
    prompt, _, _ = oracle(tok, variant, prefix, tools=TOOLS, add_generation_prompt=True, enable_thinking=thinking)
    full, _, _ = oracle(tok, variant, [*prefix, message], tools=TOOLS, enable_thinking=thinking)
    completion = completion_of(full, prompt, tok.convert_tokens_to_ids("<|im_end|>"))
    parsed = renderer(variant, enable_thinking=thinking).parse_response(completion, tools=TOOLS)
    assert not parsed.truncated
    assert parsed.content == (message["content"] or "")
    if thinking:
        assert parsed.reasoning_content == message.get("reasoning_content", "")
    else:
        assert parsed.reasoning_content is None
    expected = tuple(ToolCall(c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls", []))
    assert parsed.tool_calls == expected


def _ids(tok: Any, text: str) -> list[int]:
    return tok.encode(text, add_special_tokens=False)


def test_without_schema_values_stay_strings(tok: Any) -> None:
    ids = _ids(tok, "<tool_call>\n<function=f>\n<parameter=n>\n5\n</parameter>\n</function>\n</tool_call><|im_end|>")
    parsed = renderer("small").parse_response(ids)
    assert parsed.tool_calls == (ToolCall("f", {"n": "5"}),)


def test_schema_mismatch_falls_back_to_text(tok: Any) -> None:
    ids = _ids(
        tok,
        "<tool_call>\n<function=get_weather>\n<parameter=days>\nthree\n</parameter>\n"
        "<parameter=metric>\nTrue\n</parameter>\n</function>\n</tool_call><|im_end|>",
    )
    parsed = renderer("small").parse_response(ids, tools=TOOLS)
    assert parsed.tool_calls[0].arguments == {"days": "three", "metric": True}


def test_truncated_in_reasoning(tok: Any) -> None:
    ids = _ids(tok, "I am thinking about")
    parsed = renderer("large").parse_response(ids)
    assert parsed.truncated and parsed.reasoning_content == "I am thinking about" and parsed.content == ""


def test_truncated_inside_tool_call_keeps_finished_calls(tok: Any) -> None:
    done = "r\n</think>\n\nok\n\n<tool_call>\n<function=search>\n<parameter=query>\nx\n</parameter>\n</function>\n</tool_call>"
    ids = _ids(tok, done + "\n<tool_call>\n<function=search>\n<parameter=query>\npart")
    parsed = renderer("large").parse_response(ids, tools=TOOLS)
    assert parsed.truncated and parsed.reasoning_content == "r" and parsed.content == "ok"
    assert parsed.tool_calls == (ToolCall("search", {"query": "x"}),)


def test_truncated_after_function_close_keeps_call(tok: Any) -> None:
    ids = _ids(tok, "<tool_call>\n<function=search>\n<parameter=k>\n7\n</parameter>\n</function>\n")
    parsed = renderer("small").parse_response(ids, tools=TOOLS)
    assert parsed.truncated and parsed.tool_calls == (ToolCall("search", {"k": 7}),)


def test_closed_thinking_content_only(tok: Any) -> None:
    parsed = renderer("small").parse_response(_ids(tok, "Hello there.<|im_end|>"))
    assert (parsed.content, parsed.reasoning_content, parsed.truncated) == ("Hello there.", None, False)


def test_explicit_enable_thinking_overrides_default(tok: Any) -> None:
    ids = _ids(tok, "partial thought")
    assert renderer("small").parse_response(ids, enable_thinking=True).reasoning_content == "partial thought"
    assert renderer("large").parse_response(ids, enable_thinking=False).content == "partial thought"


def test_endoftext_stops_and_tail_ignored(tok: Any) -> None:
    ids = _ids(tok, "a</think>\n\nb<|endoftext|>junk")
    parsed = renderer("large").parse_response(ids)
    assert (parsed.reasoning_content, parsed.content, parsed.truncated) == ("a", "b", False)


def test_boundaries_are_tokens_not_text(tok: Any) -> None:
    """A byte-level spelled "</think>" (not the control token) does not split reasoning."""
    lt = _ids(tok, "<")
    fake = lt + _ids(tok, "/think") + _ids(tok, ">")
    ids = _ids(tok, "x") + fake + _ids(tok, " y") + [tok.convert_tokens_to_ids("</think>")] + _ids(tok, "\n\nz")
    parsed = renderer("large").parse_response(ids)
    assert parsed.reasoning_content == "x</think> y" and parsed.content == "z"
