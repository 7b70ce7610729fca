"""Core runs the bridge steps once around a family's ``BridgeRules``; a family that declares no bridge is told what to implement."""

from __future__ import annotations

from typing import Any

import pytest
from mmrender import FamilySpec, ModelRoute, MultiModalData, RenderedTokens, Renderer, RendererOptions, TokenBuffer
from mmrender.bridging import BridgeRules, BridgeTurn

GEN, END = (7, 7), 9


class Rules(BridgeRules):
    """Generation prompt ``7 7``; a turn closes with 9; each new message writes its index + 100, then the prompt."""

    def __init__(self, refuse: bool) -> None:
        self.refuse = refuse
        self.generation_prompts = {"plain": GEN}
        self.turns: list[BridgeTurn] = []

    def closing(self, completion: tuple[int, ...], generation_prompt: str) -> tuple[int, ...] | None:
        if END not in completion:
            return (END,)
        return () if completion[-1] == END else None

    def accepts(self, turn: BridgeTurn) -> bool:
        self.turns.append(turn)
        return not self.refuse

    def write_tail(self, turn: BridgeTurn, previous: MultiModalData, buf: TokenBuffer) -> None:
        for message in turn.messages:
            buf.add([100 + message.index], message.index)
        buf.add(GEN, -1)


class RulesFamily(Renderer):
    def render_conversation(self, conversation: Any) -> RenderedTokens:
        raise NotImplementedError

    def compute_layout(self, width: int, height: int) -> Any:
        raise NotImplementedError

    def parse_response(self, completion_ids: Any, *, tools: Any = None) -> Any:
        raise NotImplementedError

    def bridge_rules(self, *, refuse: bool = False) -> Rules:
        self.rules = Rules(refuse)
        return self.rules


class NoBridge(RulesFamily):
    bridge_rules = Renderer.bridge_rules  # type: ignore[assignment]


def _make(cls: type[Renderer]) -> Any:
    spec = FamilySpec(id="rules", routes=(ModelRoute("rules/1"),), create=cls, options_class=RendererOptions)
    return cls(family=spec, route=spec.routes[0], tokenizer=None, store=None, options=RendererOptions())  # type: ignore[arg-type]


USER = {"role": "user", "content": "x"}


def test_core_closes_the_completion_writes_the_tail_and_numbers_owners() -> None:
    r = _make(RulesFamily)
    out = r.bridge_to_next_turn([1, *GEN], [5, 6], [USER, USER], start_index=4)
    assert out.token_ids == (1, *GEN, 5, 6, END, 104, 105, *GEN)
    assert out.message_indices == (-1, -1, -1, 3, 3, 3, 4, 5, -1, -1)
    (turn,) = r.rules.turns
    assert (turn.generation_prompt, turn.closing, turn.assistant, turn.had_sidecar) == ("plain", (END,), 3, False)
    assert turn.offset == 6


def test_each_refusal_is_none() -> None:
    r = _make(RulesFamily)
    assert r.bridge_to_next_turn([1, 2], [5, END], [USER]) is None  # no generation prompt
    assert r.bridge_to_next_turn([1, *GEN], [END, 5], [USER]) is None  # closing: unsafe
    assert r.bridge_to_next_turn([1, *GEN], [5, END], []) is None  # nothing new
    assert r.bridge_to_next_turn([1, *GEN], [5, END], [{"role": "assistant", "content": "a"}]) is None
    assert r.bridge_to_next_turn([1, *GEN], [5, END], [USER], refuse=True) is None  # family option reaches the rules
    assert r.bridge_to_next_turn([1, *GEN], [5, END], [USER]) is not None


def test_a_family_without_bridge_rules_or_bridge_turn_is_told_what_to_implement() -> None:
    with pytest.raises(NotImplementedError, match=r"implement bridge_rules\(\*\*options\)"):
        _make(NoBridge).bridge_to_next_turn([1, *GEN], [5, END], [USER])
