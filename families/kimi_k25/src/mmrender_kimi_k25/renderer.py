"""The Kimi K2.5 / K2.6 renderer: plan the template's output, encode each text run once, splice images."""

from __future__ import annotations

import functools
import json
from collections import ChainMap, OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from mmrender import (
    ConfigError,
    Conversation,
    ImageLayout,
    ParsedResponse,
    ProcessedMMItem,
    RenderedTokens,
    Renderer,
    TokenBuffer,
)
from mmrender.images import ImageBytes
from mmrender.plan import emit
from mmrender.template_settings import template_settings
from mmrender.training import TrainingSpec

from . import bridge, parser
from .layout import DEFAULT_PARAMS, kimi_image_layout
from .options import KimiK25Options
from .training import kimi_training_spec
from .vocab import checked_vocab
from .walker import K26, TOKENS, Specials, TemplateRules, TemplateWalker, build_plan, tool_declaration

TEMPLATE_KWARGS = ("thinking", "preserve_thinking")
_CONSTANTS = ("user", "assistant", "system", "tool", "image", "\n", "tool_declare")
_TOOLS_CACHE_SIZE = 32


class ControlTextEncoder:
    """Kimi text encoding in which special-token spellings become control tokens (Moonshot's default)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, allow_special=True)

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer.encode_many(texts, allow_special=True)

    def encode_offsets(self, text: str) -> tuple[list[int], list[int]]:
        return self.tokenizer.encode_offsets(text, allow_special=True)


class KimiK25Renderer(Renderer):
    """Token-exact Kimi rendering: K2.6 verified against the official template; K2.5 per its documented rules.

    Extra constructor arguments: ``rules`` (:data:`~.walker.K26` or :data:`~.walker.K25`),
    ``layout_params`` (the four ``media_proc_cfg`` values that decide the layout) and
    ``media_cfg`` (the whole ``media_proc_cfg`` block, for processed mode's normalisation).
    The tokenizer is a :class:`~.tokenizer.KimiTokenizer` (or has its ``encode(text, allow_special=...)``,
    ``encode_many``, ``encode_offsets`` and ``get_added_vocab``); ``special_tokens_in_text`` picks plain
    or control encoding of text.
    """

    options_class = KimiK25Options

    def __init__(
        self,
        *,
        rules: TemplateRules = K26,
        layout_params: Mapping[str, int] = DEFAULT_PARAMS,
        media_cfg: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.rules = rules
        self.layout_params = dict(layout_params)
        self.media_cfg = dict(media_cfg or {})
        ids = checked_vocab(self.tokenizer)
        self.specials = Specials(**{name: ids[token] for name, token in TOKENS.items()})
        control = self.options.special_tokens_in_text == "control"
        self.text_encoder = ControlTextEncoder(self.tokenizer) if control else self.tokenizer
        #: placeholder ids text must never produce (only reachable from text under "control")
        self._forbidden = {self.specials.media_pad: "<|media_pad|>"}
        eos = getattr(self.tokenizer, "eos_token_id", None)
        self.stop_ids = frozenset({self.specials.im_end} | ({eos} if isinstance(eos, int) else set()))
        self._encode = self.text_encoder.encode
        self._const = {text: tuple(self._encode(text)) for text in _CONSTANTS}
        self._tools: OrderedDict[str, str] = OrderedDict()  # tools key -> declaration text
        self._bodies: dict[str, tuple[int, ...]] = {}  # declaration text -> ids
        self._cached = ChainMap(self._const, self._bodies)

    # -- settings -----------------------------------------------------------------------------
    def settings(self, template_kwargs: Mapping[str, Any]) -> tuple[bool, bool]:
        """``(thinking, preserve_thinking)`` for one call: per-call kwargs over the options."""
        settings = template_settings(
            template_kwargs, self.options, family="Kimi K2.5", names=TEMPLATE_KWARGS, none_is_unset=True
        )
        thinking, preserve = settings["thinking"], settings["preserve_thinking"]
        for name, value in (("thinking", thinking), ("preserve_thinking", preserve)):
            if value is not None and not isinstance(value, bool):
                raise ConfigError(f"{name} must be a bool, got {value!r}")
        return bool(thinking), bool(preserve)

    def walker(self, thinking: bool, preserve_thinking: bool) -> TemplateWalker:
        return TemplateWalker(self.specials, self.rules, thinking=thinking, preserve_thinking=preserve_thinking)

    # -- rendering ----------------------------------------------------------------------------
    def render_conversation(self, conversation: Conversation) -> RenderedTokens:
        thinking, preserve = self.settings(conversation.template_kwargs)
        walker = self.walker(thinking, preserve)
        body = self.tools_body(conversation.tools) if conversation.tools else None
        ops = build_plan(conversation, walker, body)
        buf = TokenBuffer()
        self.emit(ops, buf)
        return buf.result()

    def tools_body(self, tools: Sequence[Mapping[str, Any]]) -> str:
        """The ``tool_declare`` text, cached with its ids (tools repeat on every turn)."""
        try:
            key = json.dumps(list(tools), sort_keys=True, ensure_ascii=False, default=repr)
        except (TypeError, ValueError):
            return tool_declaration(tools)
        body = self._tools.get(key)
        if body is None:
            body = tool_declaration(tools)
            self._tools[key] = body
            self._bodies[body] = tuple(self._encode(body))
            while len(self._tools) > _TOOLS_CACHE_SIZE:
                self._bodies.pop(self._tools.popitem(last=False)[1], None)
        else:
            self._tools.move_to_end(key)
        return body

    def tools_ids(self, tools: Sequence[Mapping[str, Any]]) -> tuple[int, ...]:
        """Ids of the whole tools block, as a full render starts with them."""
        s = self.specials
        body = self.tools_body(tools)
        return (s.im_system, *self._const["tool_declare"], s.im_middle, *self._text_ids(body), s.im_end)

    def constant_ids(self, text: str) -> tuple[int, ...]:
        """Ids of one of the template's constant texts (``assistant``, ``tool_declare`` …), encoded once."""
        return self._const[text]

    def _text_ids(self, text: str) -> tuple[int, ...] | list[int]:
        run = self._const.get(text) or self._bodies.get(text)
        return run if run is not None else self._encode(text)

    def emit(self, ops: list[tuple[int, Any, int]], buf: TokenBuffer) -> None:
        """Append the ops' ids to ``buf`` (core's plan emitter; constants and tool bodies come from caches)."""
        pad = self.specials.media_pad
        emit(self, ops, buf, self.text_encoder, placeholder_id=pad, cached=self._cached, forbidden=self._forbidden)

    # -- layout and processed mode ------------------------------------------------------------
    def compute_layout(self, width: int, height: int) -> ImageLayout:
        return kimi_image_layout(width, height, self.layout_params)

    def process_image(self, image: ImageBytes) -> ProcessedMMItem:
        from .vision import process_kimi_image

        return process_kimi_image(image, self.layout_params, self.media_cfg)

    # -- parsing and bridging -----------------------------------------------------------------
    def parse_response(
        self, completion_ids: Sequence[int], *, tools: Sequence[Mapping[str, Any]] | None = None
    ) -> ParsedResponse:
        """Content, reasoning and tool calls; ``tools`` is accepted for a uniform API. Kimi writes arguments as JSON text, so no schema is needed to type them."""
        return parser.parse(self, completion_ids)

    @property
    def training_spec(self) -> TrainingSpec:
        """Kimi assistant turns and 1-D positions (see ``training``)."""
        s = self.specials
        return kimi_training_spec(s.im_assistant, s.im_middle, s.im_end)

    @property
    def placeholder_token_ids(self) -> frozenset[int]:
        """The ids only images (and videos) are written with; core refuses them outside a sidecar range."""
        return frozenset({self.specials.media_pad})

    @functools.cached_property
    def generation_prompts(self) -> dict[str, tuple[int, ...]]:
        """The two generation prompts as ids: ``thinking`` (``<think>`` left open) and ``instant`` (closed)."""
        s = self.specials
        head = (s.im_assistant, *self.constant_ids("assistant"), s.im_middle, s.think)
        return {"thinking": head, "instant": (*head, s.think_end)}

    def bridge_rules(
        self, *, preserve_thinking: bool | None = None, thinking_retention: str | None = None
    ) -> bridge.KimiBridgeRules:
        """The bridge rules (see ``bridge``); ``preserve_thinking`` and ``thinking_retention`` default to the options."""
        preserve = self.options.preserve_thinking if preserve_thinking is None else preserve_thinking
        retention = self.options.thinking_retention if thinking_retention is None else thinking_retention
        if retention not in (None, "tool_cycle", "all"):
            raise ConfigError(f"thinking_retention must be 'tool_cycle', 'all' or None, got {retention!r}")
        return bridge.KimiBridgeRules(self, preserve_thinking=bool(preserve), retention=retention)
