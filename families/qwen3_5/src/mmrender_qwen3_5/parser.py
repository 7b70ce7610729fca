"""Parse a Qwen3.5 completion at control-token boundaries: reasoning, content, XML tool calls.

Boundaries are found by id (``</think>``, ``<tool_call>``, ``</tool_call>``, the stop tokens),
never by searching decoded text, so literal tag text inside content cannot split it. Values
of tool-call parameters are typed with the tool schema (see :mod:`.toolcalls`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mmrender import ParsedResponse
from mmrender.completion import cut_at_stop
from mmrender.completion import index_of as _index

from .toolcalls import parse_call, schema_index


def _decode(tokenizer: Any, ids: Sequence[int]) -> str:
    return tokenizer.decode(list(ids), skip_special_tokens=False) if ids else ""


def parse_completion(
    tokenizer: Any,
    special: Mapping[str, int],
    completion_ids: Sequence[int],
    *,
    tools: Sequence[Any] | None,
    thinking_open: bool,
) -> ParsedResponse:
    """See :meth:`Qwen35Renderer.parse_response`.

    A completion without a stop token (``<|im_end|>``/``<|endoftext|>``) is ``truncated``: what
    was produced is still returned, an unclosed ``<think>`` as reasoning and a tool call whose
    ``</tool_call>`` never came only if its ``</function>`` did.
    """
    ids, truncated = cut_at_stop(completion_ids, (special["<|im_end|>"], special["<|endoftext|>"]))
    think, think_end = special["<think>"], special["</think>"]

    reasoning: str | None = None
    end = _index(ids, think_end)
    if end >= 0:
        reasoning = _decode(tokenizer, [t for t in ids[:end] if t != think]).strip()
        rest = ids[end + 1 :]
    elif thinking_open or (ids and ids[0] == think):
        text = _decode(tokenizer, [t for t in ids if t != think]).strip()
        return ParsedResponse(content="", reasoning_content=text, truncated=truncated)
    else:
        rest = ids

    open_id, close_id = special["<tool_call>"], special["</tool_call>"]
    first = _index(rest, open_id)
    content = _decode(tokenizer, rest if first < 0 else rest[:first]).strip()
    schemas = schema_index(tools)
    calls = []
    i = first
    while 0 <= i < len(rest):
        close = _index(rest, close_id, i + 1)
        body = _decode(tokenizer, rest[i + 1 : close if close >= 0 else len(rest)])
        if close >= 0 or "</function>" in body:
            call = parse_call(body, schemas)
            if call is not None:
                calls.append(call)
        if close < 0:
            break
        i = _index(rest, open_id, close + 1)
    return ParsedResponse(content=content, reasoning_content=reasoning, tool_calls=tuple(calls), truncated=truncated)
