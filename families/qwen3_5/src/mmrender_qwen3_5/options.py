"""Qwen3.5 renderer options (what ``get_renderer(..., **options)`` accepts for this family)."""

from __future__ import annotations

from typing import Literal

import attrs
from mmrender import RendererOptions
from mmrender.special_tokens import SpecialTokensInText, check_special_tokens_in_text
from mmrender_qwen3_vl.video_layout import QwenVideoOptions

_OPTIONAL_BOOL = attrs.validators.optional(attrs.validators.instance_of(bool))


@attrs.frozen(kw_only=True)
class Qwen35Options(RendererOptions, QwenVideoOptions):
    """Template switches plus the multi-turn bridge policy.

    * ``add_vision_id`` — prefix every image with ``Picture N: `` (the template's switch).
    * ``enable_thinking`` — ``None`` leaves it undefined, i.e. the checkpoint template's default
      (closed for 0.8B/2B, open for 4B and larger); ``True``/``False`` force it.
    * ``thinking_retention`` — how :meth:`bridge_to_next_turn` treats reasoning of earlier turns.
      ``None`` (default) and ``"tool_cycle"`` follow the template: reasoning is kept only after the
      last real user query, so a bridge that adds a new user query returns None (a re-render
      would drop the previous turn's thinking). ``"all"`` keeps every assistant turn in its
      thinking form in full renders too, so bridges across user queries equal a re-render; that
      deliberately departs from the official template for historical turns.
    * ``special_tokens_in_text`` — ``"plain"`` (default) tokenizes a special token spelled in
      message, reasoning, tool-call or tool text (``<|im_end|>``, ``</tool_response>``…) as
      ordinary text, so text cannot forge a turn boundary; ``"control"`` makes it the control
      token, as the official template + tokenizer do (a spelled ``<|image_pad|>`` is then refused).
    * ``video_*`` — the Qwen video options (:class:`~mmrender_qwen3_vl.video_layout.QwenVideoOptions`,
      docs/video.md), applied to Qwen3.5's own ``video_preprocessor_config.json``.
    """

    add_vision_id: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    enable_thinking: bool | None = attrs.field(default=None, validator=_OPTIONAL_BOOL)
    thinking_retention: Literal["tool_cycle", "all"] | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.in_(("tool_cycle", "all")))
    )
    special_tokens_in_text: SpecialTokensInText = attrs.field(default="plain", validator=check_special_tokens_in_text)
