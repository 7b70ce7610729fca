"""The oracle files and the bundled copies are the official Qwen3-VL-8B-Instruct files (published sha256 pins)."""

from __future__ import annotations

import hashlib

import pytest
from mmrender_qwen3_vl.tokenizer import BUNDLED_TOKENIZER

from .conftest import ORACLE_DIR

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
