"""bridge_to_next_turn: prefix kept byte for byte, equal to a full render (checked against the oracle), refusals."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from mmrender import ConversationError

from .corpus import ZOOM, call, img, txt
from .oracle import Oracle


@pytest.fixture(scope="module")
def oracle(oracle_tokenizer, oracle_image_processor) -> Oracle:
    return Oracle(oracle_tokenizer, oracle_image_processor)


def _sampled(renderer, assistant: dict, tools=None) -> list[int]:
    """What the model would have sampled for ``assistant``: its turn after the generation prompt, with <|im_end|>."""
    user = {"role": "user", "content": "x"}
    head = renderer.render([user], tools=tools, add_generation_prompt=True).token_ids
    full = renderer.render([user, assistant], tools=tools).token_ids
    return list(full[len(head) : -1])


def _check(bridged, prompt, completion, oracle, messages, tools=None, add_vision_id=False):
    n = len(prompt.token_ids) + len(completion)
    assert bridged.token_ids[:n] == (*prompt.token_ids, *completion)
    expected, ranges, _ = oracle.render(messages, tools=tools, add_generation_prompt=True, add_vision_id=add_vision_id)
    assert list(bridged.token_ids) == expected
    got = [(p.offset, p.length) for p in bridged.multi_modal_data.mm_placeholders.get("image", ())]
    assert got == ranges


def test_image_turns_equal_full_render(make_renderer, sources, oracle):
    r = make_renderer()
    first = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [img(sources.path("jpg640")), txt("What?")]},
    ]
    prompt = r.render(first, add_generation_prompt=True)
    before = copy.deepcopy(prompt.multi_modal_data)
    assistant = {"role": "assistant", "content": "Noise."}
    completion = _sampled(r, assistant)
    new = [{"role": "user", "content": [txt("And "), img(sources.uri("png333")), txt(" this one?")]}]
    bridged = r.bridge_to_next_turn(
        prompt.token_ids, completion, new, previous_multi_modal_data=prompt.multi_modal_data
    )
    _check(bridged, prompt, completion, oracle, [*first, assistant, *new])
    assert prompt.multi_modal_data == before  # the caller's sidecar is untouched
    mm = bridged.multi_modal_data
    assert mm.mm_hashes["image"][0] == before.mm_hashes["image"][0]
    assert mm.mm_items["image"][0] == before.mm_items["image"][0]
    assert len(mm.mm_hashes["image"]) == 2


def test_tool_responses_grouped_with_images(make_renderer, sources, oracle):
    r = make_renderer()
    first = [{"role": "user", "content": [img(sources.path("jpg_odd")), txt("Zoom twice.")]}]
    prompt = r.render(first, tools=[ZOOM], add_generation_prompt=True)
    assistant = {"role": "assistant", "content": "", "tool_calls": [call("zoom", {"bbox": [0, 0, 1, 1]})] * 2}
    completion = _sampled(r, assistant, [ZOOM])
    new = [{"role": "tool", "content": [img(sources.raw("gif"))]}, {"role": "tool", "content": "second: none"}]
    bridged = r.bridge_to_next_turn(
        prompt.token_ids, completion, new, tools=[ZOOM], previous_multi_modal_data=prompt.multi_modal_data
    )
    _check(bridged, prompt, completion, oracle, [*first, assistant, *new], tools=[ZOOM])


def test_chained_bridges_equal_full_render(make_renderer, oracle):
    r = make_renderer()
    messages = [{"role": "user", "content": "Count: 1"}]
    prompt = r.render(messages, add_generation_prompt=True)
    for k in range(2, 6):
        assistant = {"role": "assistant", "content": f"{k - 1}!"}
        completion = _sampled(r, assistant)
        new = [{"role": "user", "content": f"Count: {k}"}]
        nxt = r.bridge_to_next_turn(prompt.token_ids, completion, new)
        messages += [assistant, *new]
        _check(nxt, prompt, completion, oracle, messages)
        prompt = nxt


@pytest.mark.parametrize("stop", ["none", "endoftext"])
def test_truncated_completion_is_closed(stop, make_renderer, oracle):
    r = make_renderer()
    first = [{"role": "user", "content": "Tell me a story."}]
    prompt = r.render(first, add_generation_prompt=True)
    completion = r.tokenizer.encode("Once upon a time there was")
    if stop == "endoftext":
        completion.append(r.endoftext)
    new = [{"role": "user", "content": "Go on."}]
    bridged = r.bridge_to_next_turn(prompt.token_ids, completion, new)
    n = len(prompt.token_ids) + len(completion)
    assert bridged.token_ids[:n] == (*prompt.token_ids, *completion)
    assert bridged.token_ids[n] == r.specials.im_end  # the turn is closed as the template closes it
    if stop == "none":  # identical to a full render of the truncated text as the assistant's content
        _check(
            bridged,
            prompt,
            completion,
            oracle,
            [*first, {"role": "assistant", "content": "Once upon a time there was"}, *new],
        )


def test_vision_id_numbering_continues(make_renderer, sources, oracle):
    r = make_renderer(add_vision_id=True)
    first = [{"role": "user", "content": [img(sources.path("jpg640")), img(sources.path("bmp_tiny")), txt("Two.")]}]
    prompt = r.render(first, add_generation_prompt=True)
    assistant = {"role": "assistant", "content": "Yes."}
    completion = _sampled(r, assistant)
    new = [{"role": "user", "content": [img(sources.path("png333")), txt("Third?")]}]
    messages = [*first, assistant, *new]
    with_mm = r.bridge_to_next_turn(
        prompt.token_ids, completion, new, previous_multi_modal_data=prompt.multi_modal_data
    )
    _check(with_mm, prompt, completion, oracle, messages, add_vision_id=True)
    from_rendered = r.bridge_to_next_turn(prompt, completion, new)  # the sidecar travels with the object
    assert from_rendered == with_mm


def test_message_indices_and_inputs(make_renderer):
    r = make_renderer()
    prompt = r.render([{"role": "user", "content": "hi"}], add_generation_prompt=True)
    completion = [*r.tokenizer.encode("hello"), r.specials.im_end]
    new = [{"role": "user", "content": "again"}]
    bridged = r.bridge_to_next_turn(np.asarray(prompt.token_ids), np.asarray(completion), new, start_index=2)
    n, c = len(prompt.token_ids), len(completion)
    assert set(bridged.message_indices[:n]) == {-1}
    assert set(bridged.message_indices[n : n + c + 1]) == {1}  # completion and the closing newline: the assistant
    tail = bridged.message_indices[n + c + 1 :]
    gen = len(r.generation_prompt_ids)
    assert set(tail[:-gen]) == {2} and set(tail[-gen:]) == {-1}
    assert all(type(t) is int for t in bridged.token_ids)


@pytest.mark.parametrize(
    "new",
    [
        [{"role": "assistant", "content": "no"}],
        [{"role": "user", "content": "ok"}, {"role": "assistant", "content": "no"}],
        [],
        [{"role": "system", "content": "dropped by the Instruct template"}],
    ],
    ids=["assistant", "assistant-later", "empty", "system"],
)
def test_refusals(new, make_renderer):
    r = make_renderer()
    prompt = r.render([{"role": "user", "content": "hi"}], add_generation_prompt=True)
    assert r.bridge_to_next_turn(prompt.token_ids, r.tokenizer.encode("yo<|im_end|>"), new) is None


def test_unsafe_prefixes_are_refused(make_renderer):
    r = make_renderer()
    new = [{"role": "user", "content": "next"}]
    no_gen = r.render([{"role": "user", "content": "hi"}])
    assert r.bridge_to_next_turn(no_gen.token_ids, r.tokenizer.encode("yo<|im_end|>"), new) is None
    prompt = r.render([{"role": "user", "content": "hi"}], add_generation_prompt=True)
    two_turns = r.tokenizer.encode("yo<|im_end|>\n<|im_start|>user\nfake<|im_end|>")
    assert r.bridge_to_next_turn(prompt.token_ids, two_turns, new) is None


def test_bad_previous_sidecar_and_messages_raise(make_renderer, sources):
    r = make_renderer()
    prompt = r.render([{"role": "user", "content": [img(sources.path("gif")), txt("x")]}], add_generation_prompt=True)
    short = prompt.token_ids[:10] + r.generation_prompt_ids
    with pytest.raises(ConversationError, match="beyond"):
        r.bridge_to_next_turn(
            short, [], [{"role": "user", "content": "y"}], previous_multi_modal_data=prompt.multi_modal_data
        )
    with pytest.raises(ConversationError):
        r.bridge_to_next_turn(
            prompt.token_ids, [], [{"role": "user", "content": [{"type": "image", "image": "/no/such.png"}]}]
        )
