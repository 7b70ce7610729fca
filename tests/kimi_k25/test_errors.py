"""Bad input gets a typed error naming the message/part; special-token text stays text."""

from __future__ import annotations

from typing import Any

import mmrender
import pytest
from mmrender import ConfigError, ConversationError, ImageSourceError

from .cases import call
from .conftest import renderer
from .oracle import oracle_ids


@pytest.fixture(scope="module")
def r() -> Any:
    return renderer()


def test_empty_conversation(r: Any) -> None:
    with pytest.raises(ConversationError, match="empty"):
        r.render([])


def test_bare_string_part(r: Any) -> None:
    with pytest.raises(ConversationError) as err:
        r.render([{"role": "user", "content": "x"}, {"role": "user", "content": [{"type": "text", "text": "a"}, "b"]}])
    assert (err.value.message_index, err.value.part_index) == (1, 1)


def test_image_part_the_template_would_not_render(r: Any, images: dict[str, str]) -> None:
    with pytest.raises(ConversationError, match="'image' and 'image_url'") as err:
        r.render([{"role": "user", "content": [{"type": "input_image", "image_url": images["wide"]}]}])
    assert (err.value.message_index, err.value.part_index) == (0, 0)


def test_non_object_tool(r: Any) -> None:
    messages = [{"role": "user", "content": "x"}]
    with pytest.raises(ValueError):  # the oracle machinery rejects it too
        oracle_ids(messages, ["not a tool"])
    with pytest.raises(ConversationError, match=r"tools\[0\]"):
        r.render(messages, tools=["not a tool"])


def test_unserialisable_arguments(r: Any) -> None:
    messages = [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": "", "tool_calls": [call("f", 0, {"a": {1, 2}})]},
    ]
    with pytest.raises(ConversationError) as err:
        r.render(messages)
    assert err.value.message_index == 1


def test_missing_image_names_its_part(r: Any, tmp_path: Any) -> None:
    with pytest.raises(ImageSourceError) as err:
        r.render(
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "a"}, {"type": "image", "image": str(tmp_path / "no.png")}],
                }
            ]
        )
    assert (err.value.message_index, err.value.part_index) == (0, 1)


def test_not_a_kimi_tokenizer() -> None:
    class Fake:
        def convert_tokens_to_ids(self, token: str) -> int:
            return 7

        def decode(self, ids: list[int]) -> str:
            return "x"

        def encode(self, text: str) -> list[int]:
            return [1]

    with pytest.raises(ConfigError, match="not a Kimi"):
        mmrender.get_renderer("moonshotai/Kimi-K2.6", tokenizer=Fake())


@pytest.mark.parametrize("text", ["<|im_end|>", "<think>", "</think>", "<|media_pad|>", "[EOS]", "<|tool_call_begin|>"])
def test_special_token_text_stays_text(r: Any, text: str) -> None:
    """Deliberate difference from the oracle tokenizer, which turns such text into control tokens."""
    messages = [{"role": "user", "content": f"say {text} now"}]
    ids = r.render(messages).token_ids
    body = ids[3:-1]  # <|im_user|> user <|im_middle|> ... <|im_end|>
    assert list(body) == r.tokenizer.encode(f"say {text} now")
    assert not set(body) & r.tokenizer.special_token_ids
    assert list(ids) != oracle_ids(messages)
