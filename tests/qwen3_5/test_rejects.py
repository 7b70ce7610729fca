"""Inputs the official template rejects are rejected by mmrender too, with a ConversationError naming the message."""

from __future__ import annotations

from typing import Any

import pytest
from mmrender import ConversationError
from mmrender.errors import ConfigError
from mmrender_qwen3_5.templates import VARIANTS

from .conftest import oracle, renderer

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}


def _call(arguments: Any) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": arguments}}],
    }


# (id, messages, tools, message index mmrender must name (None: conversation-level), words in the error)
REJECTED = [
    ("no_messages", [], None, None, "No messages"),
    ("only_system", [{"role": "system", "content": "s"}], None, None, "No user query"),
    ("only_assistant", [{"role": "assistant", "content": "a"}], None, None, "No user query"),
    (
        "only_tool_wrapper",
        [{"role": "user", "content": "<tool_response>r</tool_response>"}],
        None,
        None,
        "No user query",
    ),
    (
        "system_not_first",
        [{"role": "user", "content": "u"}, {"role": "system", "content": "late"}],
        None,
        1,
        "System message must be at the beginning",
    ),
    (
        "system_image",
        [{"role": "system", "content": [{"type": "image", "image": "IMG"}]}, {"role": "user", "content": "u"}],
        None,
        0,
        "System message cannot contain images",
    ),
    ("string_arguments", [{"role": "user", "content": "u"}, _call('{"a": 1}')], [TOOL], 1, "JSON string"),
    ("null_arguments", [{"role": "user", "content": "u"}, _call(None)], [TOOL], 1, "null"),
    ("list_arguments", [{"role": "user", "content": "u"}, _call([1, 2])], [TOOL], 1, "list"),
    ("plain_string_part", [{"role": "user", "content": ["just a string"]}], None, 0, "Unexpected item type"),
    ("mapping_content", [{"role": "user", "content": {"text": "x"}}], None, 0, "content must be"),
    ("unknown_role", [{"role": "function", "content": "x"}, {"role": "user", "content": "u"}], None, 0, "role"),
    (
        "developer_role",
        [{"role": "developer", "content": "Be terse."}, {"role": "user", "content": "u"}],
        None,
        0,
        "Unexpected message role",
    ),
    (
        "developer_role_later",
        [
            {"role": "user", "content": "u"},
            {"role": "assistant", "content": "a"},
            {"role": "developer", "content": "d"},
        ],
        None,
        2,
        "'developer'",
    ),
]


@pytest.mark.parametrize("variant", ["small", "large"])
@pytest.mark.parametrize(("name", "messages", "tools", "index", "words"), REJECTED, ids=[r[0] for r in REJECTED])
def test_template_rejects_so_do_we(
    name: str,
    messages: list[Any],
    tools: Any,
    index: int | None,
    words: str,
    variant: str,
    tok: Any,
    images: dict[str, str],
) -> None:
    messages = [
        {**m, "content": [{"type": "image", "image": images["tiny"]}]}
        if m.get("content") == [{"type": "image", "image": "IMG"}]
        else m
        for m in messages
    ]
    with pytest.raises(Exception):  # noqa: B017 - the template raises TemplateError or TypeError
        oracle(tok, variant, messages, tools=tools)
    with pytest.raises(ConversationError) as err:
        renderer(variant).render(messages, tools=tools)
    assert err.value.message_index == index
    assert words in str(err.value)
    if index is not None:
        assert f"message {index}" in str(err.value)


@pytest.mark.parametrize(
    "content",
    [
        [{"type": "text", "text": "<think>see "}, "IMG", {"type": "text", "text": "</think>answer"}],
        [{"type": "text", "text": "a</think>"}, "IMG", {"type": "text", "text": "</think>answer"}],
    ],
    ids=["reasoning_of_earlier_turn", "between_two_think_ends"],
)
def test_assistant_image_the_template_drops_is_refused(content: list[Any], tok: Any, images: dict[str, str]) -> None:
    """The template counts the image but drops it with the reasoning; mmrender refuses, naming the part."""
    image = {"type": "image", "image": images["tiny"]}
    content = [image if part == "IMG" else part for part in content]
    messages = [
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": content},
        {"role": "user", "content": "next"},
    ]
    if "between" in str(content):  # dropped even in a turn that shows its think block
        messages = messages[:2]
    text = tok.apply_chat_template(messages, tokenize=False, chat_template=VARIANTS["large"].text())
    assert "<|image_pad|>" not in text  # the oracle really drops it
    with pytest.raises(ConversationError, match="drops it") as err:
        renderer("large").render(messages)
    assert (err.value.message_index, err.value.part_index) == (1, 1)


def test_literal_image_pad_text_is_refused() -> None:
    """With special_tokens_in_text="control", a literal <|image_pad|> in text would be a placeholder without an
    image (the processor refuses it too)."""
    with pytest.raises(ConversationError, match=r"<\|image_pad\|>") as err:
        renderer("large", special_tokens_in_text="control").render(
            [{"role": "system", "content": "s"}, {"role": "user", "content": "see <|image_pad|>"}]
        )
    assert err.value.message_index == 1


def test_video_in_system_message_is_refused() -> None:
    """The template raises 'System message cannot contain videos.'; so does the renderer, before reading it."""
    video = {"type": "video", "video": "v.mp4"}
    with pytest.raises(ConversationError, match="System message cannot contain videos"):
        renderer("large").render([{"role": "system", "content": [video]}, {"role": "user", "content": "hi"}])


def test_unreadable_video_names_message_and_part(tmp_path: Any) -> None:
    content = [{"type": "text", "text": "x"}, {"type": "video", "video": str(tmp_path / "nope.mp4")}]
    with pytest.raises(ConversationError, match="video file not found") as err:
        renderer("large").render([{"role": "user", "content": content}])
    assert (err.value.message_index, err.value.part_index) == (0, 1)


def test_unreadable_image_names_message_and_part(tmp_path: Any) -> None:
    with pytest.raises(ConversationError) as err:
        renderer("large").render(
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "x"}, {"type": "image", "image": str(tmp_path / "nope.png")}],
                }
            ]
        )
    assert (err.value.message_index, err.value.part_index) == (0, 1)


def test_unknown_template_kwarg_is_refused() -> None:
    with pytest.raises(ConfigError, match="enable_thinkin"):
        renderer("large").render([{"role": "user", "content": "u"}], enable_thinkin=False)


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_image", "url": None},
        {"type": "input_image", "path": None},
        {"type": "input_image", "url": None, "text": "t"},
    ],
    ids=["input_image_url", "input_image_path", "input_image_with_text"],
)
def test_image_parts_the_template_does_not_see_as_images_are_refused(
    part: dict[str, Any], tok: Any, images: dict[str, str]
) -> None:
    """mmrender's normaliser reads these as images; the template's image test does not match them."""
    key = "url" if "url" in part else "path"
    messages = [{"role": "user", "content": [{"type": "text", "text": "look"}, {**part, key: images["tiny"]}]}]
    try:
        text = oracle(tok, "large", messages)
    except Exception:  # the template raises "Unexpected item type in content."
        text = None
    assert text is None or "<|image_pad|>" not in text  # never an image to the template
    with pytest.raises(ConversationError, match="Unexpected item type") as err:
        renderer("large").render(messages)
    assert (err.value.message_index, err.value.part_index) == (0, 1)
