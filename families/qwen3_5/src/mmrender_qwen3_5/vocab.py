"""The Qwen3.5 control tokens with their ids, looked up once in the renderer's tokenizer and checked strictly."""

from __future__ import annotations

from typing import Any

from mmrender.special_tokens import lookup_special_tokens

#: Every control token the renderer and parser use, with its id in the Qwen3.5 vocabulary
#: (``assets/Qwen3.5-0.8B/tokenizer_config.json`` ``added_tokens_decoder``).
TOKEN_IDS = {
    "<|endoftext|>": 248044,
    "<|im_start|>": 248045,
    "<|im_end|>": 248046,
    "<|vision_start|>": 248053,
    "<|vision_end|>": 248054,
    "<|image_pad|>": 248056,
    "<|video_pad|>": 248057,
    "<tool_call>": 248058,
    "</tool_call>": 248059,
    "<tool_response>": 248066,
    "</tool_response>": 248067,
    "<think>": 248068,
    "</think>": 248069,
}
SPECIAL_TOKENS = tuple(TOKEN_IDS)
#: Size of the byte-level BPE vocabulary, added tokens excluded (``vocab.json``).
BASE_VOCAB_SIZE = 248044


def special_token_ids(tok: Any) -> dict[str, int]:
    """Look every control token up in ``tok``'s vocabulary; a missing or misplaced one is a configuration error."""
    ids = lookup_special_tokens(tok, "Qwen3.5", TOKEN_IDS, vocab_size=BASE_VOCAB_SIZE)
    return {token: tid for token, tid in ids.items() if tid is not None}
