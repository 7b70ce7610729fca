"""The Qwen3-VL control tokens, looked up once in the renderer's tokenizer and checked strictly.

Only the five structural tokens are required; the rest of the table is optional (a tokenizer
without them renders those markers as text), and a token that does not tokenize as one clean id
is treated as absent.
"""

from __future__ import annotations

from typing import Any

from mmrender.errors import ConfigError
from mmrender.special_tokens import lookup_special_tokens

FAMILY_NAME = "Qwen3-VL"
#: Ids of the Qwen3-VL vocabulary (``assets/Qwen3-VL-8B-Instruct/tokenizer_config.json``); the rest
#: of the table is optional (a tokenizer without them renders those markers as text).
TOKEN_IDS = {
    "<|endoftext|>": 151643,
    "<|im_start|>": 151644,
    "<|im_end|>": 151645,
    "<|vision_start|>": 151652,
    "<|vision_end|>": 151653,
    "<|image_pad|>": 151655,
    "<|video_pad|>": 151656,
    "<tool_call>": 151657,
    "</tool_call>": 151658,
    "<tool_response>": 151665,
    "</tool_response>": 151666,
    "<think>": 151667,
    "</think>": 151668,
}
REQUIRED = ("<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>")
BASE_VOCAB_SIZE = 151643


def lookup_vocab(tokenizer: Any) -> dict[str, int | None]:
    """Ids of :data:`TOKEN_IDS` in ``tokenizer`` (None for an absent optional one); ConfigError when it is not Qwen3-VL's."""
    optional = [t for t in TOKEN_IDS if t not in REQUIRED]
    return lookup_special_tokens(tokenizer, FAMILY_NAME, TOKEN_IDS, optional=optional, vocab_size=BASE_VOCAB_SIZE)


def drop_unclean(ids: dict[str, int | None], encoder: Any) -> dict[str, int | None]:
    """Optional tokens that do not tokenize as one clean id become None (rendered as text, as the
    tokenizer makes them); a required one is a ConfigError."""
    for token, tid in ids.items():
        if tid is not None and not encoder.splits_cleanly(token, tid):
            if token in REQUIRED:
                raise ConfigError(f"not a {FAMILY_NAME} tokenizer: {token!r} does not tokenize as one clean id")
            ids[token] = None
    return ids
