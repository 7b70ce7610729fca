"""message_indices rules for the parts the template shares between messages (tools block, grouped tools)."""

from __future__ import annotations

import attrs

from .corpus import WEATHER, call


def _owned(rendered, k):
    return [t for t, o in zip(rendered.token_ids, rendered.message_indices, strict=True) if o == k]


def test_tools_block_is_scaffold_and_system_text_is_message_zero(make_renderer, oracle_tokenizer):
    r = make_renderer()
    messages = [{"role": "system", "content": "Sys prompt."}, {"role": "user", "content": "Hi"}]
    got = r.render(messages, tools=[WEATHER], add_generation_prompt=True)
    system_turn = oracle_tokenizer.apply_chat_template(messages[:1], tools=[WEATHER], tokenize=False)
    tools_text = system_turn[len("<|im_start|>system\nSys prompt.\n\n") : -len("<|im_end|>\n")]
    owned0 = r.encoder.decode(_owned(got, 0))
    assert owned0 == "<|im_start|>system\nSys prompt.\n\n<|im_end|>\n"
    gen = r.encoder.decode(r.generation_prompt_ids)
    assert r.encoder.decode(_owned(got, -1)) == tools_text + gen
    assert r.encoder.decode(_owned(got, 1)) == "<|im_start|>user\nHi<|im_end|>\n"


def test_tools_block_without_system_is_scaffold(make_renderer):
    r = make_renderer()
    got = r.render([{"role": "user", "content": "Hi"}], tools=[WEATHER])
    first_user = got.token_ids.index(r.specials.im_start, 1)
    assert set(got.message_indices[:first_user]) == {-1}
    assert set(got.message_indices[first_user:]) == {0}


def test_grouped_tool_responses(make_renderer):
    r = make_renderer()
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "", "tool_calls": [call("f", {})] * 2},
        {"role": "tool", "content": "one"},
        {"role": "tool", "content": "two"},
    ]
    got = r.render(messages)
    assert r.encoder.decode(_owned(got, 2)) == "<|im_start|>user\n<tool_response>\none\n</tool_response>"
    assert r.encoder.decode(_owned(got, 3)) == "\n<tool_response>\ntwo\n</tool_response><|im_end|>\n"
    assert -1 not in got.message_indices


def test_mixed_owner_run_without_special_tool_tags(make_renderer):
    """If <tool_response> were plain text, one BPE run spans two tool messages: owners come from offsets."""
    r = make_renderer(special_tokens_in_text="control")  # the tokenizer makes the control id from the text
    r.specials = attrs.evolve(r.specials, tool_response=None, tool_response_end=None)
    messages = [
        {"role": "user", "content": "go"},
        {"role": "tool", "content": "one"},
        {"role": "tool", "content": "two"},
    ]
    got = r.render(messages)
    reference = make_renderer().render(messages)
    assert got.token_ids == reference.token_ids
    assert got.message_indices == reference.message_indices
