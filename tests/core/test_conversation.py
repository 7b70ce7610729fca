"""The conversation normaliser: OpenAI and HF part shapes, and errors that name the message and part."""

from __future__ import annotations

import pytest
from mmrender import ConversationError, ImagePart, TextPart, ToolCall
from mmrender.conversation import ABSENT, arguments_json, normalize_conversation, normalize_message
from PIL import Image


def _one(message: dict, **kwargs):
    return normalize_conversation([message], **kwargs).messages[0]


def test_plain_string_content_stays_a_string():
    msg = _one({"role": "user", "content": "hello"})
    assert msg.content == "hello" and msg.parts == (TextPart("hello"),) and msg.text == "hello"
    assert msg.index == 0 and msg.role == "user"


def test_openai_image_url_parts():
    msg = _one(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look:"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "image_url", "image_url": "file:///tmp/x.png"},
            ],
        }
    )
    text, first, second = msg.content
    assert text == TextPart("look:")
    assert isinstance(first, ImagePart) and first.source == "data:image/png;base64,AAAA"
    assert (first.message_index, first.part_index) == (0, 1)
    assert second.source == "file:///tmp/x.png" and second.part_index == 2
    assert msg.images == (first, second) and msg.text == "look:"


@pytest.mark.parametrize(
    ("part", "source"),
    [
        ({"type": "image", "image": "/tmp/a.png"}, "/tmp/a.png"),
        ({"type": "image", "url": "file:///tmp/a.png"}, "file:///tmp/a.png"),
        ({"type": "image", "path": "/tmp/a.png"}, "/tmp/a.png"),
        ({"type": "image", "image": b"\x89PNG"}, b"\x89PNG"),
        ({"image": "/tmp/a.png"}, "/tmp/a.png"),
        ({"type": "input_image", "image_url": "file:///b.png"}, "file:///b.png"),
    ],
)
def test_hf_image_parts(part, source):
    msg = _one({"role": "user", "content": [part]})
    (image,) = msg.content
    assert isinstance(image, ImagePart) and image.source == source


def test_pil_image_source_is_kept_as_is():
    img = Image.new("RGB", (4, 4))
    (part,) = _one({"role": "user", "content": [{"type": "image", "image": img}]}).content
    assert part.source is img


def test_text_part_variants():
    msg = _one({"role": "user", "content": ["bare", {"text": "untyped"}, {"type": "input_text", "text": "x"}]})
    assert msg.content == (TextPart("bare"), TextPart("untyped"), TextPart("x"))


def test_message_indices_follow_start_index():
    conv = normalize_conversation([{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}], start_index=5)
    assert [m.index for m in conv.messages] == [5, 6]
    conv = normalize_conversation([{"role": "user", "content": [{"type": "image", "path": "/x.png"}]}], start_index=3)
    assert conv.messages[0].content[0].message_index == 3


def test_conversation_fields():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    conv = normalize_conversation(
        [{"role": "system", "content": "s"}],
        tools=tools,
        add_generation_prompt=True,
        template_kwargs={"enable_thinking": False},
    )
    assert conv.tools == tuple(tools) and conv.add_generation_prompt
    assert conv.template_kwargs == {"enable_thinking": False}


def test_tool_calls_with_dict_and_string_arguments():
    msg = _one(
        {
            "role": "assistant",
            "content": None,
            "reasoning_content": "hmm",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get", "arguments": {"q": 1}}},
                {"function": {"name": "put", "arguments": '{"x": "y"}'}},
                {"name": "bare"},
                {"function": {"name": "none", "arguments": None}},
            ],
        }
    )
    assert msg.tool_calls == (
        ToolCall("get", {"q": 1}, "c1"),
        ToolCall("put", '{"x": "y"}'),
        ToolCall("bare", {}),
        ToolCall("none", {}),
    )
    assert msg.content is None and msg.parts == () and msg.reasoning_content == "hmm"


def test_tool_message_fields():
    msg = _one({"role": "tool", "content": "42", "tool_call_id": "c1", "name": "get"})
    assert (msg.tool_call_id, msg.name) == ("c1", "get")


def test_arguments_json():
    assert arguments_json({"a": "é"}) == '{"a": "é"}'
    assert arguments_json('{"raw": 1}') == '{"raw": 1}'


# -- errors name the message and part ------------------------------------------------------------


def _error(messages, **kwargs) -> ConversationError:
    with pytest.raises(ConversationError) as info:
        normalize_conversation(messages, **kwargs)
    return info.value


OK = {"role": "user", "content": "fine"}


@pytest.mark.parametrize(
    ("part", "problem"),
    [
        ({"type": "image_url", "image_url": {}}, "no url"),
        ({"type": "image_url"}, "no url"),
        ({"type": "image"}, "none of the keys"),
        ({"type": "text"}, "no string 'text'"),
        ({"type": "text", "text": 3}, "no string 'text'"),
        ({"type": "audio", "audio": "x.wav"}, "unsupported content part type 'audio'"),
        ({"nothing": "here"}, "unsupported content part type None"),
        (42, "part must be an object"),
        (None, "part must be an object"),
    ],
)
def test_bad_parts_name_message_and_part(part, problem):
    err = _error([OK, OK, {"role": "user", "content": [{"type": "text", "text": "a"}, part]}])
    assert (err.message_index, err.part_index) == (2, 1)
    assert problem in str(err) and str(err).startswith("message 2, part 1:")


@pytest.mark.parametrize("content", [{"type": "text", "text": "x"}, 42, b"bytes"])
def test_bad_content_container(content):
    err = _error([OK, {"role": "user", "content": content}])
    assert err.message_index == 1 and err.part_index is None
    assert "content must be a string or a list of parts" in str(err)


@pytest.mark.parametrize("role", [None, "", 5, ["user"]])
def test_bad_roles(role):
    err = _error([OK, {"role": role, "content": "x"}])
    assert err.message_index == 1 and "unexpected role" in str(err) and repr(role) in str(err)


@pytest.mark.parametrize("role", ["developer", "robot", "USER"])
def test_other_string_roles_are_left_to_the_family(role):
    """Kimi's template renders any role; the Qwen families refuse the ones their templates drop or reject."""
    assert _one({"role": role, "content": "x"}).role == role


def test_missing_role():
    err = _error([{"content": "x"}])
    assert err.message_index == 0 and "unexpected role None" in str(err)


@pytest.mark.parametrize(
    ("tool_calls", "problem"),
    [
        ("not a list", "tool_calls must be a list"),
        ({"function": {"name": "f"}}, "tool_calls must be a list"),
        (["str"], "tool_calls[0] must be an object"),
        ([{"function": {"name": "f"}}, {"function": {"arguments": {}}}], "tool_calls[1] has no function name"),
        ([{"function": {"name": 5}}], "tool_calls[0] has no function name"),
        ([{"function": "f"}], "tool_calls[0] has no function name"),
    ],
)
def test_bad_tool_calls(tool_calls, problem):
    err = _error([OK, {"role": "assistant", "content": "", "tool_calls": tool_calls}])
    assert err.message_index == 1 and problem in str(err)


def test_bad_reasoning_content():
    err = _error([{"role": "assistant", "content": "x", "reasoning_content": ["a"]}])
    assert err.message_index == 0 and "reasoning_content" in str(err)


@pytest.mark.parametrize("messages", ["hello", {"role": "user"}, b"x", 7])
def test_messages_must_be_a_list(messages):
    err = _error(messages)
    assert "messages must be a list" in str(err) and err.message_index is None


def test_message_must_be_an_object():
    err = _error([OK, "just text"])
    assert err.message_index == 1 and "message must be an object" in str(err)


@pytest.mark.parametrize("tools", ["tool", {"type": "function"}])
def test_tools_must_be_a_list(tools):
    assert "tools must be a list" in str(_error([OK], tools=tools))


def test_conversation_errors_are_value_errors():
    assert isinstance(_error([{"role": 5}]), ValueError)


def test_parts_record_what_templates_test_in_the_raw_form():
    """Bare string parts, declared part types and the keys a part came with are kept beside the normalised part."""
    msg = normalize_message(
        {
            "role": "user",
            "content": [
                "bare",
                {"type": "input_text", "text": "t", "image": None},
                {"type": "input_image", "url": "/x.png"},
                {"image": "/y.png"},
            ],
        },
        0,
    )
    bare, text, url_image, keyed_image = msg.content
    assert bare.bare and not text.bare
    assert (text.declared_type, text.keys) == ("input_text", frozenset({"type", "text", "image"}))
    assert (url_image.declared_type, url_image.keys) == ("input_image", frozenset({"type", "url"}))
    assert (keyed_image.declared_type, keyed_image.keys) == (None, frozenset({"image"}))
    assert bare == TextPart("bare")  # recorded, not compared: normalised parts stay equal


def test_tool_calls_and_reasoning_keys_as_given():
    """Null or missing arguments and ids are told apart (ToolCall holds {} for both); reasoning aliases are kept."""
    msg = normalize_message(
        {
            "role": "assistant",
            "content": "",
            "reasoning_content": "r",
            "reasoning": "alias",
            "tool_calls": [
                {"id": None, "function": {"name": "f", "arguments": None}},
                {"function": {"name": "g"}},
            ],
        },
        0,
    )
    first, second = msg.tool_call_inputs
    assert (first.arguments, first.id) == (None, None)
    assert second.arguments is ABSENT and second.id is ABSENT
    assert [c.arguments for c in msg.tool_calls] == [{}, {}]
    assert msg.reasoning_keys == {"reasoning_content": "r", "reasoning": "alias"}
