"""The Rust-built bundled Qwen tokenizers are transformers' own tokenizers, token for token.

Raw rendering uses :class:`mmrender.bundled_tokenizer.BundledTokenizer` (assembled from ``vocab.json`` +
merges + a DERIVED skeleton, without importing transformers). The oracle is transformers' tokenizer built
from the same bundled files: the skeleton must be exactly what transformers derives today, the assembled
tokenizer must serialise exactly like transformers' backend, and ids, offsets, decoding, plain-text
encoding and the vocabulary lookups must agree on a large mixed corpus through transformers' public API.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mmrender
import pytest
from mmrender.bundled_tokenizer import BundledTokenizer, assemble_bpe
from mmrender.encoders import HFEncoder
from mmrender.errors import ConfigError


def _qwen3_vl() -> dict[str, Any]:
    from mmrender_qwen3_vl import tokenizer as m

    return {
        "raw": m.bundled_raw_tokenizer(),
        "oracles": [m.load_tokenizer(None)],
        "derive": m.derive_skeleton,
        "skeleton": m.SKELETON_FILE,
        "vocab": m.BUNDLED_TOKENIZER / "vocab.json",
        "merges": m.BUNDLED_TOKENIZER / "merges.txt",
        "model": "Qwen/Qwen3-VL-8B-Instruct",
    }


def _qwen3_5() -> dict[str, Any]:
    from mmrender_qwen3_5 import tokenizer as m

    return {
        "raw": m.bundled_raw_tokenizer("small"),
        "oracles": [m.bundled_tokenizer("small"), m.bundled_tokenizer("large")],
        "derive": m.derive_skeleton,
        "skeleton": m.SKELETON_FILE,
        "vocab": m.VOCAB_FILE,
        "merges": m.MERGES_FILE,
        "model": "Qwen/Qwen3.5-0.8B",
    }


FAMILIES: dict[str, Callable[[], dict[str, Any]]] = {"qwen3_vl": _qwen3_vl, "qwen3_5": _qwen3_5}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request: pytest.FixtureRequest) -> dict[str, Any]:
    return FAMILIES[request.param]()


def _corpus(added: list[str], count: int = 2500, seed: int = 20261130) -> list[str]:
    """Hand-picked hard cases, then random mixes of scripts, whitespace runs and control-token spellings."""
    hand = [
        "",
        " ",
        "Hello, world!",
        "  leading and trailing  ",
        "tabs\tand\nnewlines\r\n\r\nend",
        " " * 100,
        "\n" * 50,
        "x" + " " * 37 + "y",
        "\t \n \u3000 \u00a0 \u2003 mixed whitespace",
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
        "<think>\nreason\n</think>\n\nanswer",
        '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>',
        "<tool_response>\nok\n</tool_response>",
        "<|vision_start|><|image_pad|><|image_pad|><|vision_end|>",
        "<|im_end",
        "im_end|>",
        "<<|im_start|>>",
        "<|endoftext|><|endoftext|>",
        " <|im_end|> ",
        "漢字とかなカナ、한국어 텍스트",
        "हिन्दी में लिखा गया पाठ क्षत्रिय",
        "ภาษาไทยมีสระ สวัสดีครับ",
        "e\u0301 cafe\u0301 café",
        "\u212b Å A\u030a",
        "👩‍👩‍👧‍👦 🇯🇵 👍🏽",
        "def f(x):\n    return x**2  # comment\n",
        "1234567890 3.14159 1e-10 ١٢٣",
        "I'm you're they'll we've he'd I'M YOU'RE",
        "ＡＢＣ full width",
        "a\u200bb\u200dc\ufeffd",
        "\x00\x01\x7f control",
        "a" * 3000,
        "word " * 500,
    ]
    rng = random.Random(seed)
    pools = [
        [chr(c) for c in range(32, 127)],
        [" ", "  ", "\n", "\n\n", "\t", "\r\n", "\u3000", "\u00a0", " " * 9],
        [chr(c) for c in range(0x4E00, 0x4E00 + 400)],
        [chr(c) for c in range(0x0900, 0x097F)],
        [chr(c) for c in range(0x0E01, 0x0E5B)],
        [chr(c) for c in range(0x0300, 0x036F)],
        [chr(c) for c in range(0x1F300, 0x1F64F)],
        ["the", " quick", " brown", "Fox", "'s", "'LL", "123", "4567"],
        [*added, "<|", "|>", "<think", "</", "_end|>"],
    ]
    randoms = []
    for _ in range(count):
        pieces = []
        for _ in range(rng.randint(1, 40)):
            if rng.random() < 0.05:
                code = rng.randrange(0x110000)
                pieces.append(chr(code) if not 0xD800 <= code < 0xE000 else "?")
            else:
                pieces.append(rng.choice(rng.choice(pools)))
        randoms.append("".join(pieces))
    return hand + randoms


@pytest.fixture(scope="module")
def corpus(family: dict[str, Any]) -> list[str]:
    return _corpus(sorted(family["oracles"][0].get_added_vocab()))


def test_skeleton_file_is_what_transformers_derives_today(family: dict[str, Any]) -> None:
    """Regenerated from transformers on every run, so the shipped DERIVED file can never drift."""
    assert family["skeleton"].read_text(encoding="utf-8") == family["derive"]()


def test_assembled_tokenizer_serialises_exactly_like_transformers(family: dict[str, Any]) -> None:
    """Vocabulary, merges, normaliser, pre-tokeniser, decoder, post-processor and added tokens: all of it."""
    assembled = family["raw"].backend_tokenizer.to_str()
    for oracle in family["oracles"]:
        assert assembled == oracle.backend_tokenizer.to_str()


def test_ids_equal_transformers_on_a_mixed_corpus(family: dict[str, Any], corpus: list[str]) -> None:
    oracle = family["oracles"][0]
    expected = [oracle.encode(text, add_special_tokens=False) for text in corpus]
    assert HFEncoder(family["raw"]).encode_many(corpus) == expected
    assert [family["raw"].encode(text) for text in corpus] == expected
    assert any(len(ids) > 100 for ids in expected)


def test_offsets_equal_transformers(family: dict[str, Any], corpus: list[str]) -> None:
    oracle, encoder = family["oracles"][0], HFEncoder(family["raw"])
    for text in corpus[:600]:
        out = oracle(text, add_special_tokens=False, return_offsets_mapping=True)
        assert encoder.encode_offsets(text) == (out["input_ids"], [start for start, _ in out["offset_mapping"]])


def test_decode_equals_transformers(family: dict[str, Any], corpus: list[str]) -> None:
    oracle, raw = family["oracles"][0], family["raw"]
    rng = random.Random(7)
    for text in corpus[:800]:
        ids = oracle.encode(text, add_special_tokens=False)
        cut = ids[rng.randrange(len(ids) + 1) :]  # a cut can split a character's bytes
        for skip in (False, True):
            assert raw.decode(cut, skip_special_tokens=skip) == oracle.decode(cut, skip_special_tokens=skip)
        assert HFEncoder(raw).decode(cut) == oracle.decode(cut, skip_special_tokens=False)


def test_plain_mode_equals_transformers_split_special_tokens(family: dict[str, Any], corpus: list[str]) -> None:
    """``plain`` recognises no added token; transformers' ``split_special_tokens=True`` still matches the ones
    added with ``special=False`` (``<think>``…), so texts spelling those are compared with plain mode built
    over transformers' own tokenizer instead."""
    oracle = family["oracles"][0]
    matched_anyway = [t for t, tid in oracle.get_added_vocab().items() if not oracle.added_tokens_decoder[tid].special]
    assert matched_anyway  # the corpus covers both cases
    raw_plain, oracle_plain = HFEncoder(family["raw"], plain=True), HFEncoder(oracle, plain=True)
    split = [t for t in corpus if not any(tok in t for tok in matched_anyway)]
    try:
        expected = [oracle.encode(t, add_special_tokens=False, split_special_tokens=True) for t in split]
    finally:  # transformers leaves the flag set on its backend; the shared oracle must not keep it
        oracle.backend_tokenizer.encode_special_tokens = oracle.split_special_tokens
    assert raw_plain.encode_many(split) == expected
    assert raw_plain.encode_many(corpus) == oracle_plain.encode_many(corpus)


def test_vocabulary_lookups_equal_transformers(family: dict[str, Any]) -> None:
    oracle, raw = family["oracles"][0], family["raw"]
    assert raw.get_added_vocab() == oracle.get_added_vocab()
    assert raw.get_vocab() == oracle.get_vocab()
    assert raw.vocab_size == oracle.vocab_size
    tokens = [*oracle.get_added_vocab(), "Ġthe", "hello", "ĊĊ", "not-a-single-token-at-all"]
    assert raw.convert_tokens_to_ids(tokens) == oracle.convert_tokens_to_ids(tokens)
    assert raw.convert_tokens_to_ids("<|im_end|>") == oracle.convert_tokens_to_ids("<|im_end|>")


def test_renderer_renders_with_the_rust_half_and_hands_out_transformers_tokenizer(family: dict[str, Any]) -> None:
    renderer = mmrender.get_renderer(family["model"], store="data:")
    assert isinstance(renderer.text_tokenizer, BundledTokenizer)
    assert renderer.tokenizer is family["oracles"][0]  # transformers' object, built (and cached) on request
    given = mmrender.get_renderer(family["model"], tokenizer=family["oracles"][0], store="data:")
    assert given.tokenizer is given.text_tokenizer is family["oracles"][0]
    messages = [{"role": "user", "content": "<think>\nspelled</think> and <|im_end|> in text 漢字"}]
    for mode in ("plain", "control"):
        bundled = mmrender.get_renderer(family["model"], store="data:", special_tokens_in_text=mode)
        caller = mmrender.get_renderer(
            family["model"], tokenizer=family["oracles"][0], store="data:", special_tokens_in_text=mode
        )
        assert bundled.render(messages).token_ids == caller.render(messages).token_ids


def _skeleton_copy(family: dict[str, Any], tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    data = json.loads(family["skeleton"].read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "skeleton.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_broken_skeleton_is_a_config_error_naming_the_file(family: dict[str, Any], tmp_path: Path) -> None:
    def shuffle_ids(data: dict[str, Any]) -> None:
        data["added_tokens"][0]["id"] += 1000

    def not_bpe(data: dict[str, Any]) -> None:
        data["model"]["type"] = "WordPiece"

    for edit, message in ((shuffle_ids, "got id"), (not_bpe, "not a BPE skeleton")):
        path = _skeleton_copy(family, tmp_path, edit)
        with pytest.raises(ConfigError, match=message) as info:
            assemble_bpe(path, family["vocab"], family["merges"])
        assert str(path) in str(info.value)


def test_repeated_texts_keep_transformers_ids_through_the_encode_cache(
    family: dict[str, Any], corpus: list[str]
) -> None:
    """Texts that come again (a system prompt every record repeats) are answered from the encoder's recent
    encodings: the ids stay transformers' whether held, dropped when the budget starts over, or repeated
    inside one call, and a caller changing a returned list changes nothing later."""
    oracle = family["oracles"][0]
    texts = [t for t in corpus if t][:300]
    expected = {t: oracle.encode(t, add_special_tokens=False) for t in texts}
    encoder = HFEncoder(family["raw"])
    encoder._known.max_chars = sum(map(len, texts)) // 3  # starts over a few times in this test
    rng = random.Random(11)
    for _ in range(40):
        batch = [rng.choice(texts) for _ in range(rng.randint(1, 6))]
        got = encoder.encode_many(batch)
        assert got == [expected[t] for t in batch]
        for ids in got:
            ids.append(-1)  # callers own what they get
    assert encoder.encode_many(texts) == [expected[t] for t in texts]


def test_repeated_runs_keep_transformers_offsets_through_the_encode_cache(
    family: dict[str, Any], corpus: list[str]
) -> None:
    """Runs spanning several messages (a tool list and the system prompt) are encoded with offsets; held
    or not, the ids and token starts stay transformers'."""
    oracle = family["oracles"][0]
    texts = [t for t in corpus if t][:120]
    expected = {}
    for text in texts:
        out = oracle(text, add_special_tokens=False, return_offsets_mapping=True)
        expected[text] = (out["input_ids"], [start for start, _ in out["offset_mapping"]])
    encoder = HFEncoder(family["raw"])
    encoder._known.max_chars = sum(map(len, texts)) // 3
    rng = random.Random(12)
    for _ in range(200):
        text = rng.choice(texts)
        got = encoder.encode_offsets(text)
        assert got == expected[text]
        got[0].append(-1)
        got[1].append(-1)


def test_threads_sharing_an_encoder_get_transformers_ids_while_it_starts_over(family: dict[str, Any]) -> None:
    """Renders on several threads share a renderer's encoder; a start-over of its recent encodings in one
    thread must read as a miss in the others, never as an error or another text's ids."""
    oracle = family["oracles"][0]
    texts = [f"record {i}: the picture shows a street at {i} o'clock" for i in range(60)]
    expected = {t: oracle.encode(t, add_special_tokens=False) for t in texts}
    encoder = HFEncoder(family["raw"])
    encoder._known.max_chars = 4 * max(map(len, texts))  # starts over every few texts
    failures: list[str] = []
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(400):
                batch = [rng.choice(texts) for _ in range(3)]
                if encoder.encode_many(batch) != [expected[t] for t in batch]:
                    failures.append(f"wrong ids for {batch}")
                text = rng.choice(texts)
                if encoder.encode_offsets(text)[0] != expected[text]:
                    failures.append(f"wrong offsets run for {text}")
        except Exception as exc:  # any error in a thread is the failure
            failures.append(repr(exc))

    try:
        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert failures == []
