"""bridge_to_next_turn: prefix preservation, equality with a full re-render where the template makes it
true, None where it does not (per thinking_retention), images, and refusals."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from mmrender import MultiModalData
from mmrender.errors import UnbackedPlaceholderError

from .cases import WEATHER, call, img
from .conftest import renderer
from .oracle import oracle_ids

USER = {"role": "user", "content": "Weather in Paris?"}
TOOL_CALL = {
    "role": "assistant",
    "content": "Checking.",
    "reasoning_content": "Need the tool.",
    "tool_calls": [call("get_weather", 0, {"city": "Paris"})],
}
RESULT = {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "Sunny"}
ANSWER = {"role": "assistant", "content": "It is sunny.", "reasoning_content": "The tool said so."}
PLAIN_ANSWER = {"role": "assistant", "content": "It is sunny."}
NEXT_USER = {"role": "user", "content": "And tomorrow?"}


def sample(r: Any, history: list, assistant: dict, tools: Any = None, **kw: Any) -> tuple[tuple, tuple]:
    """A sampled turn: the generation prompt and the completion ids the model would have produced."""
    prompt = r.render(history, tools=tools, add_generation_prompt=True, **kw).token_ids
    full = r.render([*history, assistant], tools=tools, preserve_thinking=True, **kw).token_ids
    assert full[: len(prompt)] == prompt
    return prompt, full[len(prompt) :]


def full_render(r: Any, messages: list, tools: Any = None, **kw: Any) -> Any:
    return r.render(messages, tools=tools, add_generation_prompt=True, **kw)


@pytest.fixture(scope="module")
def k26() -> Any:
    return renderer()


@pytest.mark.parametrize("retention", [None, "tool_cycle", "all"])
def test_tool_cycle_equals_full_render(k26: Any, retention: str | None) -> None:
    history = [{"role": "system", "content": "Be brief."}, USER]
    prompt, completion = sample(k26, history, TOOL_CALL, [WEATHER])
    out = k26.bridge_to_next_turn(
        prompt, completion, [RESULT], tools=[WEATHER], start_index=3, thinking_retention=retention
    )
    assert out is not None
    assert out.token_ids[: len(prompt) + len(completion)] == prompt + completion
    full = full_render(k26, [*history, TOOL_CALL, RESULT], [WEATHER])
    assert out.token_ids == full.token_ids
    assert list(out.token_ids) == oracle_ids([*history, TOOL_CALL, RESULT], [WEATHER], add_generation_prompt=True)
    n = len(prompt) + len(completion)
    assert out.message_indices[n:] == full.message_indices[n:]
    assert set(out.message_indices[len(prompt) : n]) == {2}


def test_new_user_after_tool_call_keeps_reasoning_in_template_rule(k26: Any) -> None:
    """The split only moves at an assistant without tool calls, so tool result + user still bridges."""
    prompt, completion = sample(k26, [USER], TOOL_CALL)
    new = [RESULT, NEXT_USER]
    out = k26.bridge_to_next_turn(prompt, completion, new)
    assert out is not None and out.token_ids == full_render(k26, [USER, TOOL_CALL, *new]).token_ids
    assert k26.bridge_to_next_turn(prompt, completion, new, thinking_retention="tool_cycle") is None


def test_closed_turn_with_reasoning(k26: Any) -> None:
    """A final answer with reasoning: the template drops it from history, so only "all" bridges."""
    history = [USER, TOOL_CALL, RESULT]
    prompt, completion = sample(k26, history, ANSWER)
    assert k26.bridge_to_next_turn(prompt, completion, [NEXT_USER]) is None
    assert k26.bridge_to_next_turn(prompt, completion, [NEXT_USER], thinking_retention="tool_cycle") is None
    out = k26.bridge_to_next_turn(prompt, completion, [NEXT_USER], thinking_retention="all")
    assert out is not None and out.token_ids[: len(prompt) + len(completion)] == prompt + completion
    full = full_render(k26, [*history, ANSWER, NEXT_USER])
    assert out.token_ids != full.token_ids  # the full render prints both reasoning blocks empty
    tail = full.token_ids[-8:]
    assert out.token_ids[-8:] == tail
    # preserve_thinking keeps every reasoning block, so the bridge is exact again
    exact = k26.bridge_to_next_turn(prompt, completion, [NEXT_USER], preserve_thinking=True)
    assert exact is not None
    assert exact.token_ids == full_render(k26, [*history, ANSWER, NEXT_USER], preserve_thinking=True).token_ids


def test_closed_turn_without_reasoning_anywhere(k26: Any) -> None:
    history = [USER, {**TOOL_CALL, "reasoning_content": ""}, RESULT]
    prompt, completion = sample(k26, history, PLAIN_ANSWER)
    out = k26.bridge_to_next_turn(prompt, completion, [NEXT_USER])
    assert out is not None and out.token_ids == full_render(k26, [*history, PLAIN_ANSWER, NEXT_USER]).token_ids
    # reasoning earlier in the tool cycle would be dropped by a re-render
    prompt, completion = sample(k26, [USER, TOOL_CALL, RESULT], PLAIN_ANSWER)
    assert k26.bridge_to_next_turn(prompt, completion, [NEXT_USER]) is None


@pytest.mark.parametrize("model", ["moonshotai/Kimi-K2.6", "moonshotai/Kimi-K2.5"])
def test_thinking_off(model: str) -> None:
    r = renderer(model, thinking=False)
    history = [USER, {**TOOL_CALL, "reasoning_content": None}, RESULT]
    prompt, completion = sample(r, history, PLAIN_ANSWER)
    assert prompt[-2:] == (r.specials.think, r.specials.think_end)
    out = r.bridge_to_next_turn(prompt, completion, [NEXT_USER])
    assert out is not None
    assert out.token_ids == full_render(r, [*history, PLAIN_ANSWER, NEXT_USER]).token_ids
    assert list(out.token_ids) == oracle_ids(
        [*history, PLAIN_ANSWER, NEXT_USER], add_generation_prompt=True, thinking=False, model=model
    )


def test_images_in_new_messages(k26: Any, images: dict[str, str]) -> None:
    first = {"role": "user", "content": [img(images["wide"]), {"type": "text", "text": "What is it?"}]}
    prompt_r = k26.render([first], add_generation_prompt=True)
    _, completion = sample(k26, [first], TOOL_CALL)
    result = {
        "role": "tool",
        "tool_call_id": "functions.get_weather:0",
        "content": [img(images["big"]), {"type": "text", "text": "map"}, img(images["tall"], 1)],
    }
    previous = prompt_r.multi_modal_data
    before = copy.deepcopy(previous)
    out = k26.bridge_to_next_turn(
        prompt_r.token_ids, completion, [result], previous_multi_modal_data=previous, start_index=2
    )
    assert out is not None
    full = full_render(k26, [first, TOOL_CALL, result])
    assert out.token_ids == full.token_ids
    assert out.multi_modal_data == full.multi_modal_data
    assert previous == before and len(previous.mm_hashes["image"]) == 1
    # the previous RenderedTokens carries its sidecar; bare ids without one would leave the first
    # image's <|media_pad|> with no features, so they are refused
    assert k26.bridge_to_next_turn(prompt_r, completion, [result], start_index=2) == out
    with pytest.raises(UnbackedPlaceholderError) as err:
        k26.bridge_to_next_turn(prompt_r.token_ids, completion, [result])
    assert err.value.position == previous.mm_placeholders["image"][0].offset


def test_truncated_completion(k26: Any) -> None:
    prompt, completion = sample(k26, [USER], TOOL_CALL)
    im_end = k26.specials.im_end
    assert completion[-1] == im_end
    # only <|im_end|> missing: the bridge adds it and equals the full render
    out = k26.bridge_to_next_turn(prompt, completion[:-1], [RESULT])
    assert out is not None and out.token_ids == full_render(k26, [USER, TOOL_CALL, RESULT]).token_ids
    assert out.message_indices[len(prompt) + len(completion) - 1] == -1  # start_index 0 -> assistant index -1
    # cut inside the reasoning or the section: a re-render would close them, so only explicit policies bridge
    for cut in (2, completion.index(k26.specials.call_arg)):
        assert k26.bridge_to_next_turn(prompt, completion[:cut], [RESULT]) is None
        forced = k26.bridge_to_next_turn(prompt, completion[:cut], [RESULT], thinking_retention="all")
        assert forced is not None
        assert forced.token_ids[: len(prompt) + cut + 1] == (*prompt, *completion[:cut], im_end)


def test_refusals(k26: Any) -> None:
    prompt, completion = sample(k26, [USER], TOOL_CALL, [WEATHER])
    im_end = k26.specials.im_end
    ok = k26.bridge_to_next_turn(prompt, completion, [RESULT], tools=[WEATHER])
    assert ok is not None
    assert k26.bridge_to_next_turn(prompt, completion, []) is None
    assert k26.bridge_to_next_turn(prompt, completion, [RESULT, PLAIN_ANSWER]) is None
    assert k26.bridge_to_next_turn(prompt[:-1], completion, [RESULT]) is None  # no generation prompt
    assert k26.bridge_to_next_turn(prompt, (*completion, *completion), [RESULT]) is None  # two turns
    assert k26.bridge_to_next_turn(prompt, (*completion[:-1], 163585, im_end), [RESULT]) is None  # [EOS]
    assert k26.bridge_to_next_turn(prompt, completion, [RESULT], tools=[]) is None  # prompt declares tools
    other = {**WEATHER, "function": {**WEATHER["function"], "description": "changed"}}
    assert k26.bridge_to_next_turn(prompt, completion, [RESULT], tools=[other]) is None
    bare_prompt, bare_completion = sample(k26, [USER], TOOL_CALL)
    assert k26.bridge_to_next_turn(bare_prompt, bare_completion, [RESULT], tools=[WEATHER]) is None
    assert k26.bridge_to_next_turn(bare_prompt, bare_completion, [RESULT], tools=[]) is not None


def test_option_default_retention() -> None:
    r = renderer(thinking_retention="all")
    prompt, completion = sample(r, [USER], ANSWER)
    assert r.bridge_to_next_turn(prompt, completion, [NEXT_USER]) is not None
    assert r.bridge_to_next_turn(prompt, completion, [NEXT_USER], thinking_retention="tool_cycle") is None


def test_accepts_lists_and_arrays(k26: Any) -> None:
    np = pytest.importorskip("numpy")
    prompt, completion = sample(k26, [USER], TOOL_CALL)
    a = k26.bridge_to_next_turn(list(prompt), list(completion), [RESULT])
    b = k26.bridge_to_next_turn(np.array(prompt), np.array(completion), [RESULT])
    assert a is not None and b is not None and a.token_ids == b.token_ids
    assert all(type(t) is int for t in b.token_ids)


def test_long_history_bridge_is_cheap(k26: Any) -> None:
    """O(new tokens): a 50-turn prefix costs about what a 1-turn prefix does (loose bound, no flakes).

    Bridged from the rendered objects, whose prefix the renderer already checked for stray
    placeholder ids; bare ids are rescanned (one C-level count over the history), see wire.md.
    """
    import time

    turns = []
    for k in range(50):
        turns += [{"role": "user", "content": f"Q{k} " * 40}, {"role": "assistant", "content": f"A{k} " * 40}]
    long_prompt = k26.render([*turns, USER], add_generation_prompt=True)
    short_prompt = k26.render([USER], add_generation_prompt=True)
    _, completion = sample(k26, [USER], PLAIN_ANSWER)

    def best(prompt: Any) -> float:
        times = []
        for _ in range(30):
            t = time.perf_counter()
            assert k26.bridge_to_next_turn(prompt, completion, [NEXT_USER]) is not None
            times.append(time.perf_counter() - t)
        return min(times)

    assert len(long_prompt.token_ids) > 20 * len(short_prompt.token_ids)
    assert best(long_prompt) < 3 * best(short_prompt) + 2e-4


def test_previous_sidecar_beyond_prompt_is_an_error(k26: Any, images: dict[str, str]) -> None:
    from mmrender import ConversationError, PlaceholderRange

    prompt, completion = sample(k26, [USER], TOOL_CALL)
    bad = MultiModalData(
        mm_hashes={"image": ("0" * 32,)},
        mm_placeholders={"image": (PlaceholderRange(len(prompt) + 5, 1),)},
        mm_items={"image": (None,)},
    )
    with pytest.raises(ConversationError):
        k26.bridge_to_next_turn(prompt, completion, [RESULT], previous_multi_modal_data=bad)
