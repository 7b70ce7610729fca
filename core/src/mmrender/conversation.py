"""Normalise OpenAI/HF chat messages into one validated shape, naming the message and part on error.

Chat templates test a message's raw form in ways the normalised form would hide (a bare string
part, a part's declared ``type`` and which keys it has, tool-call arguments given as null, a
``reasoning`` key beside ``reasoning_content``). The normalised objects record exactly those, so
a family reads them here and never the caller's raw message.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .errors import ConversationError
from .types import ToolCall

#: The standard roles; core accepts any string role and each family refuses those its template drops.
ROLES = ("system", "user", "assistant", "tool")
#: Names a message's reasoning goes under, in transformers' order of precedence (first non-None wins).
REASONING_KEYS = ("reasoning_content", "thinking", "reasoning")
_IMAGE_KEYS = ("image", "url", "path", "image_url")


@attrs.frozen
class TextPart:
    """A text part. ``bare``: given as a plain string in a part list (templates differ on those);
    ``declared_type``: its ``type`` key as given (None when absent); ``keys``: the keys it was given with."""

    text: str
    bare: bool = attrs.field(default=False, eq=False, kw_only=True)
    declared_type: str | None = attrs.field(default=None, eq=False, kw_only=True)
    keys: frozenset[str] = attrs.field(default=frozenset(), eq=False, kw_only=True, repr=False)


@attrs.frozen
class ImagePart:
    """An image reference as given; bytes are read only when the renderer prepares it.

    ``declared_type`` and ``keys`` as for :class:`TextPart` (a template may test them to decide
    whether it sees an image at all).
    """

    source: Any = attrs.field(eq=False)
    message_index: int
    part_index: int
    declared_type: str | None = attrs.field(default=None, eq=False, kw_only=True)
    keys: frozenset[str] = attrs.field(default=frozenset(), eq=False, kw_only=True, repr=False)


@attrs.frozen
class VideoPart:
    """A video reference as given (path, ``file://``, ``data:`` URI, store URI or bytes); read only when
    the renderer prepares it. ``declared_type`` and ``keys`` as for :class:`TextPart`.

    A video given as a list of frames has ``source`` the frames (a tuple of PIL images, validated) and
    ``fps`` their rate; ``fps`` is None for every other source.
    """

    source: Any = attrs.field(eq=False)
    message_index: int
    part_index: int
    declared_type: str | None = attrs.field(default=None, eq=False, kw_only=True)
    keys: frozenset[str] = attrs.field(default=frozenset(), eq=False, kw_only=True, repr=False)
    fps: float | None = attrs.field(default=None, eq=False, kw_only=True)

    @property
    def is_frame_list(self) -> bool:
        return self.fps is not None


Part = TextPart | ImagePart | VideoPart


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


#: Marks a key the caller did not give (None is a value a template prints).
ABSENT: Any = _Absent()


@attrs.frozen
class ToolCallInput:
    """One tool call's ``arguments`` and ``id`` exactly as given (:data:`ABSENT` when missing), for
    templates that print them raw: :class:`ToolCall` holds ``{}`` for null arguments."""

    arguments: Any = ABSENT
    id: Any = ABSENT


@attrs.frozen
class Message:
    """One message; ``content`` keeps the caller's choice of plain string or part list (templates differ)."""

    index: int
    role: str
    content: str | tuple[Part, ...] | None
    reasoning_content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    #: Each tool call as given, parallel to ``tool_calls``.
    tool_call_inputs: tuple[ToolCallInput, ...] = attrs.field(default=(), eq=False, repr=False)
    #: The non-None values of the reasoning keys given (``reasoning_content``, ``thinking``, ``reasoning``).
    reasoning_keys: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def parts(self) -> tuple[Part, ...]:
        if self.content is None:
            return ()
        if isinstance(self.content, str):
            return (TextPart(self.content),)
        return self.content

    # The three below read string (or None) content directly: building its one TextPart costs more than the rest.
    @property
    def _part_list(self) -> tuple[Part, ...]:
        """The parts of list content; () for string or no content."""
        return () if self.content is None or isinstance(self.content, str) else self.content

    @property
    def images(self) -> tuple[ImagePart, ...]:
        return tuple(p for p in self._part_list if isinstance(p, ImagePart))

    @property
    def videos(self) -> tuple[VideoPart, ...]:
        return tuple(p for p in self._part_list if isinstance(p, VideoPart))

    @property
    def text(self) -> str:
        """Concatenated text parts (what a template sees for text-only content)."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


@attrs.frozen
class Conversation:
    """A normalised render request: messages, tools, generation prompt and template options."""

    messages: tuple[Message, ...]
    tools: tuple[Mapping[str, Any], ...] | None = None
    add_generation_prompt: bool = False
    template_kwargs: Mapping[str, Any] = attrs.field(factory=dict)


def _image_source(part: Mapping[str, Any], mi: int, pi: int) -> Any:
    kind = part.get("type")
    if kind == "image_url":
        value = part.get("image_url")
        if isinstance(value, Mapping):
            value = value.get("url")
        if value is None:
            raise ConversationError("image_url part has no url", message_index=mi, part_index=pi)
        return value
    for key in _IMAGE_KEYS:
        if part.get(key) is not None:
            value = part[key]
            return value.get("url") if isinstance(value, Mapping) and "url" in value else value
    encoded = part.get("base64")
    if encoded is not None:
        # transformers' {"type": "image", "base64": ...}: the key says base64, so never read it as a path.
        if not isinstance(encoded, str):
            raise ConversationError("image part 'base64' must be a string", message_index=mi, part_index=pi)
        return encoded if encoded.startswith("data:") else "data:image/*;base64," + encoded
    raise ConversationError(
        "image part has none of the keys 'image', 'url', 'path', 'image_url', 'base64'",
        message_index=mi,
        part_index=pi,
    )


def _video_part(part: Mapping[str, Any], mi: int, pi: int, kind: str | None, keys: frozenset[str]) -> VideoPart:
    """``{"type": "video", "video": src}``, ``{"type": "video_url", "video_url": {"url": src}}``, or
    ``{"type": "video", "video": [frame, …], "fps": rate}`` (PIL images)."""
    if part.get("type") == "video_url" or ("video" not in part and "video_url" in part):
        value = part.get("video_url")
        source = value.get("url") if isinstance(value, Mapping) else value
    else:
        source = part.get("video", part.get("url", part.get("path")))
    if isinstance(source, list | tuple):
        from .video_frames import validate_frame_list

        try:
            frames, fps = validate_frame_list(source, part.get("fps"))
        except ValueError as exc:
            raise ConversationError(str(exc), message_index=mi, part_index=pi) from None
        return VideoPart(frames, mi, pi, declared_type=kind, keys=keys, fps=fps)
    if source is None or (isinstance(source, str) and not source):
        raise ConversationError("video part has no 'video' (or video_url.url) source", message_index=mi, part_index=pi)
    return VideoPart(source, mi, pi, declared_type=kind, keys=keys)


#: ``isinstance(k, str)`` as a C-level predicate (part keys are filtered once per part).
_is_str = str.__instancecheck__


def _parts(content: Any, mi: int) -> str | tuple[Part, ...] | None:
    if content is None or isinstance(content, str):
        return content
    if type(content) is not list and (  # a list (JSON) skips the slower abstract-class checks
        isinstance(content, Mapping | bytes | bytearray) or not isinstance(content, Sequence)
    ):
        raise ConversationError(
            f"content must be a string or a list of parts, got {type(content).__name__}", message_index=mi
        )
    parts: list[Part] = []
    for pi, part in enumerate(content):
        if type(part) is not dict:
            if isinstance(part, str):
                parts.append(TextPart(part, bare=True))
                continue
            if not isinstance(part, Mapping):
                raise ConversationError(
                    f"part must be an object, got {type(part).__name__}", message_index=mi, part_index=pi
                )
        kind = part.get("type")
        keys = frozenset(filter(_is_str, part))
        if kind in ("text", "input_text") or (kind is None and "text" in part):
            text = part.get("text")
            if not isinstance(text, str):
                raise ConversationError("text part has no string 'text'", message_index=mi, part_index=pi)
            parts.append(TextPart(text, declared_type=kind, keys=keys))
        elif kind in ("image", "image_url", "input_image") or (kind is None and "image" in part):
            parts.append(ImagePart(_image_source(part, mi, pi), mi, pi, declared_type=kind, keys=keys))
        elif kind in ("video", "video_url") or (kind is None and ("video" in part or "video_url" in part)):
            parts.append(_video_part(part, mi, pi, kind, keys))
        else:
            raise ConversationError(
                f"unsupported content part type {kind!r} (expected 'text', 'image', 'image_url', 'video' or 'video_url')",
                message_index=mi,
                part_index=pi,
            )
    return tuple(parts)


def _tool_call_inputs(raw: Any) -> tuple[ToolCallInput, ...]:
    """``arguments`` and ``id`` of each call as given (``_tool_calls`` has validated the calls)."""
    inputs = []
    for call in raw or ():
        fn = call.get("function", call)
        inputs.append(ToolCallInput(arguments=fn.get("arguments", ABSENT), id=call.get("id", ABSENT)))
    return tuple(inputs)


def _tool_calls(raw: Any, mi: int) -> tuple[ToolCall, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise ConversationError("tool_calls must be a list", message_index=mi)
    calls = []
    for ci, call in enumerate(raw):
        if not isinstance(call, Mapping):
            raise ConversationError(f"tool_calls[{ci}] must be an object", message_index=mi)
        fn = call.get("function", call)
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise ConversationError(f"tool_calls[{ci}] has no function name", message_index=mi)
        args = fn.get("arguments", {})
        if args is None:
            args = {}
        calls.append(ToolCall(name=fn["name"], arguments=args, id=call.get("id")))
    return tuple(calls)


#: Leaf types returned as they are; tested inline in the loops below so most leaves cost no call.
_LEAVES = frozenset({str, int, float, bool, bytes, type(None)})


def plain_data(value: Any) -> Any:
    """Message objects as dicts, the way transformers' ``apply_chat_template`` reads them: pydantic models
    (OpenAI SDK messages, via ``model_dump()``) and dataclasses, nested ones too; media stay as they are."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is dict or (kind is not list and isinstance(value, Mapping)):
        return {key: item if type(item) in _LEAVES else plain_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [item if type(item) in _LEAVES else plain_data(item) for item in value]
    if isinstance(value, tuple):
        return tuple(plain_data(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain_data(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if callable(getattr(value, "model_dump", None)):
        return plain_data(value.model_dump())
    return value


def _reasoning(given: Mapping[str, Any], index: int) -> str | None:
    """The first of ``given`` (:func:`_reasoning_keys`, in precedence order): what transformers 5 copies
    into ``reasoning_content`` before the template runs."""
    for key, value in given.items():
        if not isinstance(value, str):
            raise ConversationError(f"{key} must be a string, got {type(value).__name__}", message_index=index)
        return value
    return None


def _reasoning_keys(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The reasoning keys ``raw`` gives, in precedence order (``raw`` holds no None values)."""
    return {key: raw[key] for key in REASONING_KEYS if key in raw}


def normalize_message(raw: Any, index: int) -> Message:
    """One message (a mapping, or an object with ``model_dump()`` or a dataclass) as a :class:`Message`.

    As in transformers, keys whose value is None count as absent (OpenAI responses carry
    ``content=None``, ``tool_calls=None``), so ``raw`` keeps only the others.
    """
    if type(raw) is dict:  # the usual (JSON) message: converted and filtered in one pass
        raw = {key: item for key, value in raw.items() if (item := plain_data(value)) is not None}
    elif isinstance(raw, Message):
        return raw
    else:
        plain = plain_data(raw)
        if not isinstance(plain, Mapping):
            raise ConversationError(
                f"message must be an object (a mapping, pydantic model or dataclass), got {type(raw).__name__}",
                message_index=index,
            )
        raw = {key: value for key, value in plain.items() if value is not None}
    role = raw.get("role")
    if not isinstance(role, str) or not role:
        raise ConversationError(
            f"unexpected role {role!r}: a role is a non-empty string ({', '.join(ROLES)}, or another role "
            "the model's template renders)",
            message_index=index,
        )
    tool_calls = _tool_calls(raw.get("tool_calls"), index)
    content = _parts(raw.get("content"), index)
    reasoning_keys = _reasoning_keys(raw)
    return Message(
        index=index,
        role=role,
        content=content,
        reasoning_content=_reasoning(reasoning_keys, index),
        tool_calls=tool_calls,
        tool_call_id=raw.get("tool_call_id"),
        name=raw.get("name"),
        raw=raw,
        tool_call_inputs=_tool_call_inputs(raw.get("tool_calls")) if tool_calls else (),
        reasoning_keys=reasoning_keys,
    )


def refuse_bare_text_parts(message: Message, template_does: str) -> None:
    """Refuse a plain string inside a part list, which a family's template mishandles (``template_does``
    says how, e.g. "the Kimi template prints it as nothing"), naming the message and part."""
    if not isinstance(message.content, tuple):
        return
    for pi, part in enumerate(message.content):
        if isinstance(part, TextPart) and part.bare:
            raise ConversationError(
                f"bare string content part: {template_does}; use {{'type': 'text', 'text': ...}}",
                message_index=message.index,
                part_index=pi,
            )


def normalize_conversation(
    messages: Sequence[Any],
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    add_generation_prompt: bool = False,
    template_kwargs: Mapping[str, Any] | None = None,
    start_index: int = 0,
) -> Conversation:
    """Validate ``messages`` and ``tools``; ``start_index`` numbers messages that continue a rollout."""
    if type(messages) is not list and (  # a list skips the slower abstract-class checks
        isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Sequence)
    ):
        raise ConversationError("messages must be a list of message objects")
    if tools is not None:
        if isinstance(tools, str | bytes | Mapping) or not isinstance(tools, Sequence):
            raise ConversationError("tools must be a list of tool definitions")
        tools = tuple(plain_data(tool) for tool in tools)
    return Conversation(
        messages=tuple([normalize_message(m, start_index + i) for i, m in enumerate(messages)]),
        tools=tools,
        add_generation_prompt=add_generation_prompt,
        template_kwargs=dict(template_kwargs or {}),
    )


def arguments_json(arguments: Any) -> str:
    """Tool-call arguments as the JSON text templates emit (strings pass through unchanged)."""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False)
