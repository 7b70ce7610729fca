"""Write a conversation exactly as the Qwen3.5 chat template writes it, into a core :class:`Plan`.

:func:`walk` is the template's conversation order (the system turn, which assistant turns keep
their thinking, the generation prompt) and :func:`walk_tail` the turns a bridge appends; both go
through one turn loop and one :class:`TemplateWalker` per message kind, so a full render and a
bridge produce the same text for the same message in the same context (previous/next role, image
count so far).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mmrender import Conversation, Message, VideoPart
from mmrender.errors import ConversationError
from mmrender.plan import Plan

from . import content as C
from .toolcalls import TOOLS_INSTRUCTIONS, call_arguments, call_body, tools_block


class TemplateWalker:
    """Template output for one render: the plan, the running image number and the template switches."""

    def __init__(
        self,
        ids: Mapping[str, int],
        *,
        add_vision_id: bool,
        images_before: int = 0,
        videos_before: int = 0,
        video_expansion: str = "current",
    ) -> None:
        self.ids = ids
        self.add_vision_id = add_vision_id
        self.image_count = images_before
        self.video_count = videos_before
        self.video_expansion = video_expansion
        self.out = Plan()

    def _special(self, token: str, owner: int) -> None:
        self.out.special(self.ids[token], owner)

    def _content(self, items: Sequence[C.Piece], owner: int) -> None:
        for item in items:
            if isinstance(item, str):
                self.out.text(item, owner)
                continue
            if isinstance(item, VideoPart):
                self._video(item, owner)
                continue
            self.image_count += 1
            if self.add_vision_id:
                self.out.text(f"Picture {self.image_count}: ", owner)
            self._special("<|vision_start|>", owner)
            self.out.image(item, owner)
            self._special("<|vision_end|>", owner)

    def _video(self, part: VideoPart, owner: int) -> None:
        """``Video N: `` (numbered apart from images) and the template's start/pad/end; the expansion
        replaces the bare pad (``current``) or the whole triple (``legacy``) at emit time."""
        self.video_count += 1
        if self.add_vision_id:
            self.out.text(f"Video {self.video_count}: ", owner)
        if self.video_expansion == "legacy":
            self.out.video(part, owner)
            return
        self._special("<|vision_start|>", owner)
        self.out.video(part, owner)
        self._special("<|vision_end|>", owner)

    def system(self, message: Message | None, tools: Sequence[Any] | None) -> None:
        """The opening system turn: the tools block (if any) and then the system prompt."""
        owner = message.index if message is not None else -1
        prompt = C.text(message) if message is not None else ""
        if tools:
            self._special("<|im_start|>", owner)
            self.out.text("system\n" + tools_block(tools), owner)
            self.out.markup(TOOLS_INSTRUCTIONS, owner, self.ids)
            self.out.text("\n\n" + prompt if prompt else "", owner)
        elif message is not None:
            self._special("<|im_start|>", owner)
            self.out.text("system\n" + prompt, owner)
        else:
            return
        self._special("<|im_end|>", owner)
        self.out.text("\n", owner)

    def user(self, message: Message) -> None:
        self._special("<|im_start|>", message.index)
        self.out.text("user\n", message.index)
        self._content(C.trim(C.pieces(message)), message.index)
        self._special("<|im_end|>", message.index)
        self.out.text("\n", message.index)

    def tool(self, message: Message, *, opens: bool, closes: bool) -> None:
        """A tool response; consecutive ones share one ``<|im_start|>user`` … ``<|im_end|>`` turn."""
        owner = message.index
        if opens:
            self._special("<|im_start|>", owner)
            self.out.text("user", owner)
        self.out.text("\n", owner)
        self._special("<tool_response>", owner)
        self.out.text("\n", owner)
        self._content(C.trim(C.pieces(message)), owner)
        self.out.text("\n", owner)
        self._special("</tool_response>", owner)
        if closes:
            self._special("<|im_end|>", owner)
            self.out.text("\n", owner)

    def assistant(self, message: Message, *, thinking_form: bool) -> None:
        """An assistant turn; ``thinking_form`` renders the ``<think>`` block (turns after the last query).

        Content is rendered with its images (counted and numbered like any other message's) and
        trimmed before the template looks for an inline ``</think>``; see :func:`content.assistant_parts`.
        """
        owner = message.index
        reasoning, body, has_body = C.assistant_parts(message, thinking_form=thinking_form)
        self._special("<|im_start|>", owner)
        if thinking_form:
            self.out.text("assistant\n", owner)
            self._special("<think>", owner)
            self._content(["\n", *reasoning, "\n"], owner)
            self._special("</think>", owner)
            self._content(["\n\n", *body], owner)
        else:
            self._content(["assistant\n", *body], owner)
        given = message.tool_call_inputs
        for ci, call in enumerate(message.tool_calls):
            arguments = call_arguments(call, given[ci] if ci < len(given) else None, owner)
            if ci == 0:
                self.out.text("\n\n" if has_body else "", owner)
            else:
                self.out.text("\n", owner)
            self._special("<tool_call>", owner)
            self.out.text(call_body(call.name, arguments), owner)
            self._special("</tool_call>", owner)
        self._special("<|im_end|>", owner)
        self.out.text("\n", owner)

    def generation_prompt(self, *, thinking_open: bool) -> None:
        self._special("<|im_start|>", -1)
        self.out.text("assistant\n", -1)
        self._special("<think>", -1)
        if thinking_open:
            self.out.text("\n", -1)
        else:
            self.out.text("\n\n", -1)
            self._special("</think>", -1)
            self.out.text("\n\n", -1)


def walk(conv: Conversation, em: TemplateWalker, *, thinking_open: bool, keep_all_thinking: bool) -> Plan:
    """The whole render: what the template rejects is refused first, then the system turn, every turn
    (assistant turns after the last real query, or all with ``keep_all_thinking``, keep their ``<think>``
    block) and the generation prompt (``thinking_open``: ``<think>`` left open)."""
    messages = conv.messages
    if not messages:
        raise ConversationError("No messages provided.")
    for position, message in enumerate(messages):
        C.check_message(message, position)
    last_query = C.last_query_index(messages)
    em.system(messages[0] if messages[0].role == "system" else None, conv.tools)
    _turns(em, messages, before=None, thinking_after=-1 if keep_all_thinking else last_query)
    if conv.add_generation_prompt:
        em.generation_prompt(thinking_open=thinking_open)
    return em.out


def walk_tail(em: TemplateWalker, messages: Sequence[Message], *, thinking_open: bool) -> Plan:
    """New user and tool turns after an assistant turn (the bridge), then the generation prompt."""
    _turns(em, messages, before="assistant", thinking_after=-1)
    em.generation_prompt(thinking_open=thinking_open)
    return em.out


def _turns(em: TemplateWalker, messages: Sequence[Message], *, before: str | None, thinking_after: int) -> None:
    """The template's message loop (the system turn is written before it); ``before``: the role of the
    message before the first (None at the start), which decides whether a tool response opens a turn."""
    for position, message in enumerate(messages):
        if message.role == "user":
            em.user(message)
        elif message.role == "assistant":
            em.assistant(message, thinking_form=position > thinking_after)
        elif message.role == "tool":
            prev = messages[position - 1].role if position > 0 else before
            nxt = messages[position + 1].role if position + 1 < len(messages) else None
            em.tool(message, opens=prev is not None and prev != "tool", closes=nxt != "tool")
