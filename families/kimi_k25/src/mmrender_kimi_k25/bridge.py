"""Multi-turn bridge: extend ``prompt + completion`` with new non-assistant turns without re-rendering history.

What is appended is exactly what a full render would put after the sampled assistant turn:
``<|im_end|>`` (only when the completion lacks it, i.e. was truncated), the new messages and the
generation prompt. The previous ids are kept as they are, so the trainer sees the sampled tokens.

When a bridge is refused (None), per ``thinking_retention`` (names as in PrimeIntellect-ai/renderers):

- always: no new messages, an assistant among them, a prompt that does not end with a Kimi
  generation prompt (``<think>`` or ``<think></think>``; the bridge continues in the same
  mode), a completion with ``<|im_end|>`` anywhere but at its end or with another stop id, and
  ``tools`` given but not the ones the prompt declares;
- ``"all"``: nothing more; history keeps whatever reasoning it has;
- ``"tool_cycle"``: also when a new message is a user message (a new query re-renders);
- None (the template's rule): whenever a full re-render of the conversation would differ in
  structure. The template prints reasoning only after the last assistant message without tool
  calls (unless ``preserve_thinking``). So a completion *with* tool calls bridges (the split does
  not move); one without them closes the turn and moves every earlier assistant into the
  history, where reasoning is printed empty: that bridges only if no assistant turn, the
  completion included, has reasoning. Also refused: a truncated completion whose re-render
  would add markers (an unclosed ``</think>`` or tool-call section), and think markers in a
  completion sampled with thinking off.

The template rule does not judge BPE: sampled ids that a re-render would tokenize differently
are kept, which is the point of bridging.

Cost is O(new tokens): previous ids are joined with C-level tuple concatenation; the template
rule's reasoning scan jumps between ``<think>`` ids with ``tuple.index``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mmrender import MultiModalData, TokenBuffer
from mmrender.bridging import BridgeRules, BridgeTurn

if TYPE_CHECKING:
    from .renderer import KimiK25Renderer


def _tools_match(renderer: KimiK25Renderer, prompt: tuple[int, ...], tools: Sequence[Mapping[str, Any]]) -> bool:
    s = renderer.specials
    if tools:
        expected = renderer.tools_ids(tools)
        return prompt[: len(expected)] == expected
    head = (s.im_system, *renderer.constant_ids("tool_declare"), s.im_middle)
    return prompt[: len(head)] != head


def _reasoning_free(prompt: tuple[int, ...], think: int, think_end: int, gen_open: bool) -> bool:
    """Every ``<think>`` in the prompt is followed at once by ``</think>`` (the last one may open the completion)."""
    last = len(prompt) - 1 if gen_open else len(prompt)
    k = -1
    while True:
        try:
            k = prompt.index(think, k + 1, last)
        except ValueError:
            return True
        if k + 1 >= len(prompt) or prompt[k + 1] != think_end:
            return False


def _template_allows(
    renderer: KimiK25Renderer, prompt: tuple[int, ...], completion: tuple[int, ...], thinking: bool, preserve: bool
) -> bool:
    s = renderer.specials
    body = completion[:-1] if completion and completion[-1] == s.im_end else completion
    if thinking:
        if s.think_end not in body:
            return False  # still thinking: a re-render would close </think>
    elif s.think in body or s.think_end in body:
        return False
    parsed = renderer.parse_response(body)
    if s.section_begin in body and (not parsed.tool_calls or s.section_end not in body):
        return False  # an unclosed or empty section does not survive parse + re-render
    if preserve or parsed.tool_calls:
        return True
    if parsed.reasoning_content:
        return False  # the closing answer's reasoning would be printed empty
    return _reasoning_free(prompt, s.think, s.think_end, gen_open=thinking)


class KimiBridgeRules(BridgeRules):
    """The rules above for one renderer and one call's thinking options; core runs the bridge steps.

    Generation prompts: ``thinking`` (``<think>`` left open) and ``instant`` (``<think></think>``).
    """

    def __init__(self, renderer: KimiK25Renderer, *, preserve_thinking: bool, retention: str | None) -> None:
        self.renderer = renderer
        self.preserve_thinking = preserve_thinking
        self.retention = retention
        self.generation_prompts = renderer.generation_prompts

    def closing(self, completion: tuple[int, ...], generation_prompt: str) -> tuple[int, ...] | None:
        """``()`` when the completion ends with ``<|im_end|>``, ``(<|im_end|>,)`` when it has none, None when it
        holds another stop id or ``<|im_end|>`` elsewhere."""
        r = self.renderer
        im_end = r.specials.im_end
        if any(completion.count(t) for t in r.stop_ids if t != im_end):
            return None
        ends = completion.count(im_end)
        if ends > 1 or (ends == 1 and completion[-1] != im_end):
            return None
        return () if ends == 1 else (im_end,)

    def accepts(self, turn: BridgeTurn) -> bool:
        r = self.renderer
        if self.retention == "tool_cycle" and any(m.role == "user" for m in turn.messages):
            return False
        if turn.tools is not None and not _tools_match(r, turn.prompt, turn.tools):
            return False
        thinking = turn.generation_prompt == "thinking"
        return self.retention is not None or _template_allows(
            r, turn.prompt, turn.completion, thinking, self.preserve_thinking
        )

    def write_tail(self, turn: BridgeTurn, previous: MultiModalData, buf: TokenBuffer) -> None:
        walker = self.renderer.walker(turn.generation_prompt == "thinking", self.preserve_thinking)
        for m in turn.messages:
            walker.message(m, in_suffix=True)
        walker.generation_prompt()
        self.renderer.emit(walker.plan, buf)
