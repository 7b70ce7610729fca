"""The oracle files and the bundled copies are the official Qwen3-VL-8B-Instruct and -Thinking files (published
sha256 pins)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from mmrender_qwen3_vl import checkpoint
from mmrender_qwen3_vl.tokenizer import BUNDLED_TOKENIZER

from .conftest import ORACLE_DIR, THINKING_TEMPLATE_FILE

#: sha256 of Qwen/Qwen3-VL-8B-Instruct @ 0c351dd01ed87e9c1b53cbc748cba10e6187ff3b (two public manifests).
OFFICIAL = {
    "chat_template.json": "5c72a170d2a4a1a3bc5adad2e689ae28138a9700e5b8c96c0266331e86c0acce",
    "tokenizer_config.json": "c2da771801886ad9ae98181793ffd3dfb7f1af30f6f7c6a4e15d7dbba52e2399",
    "vocab.json": "ca10d7e9fb3ed18575dd1e277a2579c16d108e32f27439684afa0e10b1440910",
    "merges.txt": "599bab54075088774b1733fde865d5bd747cbcc7a547c5bc12610e874e26f5e3",
    "preprocessor_config.json": "27225450ac9c6529872ee1924fcb0962ff5634834f817040f444118116f4e516",
    "video_preprocessor_config.json": "7768af27c1fafa9cc9011c1dc20067e03f8915e03b63504550e11d5066986d13",
}


@pytest.mark.parametrize("directory", [ORACLE_DIR, BUNDLED_TOKENIZER], ids=["oracle", "bundled"])
@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_files_match_official_sha256(directory, name):
    assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == OFFICIAL[name]


def test_bundled_tokenizer_loads_offline_and_is_used_by_default(make_renderer):
    renderer = make_renderer()
    assert renderer.tokenizer.name_or_path.endswith("Qwen3-VL-8B-Instruct")
    assert renderer.encoder.encode("Hello!") == [9707, 0]


#: Qwen/Qwen3-VL-8B-Thinking @ 92f3c4b4feadd3a016ef468d103bb5f58b2a2c6b, as published by two independent projects:
#: the chat_template.json file and the template text it holds (the tokenizer files are the Instruct ones).
THINKING_FILE_SHA256 = "7dc0b863a3cf9320e063574e0adb1382a22a089f1eeb8bfbe33cc69c5c2cc1e5"
THINKING_TEXT_SHA256 = "36e042fe45641f067b1f2381fcc8955d10d956a3ed333ecdf7f7eb0916f68956"
INSTRUCT_TEXT_SHA256 = "3636d0f0bd6bef02654cdffdc447b79cb2cef8ab02cc75267345946291a489e4"


def test_thinking_chat_template_matches_official_sha256():
    data = THINKING_TEMPLATE_FILE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == THINKING_FILE_SHA256
    template = json.loads(data)["chat_template"]
    assert hashlib.sha256(template.encode("utf-8")).hexdigest() == THINKING_TEXT_SHA256
    assert json.dumps({"chat_template": template}, indent=4).encode() == data  # how the official file is written


def test_detection_hashes_are_the_official_template_texts():
    """plugin detection trusts these constants; they must be the hashes of the verified files' template texts."""
    instruct = json.loads((BUNDLED_TOKENIZER / "chat_template.json").read_text(encoding="utf-8"))["chat_template"]
    assert hashlib.sha256(instruct.encode("utf-8")).hexdigest() == INSTRUCT_TEXT_SHA256
    assert (checkpoint.INSTRUCT_TEMPLATE_SHA256, checkpoint.THINKING_TEMPLATE_SHA256) == (
        INSTRUCT_TEXT_SHA256,
        THINKING_TEXT_SHA256,
    )


def test_thinking_asset_ships_in_the_wheel():
    """package-data globs of families/qwen3_vl/pyproject.toml cover the Thinking directory."""
    import tomllib

    pyproject = Path(__file__).parents[2] / "families" / "qwen3_vl" / "pyproject.toml"
    globs = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    relative = THINKING_TEMPLATE_FILE.relative_to(BUNDLED_TOKENIZER.parents[1])
    assert any(relative.match(g) for g in globs["mmrender_qwen3_vl"])
