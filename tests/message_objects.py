"""Pydantic message models shaped like the OpenAI SDK's (``ChatCompletionMessageParam``,
``ChatCompletionMessage``): optional fields default to None and are dumped as None, parts and tool
calls are nested models. :func:`as_message_objects` turns a dict conversation into them, keeping any
other key (``reasoning_content``, ``image`` …) as an extra field, so transformers and mmrender see the
same conversation either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class ImageURL(_Model):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImageURLPart(_Model):
    type: Literal["image_url"] = "image_url"
    image_url: ImageURL


class TextPart(_Model):
    type: Literal["text"] = "text"
    text: str


class OtherPart(_Model):
    """Any other part shape (``{"type": "image", "image": ...}``), kept key for key."""


class Function(_Model):
    name: str
    arguments: Any


class ToolCall(_Model):
    id: str | None = None
    type: Literal["function"] = "function"
    function: Function


class Message(_Model):
    role: str
    content: Any = None
    name: Any = None


class AssistantMessage(Message):
    """Like ``ChatCompletionMessage``: ``refusal``/``tool_calls`` present and None when unused."""

    refusal: str | None = None
    tool_calls: list[Any] | None = None


def _part(part: Any) -> Any:
    if not isinstance(part, Mapping):
        return part
    if part.get("type") == "text" and isinstance(part.get("text"), str) and set(part) == {"type", "text"}:
        return TextPart(text=part["text"])
    url = part.get("image_url")
    if part.get("type") == "image_url" and isinstance(url, Mapping) and set(part) == {"type", "image_url"}:
        return ImageURLPart(image_url=ImageURL(**url))
    return OtherPart.model_validate(dict(part))


def _call(call: Any) -> Any:
    fn = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str) or "arguments" not in fn:
        return call  # shapes the SDK models cannot hold (the template tests these as written)
    return ToolCall.model_validate({**call, "function": Function.model_validate(dict(fn))})


def as_message_objects(messages: list[Mapping[str, Any]]) -> list[BaseModel]:
    """The same conversation as pydantic objects (nested parts and tool calls too)."""
    out: list[BaseModel] = []
    for message in messages:
        fields = dict(message)
        if isinstance(fields.get("content"), list):
            fields["content"] = [_part(p) for p in fields["content"]]
        if fields.get("role") == "assistant":
            if isinstance(fields.get("tool_calls"), list):
                fields["tool_calls"] = [_call(c) for c in fields["tool_calls"]]
            out.append(AssistantMessage.model_validate(fields))
        else:
            out.append(Message.model_validate(fields))
    return out
