"""Split a Kimi completion at special-token ids into reasoning, content and tool calls.

Rules (chosen so that re-rendering the parsed message through the template gives the same ids):
- The completion ends at the first ``<|im_end|>`` (or the tokenizer's ``[EOS]``); without one
  it is ``truncated``.
- Reasoning is what precedes ``</think>``, after a leading ``<think>`` if the completion has
  one (a sampler may or may not strip the ``<think>`` the generation prompt opened). No text is
  stripped: the template writes ``<think>{reasoning}</think>{content}`` with nothing in between.
  Empty reasoning is None. Without ``</think>``: if the completion opened ``<think>`` itself, or
  the renderer's ``thinking`` option is on (the prompt opened it), everything before the
  tool-call section is reasoning (the model was still thinking when it stopped); otherwise
  everything is content.
- ``<|tool_calls_section_begin|>`` … ``<|tool_calls_section_end|>`` holds calls
  ``<|tool_call_begin|>ID<|tool_call_argument_begin|>ARGS<|tool_call_end|>``. ``ID`` is kept
  verbatim as the call id (Kimi writes ``functions.NAME:IDX``); the name is ``NAME``.
  ``ARGS`` becomes a dict when it is a JSON object, else stays the string the model wrote.
  A call cut off by truncation (or otherwise malformed) is not returned as a call: its text,
  markers included, is appended to ``content`` so nothing is lost (a section with no complete
  call stays in ``content`` whole). Reasoning is split off first,
  so a section drafted inside the reasoning stays reasoning.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mmrender import ParsedResponse, ToolCall
from mmrender.completion import cut_at_stop
from mmrender.completion import index_of as _index

if TYPE_CHECKING:
    from .renderer import KimiK25Renderer


def tool_name(call_id: str) -> str:
    """``functions.get_weather:0`` -> ``get_weather`` (ids without the prefix or index keep what they have)."""
    base = call_id.strip()
    head, sep, idx = base.rpartition(":")
    if sep and idx.isdigit():
        base = head
    return base.split(".", 1)[1] if base.startswith("functions.") else base


def _arguments(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


def _section(renderer: KimiK25Renderer, ids: list[int]) -> tuple[list[ToolCall], str]:
    """Calls inside a tool-call section (``ids`` starts after its begin marker) and leftover text."""
    s, decode = renderer.specials, renderer.tokenizer.decode
    calls: list[ToolCall] = []
    leftover: list[str] = []
    k, n = 0, len(ids)
    while k < n:
        tok = ids[k]
        if tok == s.section_end:
            leftover.append(decode(ids[k + 1 :]))
            break
        if tok != s.call_begin:
            j = k
            while j < n and ids[j] not in (s.call_begin, s.section_end):
                j += 1
            text = decode(ids[k:j])
            if text.strip():
                leftover.append(text)
            k = j
            continue
        arg = _index(ids, s.call_arg, k + 1)
        end = _index(ids, s.call_end, arg + 1) if arg >= 0 else -1
        nxt = _index(ids, s.call_begin, k + 1)
        if end < 0 or (0 <= nxt < end) or s.section_end in ids[k + 1 : end]:
            stop = nxt if nxt >= 0 else n
            sec_end = _index(ids, s.section_end, k + 1)
            stop = min(stop, sec_end) if sec_end >= 0 else stop
            leftover.append(decode(ids[k:stop]))
            k = stop
            continue
        call_id = decode(ids[k + 1 : arg])
        calls.append(ToolCall(name=tool_name(call_id), arguments=_arguments(decode(ids[arg + 1 : end])), id=call_id))
        k = end + 1
    return calls, "".join(leftover)


def parse(renderer: KimiK25Renderer, completion_ids: Sequence[int]) -> ParsedResponse:
    """See the module docstring; ``renderer`` supplies the special ids, the decoder and the thinking mode."""
    s, decode = renderer.specials, renderer.tokenizer.decode
    ids, truncated = cut_at_stop(completion_ids, renderer.stop_ids)

    start = 1 if ids and ids[0] == s.think else 0
    close = _index(ids, s.think_end, start)
    reasoning: str | None = None
    if close >= 0:
        reasoning, body = decode(ids[start:close]), ids[close + 1 :]
    elif start or renderer.options.thinking:
        cut = _index(ids, s.section_begin, start)
        cut = cut if cut >= 0 else len(ids)
        reasoning, body = decode(ids[start:cut]), ids[cut:]
    else:
        body = ids

    section = _index(body, s.section_begin)
    calls: list[ToolCall] = []
    if section < 0:
        content = decode(body)
    else:
        calls, leftover = _section(renderer, body[section + 1 :])
        # a section without one complete call stays text, markers included
        content = decode(body[:section]) + leftover if calls else decode(body)
    return ParsedResponse(
        content=content, reasoning_content=reasoning or None, tool_calls=tuple(calls), truncated=truncated
    )
