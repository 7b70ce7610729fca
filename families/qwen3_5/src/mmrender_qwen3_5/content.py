"""The template's ``render_content`` macro and the checks around it, on normalised messages.

Content becomes a list of pieces — text and images — so the template's ``|trim`` (Python
``str.strip`` of the rendered string, image markers included) can be applied without ever
turning an image into text. Inputs the template rejects with ``raise_exception`` (or fails on)
are rejected here with a :class:`ConversationError` naming the message.
"""

from __future__ import annotations

from collections.abc import Sequence

from mmrender import ImagePart, Message, TextPart, VideoPart
from mmrender.conversation import refuse_bare_text_parts
from mmrender.errors import ConversationError
from mmrender.marked import MarkedText
from mmrender_qwen3_vl.template import unseen_image

Piece = str | ImagePart | VideoPart

TOOL_RESPONSE_OPEN = "<tool_response>"
TOOL_RESPONSE_CLOSE = "</tool_response>"


ROLES = ("system", "user", "assistant", "tool")


def check_message(message: Message, position: int) -> None:
    """Reject what the template rejects (or renders meaninglessly) for one message."""
    if message.role not in ROLES:
        raise ConversationError(
            f"Unexpected message role. (the template raises on role {message.role!r}; it accepts only "
            f"{', '.join(ROLES)})",
            message_index=message.index,
        )
    refuse_bare_text_parts(message, "the template raises 'Unexpected item type in content.'")
    if isinstance(message.content, tuple):
        for pi, item in enumerate(message.content):
            if unseen_image(item):
                raise ConversationError(
                    f"Unexpected item type in content. (the template does not see a {item.declared_type!r} part "
                    'without an \'image\' or \'image_url\' key as an image; use {"type": "image", "image": ...})',
                    message_index=message.index,
                    part_index=pi,
                )
    if message.images and message.role == "system":
        raise ConversationError("System message cannot contain images.", message_index=message.index)
    if message.role == "system" and message.videos:
        raise ConversationError("System message cannot contain videos.", message_index=message.index)
    if message.role == "system" and position != 0:
        raise ConversationError("System message must be at the beginning.", message_index=message.index)


def pieces(message: Message) -> list[Piece]:
    """Content as alternating text (joined) and images, untrimmed."""
    if message.content is None or isinstance(message.content, str):  # no part objects to build
        return [message.content] if message.content else []
    out: list[Piece] = []
    for part in message.content:
        if isinstance(part, TextPart):
            if out and isinstance(out[-1], str):
                out[-1] += part.text
            elif part.text:
                out.append(part.text)
        else:
            out.append(part)
    return out


def trim(items: list[Piece]) -> list[Piece]:
    """``|trim`` of the rendered content: strip whitespace at both ends, stopping at an image."""
    items = list(items)
    while items and isinstance(items[0], str):
        items[0] = items[0].lstrip()
        if items[0]:
            break
        items.pop(0)
    while items and isinstance(items[-1], str):
        items[-1] = items[-1].rstrip()
        if items[-1]:
            break
        items.pop()
    return items


def text(message: Message) -> str:
    """Trimmed text of a message without images (the system prompt)."""
    return message.text.strip()


def is_tool_response_wrapper(message: Message) -> bool:
    """A user message whose trimmed content is ``<tool_response>…</tool_response>`` is not a query.

    An image at either end makes the rendered content start or end with image markup, so such a
    message is always a real query, as in the template.
    """
    items = trim(pieces(message))
    if not items or not isinstance(items[0], str) or not isinstance(items[-1], str):
        return False
    return items[0].startswith(TOOL_RESPONSE_OPEN) and items[-1].endswith(TOOL_RESPONSE_CLOSE)


def is_real_query(message: Message) -> bool:
    return message.role == "user" and not is_tool_response_wrapper(message)


def last_query_index(messages: Sequence[Message]) -> int:
    """Position of the last real user query; the template raises when there is none."""
    for position in range(len(messages) - 1, -1, -1):
        if is_real_query(messages[position]):
            return position
    raise ConversationError("No user query found in messages.")


def split_inline_thinking(content: str) -> tuple[str, str]:
    """``(reasoning, content)`` from ``<think>…</think>`` written inside the content, as the template does.

    Reasoning is what precedes the first ``</think>`` (after the last ``<think>`` in it);
    content is what follows the *last* ``</think>``.
    """
    reasoning = content.split("</think>")[0].rstrip("\n").split("<think>")[-1].lstrip("\n")
    return reasoning, content.split("</think>")[-1].lstrip("\n")


def assistant_parts(message: Message, *, thinking_form: bool) -> tuple[list[Piece], list[Piece], bool]:
    """``(reasoning, content, content is non-empty)`` of an assistant turn, as the template computes them.

    The template renders the content with its images, trims it, takes ``reasoning_content`` when it
    is a string or else splits an inline ``</think>`` off the rendered string, and trims the
    reasoning. An image the split drops (in the reasoning of a turn shown without its think block,
    or between two ``</think>``) is refused: the template has already counted it, so the
    ``Picture N`` numbers would skip an image nobody sees.
    """
    marked = MarkedText(pieces(message), avoid=message.reasoning_content or "")
    body = marked.text.strip()
    if message.reasoning_content is not None:
        reasoning = message.reasoning_content
    elif "</think>" in body:
        reasoning, body = split_inline_thinking(body)
    else:
        reasoning = ""
    reasoning = reasoning.strip()
    for image in marked.missing(body, reasoning if thinking_form else ""):
        raise ConversationError(
            "image inside the reasoning of an assistant message (before '</think>'): the Qwen3.5 template "
            "drops it here (a turn before the last user query, or text between two '</think>') but still "
            "counts it; move it after '</think>' or into a user or tool message",
            message_index=image.message_index,
            part_index=image.part_index,
        )
    return marked.pieces(reasoning), marked.pieces(body), bool(body.strip())
