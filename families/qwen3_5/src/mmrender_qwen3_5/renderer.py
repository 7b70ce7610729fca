"""The Qwen3.5 renderer: token-exact with the official chat templates, Qwen3-VL image layout.

The template logic is mirrored in :mod:`.walker` (per message) and here (conversation order,
which assistant turns keep their thinking, the generation prompt); :func:`mmrender.plan.emit` turns
the result into ids. Images use the Qwen vision layout shared with Qwen3-VL (the same processor
settings, proven equal in the tests) and, in processed mode, transformers' Qwen image processor.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from mmrender import (
    Conversation,
    ImageLayout,
    ParsedResponse,
    RenderedTokens,
    Renderer,
    TokenBuffer,
)
from mmrender.encoders import HFEncoder
from mmrender.errors import ConversationError
from mmrender.images import ImageBytes
from mmrender.plan import emit
from mmrender.template_settings import template_settings
from mmrender.training import TrainingSpec
from mmrender.types import ProcessedMMItem
from mmrender_qwen3_vl.layout import params_from_preprocessor, qwen_layout
from mmrender_qwen3_vl.video_layout import load_video_params
from mmrender_qwen3_vl.video_render import QwenVideoRendering
from mmrender_qwen3_vl.vision import process_qwen_image

from . import content as C
from .bridge import Qwen35BridgeRules
from .options import Qwen35Options
from .parser import parse_completion
from .templates import ASSETS, TemplateVariant
from .training import training_spec
from .vocab import special_token_ids
from .walker import TemplateWalker

PREPROCESSOR_CONFIG = ASSETS / "Qwen3.5-0.8B" / "preprocessor_config.json"
VIDEO_PREPROCESSOR_CONFIG = ASSETS / "Qwen3.5-0.8B" / "video_preprocessor_config.json"
#: ``render(..., **template_kwargs)`` keys this template reads; they override the options per call.
TEMPLATE_KWARGS = ("enable_thinking", "add_vision_id")
_UNSET = object()


@functools.lru_cache(maxsize=1)
def layout_params() -> dict[str, int]:
    """Layout settings from Qwen3.5's own ``preprocessor_config.json`` (equal to Qwen3-VL's)."""
    return params_from_preprocessor(json.loads(PREPROCESSOR_CONFIG.read_text(encoding="utf-8")))


class Qwen35Renderer(QwenVideoRendering, Renderer):
    """Renders Qwen3.5 conversations; ``variant`` is the checkpoint's chat template (small or large)."""

    options_class = Qwen35Options
    options: Qwen35Options

    def __init__(self, *, variant: TemplateVariant, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.variant = variant
        self.ids = special_token_ids(self.text_tokenizer)
        self._forbidden = {self.ids[t]: t for t in ("<|image_pad|>", "<|video_pad|>")}
        self.encoder = HFEncoder(self.text_tokenizer, plain=self.options.special_tokens_in_text == "plain")
        #: Qwen3.5's own video preprocessor config with the ``video_*`` options applied.
        self.video_params = self.options.layout_params(load_video_params(VIDEO_PREPROCESSOR_CONFIG))
        self.video_preprocessor_config = VIDEO_PREPROCESSOR_CONFIG
        self.video_ids = (self.ids["<|vision_start|>"], self.ids["<|video_pad|>"], self.ids["<|vision_end|>"])

    # -- template switches ---------------------------------------------------------------------
    def _switches(self, template_kwargs: Mapping[str, Any]) -> tuple[Any, bool]:
        settings = template_settings(template_kwargs, self.options, family="Qwen3.5", names=TEMPLATE_KWARGS)
        return settings["enable_thinking"], bool(settings["add_vision_id"])

    def thinking_open(self, enable_thinking: Any = _UNSET) -> bool:
        """Whether the generation prompt leaves ``<think>`` open (options, then the template default)."""
        value = self.options.enable_thinking if enable_thinking is _UNSET else enable_thinking
        return self.variant.thinking_open(value)

    @functools.cached_property
    def generation_prompts(self) -> dict[str, list[int]]:
        """The two generation prompts as ids: ``open`` (``<think>\\n``) and ``closed`` (empty think block)."""
        assistant, one, two = self.encoder.encode_many(["assistant\n", "\n", "\n\n"])
        head = [self.ids["<|im_start|>"], *assistant, self.ids["<think>"]]
        return {"open": head + one, "closed": head + two + [self.ids["</think>"], *two]}

    def walker(self, *, add_vision_id: bool, images_before: int = 0, videos_before: int = 0) -> TemplateWalker:
        return TemplateWalker(
            self.ids,
            add_vision_id=add_vision_id,
            images_before=images_before,
            videos_before=videos_before,
            video_expansion=self.options.video_expansion,
        )

    def emit(self, walker: TemplateWalker, buf: TokenBuffer) -> None:
        """Append the walker's plan as ids to ``buf`` (core's plan emitter: one batch tokenizer call, images in order)."""
        pad = self.ids["<|image_pad|>"]
        emit(self, walker.out.finish(), buf, self.encoder, placeholder_id=pad, forbidden=self._forbidden)

    def finish(self, walker: TemplateWalker, offset: int = 0) -> RenderedTokens:
        buf = TokenBuffer(offset)
        self.emit(walker, buf)
        return buf.result()

    # -- Renderer API --------------------------------------------------------------------------
    def render_conversation(self, conversation: Conversation) -> RenderedTokens:
        messages = conversation.messages
        if not messages:
            raise ConversationError("No messages provided.")
        thinking, add_vision_id = self._switches(conversation.template_kwargs)
        for position, message in enumerate(messages):
            C.check_message(message, position)
        last_query = C.last_query_index(messages)
        keep_all = self.options.thinking_retention == "all"
        em = self.walker(add_vision_id=add_vision_id)
        em.system(messages[0] if messages[0].role == "system" else None, conversation.tools)
        for position, message in enumerate(messages):
            if message.role == "user":
                em.user(message)
            elif message.role == "assistant":
                em.assistant(message, thinking_form=keep_all or position > last_query)
            elif message.role == "tool":
                prev = messages[position - 1].role if position > 0 else None
                nxt = messages[position + 1].role if position + 1 < len(messages) else None
                em.tool(message, opens=prev is not None and prev != "tool", closes=nxt != "tool")
        if conversation.add_generation_prompt:
            em.generation_prompt(thinking_open=self.variant.thinking_open(thinking))
        return self.finish(em)

    def compute_layout(self, width: int, height: int) -> ImageLayout:
        return qwen_layout(width, height, layout_params())

    def process_image(self, image: ImageBytes) -> ProcessedMMItem:
        return process_qwen_image(image, PREPROCESSOR_CONFIG)

    def parse_response(
        self,
        completion_ids: Sequence[int],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        enable_thinking: Any = _UNSET,
    ) -> ParsedResponse:
        """Split a completion into reasoning, content and typed XML tool calls.

        ``tools`` (the schema the prompt was rendered with) types parameter values;
        ``enable_thinking`` says which generation prompt the completion followed (default: the
        one this renderer renders), so an unterminated reply after an open ``<think>`` is reasoning.
        """
        return parse_completion(
            self.text_tokenizer,
            self.ids,
            completion_ids,
            tools=tools,
            thinking_open=self.thinking_open(enable_thinking),
        )

    @functools.cached_property
    def training_spec(self) -> TrainingSpec:
        """ChatML assistant turns and M-RoPE with the layout's merge size (see ``training``)."""
        return training_spec(self, layout_params()["merge_size"])

    @property
    def placeholder_token_ids(self) -> frozenset[int]:
        """The ids only images (and videos) are written with; core refuses them outside a sidecar range."""
        return frozenset(self._forbidden)

    def bridge_rules(self) -> Qwen35BridgeRules:
        """The bridge rules (see ``bridge``): Qwen3.5 takes no per-call bridge options."""
        return Qwen35BridgeRules(self)
