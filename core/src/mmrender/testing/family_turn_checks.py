"""Family checks across turns: a sampled assistant turn parses back, and a bridge equals the full render.

The kit cannot tokenize for a family, so it takes what a model would have sampled from the family
itself: the ids a full render puts after the generation prompt, up to the shortest prefix that
``parse_response`` no longer calls truncated (a model stops at its first stop token).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ConversationError
from ..types import RenderedTokens
from .family_checks import assert_same_render
from .family_context import ANSWER, TOOL_CALL, WEATHER_TOOL, FamilyContext
from .registry import family_check

QUESTION = {"role": "user", "content": "What is the weather in Paris?"}


def sampled_completion(
    ctx: FamilyContext, head: Sequence[Mapping[str, Any]], assistant: Mapping[str, Any], tools: Any
) -> tuple[RenderedTokens, tuple[int, ...]]:
    """The prompt for ``head`` and the ids a model would sample for ``assistant`` after it."""
    renderer = ctx.renderer
    prompt = renderer.render(list(head), tools=tools, add_generation_prompt=True)
    full = renderer.render([*head, assistant], tools=tools).token_ids
    n = len(prompt.token_ids)
    common = next(
        (i for i, (a, b) in enumerate(zip(prompt.token_ids, full, strict=False)) if a != b), min(n, len(full))
    )
    tail = full[common:]
    for k in range(1, len(tail) + 1):
        if not renderer.parse_response(tail[:k], tools=tools).truncated:
            return prompt, tail[:k]
    raise AssertionError(
        f"parse_response calls every prefix of the rendered assistant turn truncated ({len(tail)} ids after the "
        "generation prompt): it does not recognise the stop token the family renders"
    )


def _calls(message: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [(c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls") or ()]


def _assert_parsed(parsed: Any, assistant: Mapping[str, Any], what: str) -> None:
    assert parsed.content == assistant["content"], f"{what}: content {parsed.content!r} != {assistant['content']!r}"
    assert parsed.reasoning_content in (None, ""), f"{what}: reasoning {parsed.reasoning_content!r} from nowhere"
    got = [(c.name, c.arguments) for c in parsed.tool_calls]
    assert got == _calls(assistant), f"{what}: tool calls {got} != {_calls(assistant)}"
    for call, sent in zip(parsed.tool_calls, assistant.get("tool_calls") or (), strict=True):
        assert call.id in (None, sent.get("id")), f"{what}: tool call id {call.id!r} != {sent.get('id')!r}"


@family_check
def check_parse_round_trip(ctx: FamilyContext) -> str | None:
    """``parse_response`` of a rendered assistant turn gives back its content and tool calls (or tools raise typed)."""
    _, completion = sampled_completion(ctx, [QUESTION], ANSWER, None)
    _assert_parsed(ctx.renderer.parse_response(completion), ANSWER, "plain answer")
    try:
        _, completion = sampled_completion(ctx, [QUESTION], TOOL_CALL, [WEATHER_TOOL])
    except ConversationError as exc:
        return f"tool calls refused with ConversationError: {exc}"
    _assert_parsed(ctx.renderer.parse_response(completion, tools=[WEATHER_TOOL]), TOOL_CALL, "tool call")
    return None


def _as_message(parsed: Any) -> dict[str, Any]:
    """The assistant message a parsed (possibly truncated) completion stands for."""
    message: dict[str, Any] = {"role": "assistant", "content": parsed.content}
    if parsed.reasoning_content:
        message["reasoning_content"] = parsed.reasoning_content
    if parsed.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in parsed.tool_calls
        ]
    return message


def _scenarios(ctx: FamilyContext) -> list[tuple[str, list[dict[str, Any]], dict[str, Any], list[Any], Any]]:
    """(name, head, assistant, new messages, tools): a user turn with images, and a tool result."""
    images = ctx.images
    head = [{"role": "user", "content": [images[0].part(), {"type": "text", "text": "What is this?"}]}]
    new = [{"role": "user", "content": [images[-1].part(), {"type": "text", "text": "And this?"}]}]
    tool_result = [{"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "Sunny, 21 C"}]
    return [
        ("images", head, dict(ANSWER), new, None),
        ("tool result", [QUESTION], dict(TOOL_CALL), tool_result, [WEATHER_TOOL]),
    ]


def _check_bridge(ctx: FamilyContext, prompt: RenderedTokens, completion: tuple[int, ...], case: Any) -> bool:
    """Bridge ``prompt + completion`` to the new messages; False when the family declines."""
    name, head, assistant, new, tools = case
    sidecar = prompt.multi_modal_data
    before = copy.deepcopy(sidecar)
    start = len(head) + 1
    bridged = ctx.renderer.bridge_to_next_turn(
        prompt.token_ids, completion, new, tools=tools, previous_multi_modal_data=sidecar, start_index=start
    )
    assert sidecar == before, f"{name}: bridge_to_next_turn changed the caller's previous_multi_modal_data"
    if bridged is None:
        return False
    n = len(prompt.token_ids) + len(completion)
    assert bridged.token_ids[:n] == (*prompt.token_ids, *completion), f"{name}: the bridge changed the previous ids"
    full = ctx.renderer.render([*head, assistant, *new], tools=tools, add_generation_prompt=True)
    p = len(prompt.token_ids)
    expected = RenderedTokens(full.token_ids, (-1,) * p + full.message_indices[p:], full.multi_modal_data)
    got = RenderedTokens(bridged.token_ids, (-1,) * p + bridged.message_indices[p:], bridged.multi_modal_data)
    assert_same_render(got, expected, f"{name}: bridge vs full render (owners compared after the previous prompt)")
    return True


@family_check
def check_bridge_equals_full_render(ctx: FamilyContext) -> str:
    """Where ``bridge_to_next_turn`` accepts (whole or truncated completion), it equals a full render."""
    accepted, tried = [], 0
    for case in _scenarios(ctx):
        name, head, assistant, _, tools = case
        try:
            prompt, completion = sampled_completion(ctx, head, assistant, tools)
        except ConversationError:
            continue  # tool calls the family refuses (parse_round_trip reports it)
        truncated = completion[:-1]
        parsed = ctx.renderer.parse_response(truncated, tools=tools)
        assert parsed.truncated, f"{name}: parse_response of the completion without its stop token is not truncated"
        for label, ids, message in (("", completion, assistant), (" (truncated)", truncated, _as_message(parsed))):
            tried += 1
            if _check_bridge(ctx, prompt, ids, (name + label, head, message, *case[3:])):
                accepted.append(name + label)
    return f"bridge accepted {len(accepted)} of {tried} cases" + (f": {', '.join(accepted)}" if accepted else "")
