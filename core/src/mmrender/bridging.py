"""Pieces every family's multi-turn bridge needs: the new turns, id tuples, the previous sidecar, the O(new) join.

A bridge has the same steps in every family: refuse what is never bridged (no new messages, an
assistant among them), check the previous prompt ends with a generation prompt, close the
completion, decide whether history may be kept, write the new turns and join. The family-free
steps are here; the family decides the rest (its generation-prompt tails, how a completion closes,
when history is safe).

A bridge extends ``previous_prompt_ids + previous_completion_ids`` byte for byte; these helpers
keep the history out of Python loops (tuples are joined at C level, never iterated).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .conversation import Message, normalize_conversation
from .errors import ConversationError
from .merge import as_multi_modal_data, merge_multi_modal_data
from .renderer import TokenBuffer
from .turns import id_tuple
from .types import MultiModalData, RenderedTokens

__all__ = ["ends_with", "id_tuple", "join_turn", "new_turns", "previous_sidecar"]


def new_turns(
    new_messages: Sequence[Any], *, start_index: int, tools: Sequence[Mapping[str, Any]] | None = None
) -> tuple[Message, ...] | None:
    """The new messages normalised (numbered from ``start_index``), or None when no bridge applies:
    none are given, or one is an assistant message (its sampled ids are not the bridge's to re-tokenize).

    The role is read before normalising, so an assistant message refuses the bridge even beside a
    message that would not normalise.
    """
    if not new_messages or any(isinstance(m, Mapping) and m.get("role") == "assistant" for m in new_messages):
        return None
    messages = normalize_conversation(new_messages, tools=tools, start_index=start_index).messages
    if any(m.role == "assistant" for m in messages):
        return None
    return messages


def ends_with(ids: tuple[int, ...], tail: Sequence[int]) -> bool:
    """``ids`` ends with ``tail`` (a generation prompt), compared at C level."""
    return len(ids) >= len(tail) and ids[len(ids) - len(tail) :] == tuple(tail)


def previous_sidecar(
    previous_multi_modal_data: MultiModalData | Mapping[str, Any] | None, prompt_length: int
) -> MultiModalData:
    """The caller's sidecar (object or JSON form), checked to lie inside the previous prompt."""
    previous = as_multi_modal_data(previous_multi_modal_data)
    for ranges in previous.mm_placeholders.values():
        if ranges and ranges[-1].end > prompt_length:
            raise ConversationError(
                f"previous_multi_modal_data has a placeholder ending at {ranges[-1].end}, "
                f"beyond the {prompt_length} previous prompt ids"
            )
    return previous


def join_turn(
    prompt: tuple[int, ...],
    completion: tuple[int, ...],
    completion_owner: int,
    new: TokenBuffer,
    previous: MultiModalData,
) -> RenderedTokens:
    """``prompt + completion + new`` with owners (-1 for the prompt) and the merged (copied) sidecar."""
    token_ids = prompt + (completion + tuple(new.ids))
    owners = (-1,) * len(prompt) + ((completion_owner,) * len(completion) + tuple(new.owners))
    mm = merge_multi_modal_data(previous, new.multi_modal_data() if new.images else None)
    return RenderedTokens.trusted(token_ids, owners, mm)
