"""parse_response: round trips through the template, a stripped or kept ``<think>``, truncation, odd input."""

from __future__ import annotations

from typing import Any

import pytest
from mmrender import ToolCall
from mmrender_kimi_k25.parser import tool_name

from .cases import TEXTS, call
from .conftest import renderer

CONTEXT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}]
ASSISTANTS = [
    {"role": "assistant", "content": "Four.", "reasoning_content": "2+2=4"},
    {"role": "assistant", "content": "Plain answer without reasoning."},
    {"role": "assistant", "content": "", "reasoning_content": "Only thought."},
    {"role": "assistant", "content": "\n  leading newline kept", "reasoning_content": "\nnewlines\n\n"},
    {
        "role": "assistant",
        "content": "Checking.",
        "reasoning_content": "Need the tool.",
        "tool_calls": [call("get_weather", 0, {"city": "Paris", "unit": "c"})],
    },
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [call("get_weather", 0, {"city": "北京 🎉"}), call("search", 1, {"q": [1, 2.5, None, True]})],
    },
    {"role": "assistant", "content": None, "reasoning_content": "x", "tool_calls": [call("run", 0, "not json")]},
    *({"role": "assistant", "content": t, "reasoning_content": TEXTS[-2 - k]} for k, t in enumerate(TEXTS[:12])),
]


def _message(parsed: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"role": "assistant", "content": parsed.content}
    if parsed.reasoning_content is not None:
        m["reasoning_content"] = parsed.reasoning_content
    if parsed.tool_calls:
        m["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in parsed.tool_calls
        ]
    return m


def _turn(r: Any, assistant: dict[str, Any], **kw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(prompt ids, completion ids) of one sampled assistant turn, as the template renders it."""
    prompt = r.render(CONTEXT, add_generation_prompt=True, **kw).token_ids
    full = r.render([*CONTEXT, assistant], **kw).token_ids
    assert full[: len(prompt)] == prompt
    return prompt, full[len(prompt) :]


@pytest.fixture(scope="module")
def k26() -> Any:
    return renderer()


@pytest.mark.parametrize("index", range(len(ASSISTANTS)))
def test_round_trip(k26: Any, index: int) -> None:
    assistant = ASSISTANTS[index]
    _, completion = _turn(k26, assistant, preserve_thinking=True)
    parsed = k26.parse_response(completion)
    assert not parsed.truncated
    assert parsed.content == (assistant["content"] or "")
    assert parsed.reasoning_content == (assistant.get("reasoning_content") or None)
    want_calls = [
        ToolCall(name=c["function"]["name"], arguments=c["function"]["arguments"], id=c["id"])
        for c in assistant.get("tool_calls", [])
    ]
    assert list(parsed.tool_calls) == want_calls
    again = k26.render([*CONTEXT, _message(parsed)], preserve_thinking=True).token_ids
    assert again[-len(completion) :] == completion
    # a sampler that keeps the <think> the prompt opened gives the same result
    assert k26.parse_response((k26.specials.think, *completion)) == parsed


@pytest.mark.parametrize("index", [1, 5])
def test_round_trip_thinking_off(index: int) -> None:
    r = renderer(thinking=False)
    _, completion = _turn(r, ASSISTANTS[index])
    assert r.specials.think not in completion
    parsed = r.parse_response(completion)
    assert parsed.reasoning_content is None
    assert r.render([*CONTEXT, _message(parsed)]).token_ids[-len(completion) :] == completion


def test_arguments_json_object_or_string(k26: Any) -> None:
    assistant = {
        "role": "assistant",
        "content": "",
        "tool_calls": [call("a", 0, '{"a":1}'), call("b", 1, "[1, 2]"), call("c", 2, "{broken")],
    }
    _, completion = _turn(k26, assistant)
    calls = k26.parse_response(completion).tool_calls
    assert [c.arguments for c in calls] == [{"a": 1}, "[1, 2]", "{broken"]
    assert [c.id for c in calls] == ["functions.a:0", "functions.b:1", "functions.c:2"]


def test_truncation_never_loses_text(k26: Any) -> None:
    """Cut anywhere: finished parts are exact, an unfinished call stays in ``content`` as text."""
    assistant = ASSISTANTS[5] | {"reasoning_content": "Think first.", "content": "Calling."}
    _, completion = _turn(k26, assistant, preserve_thinking=True)
    s, decode = k26.specials, k26.tokenizer.decode
    full = k26.parse_response(completion)
    close, section = completion.index(s.think_end), completion.index(s.section_begin)
    call_starts = [k for k, t in enumerate(completion) if t == s.call_begin]
    for cut in range(len(completion)):
        ids = completion[:cut]
        part = k26.parse_response(ids)
        assert part.truncated
        if cut <= close:
            assert (part.reasoning_content or "", part.content, part.tool_calls) == (decode(ids), "", ())
            continue
        assert part.reasoning_content == full.reasoning_content
        if cut <= section:
            assert (part.content, part.tool_calls) == (decode(ids[close + 1 :]), ())
            continue
        n = len(part.tool_calls)
        assert list(part.tool_calls) == list(full.tool_calls[:n])
        if n == 0:  # no complete call: the section stays text
            assert part.content == decode(ids[close + 1 :])
        else:
            rest = ids[call_starts[n] :] if n < len(call_starts) and call_starts[n] < cut else ()
            assert part.content == full.content + decode(rest)


def test_section_drafted_inside_reasoning_stays_reasoning(k26: Any) -> None:
    text = (
        "I could write <|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{}"
        "<|tool_call_end|><|tool_calls_section_end|> but no.</think>Answer.<|im_end|>"
    )
    parsed = k26.parse_response(k26.tokenizer.encode(text, allow_special=True))
    assert parsed.tool_calls == () and parsed.content == "Answer."
    assert parsed.reasoning_content is not None and parsed.reasoning_content.startswith("I could write <|tool_calls")


def test_unclosed_thinking_and_stops(k26: Any) -> None:
    enc = k26.tokenizer.encode
    parsed = k26.parse_response(enc("still thinking", allow_special=True))
    assert (parsed.reasoning_content, parsed.content, parsed.truncated) == ("still thinking", "", True)
    parsed = k26.parse_response(enc("r</think>done[EOS]ignored", allow_special=True))
    assert (parsed.reasoning_content, parsed.content, parsed.truncated) == ("r", "done", False)
    off = renderer(thinking=False).parse_response(enc("no think here<|im_end|>", allow_special=True))
    assert (off.reasoning_content, off.content) == (None, "no think here")


def test_section_without_a_complete_call_stays_content(k26: Any) -> None:
    text = "</think>Hi<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_calls_section_end|><|im_end|>"
    parsed = k26.parse_response(k26.tokenizer.encode(text, allow_special=True))
    assert parsed.tool_calls == ()
    assert parsed.content == "Hi<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_calls_section_end|>"


@pytest.mark.parametrize(
    ("call_id", "name"),
    [
        ("functions.get_weather:0", "get_weather"),
        ("functions.a.b:12", "a.b"),
        ("search:3", "search"),
        (" functions.f:1 ", "f"),
        ("call_abc123", "call_abc123"),
        ("functions.x:y", "x:y"),
    ],
)
def test_tool_name(call_id: str, name: str) -> None:
    assert tool_name(call_id) == name
