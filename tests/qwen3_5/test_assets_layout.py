"""Bundled assets are the pinned bytes, and Qwen3.5's image layout is Qwen3-VL's (same config, same engine)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from mmrender.refs import layout_fingerprint
from mmrender_qwen3_5.plugin import FAMILY
from mmrender_qwen3_5.renderer import PREPROCESSOR_CONFIG, layout_params
from mmrender_qwen3_5.templates import ASSETS, VARIANTS
from mmrender_qwen3_vl import layout as qwen_vl

from .conftest import image_processor, renderer

# sha256 values from assets/PROVENANCE.md (official pins, or the derivation's own identity)
PINNED = {
    "Qwen3.5-0.8B/chat_template.jinja": "273d8e0e683b885071fb17e08d71e5f2a5ddfb5309756181681de4f5a1822d80",
    "Qwen3.5-0.8B/tokenizer_config.json": "49e2b6e395f959f077f1e992b338919c0d4a9732fc6e613995e06557f843500c",
    "Qwen3.5-9B/chat_template.jinja": "a4aee8afcf2e0711942cf848899be66016f8d14a889ff9ede07bca099c28f715",
    "Qwen3.5-9B/tokenizer_config.json": "316230d6a809701f4db5ea8f8fc862bc3a6f3229c937c174e674ff3ca0a64ac8",
}


def _git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_sha256(name: str) -> None:
    assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == PINNED[name]


def test_git_blob_pins() -> None:
    assert _git_blob((ASSETS / "vocab.json").read_bytes()) == "0aa0ce0658d60ac4a5d609f4eadb0e8e43514176"
    assert _git_blob(PREPROCESSOR_CONFIG.read_bytes()) == "2ea84a437d448ff71b08df68fdd949d5cc4ebb64"
    video = ASSETS / "Qwen3.5-0.8B" / "video_preprocessor_config.json"
    assert _git_blob(video.read_bytes()) == "3ba673a5ad7d4d13f54155ecd38b2a94a6dac8fe"


def test_variants_point_at_their_bytes() -> None:
    for variant in VARIANTS.values():
        assert hashlib.sha256(variant.path.read_bytes()).hexdigest() == variant.sha256


def test_preprocessor_config_same_bytes_as_qwen3_vl() -> None:
    ours = hashlib.sha256(PREPROCESSOR_CONFIG.read_bytes()).hexdigest()
    theirs = hashlib.sha256(qwen_vl.DEFAULT_PREPROCESSOR.read_bytes()).hexdigest()
    assert ours == theirs


def test_layout_params_and_fingerprint_equal_qwen3_vl() -> None:
    assert layout_params() == dict(qwen_vl.DEFAULT_PARAMS)
    assert layout_fingerprint("qwen_vl", layout_params()) == layout_fingerprint("qwen_vl", qwen_vl.DEFAULT_PARAMS)
    assert layout_fingerprint("qwen_vl", layout_params()) == "c2f096345b0d84e6bd2ee38b815cc329"
    assert FAMILY.layout is qwen_vl.ENGINE


SIZES = [(640, 480), (16, 2048), (2048, 16), (32, 32), (255, 257), (1600, 1200), (4095, 4097), (100, 20000), (224, 224)]


@pytest.fixture(scope="module")
def auto_processor(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """What ``AutoImageProcessor`` builds from Qwen3.5's preprocessor config (torchvision-backed if installed)."""
    import shutil

    from transformers import AutoImageProcessor

    root = tmp_path_factory.mktemp("preproc")
    shutil.copy(PREPROCESSOR_CONFIG, root / "preprocessor_config.json")
    return AutoImageProcessor.from_pretrained(str(root))


@pytest.mark.parametrize("backend", ["pil", "auto"])
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_layout_matches_transformers_processor(width: int, height: int, backend: str, auto_processor: Any) -> None:
    import numpy as np
    from PIL import Image

    layout = renderer("small").image_layout(width, height)
    pixels = Image.fromarray(np.zeros((height, width, 3), dtype="uint8"))
    processor = image_processor() if backend == "pil" else auto_processor
    grid = processor(images=[pixels], return_tensors="np")["image_grid_thw"][0]
    assert list(layout.grid) == [int(v) for v in grid]
    assert layout.num_placeholders == int(np.prod(grid)) // 4
    assert layout == qwen_vl.ENGINE.compute(width, height, qwen_vl.ENGINE.default_params)


def test_vga_layout_fact() -> None:
    layout = renderer("large").image_layout(640, 480)
    assert (list(layout.grid), layout.num_placeholders) == ([1, 30, 40], 300)


def test_bundled_provenance_is_the_fixture_copy() -> None:
    text = (ASSETS / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "merges.DERIVED.txt" in text and "added_tokens.DERIVED.json" in text
    added = json.loads((ASSETS / "added_tokens.DERIVED.json").read_text(encoding="utf-8"))
    config = json.loads((ASSETS / "Qwen3.5-0.8B" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert {str(t["id"]): t["content"] for t in added["added_tokens"]} == {
        k: v["content"] for k, v in config["added_tokens_decoder"].items()
    }
    assert added["pretokenize_regex"] == config["pretokenize_regex"]


def test_renderer_uses_shared_engine(tok: Any) -> None:
    r = renderer("small")
    assert r.compute_layout(333, 517) == qwen_vl.qwen_layout(333, 517)
