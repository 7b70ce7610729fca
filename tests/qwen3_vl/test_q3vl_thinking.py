"""Thinking checkpoints beyond the parity corpus, every expectation taken from the official Thinking template.

Routes (every size renders with the verified template rules), parse round trips (a sampled turn
parses into a message the template renders back to the same ids), and the one Thinking input
mmrender refuses on purpose: an image the template drops from an assistant's reasoning.
"""

from __future__ import annotations

import pytest
from mmrender import ConversationError, ToolCall

from .corpus import WEATHER, call, img, txt

MODEL = "Qwen/Qwen3-VL-8B-Thinking"
SIZES = ("2B", "4B", "8B", "32B", "30B-A3B", "235B-A22B")
USER = {"role": "user", "content": "Weather in Paris and Rome?"}


@pytest.mark.parametrize("size", SIZES)
def test_every_thinking_route_renders_the_verified_rules(size, thinking_oracle, make_renderer):
    messages = [
        {"role": "system", "content": "S"},
        USER,
        {"role": "assistant", "content": "Paris.", "reasoning_content": "r1"},
        {"role": "system", "content": "late"},
        {"role": "user", "content": "Rome?"},
    ]
    renderer = make_renderer(f"Qwen/Qwen3-VL-{size}-Thinking")
    got = renderer.render(messages, add_generation_prompt=True)
    expected, _, _ = thinking_oracle.render(messages, add_generation_prompt=True)
    assert list(got.token_ids) == expected
    gen, _, _ = thinking_oracle.render([USER], add_generation_prompt=True)
    plain, _, _ = thinking_oracle.render([USER])
    assert list(renderer.generation_prompt_ids) == gen[len(plain) :]


ASSISTANTS = {
    "reasoning_and_content": {"role": "assistant", "content": "Sunny in both.", "reasoning_content": "Look it up."},
    "no_reasoning": {"role": "assistant", "content": "Sunny."},
    "multiline": {"role": "assistant", "content": "Line 1\n\n  Zürich 🌞\nend", "reasoning_content": "a\n\nb"},
    "call_only": {
        "role": "assistant",
        "content": "",
        "reasoning_content": "Need data.",
        "tool_calls": [call("get_weather", {"city": "Paris"})],
    },
    "content_and_calls": {
        "role": "assistant",
        "content": "Checking both.",
        "reasoning_content": "Two cities.",
        "tool_calls": [call("get_weather", {"city": "Paris"}), call("get_weather", {"city": "Rome", "d": [1]})],
    },
}


def _completion(oracle, assistant: dict) -> tuple[str, list[int]]:
    """The template's text for [USER, assistant] and the ids a model samples after the generation prompt."""
    prompt = oracle.text([USER], tools=[WEATHER], add_generation_prompt=True)
    full = oracle.text([USER, assistant], tools=[WEATHER])
    assert full.startswith(prompt) and full.endswith("<|im_end|>\n")
    return full, oracle.tok.encode(full[len(prompt) : -1], add_special_tokens=False)


@pytest.mark.parametrize("name", sorted(ASSISTANTS))
def test_parse_round_trip_through_the_template(name, thinking_oracle, make_renderer):
    assistant = ASSISTANTS[name]
    full, ids = _completion(thinking_oracle, assistant)
    parsed = make_renderer(MODEL).parse_response(ids)
    assert parsed.truncated is False
    assert parsed.content == assistant["content"]
    assert parsed.reasoning_content == assistant.get("reasoning_content", "")
    calls = tuple(ToolCall(c["function"]["name"], c["function"]["arguments"]) for c in assistant.get("tool_calls", []))
    assert parsed.tool_calls == calls
    message = {
        "role": "assistant",
        "content": parsed.content,
        "reasoning_content": parsed.reasoning_content,
        "tool_calls": [{"function": {"name": c.name, "arguments": c.arguments}} for c in parsed.tool_calls],
    }
    assert thinking_oracle.text([USER, message], tools=[WEATHER]) == full


def test_image_dropped_from_reasoning_is_refused(thinking_oracle, sources, make_renderer):
    """Before the last query the template drops the reasoning, image included, yet counts the image."""
    messages = [
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": [txt("<think>see "), img(sources.path("gif")), txt("</think>answer")]},
        {"role": "user", "content": [img(sources.path("png333")), txt("Q2")]},
    ]
    text = thinking_oracle.text(messages, add_vision_id=True)
    assert text.count("<|image_pad|>") == 1 and "Picture 2: " in text  # one image gone, its number used up
    with pytest.raises(ConversationError, match="inside the reasoning") as info:
        make_renderer(MODEL).render(messages)
    assert (info.value.message_index, info.value.part_index) == (1, 1)


def test_image_between_two_close_tags_is_refused(thinking_oracle, sources, make_renderer):
    messages = [
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": [txt("r</think>"), img(sources.path("gif")), txt("</think>answer")]},
    ]
    assert "<|image_pad|>" not in thinking_oracle.text(messages)
    with pytest.raises(ConversationError, match="inside the reasoning") as info:
        make_renderer(MODEL).render(messages)
    assert (info.value.message_index, info.value.part_index) == (1, 1)
