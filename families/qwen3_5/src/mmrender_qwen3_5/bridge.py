"""Extend a finished turn with new user/tool messages without re-rendering history.

The result is ``previous_prompt_ids + previous_completion_ids`` (+ ``<|im_end|>`` when the
completion was cut off) followed by the new messages and a generation prompt, rendered exactly
as a full render would render them in that position. It is None whenever a full re-render of
the same conversation would not start with those previous ids:

* a new real user query under the template's rule (``thinking_retention`` unset or
  ``"tool_cycle"``): the template then renders the previous assistant turn without its
  ``<think>`` block. With ``"all"`` full renders keep every turn's thinking, so the bridge is safe;
* an assistant message among the new ones (its sampled tokens are not ours to re-tokenize);
* a completion that is not one closed assistant turn (extra turns, ``<|endoftext|>``), or that was
  cut off inside ``<think>`` or a tool call (a re-render would close them differently);
* a previous prompt that does not end with this template's generation prompt;
* ``add_vision_id`` with new images but no ``previous_multi_modal_data`` to number them from.

Work is proportional to the new messages and the previous completion, never the history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mmrender import MultiModalData, RenderedTokens, TokenBuffer
from mmrender.bridging import ends_with, id_tuple, join_turn, new_turns, previous_sidecar

from . import content as C

if TYPE_CHECKING:
    from .renderer import Qwen35Renderer


def _prompt_state(renderer: Qwen35Renderer, prompt: tuple[int, ...]) -> str | None:
    for state, tail in renderer.generation_prompts.items():
        if ends_with(prompt, tail):
            return state
    return None


def _closed_completion(renderer: Qwen35Renderer, completion: tuple[int, ...], state: str) -> tuple[int, ...] | None:
    """The completion as one closed assistant turn, or None when that cannot be proven."""
    ids = renderer.ids
    out = completion
    im_end = ids["<|im_end|>"]
    if ids["<|im_start|>"] in out or ids["<|endoftext|>"] in out:
        return None
    ends = out.count(im_end)
    if ends > 1 or (ends == 1 and out[-1] != im_end):
        return None
    if ends == 0:  # cut off (max_tokens): close it only where a re-render would write the same ids
        has_end = ids["</think>"] in out
        if (state == "open" or ids["<think>"] in out) and not has_end:
            return None
        if out.count(ids["<tool_call>"]) != out.count(ids["</tool_call>"]):
            return None
        out += (im_end,)
    return out


def bridge(
    renderer: Qwen35Renderer,
    previous_prompt_ids: Sequence[int],
    previous_completion_ids: Sequence[int],
    new_messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[Mapping[str, Any]] | None,
    previous_multi_modal_data: MultiModalData | Mapping[str, Any] | None,
    start_index: int = 0,
) -> RenderedTokens | None:
    """See the module docstring; new messages are numbered from ``start_index``, the sampled
    assistant message (its completion ids and closing newline) is ``start_index - 1``, history -1."""
    if not previous_prompt_ids:
        return None
    messages = new_turns(new_messages, start_index=start_index, tools=tools)
    if messages is None:
        return None
    for message in messages:
        C.check_message(message, position=1)  # a system message here is one the template rejects
    policy = renderer.options.thinking_retention or "tool_cycle"
    if policy == "tool_cycle" and any(C.is_real_query(m) for m in messages):
        return None
    prompt = id_tuple(previous_prompt_ids)
    state = _prompt_state(renderer, prompt)
    if state is None:
        return None
    closed = _closed_completion(renderer, id_tuple(previous_completion_ids), state)
    if closed is None:
        return None
    add_vision_id = renderer.options.add_vision_id
    if add_vision_id and previous_multi_modal_data is None and any(m.images or m.videos for m in messages):
        return None
    before = previous_sidecar(previous_multi_modal_data, len(prompt))
    em = renderer.walker(
        add_vision_id=add_vision_id,
        images_before=len(before.mm_hashes.get("image", ())),
        videos_before=len(before.mm_hashes.get("video", ())),
    )
    assistant = start_index - 1
    em.out.text("\n", assistant)  # the template's newline after the previous turn's <|im_end|>
    for position, message in enumerate(messages):
        if message.role == "user":
            em.user(message)
        else:
            prev = messages[position - 1].role if position > 0 else "assistant"
            nxt = messages[position + 1].role if position + 1 < len(messages) else None
            em.tool(message, opens=prev != "tool", closes=nxt != "tool")
    em.generation_prompt(thinking_open=renderer.thinking_open())
    buf = TokenBuffer(offset=len(prompt) + len(closed))
    renderer.emit(em, buf)
    return join_turn(prompt, closed, assistant, buf, before)
