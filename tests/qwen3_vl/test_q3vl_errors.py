"""Inputs the template rejects, or would silently mangle, are ConversationErrors naming message and part."""

from __future__ import annotations

import pytest
from mmrender import ConversationError, ImageSourceError

from .corpus import call, img, txt


def _raises(renderer, messages, match, *, message_index=None, part_index=None, **kwargs):
    with pytest.raises(ConversationError, match=match) as info:
        renderer.render(messages, **kwargs)
    assert info.value.message_index == message_index
    assert info.value.part_index == part_index
    return info.value


def test_empty_conversation(make_renderer, oracle_tokenizer):
    with pytest.raises(ValueError):  # the oracle refuses it too
        oracle_tokenizer.apply_chat_template([], tokenize=False)
    _raises(make_renderer(), [], "empty conversation")


def test_tool_call_without_arguments(make_renderer, oracle_tokenizer):
    messages = [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f"}}]},
    ]
    with pytest.raises(TypeError):  # the template's tojson fails on Undefined
        oracle_tokenizer.apply_chat_template(messages, tokenize=False)
    _raises(make_renderer(), messages, "no 'arguments'", message_index=1)


def test_images_where_the_template_drops_them(make_renderer, sources, oracle_tokenizer):
    r = make_renderer()
    system = [{"role": "system", "content": [txt("sys"), img(sources.path("gif"))]}, {"role": "user", "content": "hi"}]
    assert "vision" not in oracle_tokenizer.apply_chat_template(system, tokenize=False)  # silently dropped
    _raises(r, system, "system messages", message_index=0, part_index=1)
    assistant = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [img(sources.path("gif"))]}]
    _raises(r, assistant, "assistant messages", message_index=1, part_index=0)


def test_late_system_message(make_renderer, oracle_tokenizer):
    messages = [{"role": "user", "content": "hi"}, {"role": "system", "content": "late"}]
    assert "late" not in oracle_tokenizer.apply_chat_template(messages, tokenize=False)  # silently dropped
    _raises(make_renderer(), messages, "system message after the first position", message_index=1)


@pytest.mark.parametrize("position", [0, 1, 2])
@pytest.mark.parametrize("thinking", [False, True], ids=["instruct", "thinking"])
def test_developer_role_is_refused_where_the_template_drops_it(
    position, thinking, make_renderer, oracle_tokenizer, thinking_template
):
    """Neither Qwen3-VL template writes a 'developer' (or any other unknown-role) message; mmrender refuses it."""
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    messages.insert(position, {"role": "developer", "content": "SECRET RULES"})
    kwargs = {"chat_template": thinking_template} if thinking else {}
    text = oracle_tokenizer.apply_chat_template(messages, tokenize=False, **kwargs)
    assert "SECRET" not in text and "developer" not in text  # silently dropped
    model = "Qwen/Qwen3-VL-8B-Thinking" if thinking else "Qwen/Qwen3-VL-8B-Instruct"
    error = _raises(make_renderer(model), messages, "role 'developer'.*silently drops", message_index=position)
    assert "Thinking" in str(error) if thinking else "Instruct" in str(error)


def test_parts_the_template_reads_differently(make_renderer, sources, oracle_tokenizer):
    r = make_renderer()
    bare = [{"role": "user", "content": ["plain string part", txt("typed")]}]
    assert "plain string" not in oracle_tokenizer.apply_chat_template(bare, tokenize=False)
    _raises(r, bare, "bare string", message_index=0, part_index=0)
    null_image = [{"role": "user", "content": [{"type": "text", "text": "hi", "image": None}]}]
    assert "<|image_pad|>" in oracle_tokenizer.apply_chat_template(null_image, tokenize=False)
    _raises(r, null_image, "vision placeholder", message_index=0, part_index=0)
    for part in (
        {"type": "input_image", "url": sources.path("gif")},
        {"type": "input_image", "path": sources.path("gif")},
    ):
        unseen = [{"role": "user", "content": [txt("look"), part]}]
        assert "vision" not in oracle_tokenizer.apply_chat_template(unseen, tokenize=False)  # silently dropped
        _raises(r, unseen, "does not see it", message_index=0, part_index=1)


def test_placeholder_token_in_text(make_renderer):
    """Only with special_tokens_in_text="control" does the spelling become a placeholder id (with no image)."""
    messages = [{"role": "user", "content": "hi"}, {"role": "user", "content": "sneaky <|image_pad|> here"}]
    _raises(make_renderer(special_tokens_in_text="control"), messages, "placeholder token", message_index=1)


def test_unserialisable_tool_and_arguments(make_renderer):
    r = make_renderer()
    _raises(r, [{"role": "user", "content": "x"}], "tool definition", tools=[{"f": object()}])
    messages = [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": "", "tool_calls": [call("f", {"a": {1, 2}})]},
    ]
    _raises(r, messages, "tool call arguments", message_index=1)


def test_bad_image_names_message_and_part(make_renderer, tmp_path):
    r = make_renderer()
    missing = [
        {"role": "user", "content": "ok"},
        {"role": "tool", "content": [txt("x"), img(str(tmp_path / "nope.png"))]},
    ]
    err = _raises(r, missing, "not found", message_index=1, part_index=1)
    assert isinstance(err, ImageSourceError)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    _raises(r, [{"role": "user", "content": [img(str(bad))]}], "not a recognised image", message_index=0, part_index=0)


def test_aspect_ratio_the_layout_refuses_names_message_and_part(make_renderer, tmp_path):
    """transformers' smart_resize refuses ratios over 200; the error must say which image it was."""
    import io

    from mmrender import ImageSourceError
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (402, 2), "white").save(buf, format="PNG")
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image", "image": buf.getvalue()}]},
    ]
    err = _raises(make_renderer(), messages, "aspect ratio", message_index=1, part_index=1)
    assert isinstance(err, ImageSourceError)
