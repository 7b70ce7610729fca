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

from mmrender import MultiModalData, RenderedTokens, merge_multi_modal_data
from mmrender.bridging import id_tuple
from mmrender.conversation import normalize_conversation
from mmrender.merge import as_multi_modal_data

from . import content as C

if TYPE_CHECKING:
    from .renderer import Qwen35Renderer


def _prompt_state(renderer: Qwen35Renderer, prompt: Sequence[int]) -> str | None:
    for state, tail in renderer.generation_prompts.items():
        if len(prompt) >= len(tail) and [int(t) for t in prompt[-len(tail) :]] == tail:
            return state
    return None


def _closed_completion(renderer: Qwen35Renderer, completion: Sequence[int], state: str) -> list[int] | None:
    """The completion as one closed assistant turn, or None when that cannot be proven."""
    ids = renderer.ids
    out = [int(t) for t in completion]
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
        out.append(im_end)
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
    if not previous_prompt_ids or not new_messages:
        return None
    messages = normalize_conversation(new_messages, tools=tools, start_index=start_index).messages
    if any(m.role == "assistant" for m in messages):
        return None
    for message in messages:
        C.check_message(message, position=1)  # a system message here is one the template rejects
    policy = renderer.options.thinking_retention or "tool_cycle"
    if policy == "tool_cycle" and any(C.is_real_query(m) for m in messages):
        return None
    state = _prompt_state(renderer, previous_prompt_ids)
    if state is None:
        return None
    completion = _closed_completion(renderer, previous_completion_ids, state)
    if completion is None:
        return None
    add_vision_id = renderer.options.add_vision_id
    if add_vision_id and previous_multi_modal_data is None and any(m.images for m in messages):
        return None
    before = as_multi_modal_data(previous_multi_modal_data)
    em = renderer.emitter(add_vision_id=add_vision_id, images_before=len(before.mm_hashes.get("image", ())))
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
    prompt, closed = id_tuple(previous_prompt_ids), tuple(completion)
    new = renderer.finish(em, offset=len(prompt) + len(closed))
    # C-level tuple joins: the history is copied once, never iterated in Python
    return RenderedTokens.trusted(
        prompt + (closed + new.token_ids),
        (-1,) * len(prompt) + ((assistant,) * len(closed) + new.message_indices),
        merge_multi_modal_data(before, new.multi_modal_data),
    )
