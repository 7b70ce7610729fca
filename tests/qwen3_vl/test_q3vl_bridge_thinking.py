"""bridge_to_next_turn on Thinking checkpoints, checked against full renders with the official Thinking template.

The completion is what the template writes for the assistant message after the generation prompt
(the oracle's ids). Accepted bridges must equal the oracle's render of the whole conversation;
every refusal is backed by the oracle showing that a full render does not keep the previous ids.
"""

from __future__ import annotations

import pytest

from .corpus import WEATHER, ZOOM, call, img, txt
from .oracle import PARITY

MODEL = "Qwen/Qwen3-VL-8B-Thinking"
Q = {"role": "user", "content": "Weather in Paris?"}
STEP = {
    "role": "assistant",
    "content": "",
    "reasoning_content": "Look it up.",
    "tool_calls": [call("get_weather", {"city": "Paris"})],
}
SUNNY = {"role": "tool", "content": "sunny"}


def _sampled(oracle, assistant, tools=None) -> list[int]:
    """What the model samples after the generation prompt: the template's text for ``assistant`` written
    last after a real query, through its ``<|im_end|>``, tokenized on its own (as sampled ids are)."""
    head = oracle.text([Q], tools=tools, add_generation_prompt=True)
    full = oracle.text([Q, assistant], tools=tools)
    assert full.startswith(head) and full.endswith("<|im_end|>\n")
    return oracle.tok.encode(full[len(head) : -1], add_special_tokens=False)


def _prompt(renderer, oracle, history, tools=None, add_vision_id=False):
    prompt = renderer.render(history, tools=tools, add_generation_prompt=True, add_vision_id=add_vision_id)
    expected, _, _ = oracle.render(history, tools=tools, add_generation_prompt=True, add_vision_id=add_vision_id)
    assert list(prompt.token_ids) == expected
    return prompt


def _accepted(bridged, prompt, completion, oracle, messages, tools=None, add_vision_id=False):
    n = len(prompt.token_ids) + len(completion)
    assert bridged is not None
    assert bridged.token_ids[:n] == (*prompt.token_ids, *completion)
    expected, ranges, _ = oracle.render(messages, tools=tools, add_generation_prompt=True, add_vision_id=add_vision_id)
    assert list(bridged.token_ids) == expected
    assert [(p.offset, p.length) for p in bridged.multi_modal_data.mm_placeholders.get("image", ())] == ranges


def _rewrites_history(oracle, prompt, completion, messages, tools=None) -> bool:
    """The oracle's full render does not start with the previous ids (+ the ``<|im_end|>`` a cut-off turn gets)."""
    expected, _, _ = oracle.render(messages, tools=tools, add_generation_prompt=True)
    kept = [*prompt.token_ids, *completion]
    return expected[: len(kept)] != kept


@pytest.fixture
def r(make_renderer):
    return make_renderer(MODEL, **PARITY)


def test_tool_step_equals_full_render(r, thinking_oracle):
    prompt = _prompt(r, thinking_oracle, [Q], [WEATHER])
    completion = _sampled(thinking_oracle, STEP, [WEATHER])
    bridged = r.bridge_to_next_turn(prompt.token_ids, completion, [SUNNY], start_index=2)
    _accepted(bridged, prompt, completion, thinking_oracle, [Q, STEP, SUNNY], [WEATHER])
    assert set(bridged.message_indices[len(prompt.token_ids) : len(prompt.token_ids) + len(completion)]) == {1}


def test_chained_agent_steps_equal_full_render(r, thinking_oracle):
    messages = [{"role": "system", "content": "Agent."}, Q]
    prompt = _prompt(r, thinking_oracle, messages, [WEATHER])
    for k in range(3):
        step = {**STEP, "reasoning_content": f"step {k}", "content": "Again." if k else ""}
        completion = _sampled(thinking_oracle, step, [WEATHER])
        new = [{"role": "tool", "content": f"{18 + k}C"}]
        nxt = r.bridge_to_next_turn(prompt.token_ids, completion, new, tools=[WEATHER])
        messages += [step, *new]
        _accepted(nxt, prompt, completion, thinking_oracle, messages, [WEATHER])
        prompt = nxt


def test_grouped_image_tool_responses_with_vision_ids(make_renderer, thinking_oracle, sources):
    r = make_renderer(MODEL, add_vision_id=True, **PARITY)
    history = [
        {"role": "system", "content": [txt("Reference: "), img(sources.path("bmp_tiny"))]},
        {"role": "user", "content": [img(sources.path("jpg_odd")), txt("Zoom twice.")]},
    ]
    prompt = _prompt(r, thinking_oracle, history, [ZOOM], add_vision_id=True)
    step = {**STEP, "reasoning_content": "Two crops.", "tool_calls": [call("zoom", {"bbox": [0, 0, 1, 1]})] * 2}
    completion = _sampled(thinking_oracle, step, [ZOOM])
    new = [{"role": "tool", "content": [img(sources.raw("gif"))]}, {"role": "tool", "content": "second: none"}]
    bridged = r.bridge_to_next_turn(
        prompt.token_ids, completion, new, previous_multi_modal_data=prompt.multi_modal_data
    )
    _accepted(bridged, prompt, completion, thinking_oracle, [*history, step, *new], [ZOOM], add_vision_id=True)
    assert r.bridge_to_next_turn(prompt, completion, new) == bridged  # the object carries its sidecar


@pytest.mark.parametrize(
    "new",
    [
        [{"role": "system", "content": "Be brief now."}, SUNNY],
        [{"role": "user", "content": "<tool_response>\nsunny\n</tool_response>"}],
    ],
    ids=["system-in-place", "user-tool-wrapper"],
)
def test_messages_that_are_not_a_query(new, r, thinking_oracle):
    prompt = _prompt(r, thinking_oracle, [Q], [WEATHER])
    completion = _sampled(thinking_oracle, STEP, [WEATHER])
    bridged = r.bridge_to_next_turn(prompt.token_ids, completion, new)
    _accepted(bridged, prompt, completion, thinking_oracle, [Q, STEP, *new], [WEATHER])


def test_cut_off_answer_is_closed(r, thinking_oracle):
    answer = {"role": "assistant", "content": "It is sunny in Paris today.", "reasoning_content": "Easy."}
    prompt = _prompt(r, thinking_oracle, [Q])
    completion = _sampled(thinking_oracle, answer)[:-3]  # no <|im_end|>, answer cut short
    think_close = completion.index(r.think_ids[1])
    cut_text = thinking_oracle.tok.decode(completion[think_close + 1 :]).lstrip("\n")
    bridged = r.bridge_to_next_turn(prompt.token_ids, completion, [SUNNY])
    closed = {**answer, "content": cut_text}
    assert bridged.token_ids[len(prompt.token_ids) + len(completion)] == r.specials.im_end
    expected, _, _ = thinking_oracle.render([Q, closed, SUNNY], add_generation_prompt=True)
    assert list(bridged.token_ids) == expected


def test_refused_new_user_query(r, thinking_oracle):
    """The sampled turn's reasoning is dropped once a new query follows it."""
    prompt = _prompt(r, thinking_oracle, [Q], [WEATHER])
    completion = _sampled(thinking_oracle, STEP, [WEATHER])
    new = [SUNNY, {"role": "user", "content": "And Rome?"}]
    assert _rewrites_history(thinking_oracle, prompt, completion, [Q, STEP, *new], [WEATHER])
    assert r.bridge_to_next_turn(prompt.token_ids, completion, new) is None


def test_refused_empty_reasoning(r, thinking_oracle):
    """Written last it has an empty think block; followed by a tool turn it has none."""
    step = {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Paris"})]}
    prompt = _prompt(r, thinking_oracle, [Q], [WEATHER])
    completion = _sampled(thinking_oracle, step, [WEATHER])
    assert _rewrites_history(thinking_oracle, prompt, completion, [Q, step, SUNNY], [WEATHER])
    assert r.bridge_to_next_turn(prompt.token_ids, completion, [SUNNY]) is None


def test_refused_reasoning_cut_off(r, thinking_oracle):
    """Cut off inside the reasoning: the reasoning so far, rendered in full, gets its ``</think>``."""
    prompt = _prompt(r, thinking_oracle, [Q])
    completion = thinking_oracle.tok.encode("I need to look", add_special_tokens=False)
    read = {"role": "assistant", "content": "", "reasoning_content": "I need to look"}
    assert _rewrites_history(thinking_oracle, prompt, [*completion, r.specials.im_end], [Q, read, SUNNY])
    assert r.bridge_to_next_turn(prompt.token_ids, completion, [SUNNY]) is None


def test_refused_reasoning_that_reopens_think(r, thinking_oracle):
    """The template's own split keeps only what follows the last ``<think>``."""
    prompt = _prompt(r, thinking_oracle, [Q])
    text = "first idea <think>\nsecond idea\n</think>\n\nSunny."
    completion = [*thinking_oracle.tok.encode(text, add_special_tokens=False), r.specials.im_end]
    raw = {"role": "assistant", "content": "<think>\n" + text}
    assert _rewrites_history(thinking_oracle, prompt, completion, [Q, raw, SUNNY])
    assert r.bridge_to_next_turn(prompt.token_ids, completion, [SUNNY]) is None


def test_refused_prompt_without_a_real_query(r, thinking_oracle):
    """With only a ``<tool_response>`` user turn, the template takes the last message as the query."""
    history = [
        {"role": "system", "content": "Agent."},
        {"role": "user", "content": "<tool_response>\nx\n</tool_response>"},
    ]
    prompt = _prompt(r, thinking_oracle, history, [WEATHER])
    completion = _sampled(thinking_oracle, STEP, [WEATHER])
    assert _rewrites_history(thinking_oracle, prompt, completion, [*history, STEP, SUNNY], [WEATHER])
    assert r.bridge_to_next_turn(prompt.token_ids, completion, [SUNNY]) is None


def test_refused_prompt_ending_with_an_empty_think_turn(r, thinking_oracle):
    """An assistant message written last has an empty think block, which it loses when it stops being last."""
    history = [Q, {"role": "assistant", "content": "Prefilled."}]
    prompt = _prompt(r, thinking_oracle, history, [WEATHER])
    completion = _sampled(thinking_oracle, STEP, [WEATHER])
    assert _rewrites_history(thinking_oracle, prompt, completion, [*history, STEP, SUNNY], [WEATHER])
    assert r.bridge_to_next_turn(prompt.token_ids, completion, [SUNNY]) is None


def test_prompt_ending_with_a_reasoned_turn_is_kept(r, thinking_oracle):
    history = [Q, {"role": "assistant", "content": "Prefilled.", "reasoning_content": "kept"}]
    prompt = _prompt(r, thinking_oracle, history, [WEATHER])
    completion = _sampled(thinking_oracle, STEP, [WEATHER])
    bridged = r.bridge_to_next_turn(prompt.token_ids, completion, [SUNNY])
    _accepted(bridged, prompt, completion, thinking_oracle, [*history, STEP, SUNNY], [WEATHER])
