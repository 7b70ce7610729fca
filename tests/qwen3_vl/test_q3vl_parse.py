"""parse_response: round trips through the official template, truncation, and special-token boundaries."""

from __future__ import annotations

import pytest
from mmrender import ToolCall

from .corpus import call

USER = {"role": "user", "content": "Weather in Paris and Rome?"}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]

ASSISTANTS = {
    "plain": {"role": "assistant", "content": "It is sunny."},
    "multiline_unicode": {"role": "assistant", "content": "Line 1\n\n  Zürich 🌞 東京\nend  "},
    "one_call": {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Paris"})]},
    "content_and_calls": {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [call("get_weather", {"city": "Paris"}), call("get_weather", {"city": "Rome", "days": [1, 2]})],
    },
    "nested_args": {
        "role": "assistant",
        "content": "",
        "tool_calls": [call("get_weather", {"q": {"a": None, "b": True, "c": 1.5}, "s": "<b>&é"})],
    },
}


def _completion(oracle_tokenizer, assistant: dict, tools=None) -> list[int]:
    """The ids a model would sample: the template's assistant turn after the generation prompt, up to <|im_end|>."""
    prompt = oracle_tokenizer.apply_chat_template([USER], tools=tools, add_generation_prompt=True, tokenize=False)
    full = oracle_tokenizer.apply_chat_template([USER, assistant], tools=tools, tokenize=False)
    assert full.startswith(prompt) and full.endswith("<|im_end|>\n")
    return oracle_tokenizer.encode(full[len(prompt) : -1], add_special_tokens=False)


@pytest.mark.parametrize("name", sorted(ASSISTANTS))
def test_round_trip(name, oracle_tokenizer, make_renderer):
    assistant = ASSISTANTS[name]
    parsed = make_renderer().parse_response(_completion(oracle_tokenizer, assistant, TOOLS))
    assert parsed.content == (assistant["content"] or "")
    assert parsed.reasoning_content is None
    assert parsed.truncated is False
    expected = tuple(
        ToolCall(c["function"]["name"], c["function"]["arguments"]) for c in assistant.get("tool_calls", [])
    )
    assert parsed.tool_calls == expected


def test_parsed_message_re_renders_to_the_same_ids(oracle_tokenizer, make_renderer):
    renderer = make_renderer()
    ids = _completion(oracle_tokenizer, ASSISTANTS["content_and_calls"], TOOLS)
    parsed = renderer.parse_response(ids)
    message = {
        "role": "assistant",
        "content": parsed.content,
        "tool_calls": [{"function": {"name": c.name, "arguments": c.arguments}} for c in parsed.tool_calls],
    }
    prompt = renderer.render([USER], tools=TOOLS, add_generation_prompt=True)
    full = renderer.render([USER, message], tools=TOOLS)
    assert list(full.token_ids) == [*prompt.token_ids, *ids, *renderer.tokenizer.encode("\n")]


def test_truncated_plain_content(oracle_tokenizer, make_renderer):
    ids = _completion(oracle_tokenizer, ASSISTANTS["plain"])[:-1]  # no <|im_end|>
    parsed = make_renderer().parse_response(ids)
    assert parsed.truncated is True
    assert parsed.content == "It is sunny."


def test_truncated_inside_tool_call_keeps_text(oracle_tokenizer, make_renderer):
    renderer = make_renderer()
    ids = _completion(oracle_tokenizer, ASSISTANTS["content_and_calls"], TOOLS)
    cut = ids[: len(ids) - 8]
    parsed = renderer.parse_response(cut)
    assert parsed.truncated is True
    assert parsed.tool_calls == (ToolCall("get_weather", {"city": "Paris"}),)
    # the cut-off call is kept verbatim, with the newline that precedes it
    assert parsed.content.startswith('Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"')


def test_malformed_tool_call_stays_in_content(make_renderer):
    renderer = make_renderer()
    ids = renderer.tokenizer.encode('Try:\n<tool_call>\n{"name": broken}\n</tool_call><|im_end|>')
    parsed = renderer.parse_response(ids)
    assert parsed.tool_calls == ()
    assert parsed.content == 'Try:\n<tool_call>\n{"name": broken}\n</tool_call>'
    assert parsed.truncated is False


def test_tags_spelled_with_ordinary_tokens_are_text(make_renderer):
    """Splitting happens at special-token ids: the same characters as ordinary BPE pieces are content."""
    renderer = make_renderer()
    enc = renderer.tokenizer.encode
    ids = (
        enc("a") + enc("<tool") + enc("_call>") + enc('{"name": "x", "arguments": {}}') + enc("</tool") + enc("_call>")
    )
    assert renderer.tool_call_ids[0] not in ids
    parsed = renderer.parse_response([*ids, renderer.specials.im_end])
    assert parsed.tool_calls == ()
    assert parsed.content == 'a<tool_call>{"name": "x", "arguments": {}}</tool_call>'


def test_stops_at_first_stop_token(make_renderer):
    renderer = make_renderer()
    ids = [*renderer.tokenizer.encode("Done."), renderer.endoftext, *renderer.tokenizer.encode("garbage")]
    parsed = renderer.parse_response(ids)
    assert (parsed.content, parsed.truncated) == ("Done.", False)
    ids = renderer.tokenizer.encode("A<|im_end|>B<|endoftext|>")
    assert renderer.parse_response(ids).content == "A"


def test_instruct_tolerates_think_block(make_renderer):
    renderer = make_renderer()
    ids = renderer.tokenizer.encode("<think>\nhmm, 2+2\n</think>\n\nFour.<|im_end|>")
    parsed = renderer.parse_response(ids)
    assert (parsed.reasoning_content, parsed.content) == ("hmm, 2+2", "Four.")
    assert renderer.parse_response(renderer.tokenizer.encode("<think>\nstill going")).reasoning_content == "still going"
    assert renderer.parse_response(renderer.tokenizer.encode("No think.<|im_end|>")).reasoning_content is None


def test_thinking_checkpoint_reasoning(make_renderer):
    renderer = make_renderer("Qwen/Qwen3-VL-8B-Thinking")
    enc = renderer.tokenizer.encode
    parsed = renderer.parse_response(enc("First, look.\n</think>\n\nA cat.<|im_end|>"))
    assert (parsed.reasoning_content, parsed.content, parsed.truncated) == ("First, look.", "A cat.", False)
    parsed = renderer.parse_response(enc("Still thinking about"))
    assert (parsed.reasoning_content, parsed.content, parsed.truncated) == ("Still thinking about", "", True)
    parsed = renderer.parse_response(
        enc('Need data.\n<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call><|im_end|>')
    )
    assert parsed.reasoning_content == "Need data."
    assert parsed.tool_calls == (ToolCall("f", {"x": 1}),)
    assert parsed.content == ""
