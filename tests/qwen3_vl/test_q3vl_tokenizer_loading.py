"""Loading a Qwen3-VL tokenizer folder without ``AutoTokenizer`` (which imports torch) gives what it gives.

``mmrender_qwen3_vl.tokenizer`` loads ``Qwen2Tokenizer`` directly when a folder's files say that is the
class ``AutoTokenizer`` would choose, and falls back to ``AutoTokenizer`` otherwise. The oracle is
``AutoTokenizer`` itself on the same folder: same class, same ids.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mmrender_qwen3_vl.tokenizer import (
    BUNDLED_TOKENIZER,
    QWEN2_TOKENIZER_MODEL_TYPES,
    load_tokenizer,
    resolves_to_qwen2_tokenizer,
)
from transformers import AutoTokenizer
from transformers.models.auto.tokenization_auto import TOKENIZER_MAPPING_NAMES

TEXTS = [
    "Hello, world! 你好，世界。 नमस्ते दुनिया",
    "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is this?<|im_end|>\n",
    "  leading spaces, tabs\t\tand\n\nnewlines  ",
    "numbers 1234567890 and emoji 🙂🚀 and code `x = f(y)`",
]


def _folder(tmp_path: Path, *, tokenizer_class: str | None = None, model_type: str | None = None) -> Path:
    """A copy of the bundled files plus a ``tokenizer.json``, as a downloaded checkpoint has."""
    folder = tmp_path / "tok"
    shutil.copytree(BUNDLED_TOKENIZER, folder)
    AutoTokenizer.from_pretrained(str(BUNDLED_TOKENIZER)).backend_tokenizer.save(str(folder / "tokenizer.json"))
    if tokenizer_class is not None:
        config_path = folder / "tokenizer_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["tokenizer_class"] = tokenizer_class
        config_path.write_text(json.dumps(config), encoding="utf-8")
    if model_type is not None:
        (folder / "config.json").write_text(json.dumps({"model_type": model_type}), encoding="utf-8")
    return folder


def _assert_same_as_auto(folder: Path) -> None:
    ours = load_tokenizer(folder)
    oracle = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    assert type(ours) is type(oracle)
    for text in TEXTS:
        assert ours.encode(text, add_special_tokens=False) == oracle.encode(text, add_special_tokens=False)
    assert ours.get_added_vocab() == oracle.get_added_vocab()


def test_model_types_taken_as_qwen2_are_the_ones_transformers_maps_to_it():
    for model_type in QWEN2_TOKENIZER_MODEL_TYPES:
        assert TOKENIZER_MAPPING_NAMES[model_type] == "Qwen2Tokenizer", model_type


def test_bundled_folder_loads_as_auto_tokenizer_would():
    assert resolves_to_qwen2_tokenizer(BUNDLED_TOKENIZER)
    _assert_same_as_auto(BUNDLED_TOKENIZER)


@pytest.mark.parametrize("model_type", ["qwen3_vl", "qwen3_vl_moe"])
def test_checkpoint_folder_with_config_json_loads_as_auto_tokenizer_would(tmp_path, model_type):
    folder = _folder(tmp_path, model_type=model_type)
    assert resolves_to_qwen2_tokenizer(folder)
    _assert_same_as_auto(folder)


@pytest.mark.parametrize(
    ("tokenizer_class", "model_type"),
    [("TokenizersBackend", None), ("Qwen2Tokenizer", "llama"), ("Qwen2TokenizerFast", "not_a_model_type")],
)
def test_other_folders_go_through_auto_tokenizer(tmp_path, tokenizer_class, model_type):
    folder = _folder(tmp_path, tokenizer_class=tokenizer_class, model_type=model_type)
    assert not resolves_to_qwen2_tokenizer(folder)
    _assert_same_as_auto(folder)
