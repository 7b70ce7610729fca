"""The Kimi K2.5 / K2.6 renderer: its pieces (vocabulary, walker, layout, parser, bridge rules) for core's pipeline."""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from mmrender import ConfigError, Conversation, ImageLayout, ParsedResponse, ProcessedMMItem, Renderer
from mmrender.images import ImageBytes
from mmrender.plan import EmitFacts, Plan
from mmrender.template_settings import TemplateSpec
from mmrender.training import TrainingSpec

from . import bridge, parser
from .layout import DEFAULT_PARAMS, kimi_image_layout
from .options import KimiK25Options
from .training import kimi_training_spec
from .vocab import checked_vocab
from .walker import K26, TOKENS, Specials, TemplateRules, TemplateWalker, tool_declaration
from .walker import walk as walk_turns

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
    #: The template's switches; None means "not given" to the template, so it falls back to the option.
    template_spec = TemplateSpec(names=("thinking", "preserve_thinking"), family="Kimi K2.5", none_is_unset=True)

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
        eos = getattr(self.tokenizer, "eos_token_id", None)
        self.stop_ids = frozenset({self.specials.im_end} | ({eos} if isinstance(eos, int) else set()))
        self._encode = self.text_encoder.encode
        self._const = {text: tuple(self._encode(text)) for text in _CONSTANTS}
        self._tools: OrderedDict[str, str] = OrderedDict()  # tools key -> declaration text
        #: Ids of the constants and of the cached tool bodies, in one plain dict: emit looks up every text run in it.
        self._cached: dict[str, tuple[int, ...]] = dict(self._const)
        #: placeholder ids text must never produce (only reachable from text under "control")
        forbidden = {self.specials.media_pad: "<|media_pad|>"}
        self.emit_facts = EmitFacts(
            encoder=self.text_encoder, placeholder_id=self.specials.media_pad, cached=self._cached, forbidden=forbidden
        )

    def walker(self, thinking: bool, preserve_thinking: bool) -> TemplateWalker:
        return TemplateWalker(self.specials, self.rules, thinking=thinking, preserve_thinking=preserve_thinking)

    # -- rendering ----------------------------------------------------------------------------
    def walk(self, conversation: Conversation, settings: Mapping[str, Any]) -> Plan:
        """The template's branches (see ``walker``); core checks ``thinking``/``preserve_thinking`` and emits."""
        for name in ("thinking", "preserve_thinking"):
            value = settings[name]
            if value is not None and not isinstance(value, bool):
                raise ConfigError(f"{name} must be a bool, got {value!r}")
        walker = self.walker(bool(settings["thinking"]), bool(settings["preserve_thinking"]))
        body = self.tools_body(conversation.tools) if conversation.tools else None
        return walk_turns(conversation, walker, body)

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
            self._cached[body] = tuple(self._encode(body))
            while len(self._tools) > _TOOLS_CACHE_SIZE:
                evicted = self._tools.popitem(last=False)[1]
                if evicted not in self._const:
                    self._cached.pop(evicted, None)
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
        run = self._cached.get(text)
        return run if run is not None else self._encode(text)

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
