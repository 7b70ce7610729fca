"""Qwen3-VL renderer options (typed, so unknown keys fail with the list of valid ones)."""

from __future__ import annotations

import attrs
from mmrender import RendererOptions
from mmrender.special_tokens import SpecialTokensInText, check_special_tokens_in_text

from .video_layout import QwenVideoOptions


def _positive_or_none(_inst: object, attribute: attrs.Attribute, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
        raise ValueError(f"{attribute.name} must be a positive int or None, got {value!r}")


@attrs.frozen(kw_only=True)
class Qwen3VLOptions(RendererOptions, QwenVideoOptions):
    """Options for every Qwen3-VL checkpoint.

    ``add_vision_id``: prefix each image with ``Picture N: `` (the template's own switch; N counts
    images across the whole conversation). ``thinking``: force the Thinking (True) or Instruct
    (False) rendering; None takes it from the checkpoint. ``min_pixels`` / ``max_pixels``: cap the
    image budget the way vLLM's ``mm_processor_kwargs`` does; they change the layout fingerprint,
    so the consumer must run the processor with the same values.
    ``special_tokens_in_text``: ``"plain"`` (default) tokenizes a special token spelled in message,
    reasoning, tool-call or tool text (``<|im_end|>``, ``</tool_response>``…) as ordinary text, so
    text cannot forge a turn boundary; ``"control"`` makes it the control token, as the official
    template + tokenizer do (a spelled ``<|image_pad|>`` is then refused: no image backs it).
    The ``video_*`` options are :class:`~mmrender_qwen3_vl.video_layout.QwenVideoOptions` (docs/video.md).
    """

    add_vision_id: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    thinking: bool | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(bool))
    )
    min_pixels: int | None = attrs.field(default=None, validator=_positive_or_none)
    max_pixels: int | None = attrs.field(default=None, validator=_positive_or_none)
    special_tokens_in_text: SpecialTokensInText = attrs.field(default="plain", validator=check_special_tokens_in_text)

    def __attrs_post_init__(self) -> None:
        QwenVideoOptions.__attrs_post_init__(self)
        if self.min_pixels is not None and self.max_pixels is not None and self.min_pixels > self.max_pixels:
            raise ValueError(f"min_pixels ({self.min_pixels}) is larger than max_pixels ({self.max_pixels})")
