"""Kimi K2.5 / K2.6 renderer options (typed, so unknown keys fail with the list of valid ones)."""

from __future__ import annotations

from typing import Literal

import attrs
from mmrender import RendererOptions
from mmrender.special_tokens import SpecialTokensInText, check_special_tokens_in_text

_opt_bool = attrs.validators.optional(attrs.validators.instance_of(bool))


@attrs.frozen(kw_only=True)
class KimiK25Options(RendererOptions):
    """Options for every ``kimi_k25`` checkpoint.

    ``thinking``: the template's ``thinking`` kwarg. True (Moonshot's ``apply_chat_template``
    default, and the template's when the kwarg is absent) opens ``<think>`` in the generation
    prompt; False closes it at once (``<think></think>``).
    ``preserve_thinking``: the template's ``preserve_thinking`` kwarg; None means the template
    default (False: reasoning is kept only after the last assistant message without tool calls).
    ``thinking_retention``: the bridge policy, named as in PrimeIntellect-ai/renderers. None = the
    template's own rule (bridge only when the result equals a full re-render); ``"tool_cycle"`` =
    bridge until a new user message arrives; ``"all"`` = always bridge (history keeps reasoning a
    full re-render would drop). Full renders never depend on it.
    Per-call ``render(..., thinking=..., preserve_thinking=...)`` overrides the first two.
    ``special_tokens_in_text``: ``"plain"`` (default) tokenizes a special token spelled in message,
    reasoning, tool-call or tool text (``<|im_end|>``, ``<|tool_call_begin|>``…) as ordinary text,
    so text cannot forge a turn boundary; ``"control"`` makes it the control token, as the official
    template + Moonshot's tokenizer do (``encode`` with ``allowed_special="all"``; a spelled
    ``<|media_pad|>`` is then refused: no image backs it).
    """

    thinking: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    preserve_thinking: bool | None = attrs.field(default=None, validator=_opt_bool)
    thinking_retention: Literal["tool_cycle", "all"] | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.in_(("tool_cycle", "all")))
    )
    special_tokens_in_text: SpecialTokensInText = attrs.field(default="plain", validator=check_special_tokens_in_text)
