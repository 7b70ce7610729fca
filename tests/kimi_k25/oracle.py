"""The reference pipeline: the official K2.6 template run through transformers' chat-template machinery
the way Moonshot's ``tokenization_kimi.py`` calls it, then encoded with the official tokenizer.

Steps, as in ``TikTokenTokenizer.apply_chat_template`` + transformers' ``apply_chat_template``:
tools deep-sorted and turned into ``tools_ts_str`` (omitted when the encoder raises, so the
template falls back to ``tools|tojson``); ``thinking`` and ``preserve_thinking`` passed;
messages normalised by transformers (None-valued keys dropped) and rendered by
``render_jinja_template`` (which aliases reasoning fields). The text contains special tokens,
so it is encoded with ``allow_special=True`` (transformers' added-token split + Moonshot's encode).

K2.5: no official K2.5 template is public. The closest public text, radixark/miles
``kimi_k25_fixed.jinja`` (git blob 0f05753b…, 3963 bytes, per the fixture PROVENANCE.md), differs
from K2.6 in four documented edits; :func:`k25_template` applies them to the official K2.6 bytes
and checks size and git blob id, so the K2.5 oracle is that exact public text.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from mmrender_kimi_k25.tokenizer import ASSETS, default_tokenizer
from mmrender_kimi_k25.tools_ts import deep_sort, encode_tools_to_typescript
from transformers.utils.chat_template_utils import _normalize_chat_messages, render_jinja_template

K26_SHA256 = "8bf859698fd4781c0e1e1c63ce74422aab27e53ccc5f47116317c64cda06132f"
K25_MILES_BLOB = "0f05753b"  # prefix recorded in PROVENANCE.md
K25_MILES_SIZE = 3963
_K25_EDITS = (
    (b"\n  \n{%- for message in hist_msgs", b"\n{%- for message in hist_msgs"),
    (
        b"thinking is defined and thinking is false and preserve_thinking is false",
        b"thinking is defined and thinking is false",
    ),
    (b"message.get('reasoning', message.get('reasoning_content', ''))", b"message.get('reasoning_content', '')"),
)


@functools.cache
def k26_template() -> str:
    data = (ASSETS / "chat_template.K2.6.jinja").read_bytes()
    assert hashlib.sha256(data).hexdigest() == K26_SHA256
    return data.decode("utf-8")


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@functools.cache
def k25_template() -> str:
    data = (ASSETS / "chat_template.K2.6.jinja").read_bytes()
    for old, new in _K25_EDITS:
        assert data.count(old) == 1, old
        data = data.replace(old, new)
    data += b"\n"
    assert len(data) == K25_MILES_SIZE
    assert git_blob_id(data).startswith(K25_MILES_BLOB)
    return data.decode("utf-8")


#: Renderer options of every parity check: the oracle (official template + tokenizer) turns a special
#: token spelled in text into the control token, which is ``special_tokens_in_text="control"``.
PARITY = {"special_tokens_in_text": "control"}
TEMPLATES = {"moonshotai/Kimi-K2.6": k26_template, "moonshotai/Kimi-K2.5": k25_template}


def oracle_text(
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None = None,
    *,
    add_generation_prompt: bool = False,
    thinking: bool = True,
    preserve_thinking: bool = False,
    model: str = "moonshotai/Kimi-K2.6",
) -> str:
    kwargs: dict[str, Any] = {"thinking": thinking, "preserve_thinking": preserve_thinking}
    if tools:
        tools = deep_sort([dict(t) for t in tools])
        with contextlib.suppress(Exception):  # Moonshot prints the error and omits tools_ts_str
            kwargs["tools_ts_str"] = encode_tools_to_typescript(tools)
    rendered, _ = render_jinja_template(
        conversations=[_normalize_chat_messages(list(messages))],
        tools=tools,
        chat_template=TEMPLATES[model](),
        add_generation_prompt=add_generation_prompt,
        **kwargs,
    )
    return rendered[0]


def oracle_ids(messages: Sequence[Mapping[str, Any]], tools: Any = None, **kwargs: Any) -> list[int]:
    return default_tokenizer().encode(oracle_text(messages, tools, **kwargs), allow_special=True)
