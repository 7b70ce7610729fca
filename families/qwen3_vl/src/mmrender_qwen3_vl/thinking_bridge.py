"""When a Thinking conversation can be extended in place: the cases where a full render rewrites history.

The Thinking template decides each assistant turn's think block from the whole conversation, so
appending messages can change turns already rendered. The bridge keeps the previous ids, which is
only right when a full render of the longer conversation starts with them. It does not when:

- a new message is a real user query: every assistant turn since the previous query loses its
  think block (the sampled one included, whose ``<think>\\n`` is in the previous prompt);
- the previous prompt holds no real user query: the template then counts the last message as the
  query, so the sampled turn is written without its think block;
- the completion never closes its reasoning (no ``</think>``, e.g. cut off): a full render adds one;
- the completion's reasoning is empty (or re-opens ``<think>``): a turn that is not the last keeps a
  think block only for non-empty reasoning, and parsing keeps only what follows the last ``<think>``;
- the previous prompt's last turn is an assistant turn with an empty think block: written so because
  it was last, and no longer last.

The previous prompt is read by C-level ``index`` hops over turn starts (until the first real query)
and one reversed copy to find its last turn; the new messages and the reasoning are read in full.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmrender import Message

from .walker import is_tool_wrapper

if TYPE_CHECKING:
    from .renderer import Qwen3VLRenderer

_OPEN, _CLOSE = "\n<tool_response>", "</tool_response>"


def _wrapped(r: Qwen3VLRenderer, turn: tuple[int, ...]) -> bool:
    """The template's string test on a user turn's ids after ``user``: ``\\n`` + content starting with
    ``<tool_response>`` and ending with ``</tool_response>``, whether the tags are control ids or (with
    ``special_tokens_in_text="plain"``) text. A byte-level token holds at least one byte, so decoding as
    many ids as the tags have characters covers them."""
    decode = r.encoder.decode
    return decode(list(turn[: len(_OPEN)])).startswith(_OPEN) and decode(list(turn[-len(_CLOSE) :])).endswith(_CLOSE)


def _has_real_query(prompt: tuple[int, ...], r: Qwen3VLRenderer, user: int) -> bool:
    """A ``user`` turn not made only of ``<tool_response>``…``</tool_response>`` (the template's test)."""
    s = r.specials
    pos = 0
    while True:
        try:
            pos = prompt.index(s.im_start, pos) + 1
        except ValueError:
            return False
        if pos >= len(prompt) or prompt[pos] != user:
            continue
        try:
            end = prompt.index(s.im_end, pos)
        except ValueError:
            return False
        if not _wrapped(r, prompt[pos + 1 : end]):
            return True


def _ends_with_empty_think_turn(
    prompt: tuple[int, ...], r: Qwen3VLRenderer, cut: int, assistant: int, newline: int
) -> bool:
    """The turn before the generation prompt is ``assistant\\n<think>\\n`` + nothing but newlines + ``</think>``."""
    think_open, think_close = r.think_ids
    try:
        start = cut - prompt[cut - 1 :: -1].index(r.specials.im_start)
    except ValueError:
        return False
    turn = prompt[start:cut]
    if turn[:3] != (assistant, newline, think_open) or think_close not in turn:
        return False
    return not r.encoder.decode(list(turn[3 : turn.index(think_close)])).strip("\n")


def keeps_history(
    r: Qwen3VLRenderer, prompt: tuple[int, ...], completion: tuple[int, ...], new: tuple[Message, ...]
) -> bool:
    """False when a full render would not start with ``prompt + completion`` (see the module docstring)."""
    if any(m.role == "user" and not is_tool_wrapper(m) for m in new):
        return False
    think_open, think_close = r.think_ids
    s = r.specials
    if None in (think_open, think_close, s.tool_response, s.tool_response_end):
        return False  # not the Qwen3-VL token table: the checks below cannot be made
    if think_close not in completion:
        return False
    reasoning = completion[: completion.index(think_close)]
    if think_open in reasoning or not r.encoder.decode(list(reasoning)).strip("\n"):
        return False
    user, newline = r.encoder.encode("user\n")
    assistant = r.encoder.encode("assistant")[0]
    if not _has_real_query(prompt, r, user):
        return False
    return not _ends_with_empty_think_turn(prompt, r, len(prompt) - len(r.generation_prompt_ids), assistant, newline)
