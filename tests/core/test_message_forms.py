"""Message forms transformers' ``apply_chat_template`` accepts: reasoning under its other names, None-valued
keys, and message objects (pydantic models such as the OpenAI SDK's, dataclasses) with nested parts and calls.

The expected values come from transformers itself (its message normalisation and reasoning aliasing),
never from mmrender.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import message_objects as M
import pytest
from mmrender import ConversationError, ImagePart, TextPart, ToolCall
from mmrender.conversation import REASONING_KEYS, normalize_conversation
from pydantic import BaseModel
from transformers.utils.chat_template_utils import _alias_reasoning_fields, _normalize_chat_messages

_ABSENT = object()
_VALUES = (_ABSENT, None, "", "set")


def _transformers_dict(message: Any) -> dict[str, Any]:
    """The message as transformers 5 turns it into a dict (objects dumped, None-valued keys dropped)."""
    return _normalize_chat_messages([message])[0]


def _transformers_view(message: Any) -> dict[str, Any]:
    """The message dict a chat template sees: that dict with reasoning aliased to ``reasoning_content``."""
    return _alias_reasoning_fields([_transformers_dict(message)])[0]


def _ours(message: Any):
    return normalize_conversation([message]).messages[0]


@pytest.mark.parametrize("values", list(itertools.product(_VALUES, repeat=len(REASONING_KEYS))), ids=lambda v: repr(v))
def test_reasoning_keys_follow_transformers_precedence(values: tuple[Any, ...]) -> None:
    message: dict[str, Any] = {"role": "assistant", "content": "x"}
    for key, value in zip(REASONING_KEYS, values, strict=True):
        if value is not _ABSENT:
            message[key] = f"from {key}" if value == "set" else value
    assert _ours(message).reasoning_content == _transformers_view(message).get("reasoning_content")


def test_a_non_string_reasoning_under_any_name_is_refused() -> None:
    err = _ours_error({"role": "assistant", "content": "x", "reasoning_content": None, "thinking": ["a"]})
    assert err.message_index == 0 and "thinking must be a string" in str(err)


def _ours_error(message: Any) -> ConversationError:
    with pytest.raises(ConversationError) as info:
        normalize_conversation([message])
    return info.value


def test_none_valued_keys_are_absent_as_in_transformers() -> None:
    message = {"role": "assistant", "content": None, "tool_calls": None, "name": None, "reasoning_content": None}
    ours = _ours(message)
    assert dict(ours.raw) == _transformers_dict(message) == {"role": "assistant"}
    assert (ours.content, ours.tool_calls, ours.name, ours.reasoning_content) == (None, (), None, None)


# -- message objects: pydantic models shaped like the OpenAI SDK's (tests/message_objects.py), dataclasses
@dataclasses.dataclass
class ToolMessage:
    content: str
    tool_call_id: str
    role: str = "tool"


def test_pydantic_messages_and_nested_parts_and_calls() -> None:
    user = M.Message(
        role="user", content=[M.TextPart(text="look"), M.ImageURLPart(image_url=M.ImageURL(url="/tmp/a.png"))]
    )
    reply = M.AssistantMessage(
        role="assistant",
        tool_calls=[M.ToolCall(id="c1", function=M.Function(name="zoom", arguments='{"x": 1}'))],
        reasoning_content="hmm",
    )
    tool = ToolMessage(content="done", tool_call_id="c1")
    conv = normalize_conversation([user, reply, tool])
    first, second, third = conv.messages
    assert first.content[0] == TextPart("look")
    assert isinstance(first.content[1], ImagePart) and first.content[1].source == "/tmp/a.png"
    assert second.content is None and second.reasoning_content == "hmm"
    assert second.tool_calls == (ToolCall("zoom", '{"x": 1}', "c1"),)
    assert (third.role, third.content, third.tool_call_id) == ("tool", "done", "c1")
    for ours, obj in zip(conv.messages, (user, reply, tool), strict=True):
        assert dict(ours.raw) == _transformers_dict(obj)


def test_a_dict_message_may_hold_pydantic_parts_and_calls() -> None:
    message = {
        "role": "assistant",
        "content": [M.TextPart(text="a")],
        "tool_calls": [M.ToolCall(id="c", function=M.Function(name="f", arguments="{}"))],
    }
    ours = _ours(message)
    assert ours.content == (TextPart("a"),) and ours.tool_calls == (ToolCall("f", "{}", "c"),)
    assert dict(ours.raw) == _transformers_dict(message)


def test_pydantic_tools_become_plain_schemas() -> None:
    class Tool(BaseModel):
        type: str = "function"
        function: dict[str, Any]

    conv = normalize_conversation([{"role": "user", "content": "x"}], tools=[Tool(function={"name": "f"})])
    assert conv.tools == ({"type": "function", "function": {"name": "f"}},)


def test_an_object_that_is_not_a_message_names_its_type() -> None:
    class NotAMessage(BaseModel):
        pass

    err = _ours_error(object())
    assert err.message_index == 0 and "object" in str(err)
    err = _ours_error(NotAMessage())
    assert "unexpected role None" in str(err)
