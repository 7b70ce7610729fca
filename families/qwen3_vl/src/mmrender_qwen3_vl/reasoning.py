"""The Thinking template's assistant turn: where its reasoning comes from, and whether the turn shows it.

The official template first renders the content (images become placeholders and are counted), then
works on that string: the reasoning is ``reasoning_content`` when it is a string, else the text
before the first ``</think>`` (after the last ``<think>`` there), the content being the text after
the last ``</think>``; whatever lies between is dropped. A turn after the last real user query shows
``<think>\\n{reasoning}\\n</think>\\n\\n`` when it is the last message or its reasoning is non-empty.

The same string operations run here on the rendered text with one private-use character standing
in for each image, so an image lands exactly where the template's placeholder lands. An image the
template drops (in the reasoning of an earlier turn, or around extra think tags) is refused: the
template has already counted it, so the ``Picture N`` numbers would skip an image nobody sees.
"""

from __future__ import annotations

from collections.abc import Sequence

from mmrender import ConversationError, Message
from mmrender.marked import MarkedText

from .template import THINK, THINK_END, Piece


def _split(message: Message, text: str) -> tuple[str, str]:
    """``(reasoning, content)`` as the template computes them from the rendered content."""
    if isinstance(message.reasoning_content, str):
        return message.reasoning_content, text
    if "</think>" not in text:
        return "", text
    reasoning = text.split("</think>")[0].rstrip("\n").split("<think>")[-1].lstrip("\n")
    return reasoning, text.split("</think>")[-1].lstrip("\n")


def thinking_assistant(
    message: Message, rendered: Sequence[Piece], *, after_last_query: bool, is_last: bool
) -> tuple[list[Piece], bool]:
    """The pieces after ``<|im_start|>`` and the template's ``content`` truthiness (the newline before
    the first tool call is written only when the content after the split is non-empty)."""
    marked = MarkedText(rendered, avoid=message.reasoning_content or "")
    reasoning, content = _split(message, marked.text)
    if after_last_query and (is_last or reasoning):
        # the think tags are the template's own: tags, so the message's text never stands in for them
        out: list[str | Piece] = [
            "assistant\n",
            THINK,
            "\n" + reasoning.strip("\n") + "\n",
            THINK_END,
            "\n\n" + content.lstrip("\n"),
        ]
    else:
        out = ["assistant\n" + content]
    for image in marked.missing(*(p for p in out if isinstance(p, str))):
        raise ConversationError(
            "image inside the reasoning of an assistant message (before '</think>'): the Qwen3-VL Thinking "
            "template drops it here (an earlier turn's reasoning, or text around extra think tags) but still "
            "counts it; move it after '</think>' or into a user or tool message",
            message_index=image.message_index,
            part_index=image.part_index,
        )
    return [q for p in out for q in (marked.pieces(p) if isinstance(p, str) else [p])], bool(content)
