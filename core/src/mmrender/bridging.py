"""Pieces every family's multi-turn bridge needs: id tuples, the previous sidecar, and the O(new) join.

A bridge extends ``previous_prompt_ids + previous_completion_ids`` byte for byte; these helpers
keep the history out of Python loops (tuples are joined at C level, never iterated).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ConversationError
from .merge import as_multi_modal_data, merge_multi_modal_data
from .renderer import TokenBuffer
from .turns import id_tuple
from .types import MultiModalData, RenderedTokens

__all__ = ["id_tuple", "join_turn", "previous_sidecar"]


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
