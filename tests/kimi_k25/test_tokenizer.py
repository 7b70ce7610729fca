"""KimiTokenizer against independent loads of the same official vocabulary.

Oracles (the package code is not used to build either):
* ``hf`` — a Hugging Face ``tokenizers`` BPE model converted from ``tiktoken.model`` by
  transformers' own ``TikTokenConverter`` with Moonshot's pre-tokenisation regex: a different
  BPE engine (Rust ``tokenizers``) and a different regex engine (Oniguruma instead of
  fancy-regex). transformers cannot load Kimi's tokenizer itself offline (it needs Moonshot's
  remote ``tokenization_kimi.py``), so this is the closest transformers-side oracle.
* ``tiktoken_oracle`` — a plain ``tiktoken.Encoding`` built here from the file and the regex.
The regex literal below is ``TikTokenTokenizer.pat_str`` of Moonshot's tokenization_kimi.py
(identical in the K2 and K2.6 copies of that file); ids of named tokens come from the official
``tokenizer_config.json``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import tiktoken
from mmrender_kimi_k25.tokenizer import (
    DEFAULT_TOKENIZER_CONFIG,
    DEFAULT_VOCAB_FILE,
    MAX_RUN_CHARS,
    PAT_STR,
    KimiTokenizer,
    default_tokenizer,
)
from tiktoken.load import load_tiktoken_bpe
from tokenizers import Tokenizer
from transformers.convert_slow_tokenizer import TikTokenConverter

MOONSHOT_PAT_STR = "|".join(
    [
        r"""[\p{Han}]+""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
CONFIG = json.loads(Path(DEFAULT_TOKENIZER_CONFIG).read_text(encoding="utf-8"))
NAMED = {entry["content"]: int(i) for i, entry in CONFIG["added_tokens_decoder"].items()}
RESERVED = [f"<|reserved_token_{i}|>" for i in range(163584, 163840) if i not in NAMED.values()]


@pytest.fixture(scope="module")
def tok() -> KimiTokenizer:
    return default_tokenizer()


@pytest.fixture(scope="module")
def tiktoken_oracle() -> tiktoken.Encoding:
    ranks = load_tiktoken_bpe(str(DEFAULT_VOCAB_FILE))
    specials = {**NAMED, **{r: int(r[17:-2]) for r in RESERVED}}
    return tiktoken.Encoding("kimi-oracle", pat_str=MOONSHOT_PAT_STR, mergeable_ranks=ranks, special_tokens=specials)


@pytest.fixture(scope="module")
def hf() -> Tokenizer:
    names = sorted({**NAMED, **{r: int(r[17:-2]) for r in RESERVED}}.items(), key=lambda kv: kv[1])
    converted = TikTokenConverter(vocab_file=str(DEFAULT_VOCAB_FILE), pattern=MOONSHOT_PAT_STR).converted()
    converted.add_special_tokens([name for name, _ in names])  # appended after the 163,584 base ids
    assert [converted.token_to_id(name) for name, _ in names] == [i for _, i in names]
    return converted


POOLS = {
    "ascii": "the quick brown fox jumps over lazy dogs I'm you're WE'LL can't HTTPServer camelCase snake_case",
    "code": "def f(x):\n\treturn {'a': [1, 2]} if x else None  # ok\n    for i in range(10): print(i**2)\r\n",
    "cjk": "你好世界，今天天气很好。日本語のテキストとカタカナ、한국어 문장입니다「引用」",
    "emoji": "😀👍🏽👨‍👩‍👧‍👦🇺🇸❤️‍🔥✨🧪",
    "space": " \t\n\r\u00a0\u3000\u2009\u200b  \n\n\t\t",
    "digits": "0123456789 3.14159 1e-7 -42 1,000,000 ٣٤٥ ⅷ",
    "punct": "!?.,;:'\"()[]{}<>@#$%^&*-_=+|\\/~`…—–«»„“”",
    "scripts": "Ελληνικά Русский текст עברית العربية हिन्दी ไทย café naïve Ångström ǅ e\u0301",
    "special": "<|im_end|><|im_user|>[EOS]<think></think><|media_pad|><|tool_call_begin|><|reserved_token_163589|>",
}


def _random_strings(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pools = list(POOLS.values())
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            pool = rng.choice(pools)
            start = rng.randrange(len(pool))
            parts.append(pool[start : start + rng.randint(1, 40)])
            if rng.random() < 0.15:
                parts.append(rng.choice([" ", "\n", "\t", "0", "a", "中"]) * rng.randint(2, 70))
        out.append("".join(parts))
    return out


MIXED = [*POOLS.values(), "", " ", "\n", *_random_strings(340, seed=20251126)]


def test_regex_is_moonshots() -> None:
    assert PAT_STR == MOONSHOT_PAT_STR


def test_layout_of_ids(tok: KimiTokenizer) -> None:
    assert tok.num_base_tokens == 163584
    assert tok.vocab_size == 163840
    assert len(tok.special_tokens) == 256
    assert sorted(tok.special_tokens.values()) == list(range(163584, 163840))
    assert (tok.bos_token_id, tok.eos_token_id) == (NAMED["[BOS]"], NAMED["[EOS]"])
    assert (tok.pad_token_id, tok.unk_token_id) == (NAMED["[PAD]"], NAMED["[UNK]"])


@pytest.mark.parametrize("name", sorted(NAMED))
def test_every_named_token_id(tok: KimiTokenizer, name: str) -> None:
    assert tok.special_tokens[name] == NAMED[name]
    assert tok.convert_tokens_to_ids(name) == NAMED[name]
    assert tok.convert_ids_to_tokens(NAMED[name]) == name
    assert tok.encode(name, allow_special=True) == [NAMED[name]]
    assert tok.decode([NAMED[name]]) == name


def test_unnamed_reserved_tokens(tok: KimiTokenizer) -> None:
    assert len(RESERVED) == 256 - len(NAMED)
    assert tok.convert_tokens_to_ids(RESERVED) == [int(r[17:-2]) for r in RESERVED]


def test_plain_text_never_yields_special_ids(tok: KimiTokenizer) -> None:
    for text in MIXED:
        ids = tok.encode(text)
        assert not set(ids) & tok.special_token_ids, text
    assert tok.encode("<|im_end|>") == [27, 91, 348, 11129, 91, 29]


def test_mixed_strings_match_both_oracles(
    tok: KimiTokenizer, hf: Tokenizer, tiktoken_oracle: tiktoken.Encoding
) -> None:
    assert len(MIXED) >= 300
    hf_ids = [e.ids for e in hf.encode_batch(MIXED, add_special_tokens=False)]
    for text, expected in zip(MIXED, hf_ids, strict=True):
        ids = tok.encode(text, allow_special=True)
        assert ids == expected, text
        assert ids == tiktoken_oracle.encode(text, allowed_special="all"), text
        plain = tok.encode(text)
        assert plain == tiktoken_oracle.encode_ordinary(text), text


def test_round_trip(tok: KimiTokenizer) -> None:
    for text in MIXED:
        assert tok.decode(tok.encode(text)) == text
        assert tok.decode(tok.encode(text, allow_special=True)) == text


def test_token_strings_match_hf_byte_level_form(tok: KimiTokenizer, hf: Tokenizer) -> None:
    rng = random.Random(7)
    sample = [0, 1, 255, 163583, *rng.sample(range(163584), 2000)]
    assert tok.convert_ids_to_tokens(sample) == [hf.id_to_token(i) for i in sample]
    assert tok.convert_tokens_to_ids([hf.id_to_token(i) for i in sample]) == sample


def test_unknown_tokens_raise(tok: KimiTokenizer) -> None:
    with pytest.raises(KeyError):
        tok.convert_tokens_to_ids("<|not_a_token|>")
    with pytest.raises(KeyError):
        tok.convert_ids_to_tokens(163840)


def test_long_runs_are_cut_like_moonshot(tok: KimiTokenizer, tiktoken_oracle: tiktoken.Encoding) -> None:
    """Moonshot cuts every run longer than 25,000 chars at 25,000-char steps before BPE."""
    enc = tiktoken_oracle.encode_ordinary
    run = "xyz" * 20_000
    assert tok.encode(run) == enc(run[:25_000]) + enc(run[25_000:50_000]) + enc(run[50_000:])
    assert tok.encode(run) != enc(run), "the cut must change the ids, or this test proves nothing"
    mixed = "x" + " " * 30_000 + "yz"
    assert tok.encode(mixed) == enc("x" + " " * 25_000) + enc(" " * 5_000 + "yz") != enc(mixed)
    exactly = "b" * MAX_RUN_CHARS + " " + "c" * MAX_RUN_CHARS
    assert tok.encode(exactly) == enc(exactly)


def test_400k_windows(tok: KimiTokenizer, tiktoken_oracle: tiktoken.Encoding) -> None:
    """Texts are also cut every 400,000 chars, even mid-word, and run counts restart per window."""
    enc = tiktoken_oracle.encode_ordinary
    unit = "abcdefghij "  # 400,000 falls inside a word
    text = unit * (450_000 // len(unit) + 1)
    assert tok.encode(text) == enc(text[:400_000]) + enc(text[400_000:])
    assert tok.encode(text) != enc(text)
