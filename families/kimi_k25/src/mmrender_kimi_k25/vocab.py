"""The Kimi K2.5 / K2.6 control tokens, looked up once in the renderer's tokenizer and checked strictly."""

from __future__ import annotations

from typing import Any

from mmrender.errors import ConfigError
from mmrender.special_tokens import lookup_special_tokens

#: Ids of the Kimi K2.5 / K2.6 vocabulary (``assets/tokenizer_config.json`` ``added_tokens_decoder``).
TOKEN_IDS = {
    "<|im_end|>": 163586,
    "<|im_user|>": 163587,
    "<|im_assistant|>": 163588,
    "<|im_system|>": 163594,
    "<|tool_calls_section_begin|>": 163595,
    "<|tool_calls_section_end|>": 163596,
    "<|tool_call_begin|>": 163597,
    "<|tool_call_argument_begin|>": 163598,
    "<|tool_call_end|>": 163599,
    "<|im_middle|>": 163601,
    "<|media_begin|>": 163602,
    "<|media_content|>": 163603,
    "<|media_end|>": 163604,
    "<|media_pad|>": 163605,
    "<think>": 163606,
    "</think>": 163607,
}


def checked_vocab(tokenizer: Any) -> dict[str, int]:
    """The structural ids, after checking ``tokenizer`` is a Kimi tokenizer (ConfigError otherwise)."""
    ids = lookup_special_tokens(tokenizer, "Kimi K2.5", TOKEN_IDS)
    missing = [
        name for name in ("encode", "encode_many", "encode_offsets") if not callable(getattr(tokenizer, name, None))
    ]
    if missing:
        raise ConfigError(
            f"not a Kimi K2.5 tokenizer: {type(tokenizer).__name__} has no {', '.join(missing)} "
            "(pass mmrender_kimi_k25.tokenizer.KimiTokenizer or a tokenizer directory)"
        )
    return {token: tid for token, tid in ids.items() if tid is not None}
