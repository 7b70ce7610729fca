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

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .conversation import Message, normalize_conversation
from .errors import ConversationError, PluginError
from .merge import as_multi_modal_data, merge_multi_modal_data
from .turns import id_tuple
from .types import MultiModalData, RenderedTokens

if TYPE_CHECKING:
    from .token_buffer import TokenBuffer

__all__ = [
    "BridgeRules",
    "BridgeTurn",
    "checked_rules",
    "ends_with",
    "generation_prompt_of",
    "id_tuple",
    "join_turn",
    "new_turns",
    "previous_sidecar",
]


@attrs.frozen
class BridgeTurn:
    """One bridge request as core has checked it so far: what a family's rules judge and write from.

    ``prompt``/``completion``: the previous ids as given; ``closing``: the ids the rules' ``closing``
    appends to the completion (core joins them after it, owned by the sampled assistant message);
    ``generation_prompt``: the name of the generation prompt the previous prompt ends with;
    ``had_sidecar``: the caller passed a previous sidecar (or a ``RenderedTokens``).
    """

    prompt: tuple[int, ...]
    completion: tuple[int, ...]
    closing: tuple[int, ...]
    messages: tuple[Message, ...]
    tools: Sequence[Mapping[str, Any]] | None
    start_index: int
    generation_prompt: str
    had_sidecar: bool

    @property
    def assistant(self) -> int:
        """The sampled assistant message's index (it owns the completion and its closing ids)."""
        return self.start_index - 1

    @property
    def offset(self) -> int:
        """Where the new ids start: after the prompt, the completion and its closing ids."""
        return len(self.prompt) + len(self.completion) + len(self.closing)


class BridgeRules(abc.ABC):
    """What a family declares so core can bridge for it (``Renderer.bridge_rules`` returns one per call).

    Core runs the steps once, in order (``Renderer.bridge_turn``): normalise the new messages (None
    for none or an assistant among them), find which of :attr:`generation_prompts` the previous
    prompt ends with (None if none), :meth:`closing` of the completion (None if unsafe),
    :meth:`accepts` (None if a full render would not start with the previous ids), check the
    previous sidecar, :meth:`write_tail` into a buffer, and join.
    """

    #: The generation prompts a bridgeable previous prompt may end with, by a name the other steps receive.
    generation_prompts: Mapping[str, Sequence[int]]

    @abc.abstractmethod
    def closing(self, completion: tuple[int, ...], generation_prompt: str) -> tuple[int, ...] | None:
        """The ids a full render writes after this completion to end the assistant turn (``()`` when the
        completion ends it itself), or None when the completion is not one turn a re-render reproduces."""

    def accepts(self, turn: BridgeTurn) -> bool:
        """Whether a full render of the longer conversation starts with ``prompt + completion + closing``
        (history kept, the new messages allowed here); may raise for messages the template rejects."""
        return True

    @abc.abstractmethod
    def write_tail(self, turn: BridgeTurn, previous: MultiModalData, buf: TokenBuffer) -> None:
        """Write what a full render puts after the closing ids: the new turns (owned by their messages) and
        the generation prompt. ``previous``: the checked previous sidecar (to continue image numbering)."""


#: What core's bridge reads from a rules object (``BridgeRules`` defines ``accepts``; the rest is the family's).
_RULES_MEMBERS = ("generation_prompts", "closing", "accepts", "write_tail")


def checked_rules(rules: BridgeRules) -> BridgeRules:
    """``rules`` when it has every member core's bridge reads; else a ``PluginError`` naming what to implement
    (a subclass that never sets ``generation_prompts`` would otherwise fail with a bare AttributeError)."""
    missing = [name for name in _RULES_MEMBERS if not hasattr(rules, name)]
    if missing:
        raise PluginError(
            f"{type(rules).__qualname__} (the bridge rules) lacks {', '.join(missing)}: a mmrender.bridging.BridgeRules "
            "sets generation_prompts (name -> ids a bridgeable prompt ends with, e.g. in __init__) and implements "
            "closing(completion, generation_prompt) and write_tail(turn, previous, buf)"
        )
    return rules


def generation_prompt_of(prompt: tuple[int, ...], generation_prompts: Mapping[str, Sequence[int]]) -> str | None:
    """The name of the first generation prompt ``prompt`` ends with, or None."""
    for name, tail in generation_prompts.items():
        if ends_with(prompt, tail):
            return name
    return None


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
