"""Write each kind of message exactly as the Qwen3.5 chat template writes it, into a core :class:`Plan`.

Shared by full renders and by the multi-turn bridge, so both produce the same text for the same
message in the same context (previous/next role, image count so far).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mmrender import Message, VideoPart
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
