"""The Qwen3-VL chat templates, re-expressed as plan building (one function per template branch).

Both templates are bundled byte-verified official files and tested token for token against them:
Instruct (``assets/Qwen3-VL-8B-Instruct/chat_template.json``) and Thinking
(``assets/Qwen3-VL-8B-Thinking/chat_template.json``). They share the tools block, the user and
tool turns and the tool-call format; Thinking renders every role's content through one macro
(images in system and assistant messages too), writes system messages after the first in place,
and decides per assistant turn whether its reasoning is kept (see ``reasoning.py``).

Ownership (``message_indices``): every id of a message's turn, from its ``<|im_start|>`` through the
``\\n`` after its ``<|im_end|>``, carries the message's index; grouped tool responses give the shared
``<|im_start|>user`` header to the first tool message and the closing ``<|im_end|>\\n`` to the last.
The tools block of the system turn and the generation prompt are scaffold (-1).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import attrs
from mmrender import Conversation, ConversationError, ImagePart, Message, TextPart, VideoPart
from mmrender.conversation import ABSENT, Part, refuse_bare_text_parts
from mmrender.plan import Plan

TOOLS_HEAD = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
TOOLS_TAIL = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
    "<args-json-object>}\n</tool_call>"
)
_TEMPLATE_IMAGE_KEYS = frozenset({"image", "image_url", "video"})


@attrs.frozen
class Tag:
    """A control token the template writes itself (``<think>``), as opposed to text from a message."""

    spelling: str


THINK, THINK_END = Tag("<think>"), Tag("</think>")
#: What a template's content macro produces: text, an image (its placeholder run) or a template tag.
Piece = str | ImagePart | Tag


@attrs.frozen
class Specials:
    """Structural token ids, looked up from the tokenizer; None = render that marker as text."""

    im_start: int
    im_end: int
    vision_start: int
    vision_end: int
    image_pad: int
    tool_response: int | None = None
    tool_response_end: int | None = None
    think: int | None = None
    think_end: int | None = None
    tool_call: int | None = None
    tool_call_end: int | None = None

    def controls(self) -> dict[str, int | None]:
        """The control tokens the template spells in its own text, by spelling (for ``Plan.markup``)."""
        return {
            "<think>": self.think,
            "</think>": self.think_end,
            "<tool_call>": self.tool_call,
            "</tool_call>": self.tool_call_end,
        }


def tojson(value: Any, message_index: int | None = None) -> str:
    """transformers' chat-template ``tojson``: ``json.dumps(ensure_ascii=False)``, default separators."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        where = "tool definition" if message_index is None else "tool call arguments"
        raise ConversationError(f"{where} not JSON-serialisable: {exc}", message_index=message_index) from exc


def unseen_image(part: Part) -> bool:
    """An image part to mmrender (an ``input_image`` with only ``url``/``path``) that the Qwen
    templates' image test (``type == 'image'`` or an ``image``/``image_url`` key) does not match."""
    if not isinstance(part, ImagePart) or part.declared_type != "input_image":
        return False
    return "image" not in part.keys and "image_url" not in part.keys


def _check_raw_parts(message: Message, *, vision: bool) -> None:
    """Reject parts the template would read differently from mmrender's normalisation.

    ``vision``: the message's role goes through the template's image test (user and tool turns;
    every role under Thinking).
    """
    if not isinstance(message.content, tuple):
        return
    refuse_bare_text_parts(message, "the Qwen3-VL template drops it")
    for pi, part in enumerate(message.content):
        if unseen_image(part):
            raise ConversationError(
                f"image part of type {part.declared_type!r} without an 'image' or 'image_url' key: the Qwen3-VL "
                "template does not see it and drops it; use {'type': 'image', 'image': ...}",
                message_index=message.index,
                part_index=pi,
            )
        is_text = isinstance(part, TextPart) and part.declared_type in ("text", "input_text")
        if vision and is_text and not _TEMPLATE_IMAGE_KEYS.isdisjoint(part.keys):
            raise ConversationError(
                "text part also has an 'image'/'image_url'/'video' key (even null): the Qwen3-VL template "
                "renders it as a vision placeholder; drop the key",
                message_index=message.index,
                part_index=pi,
            )


def text_only(message: Message, role_label: str) -> str:
    """Text of a system/assistant message under Instruct, which silently drops images there, so refuse them."""
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    _check_raw_parts(message, vision=False)
    for part in message.content:
        if isinstance(part, ImagePart | VideoPart):
            raise ConversationError(
                f"images and videos in {role_label} messages are dropped by the Qwen3-VL template; "
                "put them in a user or tool message",
                message_index=part.message_index,
                part_index=part.part_index,
            )
    return "".join(p.text for p in message.content if isinstance(p, TextPart))


class TemplateWalker:
    """Builds the plan for one conversation; ``thinking`` selects the Thinking checkpoints' rules."""

    def __init__(
        self,
        specials: Specials,
        *,
        add_vision_id: bool,
        thinking: bool,
        image_count: int = 0,
        video_expansion: str = "current",
    ) -> None:
        self.video_expansion = video_expansion
        self.s = specials
        self.add_vision_id = add_vision_id
        self.thinking = thinking
        self.image_count = image_count
        self.video_count = 0
        self.plan = Plan()

    @functools.cached_property
    def controls(self) -> dict[str, int | None]:
        """The specials' control tokens by spelling, built when a walk first needs them (tools, tags)."""
        return self.s.controls()

    # -- pieces -------------------------------------------------------------------------------
    def turn_end(self, owner: int) -> None:
        self.plan.special(self.s.im_end, owner)
        self.plan.text("\n", owner)

    def tagged(self, token_id: int | None, literal: str, owner: int) -> None:
        if token_id is None:
            self.plan.text(literal, owner)
        else:
            self.plan.special(token_id, owner)

    def pieces(self, message: Message, *, count: bool) -> list[Piece]:
        """The template's content macro: text parts verbatim, each image as ``Picture N: `` (with
        ``add_vision_id``) plus the image. ``count``: the macro's ``do_vision_count``; without it the
        number printed is the current count, unchanged (the Thinking template's first system message)."""
        content = message.content
        if content is None or isinstance(content, str):
            return [content] if content else []
        _check_raw_parts(message, vision=True)
        out: list[Piece] = []
        for part in content:
            if isinstance(part, TextPart):
                out.append(part.text)
                continue
            if isinstance(part, VideoPart):  # numbered apart from images: ``Video N: ``
                if count:
                    self.video_count += 1
                if self.add_vision_id:
                    out.append(f"Video {self.video_count}: ")
                out.append(part)
                continue
            if count:
                self.image_count += 1
            if self.add_vision_id:
                out.append(f"Picture {self.image_count}: ")
            out.append(part)
        return out

    def write(self, pieces: Sequence[Piece], owner: int) -> None:
        """Text runs as text, tags as their ids, images as ``<|vision_start|>`` + placeholders + ``<|vision_end|>``."""
        for piece in pieces:
            if isinstance(piece, str):
                self.plan.text(piece, owner)
            elif isinstance(piece, Tag):
                self.tagged(self.controls[piece.spelling], piece.spelling, owner)
            elif isinstance(piece, VideoPart):
                self.video(piece, owner)
            else:
                self.plan.special(self.s.vision_start, owner)
                self.plan.image(piece, owner)
                self.plan.special(self.s.vision_end, owner)

    def video(self, part: VideoPart, owner: int) -> None:
        """The template's ``<|vision_start|><|video_pad|><|vision_end|>``, its pad expanded at emit time
        (``current``), or the whole triple replaced by the expansion (``legacy``)."""
        if self.video_expansion == "legacy":
            self.plan.video(part, owner)
            return
        self.plan.special(self.s.vision_start, owner)
        self.plan.video(part, owner)
        self.plan.special(self.s.vision_end, owner)

    # -- turns --------------------------------------------------------------------------------
    def system_block(self, conv: Conversation) -> None:
        """The first turn: the first message when it is a system one, and the tools block.

        Thinking renders that message with images (numbered with the count so far, i.e. ``Picture 0``,
        and not counted: its main loop counts them when it meets the message again); Instruct keeps text only.
        """
        messages = conv.messages
        first = messages[0] if messages and messages[0].role == "system" else None
        owner = first.index if first is not None else -1
        if first is None:
            body: list[Piece] = []
        elif self.thinking:
            body = self.pieces(first, count=False)
        else:
            body = [text_only(first, "system")]
        if conv.tools:
            self.plan.special(self.s.im_start, owner)
            self.plan.text("system\n", owner)
            if first is not None:
                self.write([*body, "\n\n"], owner)
            tools = "".join("\n" + tojson(t) for t in conv.tools)
            self.plan.text(TOOLS_HEAD + tools, -1)
            self.plan.markup(TOOLS_TAIL, -1, self.controls)
            self.turn_end(owner)
        elif first is not None:
            self.plan.special(self.s.im_start, owner)
            self.write(["system\n", *body], owner)
            self.turn_end(owner)

    def user(self, message: Message) -> None:
        i = message.index
        self.plan.special(self.s.im_start, i)
        self.write([message.role + "\n", *self.pieces(message, count=True)], i)
        self.turn_end(i)

    def in_place(self, message: Message) -> None:
        """A system message after the first, which the Thinking template writes where it stands."""
        i = message.index
        self.plan.special(self.s.im_start, i)
        self.write([message.role + "\n", *self.pieces(message, count=True)], i)
        self.turn_end(i)

    def tool(self, message: Message, opens: bool, closes: bool) -> None:
        i = message.index
        if opens:
            self.plan.special(self.s.im_start, i)
            self.plan.text("user", i)
        self.plan.text("\n", i)
        self.tagged(self.s.tool_response, "<tool_response>", i)
        self.write(["\n", *self.pieces(message, count=True), "\n"], i)
        self.tagged(self.s.tool_response_end, "</tool_response>", i)
        if closes:
            self.turn_end(i)

    def assistant(self, message: Message, pieces: Sequence[Piece], has_content: bool) -> None:
        """``pieces`` follow ``<|im_start|>`` (``assistant\\n``, any kept think block, the content);
        ``has_content`` is the template's truthiness test that decides the newline before the first tool call."""
        i = message.index
        self.plan.special(self.s.im_start, i)
        self.write(pieces, i)
        for ci, call in enumerate(message.tool_calls):
            if ci > 0 or has_content:
                self.plan.text("\n", i)
            self.tagged(self.s.tool_call, "<tool_call>", i)
            self.plan.text('\n{"name": "' + call.name + '", "arguments": ' + _arguments(message, ci, call) + "}\n", i)
            self.tagged(self.s.tool_call_end, "</tool_call>", i)
        self.turn_end(i)

    def generation_prompt(self) -> None:
        self.plan.special(self.s.im_start, -1)
        self.plan.text("assistant\n", -1)
        if self.thinking:
            self.tagged(self.s.think, "<think>", -1)
            self.plan.text("\n", -1)


def _arguments(message: Message, ci: int, call: Any) -> str:
    """Arguments as the template prints them: strings verbatim, anything else (None too) via tojson."""
    if ci < len(message.tool_call_inputs):
        args = message.tool_call_inputs[ci].arguments
        if args is ABSENT:
            raise ConversationError(
                f"tool_calls[{ci}] has no 'arguments' (the Qwen3-VL template fails on it)", message_index=message.index
            )
    else:
        args = call.arguments
    return args if isinstance(args, str) else tojson(args, message.index)
