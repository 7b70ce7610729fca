"""The Qwen3.5 renderer: token-exact with the official chat templates, Qwen3-VL image layout.

The template logic is mirrored in :mod:`.walker` (conversation order, which assistant turns keep
their thinking, the generation prompt, and each kind of message); core checks the template
arguments and emits the walker's plan. Images use the Qwen vision layout shared with Qwen3-VL (the same processor
settings, proven equal in the tests) and, in processed mode, transformers' Qwen image processor.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from mmrender import Conversation, ImageLayout, ParsedResponse, Renderer
from mmrender.encoders import HFEncoder
from mmrender.images import ImageBytes
from mmrender.plan import EmitFacts, Plan
from mmrender.template_settings import TemplateSpec
from mmrender.training import TrainingSpec
from mmrender.types import ProcessedMMItem
from mmrender_qwen3_vl.layout import params_from_preprocessor, qwen_layout
from mmrender_qwen3_vl.video_layout import load_video_params
from mmrender_qwen3_vl.video_render import QwenVideoRendering
from mmrender_qwen3_vl.vision import process_qwen_image

from .bridge import Qwen35BridgeRules
from .options import Qwen35Options
from .parser import parse_completion
from .templates import ASSETS, TemplateVariant
from .training import training_spec
from .vocab import special_token_ids
from .walker import TemplateWalker
from .walker import walk as walk_turns

PREPROCESSOR_CONFIG = ASSETS / "Qwen3.5-0.8B" / "preprocessor_config.json"
VIDEO_PREPROCESSOR_CONFIG = ASSETS / "Qwen3.5-0.8B" / "video_preprocessor_config.json"
_UNSET = object()


@functools.lru_cache(maxsize=1)
def layout_params() -> dict[str, int]:
    """Layout settings from Qwen3.5's own ``preprocessor_config.json`` (equal to Qwen3-VL's)."""
    return params_from_preprocessor(json.loads(PREPROCESSOR_CONFIG.read_text(encoding="utf-8")))


class Qwen35Renderer(QwenVideoRendering, Renderer):
    """Renders Qwen3.5 conversations; ``variant`` is the checkpoint's chat template (small or large)."""

    options_class = Qwen35Options
    options: Qwen35Options
    #: ``render(..., **template_kwargs)`` keys this template reads; they override the options per call.
    template_spec = TemplateSpec(names=("enable_thinking", "add_vision_id"), family="Qwen3.5")

    def __init__(self, *, variant: TemplateVariant, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.variant = variant
        self.ids = special_token_ids(self.text_tokenizer)
        self.encoder = HFEncoder(self.text_tokenizer, plain=self.options.special_tokens_in_text == "plain")
        self.emit_facts = EmitFacts(
            encoder=self.encoder,
            placeholder_id=self.ids["<|image_pad|>"],
            forbidden={self.ids[t]: t for t in ("<|image_pad|>", "<|video_pad|>")},
        )
        #: Qwen3.5's own video preprocessor config with the ``video_*`` options applied.
        self.video_params = self.options.layout_params(load_video_params(VIDEO_PREPROCESSOR_CONFIG))
        self.video_preprocessor_config = VIDEO_PREPROCESSOR_CONFIG
        self.video_ids = (self.ids["<|vision_start|>"], self.ids["<|video_pad|>"], self.ids["<|vision_end|>"])

    # -- template switches ---------------------------------------------------------------------
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

    # -- Renderer API --------------------------------------------------------------------------
    def walk(self, conversation: Conversation, settings: Mapping[str, Any]) -> Plan:
        """The template's turns (see ``walker``); core checks ``enable_thinking``/``add_vision_id`` and emits."""
        return walk_turns(
            conversation,
            self.walker(add_vision_id=bool(settings["add_vision_id"])),
            thinking_open=self.variant.thinking_open(settings["enable_thinking"]),
            keep_all_thinking=self.options.thinking_retention == "all",
        )

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

    def bridge_rules(self) -> Qwen35BridgeRules:
        """The bridge rules (see ``bridge``): Qwen3.5 takes no per-call bridge options."""
        return Qwen35BridgeRules(self)
