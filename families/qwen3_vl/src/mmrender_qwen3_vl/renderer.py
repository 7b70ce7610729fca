"""The Qwen3-VL renderer: its pieces (vocabulary, walker, layout, parser, bridge rules) for core's render pipeline."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmrender import Conversation, ImageLayout, ParsedResponse, ProcessedMMItem, Renderer, TokenBuffer
from mmrender.encoders import HFEncoder
from mmrender.images import ImageBytes
from mmrender.plan import EmitFacts, Plan
from mmrender.template_settings import TemplateSpec
from mmrender.training import TrainingSpec

from . import bridge, parser
from .layout import DEFAULT_PREPROCESSOR, qwen_layout
from .template import Specials, TemplateWalker
from .training import qwen_training_spec
from .video_layout import DEFAULT_VIDEO_PREPROCESSOR, load_video_params
from .video_render import QwenVideoRendering
from .vision import process_qwen_image
from .vocab import FAMILY_NAME, drop_unclean, lookup_vocab
from .walker import walk as walk_turns

#: Template text that is rendered often enough to be tokenized once (none spells a special token).
_CONSTANTS = ("\n", "user", "assistant\n", "user\n", "system\n", "\n\n")


class Qwen3VLRenderer(QwenVideoRendering, Renderer):
    """Token-exact Qwen3-VL rendering, tested against the official Instruct and Thinking templates.

    ``thinking`` selects the Thinking template's rules: the chat template is what differs between the
    two checkpoints (their published ``tokenizer.json`` hashes are equal; see ``assets/PROVENANCE.md``).

    Extra constructor arguments: ``layout_params`` (the five layout settings, from the checkpoint's
    ``preprocessor_config.json`` with the options' pixel overrides), ``preprocessor_config`` (the
    file processed mode builds transformers' image processor from) and ``thinking``.
    """

    template_spec = TemplateSpec(
        names=("add_vision_id",),
        family=FAMILY_NAME,
        hint=" (Thinking and Instruct are separate checkpoints: there is no enable_thinking switch)",
    )

    def __init__(
        self,
        *,
        layout_params: Mapping[str, int],
        preprocessor_config: Path = DEFAULT_PREPROCESSOR,
        video_preprocessor_config: Path = DEFAULT_VIDEO_PREPROCESSOR,
        thinking: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        #: The checkpoint's video layout parameters with the ``video_*`` options applied.
        self.video_params = self.options.layout_params(load_video_params(video_preprocessor_config))
        self.video_preprocessor_config = Path(video_preprocessor_config)
        self.layout_params = dict(layout_params)
        self.preprocessor_config = Path(preprocessor_config)
        self.thinking = thinking
        ids = lookup_vocab(self.text_tokenizer)
        self.encoder = HFEncoder(self.text_tokenizer, plain=self.options.special_tokens_in_text == "plain")
        ids = drop_unclean(ids, self.encoder)
        self.specials = Specials(
            im_start=ids["<|im_start|>"],
            im_end=ids["<|im_end|>"],
            vision_start=ids["<|vision_start|>"],
            vision_end=ids["<|vision_end|>"],
            image_pad=ids["<|image_pad|>"],
            tool_response=ids["<tool_response>"],
            tool_response_end=ids["</tool_response>"],
            think=ids["<think>"],
            think_end=ids["</think>"],
            tool_call=ids["<tool_call>"],
            tool_call_end=ids["</tool_call>"],
        )
        self.video_pad = ids["<|video_pad|>"]
        forbidden = {self.specials.image_pad: "<|image_pad|>"}
        if self.video_pad is not None:
            forbidden[self.video_pad] = "<|video_pad|>"
        self.video_ids = (self.specials.vision_start, self.video_pad, self.specials.vision_end)
        self.endoftext = ids["<|endoftext|>"]
        self.think_ids = (self.specials.think, self.specials.think_end)
        self.tool_call_ids = (self.specials.tool_call, self.specials.tool_call_end)
        self._const = {text: self.encoder.encode(text) for text in _CONSTANTS}
        self.emit_facts = EmitFacts(
            encoder=self.encoder, placeholder_id=self.specials.image_pad, cached=self._const, forbidden=forbidden
        )
        self.generation_prompt_ids = self._generation_prompt_ids()

    def _generation_prompt_ids(self) -> tuple[int, ...]:
        walker = TemplateWalker(self.specials, add_vision_id=False, thinking=self.thinking)
        walker.generation_prompt()
        buf = TokenBuffer()
        self.emit(walker.plan, buf)
        return tuple(buf.ids)

    # -- rendering ----------------------------------------------------------------------------
    def walk(self, conversation: Conversation, settings: Mapping[str, Any]) -> Plan:
        """The Instruct or Thinking template's turns (see ``walker``); core checks ``add_vision_id`` and emits."""
        return walk_turns(
            conversation,
            self.specials,
            add_vision_id=bool(settings["add_vision_id"]),
            thinking=self.thinking,
            video_expansion=self.options.video_expansion,
        )

    # -- layout and processed mode ------------------------------------------------------------
    def compute_layout(self, width: int, height: int) -> ImageLayout:
        return qwen_layout(width, height, self.layout_params)

    def process_image(self, image: ImageBytes) -> ProcessedMMItem:
        return process_qwen_image(image, self.preprocessor_config, self.options.min_pixels, self.options.max_pixels)

    # -- parsing and bridging -----------------------------------------------------------------
    def parse_response(
        self, completion_ids: Sequence[int], *, tools: Sequence[Mapping[str, Any]] | None = None
    ) -> ParsedResponse:
        """Content, reasoning and tool calls; ``tools`` is accepted for a uniform API. Qwen3-VL writes arguments as JSON, so no schema is needed to type them."""
        return parser.parse(self, completion_ids)

    @functools.cached_property
    def training_spec(self) -> TrainingSpec:
        """ChatML assistant turns and M-RoPE with the layout's merge size (see ``training``)."""
        s = self.specials
        return qwen_training_spec(s.im_start, s.im_end, self._const["assistant\n"], self.layout_params["merge_size"])

    def bridge_rules(self, *, add_vision_id: bool | None = None) -> bridge.Qwen3VLBridgeRules:
        """The bridge rules (see ``bridge``); ``add_vision_id`` defaults to the options."""
        flag = self.options.add_vision_id if add_vision_id is None else add_vision_id
        return bridge.Qwen3VLBridgeRules(self, add_vision_id=flag)
