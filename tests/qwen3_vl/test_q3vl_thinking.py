"""Thinking checkpoints: NOT oracle-verified (no verifiable copy of the official template exists).

The expected strings are hand-written from the publicly documented Qwen3 thinking-template rules
(see docs/families/qwen3_vl.md): ``<think>\\n`` generation prompt; an assistant turn after the last
real user query keeps its reasoning as ``<think>\\n…\\n</think>\\n\\n``; earlier turns drop it;
system messages after the first render in place.
"""

from __future__ import annotations

import pytest

from .corpus import call, img, txt

MODEL = "Qwen/Qwen3-VL-8B-Thinking"


@pytest.fixture
def thinking(make_renderer):
    return make_renderer(MODEL)


def _ids(tok, text: str) -> list[int]:
    return tok.encode(text, add_special_tokens=False)


def test_generation_prompt(thinking, oracle_tokenizer):
    got = thinking.render([{"role": "user", "content": "Hi"}], add_generation_prompt=True)
    assert list(got.token_ids) == _ids(
        oracle_tokenizer, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n"
    )


def test_reasoning_kept_only_after_last_query(thinking, oracle_tokenizer):
    messages = [
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1", "reasoning_content": "r1"},
        {"role": "user", "content": "Q2"},
        {"role": "assistant", "content": "", "reasoning_content": "\nr2\n", "tool_calls": [call("f", {"x": 1})]},
        {"role": "tool", "content": "42"},
        {"role": "assistant", "content": "\nA2", "reasoning_content": "r3"},
    ]
    expected = (
        "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n"
        "<|im_start|>user\nQ2<|im_end|>\n"
        '<|im_start|>assistant\n<think>\nr2\n</think>\n\n<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call><|im_end|>\n'
        "<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n<think>\nr3\n</think>\n\nA2<|im_end|>\n"
    )
    assert list(thinking.render(messages).token_ids) == _ids(oracle_tokenizer, expected)


def test_reasoning_split_from_content_and_last_turn_always_thinks(thinking, oracle_tokenizer):
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": "<think>\nhidden\n</think>\n\nshown"},
        {"role": "system", "content": "late system"},
        {"role": "user", "content": "Q2"},
        {"role": "assistant", "content": "final"},
    ]
    expected = (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nshown<|im_end|>\n"
        "<|im_start|>system\nlate system<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\nfinal<|im_end|>\n"
    )
    assert list(thinking.render(messages).token_ids) == _ids(oracle_tokenizer, expected)


def test_images_same_as_instruct(thinking, make_renderer, sources):
    messages = [{"role": "user", "content": [img(sources.path("jpg640")), txt("?")]}]
    instruct = make_renderer().render(messages)
    assert thinking.render(messages).token_ids == instruct.token_ids


def test_bridge_and_parse(thinking, oracle_tokenizer):
    prompt = thinking.render([{"role": "user", "content": "Weather?"}], add_generation_prompt=True)
    sampled = 'Check it.\n</think>\n\n<tool_call>\n{"name": "w", "arguments": {}}\n</tool_call><|im_end|>'
    completion = _ids(oracle_tokenizer, sampled)
    parsed = thinking.parse_response(completion)
    assert (parsed.reasoning_content, parsed.content, parsed.tool_calls[0].name) == ("Check it.", "", "w")
    bridged = thinking.bridge_to_next_turn(prompt.token_ids, completion, [{"role": "tool", "content": "sunny"}])
    tail = "\n<|im_start|>user\n<tool_response>\nsunny\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n"
    assert list(bridged.token_ids) == [*prompt.token_ids, *completion, *_ids(oracle_tokenizer, tail)]
    full = thinking.render(
        [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": "",
                "reasoning_content": parsed.reasoning_content,
                "tool_calls": [{"function": {"name": "w", "arguments": {}}}],
            },
            {"role": "tool", "content": "sunny"},
        ],
        add_generation_prompt=True,
    )
    assert full.token_ids == bridged.token_ids  # a tool step keeps the reasoning, so both agree
    assert thinking.bridge_to_next_turn(prompt.token_ids, completion, [{"role": "system", "content": "s"}]) is not None
