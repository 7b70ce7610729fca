"""A renderer refuses a tokenizer of another family (or a raw ``tokenizers.Tokenizer``) with a ConfigError.

Real bundled tokenizers of every family, crossed against every family's renderer: only the family's
own is accepted; the others fail when the renderer is built, naming the family and what differs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import mmrender
import pytest
from mmrender import ConfigError
from mmrender.plugins import reset

MODELS = {"qwen3_vl": "Qwen/Qwen3-VL-8B-Instruct", "qwen3_5": "Qwen/Qwen3.5-9B", "kimi_k25": "moonshotai/Kimi-K2.6"}
NAMES = {"qwen3_vl": "Qwen3-VL", "qwen3_5": "Qwen3.5", "kimi_k25": "Kimi K2.5"}
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello, ünïcode and 漢字?"}]


@pytest.fixture(scope="module", autouse=True)
def _all_families() -> Iterator[None]:
    reset()
    yield
    reset()


@pytest.fixture(scope="module")
def tokenizers() -> dict[str, Any]:
    from mmrender_kimi_k25.tokenizer import default_tokenizer
    from mmrender_qwen3_5.tokenizer import bundled_tokenizer
    from mmrender_qwen3_vl.tokenizer import load_tokenizer

    return {"qwen3_vl": load_tokenizer(None), "qwen3_5": bundled_tokenizer("large"), "kimi_k25": default_tokenizer()}


@pytest.mark.parametrize("tokenizer_family", sorted(MODELS))
@pytest.mark.parametrize("family", sorted(MODELS))
def test_only_the_familys_own_tokenizer_is_accepted(family: str, tokenizer_family: str, tokenizers: dict) -> None:
    tok = tokenizers[tokenizer_family]
    if family == tokenizer_family:
        given = mmrender.get_renderer(MODELS[family], tokenizer=tok, store="data:")
        default = mmrender.get_renderer(MODELS[family], store="data:")
        assert given.render(MESSAGES).token_ids == default.render(MESSAGES).token_ids
        return
    with pytest.raises(ConfigError, match=f"not a {NAMES[family]} tokenizer"):
        mmrender.get_renderer(MODELS[family], tokenizer=tok, store="data:")


def test_the_error_names_expected_and_found_ids(tokenizers: dict) -> None:
    """Qwen3.5's vocabulary has every Qwen3-VL control token, at other ids: the message says which."""
    with pytest.raises(ConfigError) as info:
        mmrender.get_renderer(MODELS["qwen3_vl"], tokenizer=tokenizers["qwen3_5"], store="data:")
    found = re.search(r"its '(.+?)' is id (\d+), the Qwen3-VL vocabulary has it at (\d+)", str(info.value))
    assert found is not None, info.value
    token, theirs, ours = found.group(1), int(found.group(2)), int(found.group(3))
    assert theirs == tokenizers["qwen3_5"].get_added_vocab()[token]
    assert ours == tokenizers["qwen3_vl"].get_added_vocab()[token]


@pytest.mark.parametrize("family", sorted(MODELS))
def test_a_raw_tokenizers_tokenizer_is_refused(family: str, tokenizers: dict) -> None:
    raw = tokenizers["qwen3_vl"].backend_tokenizer  # the right vocabulary for Qwen3-VL, but not a tokenizer object
    with pytest.raises(ConfigError, match=f"not a {NAMES[family]} tokenizer.*PreTrainedTokenizerFast"):
        mmrender.get_renderer(MODELS[family], tokenizer=raw, store="data:")


def test_qwen35_tokenizer_whose_unk_token_is_endoftext_is_accepted() -> None:
    """A tokenizer_config without ``"unk_token": null`` makes ``<|endoftext|>`` the unk token; it is still
    Qwen3.5's tokenizer (``convert_tokens_to_ids`` returning the unk id is no proof of absence)."""
    from mmrender_qwen3_5.tokenizer import MERGES_FILE, TOKENIZER_CONFIG, VOCAB_FILE, build_tokenizer, read_merges

    config = json.loads(TOKENIZER_CONFIG.read_text(encoding="utf-8"))
    config["unk_token"] = "<|endoftext|>"
    vocab = json.loads(VOCAB_FILE.read_text(encoding="utf-8"))
    tok = build_tokenizer(vocab, read_merges(MERGES_FILE), config)
    assert tok.unk_token_id == tok.convert_tokens_to_ids("<|endoftext|>")
    given = mmrender.get_renderer(MODELS["qwen3_5"], tokenizer=tok, store="data:")
    default = mmrender.get_renderer(MODELS["qwen3_5"], store="data:")
    assert given.render(MESSAGES).token_ids == default.render(MESSAGES).token_ids


def test_qwen3_vl_tokenizer_whose_unk_token_is_endoftext_is_accepted() -> None:
    from mmrender_qwen3_vl.tokenizer import BUNDLED_TOKENIZER
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(BUNDLED_TOKENIZER), unk_token="<|endoftext|>", local_files_only=True)
    assert tok.unk_token_id == tok.convert_tokens_to_ids("<|endoftext|>")
    given = mmrender.get_renderer(MODELS["qwen3_vl"], tokenizer=tok, store="data:")
    assert given.endoftext == tok.unk_token_id
    default = mmrender.get_renderer(MODELS["qwen3_vl"], store="data:")
    assert given.render(MESSAGES).token_ids == default.render(MESSAGES).token_ids
