"""bridge_to_next_turn: byte-for-byte prefix, equal to a full re-render where the template allows, None where not."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from mmrender import ConversationError, MultiModalData

from .cases import TOOLS, A, S, T, U
from .conftest import completion_of, img, renderer, txt

CALL = A("", reasoning="need data", calls=[("get_weather", {"city": "Paris", "days": 2})])


def _turn(r: Any, prefix: list[dict[str, Any]], answer: dict[str, Any], tools: Any = TOOLS) -> tuple[Any, list[int]]:
    """The prompt for ``prefix`` and the completion the model produced for ``answer`` (canonical tokens)."""
    prompt = r.render(prefix, tools=tools, add_generation_prompt=True)
    full = r.render([*prefix, answer], tools=tools)
    im_end = r.tokenizer.convert_tokens_to_ids("<|im_end|>")
    return prompt, completion_of(full.token_ids, prompt.token_ids, im_end)


def _check_equal_to_full_render(r: Any, prefix: list[Any], answer: Any, new: list[Any], tools: Any = TOOLS) -> Any:
    prompt, completion = _turn(r, prefix, answer, tools)
    prev_mm = prompt.multi_modal_data
    snapshot = copy.deepcopy(prev_mm)
    bridged = r.bridge_to_next_turn(
        prompt.token_ids, completion, new, tools=tools, previous_multi_modal_data=prev_mm, start_index=len(prefix) + 1
    )
    assert bridged is not None
    head = list(prompt.token_ids) + completion
    assert list(bridged.token_ids[: len(head)]) == head
    full = r.render([*prefix, answer, *new], tools=tools, add_generation_prompt=True)
    assert bridged.token_ids == full.token_ids
    assert bridged.multi_modal_data.mm_placeholders == full.multi_modal_data.mm_placeholders
    assert bridged.multi_modal_data.mm_hashes == full.multi_modal_data.mm_hashes
    assert prev_mm == snapshot  # the caller's sidecar is not mutated
    # with start_index, everything after the previous prompt is numbered as the full render numbers it
    assert bridged.message_indices[len(prompt.token_ids) :] == full.message_indices[len(prompt.token_ids) :]
    assert set(bridged.message_indices[: len(prompt.token_ids)]) == {-1}
    return bridged


@pytest.mark.parametrize("variant", ["small", "large"])
def test_tool_response_extends_turn(variant: str) -> None:
    r = renderer(variant, enable_thinking=True)
    _check_equal_to_full_render(r, [S("sys"), U("Weather?")], CALL, [T("sunny")])


@pytest.mark.parametrize("variant", ["small", "large"])
def test_thinking_closed_turn(variant: str) -> None:
    r = renderer(variant, enable_thinking=False)
    answer = A("", calls=[("search", {"query": "q"})])
    _check_equal_to_full_render(r, [U("find q")], answer, [T("r1"), T("r2")])


def test_consecutive_tool_responses_and_wrapper_user() -> None:
    r = renderer("large")
    new = [T("a"), T("b"), U("<tool_response>\nc\n</tool_response>")]
    _check_equal_to_full_render(r, [U("go")], CALL, new)


def test_second_step_of_a_tool_cycle() -> None:
    r = renderer("large")
    prefix = [U("Weather?"), CALL, T("sunny")]
    answer = A("", reasoning="one more", calls=[("search", {"query": "tomorrow"})])
    _check_equal_to_full_render(r, prefix, answer, [T("rain tomorrow")])


def test_images_in_new_tool_message(images: dict[str, str]) -> None:
    r = renderer("large")
    prefix = [U([img(images["vga"]), txt("what?")])]
    bridged = _check_equal_to_full_render(r, prefix, CALL, [T([img(images["odd"]), txt("screenshot")])])
    assert len(bridged.multi_modal_data.mm_hashes["image"]) == 2


def test_add_vision_id_counts_from_previous_images(images: dict[str, str]) -> None:
    r = renderer("large", add_vision_id=True)
    prefix = [U([img(images["vga"]), img(images["tiny"])])]
    _check_equal_to_full_render(r, prefix, CALL, [T([img(images["wide"])])])
    # without the previous sidecar the count is unknown: refuse rather than write "Picture 1" again
    prompt, completion = _turn(r, prefix, CALL)
    assert r.bridge_to_next_turn(prompt.token_ids, completion, [T([img(images["wide"])])]) is None


@pytest.mark.parametrize("retention", [None, "tool_cycle"])
def test_new_user_query_returns_none_under_template_rule(retention: str | None) -> None:
    """The template drops the previous turn's thinking once a new query arrives: not an extension."""
    r = renderer("large", thinking_retention=retention)
    prompt, completion = _turn(r, [U("Weather?")], A("Sunny.", reasoning="looked it up"))
    assert r.bridge_to_next_turn(prompt.token_ids, completion, [U("And tomorrow?")]) is None
    full = r.render([U("Weather?"), A("Sunny.", reasoning="looked it up"), U("And tomorrow?")])
    head = list(prompt.token_ids) + completion
    assert list(full.token_ids[: len(head)]) != head  # proof that a bridge would have been wrong


@pytest.mark.parametrize("variant", ["small", "large"])
@pytest.mark.parametrize("thinking", [True, False])
def test_all_retention_bridges_across_queries(variant: str, thinking: bool) -> None:
    r = renderer(variant, thinking_retention="all", enable_thinking=thinking)
    answer = A("Sunny.", reasoning="looked it up" if thinking else None)
    prefix = [S("s"), U("Weather?"), A("Earlier.", reasoning="old"), U("Now?")]
    _check_equal_to_full_render(r, prefix, answer, [U("And tomorrow?")])


def test_all_retention_render_keeps_historical_thinking(tok: Any) -> None:
    messages = [U("q1"), A("a1", reasoning="r1"), U("q2")]
    kept = renderer("large", thinking_retention="all").render(messages)
    dropped = renderer("large").render(messages)
    assert "r1" in tok.decode(list(kept.token_ids)) and "r1" not in tok.decode(list(dropped.token_ids))


def test_prefix_is_kept_even_when_not_canonical() -> None:
    """Sampled tokens are never re-tokenized: an odd segmentation survives byte for byte."""
    r = renderer("large")
    prompt, completion = _turn(r, [U("Weather?")], CALL)
    odd = []
    for tid in completion:  # split every multi-char text token into single-character tokens
        piece = r.tokenizer.decode([tid])
        split = [r.tokenizer.convert_tokens_to_ids(c) for c in r.tokenizer.convert_ids_to_tokens([tid])[0]]
        odd.extend(split if len(piece) > 1 and piece.isalpha() and None not in split else [tid])
    assert odd != completion
    bridged = r.bridge_to_next_turn(prompt.token_ids, odd, [T("sunny")])
    assert bridged is not None
    assert list(bridged.token_ids[: len(prompt.token_ids) + len(odd)]) == list(prompt.token_ids) + odd


def test_truncated_completion_is_closed() -> None:
    r = renderer("large")
    prompt, completion = _turn(r, [U("Weather?")], A("It is sunny and warm today.", reasoning="r"))
    cut = completion[:-3]  # lost the last words and <|im_end|>
    bridged = r.bridge_to_next_turn(prompt.token_ids, cut, [T("late tool result")])
    assert bridged is not None
    im_end = r.tokenizer.convert_tokens_to_ids("<|im_end|>")
    head = list(prompt.token_ids) + cut + [im_end]
    assert list(bridged.token_ids[: len(head)]) == head


def test_truncated_inside_thinking_or_tool_call_returns_none() -> None:
    r = renderer("large")
    prompt, completion = _turn(r, [U("Weather?")], CALL)
    think_end = r.tokenizer.convert_tokens_to_ids("</think>")
    in_thought = completion[: completion.index(think_end)]
    assert r.bridge_to_next_turn(prompt.token_ids, in_thought, [T("x")]) is None
    tool_call_end = r.tokenizer.convert_tokens_to_ids("</tool_call>")
    in_call = completion[: completion.index(tool_call_end)]
    assert r.bridge_to_next_turn(prompt.token_ids, in_call, [T("x")]) is None


def test_refusals() -> None:
    r = renderer("large")
    prompt, completion = _turn(r, [U("Weather?")], CALL)
    ids = prompt.token_ids
    eot = r.tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert r.bridge_to_next_turn(ids, completion, [A("I add myself")]) is None
    assert r.bridge_to_next_turn(ids, completion, []) is None
    assert r.bridge_to_next_turn([], completion, [T("x")]) is None
    assert r.bridge_to_next_turn(ids, [*completion, eot], [T("x")]) is None
    assert r.bridge_to_next_turn(ids[:-1], completion, [T("x")]) is None  # prompt without generation prompt
    extra_turn = completion + completion
    assert r.bridge_to_next_turn(ids, extra_turn, [T("x")]) is None


def test_system_message_in_extension_is_rejected() -> None:
    r = renderer("large")
    prompt, completion = _turn(r, [U("Weather?")], CALL)
    with pytest.raises(ConversationError, match="System message must be at the beginning") as err:
        r.bridge_to_next_turn(prompt.token_ids, completion, [T("x"), S("late system")])
    assert err.value.message_index == 1


def test_previous_sidecar_as_json_mapping(images: dict[str, str]) -> None:
    from mmrender.types import to_jsonable

    r = renderer("large")
    prompt, completion = _turn(r, [U([img(images["vga"])])], CALL)
    as_json = to_jsonable(prompt.multi_modal_data)
    bridged = r.bridge_to_next_turn(
        prompt.token_ids, completion, [T([img(images["tiny"])])], previous_multi_modal_data=as_json
    )
    assert bridged is not None and isinstance(bridged.multi_modal_data, MultiModalData)
    offsets = [p.offset for p in bridged.multi_modal_data.mm_placeholders["image"]]
    assert offsets == sorted(offsets) and len(offsets) == 2
