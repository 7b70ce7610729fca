"""The Kimi K2.5 / K2.6 chat template, re-expressed as plan building (one method per template branch).

Oracle: the official Kimi-K2.6 ``chat_template.jinja`` (bundled, sha256-pinned), rendered the way
Moonshot's ``tokenization_kimi.py`` calls it through transformers (tools deep-sorted and turned
into ``tools_ts_str``; ``thinking`` / ``preserve_thinking`` passed; None-valued message keys
dropped and reasoning fields aliased by transformers). K2.5 differs only where
:class:`TemplateRules` says (see docs/families/kimi_k25.md for which source established what).

Ownership (``message_indices``): a message owns every id from its role tag through its
``<|im_end|>``; the tools block and the generation prompt are scaffold (-1), as in the
renderers project's goldens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from mmrender import Conversation, ConversationError, ImagePart, Message
from mmrender.conversation import ABSENT, ToolCallInput, arguments_json, refuse_bare_text_parts
from mmrender.plan import Plan

from .tools_ts import deep_sort, encode_tools_to_typescript

logger = logging.getLogger(__name__)

#: Field name -> token text; every id is looked up from the tokenizer.
TOKENS = {
    "im_user": "<|im_user|>",
    "im_assistant": "<|im_assistant|>",
    "im_system": "<|im_system|>",
    "im_middle": "<|im_middle|>",
    "im_end": "<|im_end|>",
    "media_begin": "<|media_begin|>",
    "media_content": "<|media_content|>",
    "media_pad": "<|media_pad|>",
    "media_end": "<|media_end|>",
    "think": "<think>",
    "think_end": "</think>",
    "section_begin": "<|tool_calls_section_begin|>",
    "section_end": "<|tool_calls_section_end|>",
    "call_begin": "<|tool_call_begin|>",
    "call_arg": "<|tool_call_argument_begin|>",
    "call_end": "<|tool_call_end|>",
}
_IMAGE_TYPES = ("image", "image_url")


@attrs.frozen
class Specials:
    """Structural token ids (each a single id in the Kimi vocabulary)."""

    im_user: int
    im_assistant: int
    im_system: int
    im_middle: int
    im_end: int
    media_begin: int
    media_content: int
    media_pad: int
    media_end: int
    think: int
    think_end: int
    section_begin: int
    section_end: int
    call_begin: int
    call_arg: int
    call_end: int


@attrs.frozen
class TemplateRules:
    """Where the K2.5 and K2.6 templates differ.

    ``reads_reasoning_key``: K2.6 prints ``message.reasoning`` in preference to
    ``reasoning_content``; K2.5 reads ``reasoning_content`` only.
    ``thinking_off_needs_no_preserve``: K2.6 empties suffix reasoning when ``thinking`` is false
    *and* ``preserve_thinking`` is false; K2.5 when ``thinking`` is false alone.
    """

    name: str
    reads_reasoning_key: bool
    thinking_off_needs_no_preserve: bool


K26 = TemplateRules("k2.6", reads_reasoning_key=True, thinking_off_needs_no_preserve=True)
K25 = TemplateRules("k2.5", reads_reasoning_key=False, thinking_off_needs_no_preserve=False)
RULES = {"k2.6": K26, "k2.5": K25}


def tool_declaration(tools: Sequence[Any]) -> str:
    """Body of the ``tool_declare`` block: Moonshot's TypeScript text, else ``tools|tojson``.

    Moonshot's ``apply_chat_template`` deep-sorts the tools, catches *any* encoder exception
    (printing it) and then leaves ``tools_ts_str`` unset; an empty string is falsy too. Either
    way the template prints the deep-sorted tools as compact JSON (``ensure_ascii=False``).
    """
    plain = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, Mapping):
            raise ConversationError(f"tools[{i}] must be an object (a JSON schema), got {type(tool).__name__}")
        plain.append(dict(tool))
    ordered = deep_sort(plain)
    try:
        text = encode_tools_to_typescript(ordered)
    except Exception as exc:  # upstream catches every exception here
        logger.warning("Failed to convert tools to TypeScript style: %s", exc)
        text = ""
    if text:
        return text
    try:
        return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ConversationError(f"tool definitions are not JSON-serialisable: {exc}") from exc


def reasoning_of(message: Message, rules: TemplateRules) -> str:
    """The reasoning text the template prints for a suffix assistant message.

    transformers (5.x) fills ``reasoning_content`` from the first non-None of
    ``reasoning_content``, ``thinking``, ``reasoning`` before rendering (core's
    ``Message.reasoning_content`` is that value); K2.6 then prefers ``reasoning`` itself.
    """
    if rules.reads_reasoning_key and message.reasoning_keys.get("reasoning") is not None:
        value = message.reasoning_keys["reasoning"]
        if not isinstance(value, str):
            raise ConversationError("reasoning must be a string", message_index=message.index)
        return value
    return message.reasoning_content or ""


def _jinja_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _check_raw_parts(message: Message) -> None:
    """Reject parts the template reads differently from mmrender's normalisation."""
    if not isinstance(message.content, tuple):
        return
    refuse_bare_text_parts(message, "the Kimi template prints it as nothing")
    for pi, part in enumerate(message.content):
        if isinstance(part, ImagePart) and part.declared_type not in _IMAGE_TYPES:
            raise ConversationError(
                f"image part of type {part.declared_type!r}: the Kimi template only renders types 'image' and "
                "'image_url' as images (it would print this part as empty text)",
                message_index=message.index,
                part_index=pi,
            )


class TemplateWalker:
    """Writes one render into a :class:`Plan`, branch by branch as the template does."""

    def __init__(self, specials: Specials, rules: TemplateRules, *, thinking: bool, preserve_thinking: bool) -> None:
        self.s = specials
        self.rules = rules
        self.thinking = thinking
        self.preserve_thinking = preserve_thinking
        self.plan = Plan()
        # `thinking is false [and preserve_thinking is false]`: suffix reasoning is printed empty
        self.suffix_closed = not thinking and not (rules.thinking_off_needs_no_preserve and preserve_thinking)

    def tools_block(self, body: str) -> None:
        s, plan = self.s, self.plan
        plan.special(s.im_system, -1)
        plan.text("tool_declare", -1)
        plan.special(s.im_middle, -1)
        plan.text(body, -1)
        plan.special(s.im_end, -1)

    def history_end(self, messages: Sequence[Message]) -> int:
        """Index of the last assistant message without tool calls (-1 with preserve_thinking)."""
        if self.preserve_thinking:
            return -1
        for k in range(len(messages) - 1, -1, -1):
            if messages[k].role == "assistant" and not messages[k].tool_calls:
                return k
        return -1

    def message(self, m: Message, in_suffix: bool) -> None:
        s, plan, i = self.s, self.plan, m.index
        _check_raw_parts(m)
        tag = {"user": s.im_user, "assistant": s.im_assistant}.get(m.role, s.im_system)
        plan.special(tag, i)
        plan.text(_jinja_str(m.name) if m.name else m.role, i)
        plan.special(s.im_middle, i)
        if m.role == "assistant":
            plan.special(s.think, i)
            if in_suffix and not self.suffix_closed:
                plan.text(reasoning_of(m, self.rules), i)
            plan.special(s.think_end, i)
            self.content(m)
            if m.tool_calls:
                self.tool_calls(m)
        elif m.role == "tool":
            call_id = "" if m.tool_call_id is None else _jinja_str(m.tool_call_id)
            plan.text(f"## Return of {call_id}\n", i)
            self.content(m)
        else:
            self.content(m)
        plan.special(s.im_end, i)

    def content(self, m: Message) -> None:
        s, plan, i = self.s, self.plan, m.index
        if m.content is None:
            return
        if isinstance(m.content, str):
            plan.text(m.content, i)
            return
        for part in m.content:
            if isinstance(part, ImagePart):
                plan.special(s.media_begin, i)
                plan.text("image", i)
                plan.special(s.media_content, i)
                plan.image(part, i)
                plan.special(s.media_end, i)
                plan.text("\n", i)
            else:
                plan.text(part.text, i)

    def tool_calls(self, m: Message) -> None:
        s, plan, i = self.s, self.plan, m.index
        given = m.tool_call_inputs
        plan.special(s.section_begin, i)
        for ci, call in enumerate(m.tool_calls):
            raw = given[ci] if ci < len(given) else None
            plan.special(s.call_begin, i)
            if raw is not None:  # the template prints tool_call['id']: missing -> '', None -> 'None'
                plan.text("" if raw.id is ABSENT else _jinja_str(raw.id), i)
            else:
                plan.text(call.id or "", i)
            plan.special(s.call_arg, i)
            plan.text(self._arguments(call.arguments, raw, m.index), i)
            plan.special(s.call_end, i)
        plan.special(s.section_end, i)

    @staticmethod
    def _arguments(arguments: Any, raw: ToolCallInput | None, index: int) -> str:
        if raw is not None and raw.arguments is not ABSENT:
            arguments = raw.arguments  # None prints as `null`, as tojson does
        if isinstance(arguments, str):
            return arguments
        try:
            return arguments_json(arguments)
        except (TypeError, ValueError) as exc:
            raise ConversationError(
                f"tool call arguments are not JSON-serialisable: {exc}", message_index=index
            ) from exc

    def generation_prompt(self) -> None:
        s, plan = self.s, self.plan
        plan.special(s.im_assistant, -1)
        plan.text("assistant", -1)
        plan.special(s.im_middle, -1)
        plan.special(s.think, -1)
        if not self.thinking:
            plan.special(s.think_end, -1)


def walk(conv: Conversation, walker: TemplateWalker, tools_body: str | None) -> Plan:
    """The plan of a whole render (``tools_body`` = :func:`tool_declaration` text, or None); core emits it."""
    if not conv.messages:
        raise ConversationError("cannot render an empty conversation (apply_chat_template refuses it too)")
    if tools_body is not None:
        walker.tools_block(tools_body)
    last = walker.history_end(conv.messages)
    for k, m in enumerate(conv.messages):
        walker.message(m, in_suffix=k > last)
    if conv.add_generation_prompt:
        walker.generation_prompt()
    return walker.plan
