"""The tokenizer is built the way transformers' Qwen3.5 tokenizer builds it, and the split regex matters."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from mmrender.errors import ConfigError
from mmrender_qwen3_5.templates import ASSETS
from mmrender_qwen3_5.tokenizer import (
    check_pretokenizer,
    load_tokenizer_dir,
    pretokenizer_regex,
)
from mmrender_qwen3_5.vocab import SPECIAL_TOKENS, special_token_ids
from transformers import AutoTokenizer

DATA = Path(__file__).parent / "data"
# Devanagari and Thai combining marks: Qwen3.5's regex keeps \p{M} inside words, Qwen2's splits them off.
MIXED = "Hindi क्षत्रिय नमस्ते and Thai สวัสดีครับ, café 中文"


def test_transformers_integration_vector(tok: Any) -> None:
    vector = json.loads((DATA / "integration_vector.transformers-test.json").read_text(encoding="utf-8"))
    assert tok.encode(vector["text"], add_special_tokens=False) == vector["input_ids"]


def test_split_regex_is_the_configs(tok: Any) -> None:
    config = json.loads((ASSETS / "Qwen3.5-0.8B" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert pretokenizer_regex(tok) == config["pretokenize_regex"]
    assert r"\p{M}" in config["pretokenize_regex"]


@pytest.fixture(scope="module")
def config_only_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The official tokenizer files in a folder without config.json (the documented trap)."""
    root = tmp_path_factory.mktemp("tokdir")
    shutil.copy(ASSETS / "vocab.json", root / "vocab.json")
    shutil.copy(ASSETS / "merges.DERIVED.txt", root / "merges.txt")
    shutil.copy(ASSETS / "Qwen3.5-0.8B" / "tokenizer_config.json", root / "tokenizer_config.json")
    return root


def test_regex_matters_qwen2_vs_qwen35(tok: Any, config_only_dir: Path) -> None:
    """AutoTokenizer gives a Qwen2 tokenizer here; its ids for a mixed-script string differ from ours."""
    qwen2 = AutoTokenizer.from_pretrained(str(config_only_dir))
    assert type(qwen2).__name__ == "Qwen2Tokenizer"
    assert pretokenizer_regex(qwen2) != pretokenizer_regex(tok)
    ours, theirs = tok.encode(MIXED, add_special_tokens=False), qwen2.encode(MIXED, add_special_tokens=False)
    assert ours != theirs
    assert tok.decode(ours) == qwen2.decode(theirs) == MIXED
    # ...and the guard refuses that tokenizer instead of rendering with it.
    with pytest.raises(ConfigError, match="Qwen2Tokenizer"):
        check_pretokenizer(qwen2, pretokenizer_regex(tok))


def test_regex_pieces_keep_marks_in_words(tok: Any) -> None:
    """The pre-tokenizer itself: Qwen3.5 keeps क्षत्रिय as one word piece."""
    pieces = [p for p, _ in tok.backend_tokenizer.pre_tokenizer.pre_tokenize_str("क्षत्रिय")]
    assert len(pieces) == 1


@pytest.mark.parametrize("form", ["vocab_merges", "tokenizer_json"])
def test_local_tokenizer_dir_loads_as_qwen35(form: str, tok: Any, config_only_dir: Path, tmp_path: Path) -> None:
    if form == "tokenizer_json":
        shutil.copy(config_only_dir / "tokenizer_config.json", tmp_path / "tokenizer_config.json")
        tok.backend_tokenizer.save(str(tmp_path / "tokenizer.json"))
        directory = tmp_path
    else:
        directory = config_only_dir
    loaded = load_tokenizer_dir(directory)
    assert type(loaded).__name__ == "Qwen3_5Tokenizer"
    assert loaded.encode(MIXED, add_special_tokens=False) == tok.encode(MIXED, add_special_tokens=False)


@pytest.mark.parametrize("asset_dir", ["Qwen3.5-0.8B", "Qwen3.5-9B"])
def test_special_token_ids_match_added_tokens_decoder(asset_dir: str, tok: Any) -> None:
    config = json.loads((ASSETS / asset_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    decoder = {spec["content"]: int(idx) for idx, spec in config["added_tokens_decoder"].items()}
    assert len(decoder) == 33
    ids = special_token_ids(tok)
    assert set(ids) == set(SPECIAL_TOKENS)
    for token, tid in ids.items():
        assert decoder[token] == tid
    for content, tid in decoder.items():
        assert tok.convert_tokens_to_ids(content) == tid
        assert tok.encode(content, add_special_tokens=False) == [tid]
    special = {
        content for content, _ in decoder.items() if config["added_tokens_decoder"][str(decoder[content])]["special"]
    }
    assert set(tok.all_special_tokens) <= special | {tok.pad_token, tok.eos_token}


def test_tokenizer_configs_differ_only_in_template() -> None:
    small = json.loads((ASSETS / "Qwen3.5-0.8B" / "tokenizer_config.json").read_text(encoding="utf-8"))
    large = json.loads((ASSETS / "Qwen3.5-9B" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert small.pop("chat_template") != large.pop("chat_template")
    assert small == large
