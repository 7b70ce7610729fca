"""Split a Qwen3-VL completion at special-token ids into reasoning, content and JSON tool calls.

Rules (each chosen so that re-rendering the parsed message with the template gives the same ids):
- The completion ends at the first ``<|im_end|>`` or ``<|endoftext|>``; without one it is ``truncated``.
- Reasoning is what precedes ``</think>`` (after a leading ``<think>``, if any), stripped of newlines;
  the content after ``</think>`` loses its leading newlines (the Thinking template writes
  ``\\n</think>\\n\\n``). A Thinking checkpoint's prompt already opened ``<think>``, so with no
  ``</think>`` everything up to the first ``<tool_call>`` is reasoning (the model was still
  thinking, or called a tool without closing its thought). An Instruct completion is only split
  when it starts with ``<think>`` itself.
- ``<tool_call>`` … ``</tool_call>`` holding a JSON object with a string ``name`` becomes a
  :class:`ToolCall` (``arguments`` as decoded, a dict when the model wrote an object). The newline
  the template puts before each call is removed from the content. A block that does not parse, or
  a last block cut off by truncation, stays in ``content`` verbatim (tags included), so no text is lost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mmrender import ParsedResponse, ToolCall
from mmrender.completion import cut_at_stop
from mmrender.completion import index_of as _index

if TYPE_CHECKING:
    from .renderer import Qwen3VLRenderer


def _tool_call(text: str) -> ToolCall | None:
    try:
        obj = json.loads(text.strip())
    except (json.JSONDecodeError, ValueError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    return ToolCall(name=obj["name"], arguments=obj.get("arguments", {}))


def parse(renderer: Qwen3VLRenderer, completion_ids: Sequence[int]) -> ParsedResponse:
    """See the module docstring; ``renderer`` supplies the token ids, decoder and checkpoint kind."""
    decode = renderer.encoder.decode
    ids, truncated = cut_at_stop(completion_ids, (renderer.specials.im_end, renderer.endoftext))
    think_open, think_close = renderer.think_ids
    call_open, call_close = renderer.tool_call_ids

    reasoning: str | None = None
    close = _index(ids, think_close)
    if close >= 0:
        head = ids[:close]
        opened = len(head) - 1 - head[::-1].index(think_open) if think_open in head else -1
        reasoning = decode(head[opened + 1 :]).strip("\n")
        body, lstrip = ids[close + 1 :], True
    elif renderer.thinking or (ids and ids[0] == think_open):
        skip = 1 if ids and ids[0] == think_open else 0
        first_call = _index(ids, call_open)
        cut = first_call if first_call >= 0 else len(ids)
        reasoning = decode(ids[skip:cut]).strip("\n")
        body, lstrip = ids[cut:], False
    else:
        body, lstrip = ids, False

    chunks: list[str] = []
    calls: list[ToolCall] = []
    k = 0
    while True:
        j = _index(body, call_open, k)
        if j < 0:
            chunks.append(decode(body[k:]))
            break
        before = decode(body[k:j])
        e = _index(body, call_close, j + 1)
        call = _tool_call(decode(body[j + 1 : e])) if e >= 0 else None
        if call is None:
            stop = e + 1 if e >= 0 else len(body)
            chunks.append(before + decode(body[j:stop]))
            if e < 0:
                break
        else:
            chunks.append(before[:-1] if before.endswith("\n") else before)
            calls.append(call)
        k = e + 1
    content = chunks[0] + "".join(c for c in chunks[1:] if c.strip())
    if lstrip:
        content = content.lstrip("\n")
    return ParsedResponse(content=content, reasoning_content=reasoning, tool_calls=tuple(calls), truncated=truncated)
