"""Tokenizer loading (bundled, local directory or caller's object) and the batch encoder the renderer uses.

Rendering tokenizes every run of text between two structural special tokens in one call; all runs of
one conversation go to the Rust backend in a single ``encode_batch_fast`` call when the tokenizer is
a transformers fast tokenizer, which is what makes rendering faster than ``apply_chat_template``.

The bundled tokenizer renders without transformers: :func:`bundled_raw_tokenizer` assembles the same
Rust tokenizer from ``vocab.json`` + ``merges.txt`` and the DERIVED skeleton ``SKELETON_FILE``
(see :mod:`mmrender.bundled_tokenizer`); transformers' ``Qwen2Tokenizer`` is built only when asked for.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from pathlib import Path
from typing import Any

from mmrender.bundled_tokenizer import BundledTokenizer, assemble_bpe, skeleton_of
from mmrender.errors import ConfigError

from .layout import ASSETS

BUNDLED_TOKENIZER = ASSETS / "Qwen3-VL-8B-Instruct"
#: transformers' ``backend_tokenizer`` of the bundled tokenizer without vocabulary and merges (:func:`derive_skeleton`).
SKELETON_FILE = ASSETS / "tokenizer_skeleton.DERIVED.json"
_load_lock = threading.Lock()


#: Model types ``AutoTokenizer`` maps to ``Qwen2Tokenizer`` (tests check this against transformers' own table).
QWEN2_TOKENIZER_MODEL_TYPES = frozenset({"qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_vl_moe"})


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def resolves_to_qwen2_tokenizer(path: Path) -> bool:
    """Whether ``AutoTokenizer`` would load this folder as ``Qwen2Tokenizer``: its config declares that
    class, no remote code, and no ``config.json`` whose model type maps elsewhere."""
    config = _read_json(path / "tokenizer_config.json")
    if config is None or "auto_map" in config:
        return False
    if str(config.get("tokenizer_class") or "").removesuffix("Fast") != "Qwen2Tokenizer":
        return False
    if not (path / "config.json").exists():
        return True
    model_config = _read_json(path / "config.json")
    return model_config is not None and model_config.get("model_type") in QWEN2_TOKENIZER_MODEL_TYPES


@functools.lru_cache(maxsize=8)
def _load_dir(path: str) -> Any:
    """``Qwen2Tokenizer`` straight from its module when that is what ``AutoTokenizer`` would pick: importing
    ``AutoTokenizer`` imports transformers' model configuration code and with it torch (seconds, ~400 MB)."""
    if resolves_to_qwen2_tokenizer(Path(path)):
        from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer

        return Qwen2Tokenizer.from_pretrained(path, local_files_only=True)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, local_files_only=True)


def load_tokenizer(source: str | os.PathLike[str] | None) -> Any:
    """A transformers tokenizer from a directory (default: the bundled Qwen3-VL-8B-Instruct files), cached."""
    path = Path(source) if source is not None else BUNDLED_TOKENIZER
    if not path.is_dir():
        raise ConfigError(f"tokenizer directory {str(path)!r} does not exist")
    with _load_lock:
        try:
            return _load_dir(str(path.resolve()))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"could not load a tokenizer from {str(path)!r}: {exc}") from exc


#: Files whose presence means a local checkpoint carries its own tokenizer.
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "tokenizer_config.json")


@functools.lru_cache(maxsize=1)
def bundled_raw_tokenizer() -> BundledTokenizer:
    """The bundled tokenizer for rendering: Rust-built from the files, transformers' object only on request."""
    backend = assemble_bpe(SKELETON_FILE, BUNDLED_TOKENIZER / "vocab.json", BUNDLED_TOKENIZER / "merges.txt")
    return BundledTokenizer(backend, functools.partial(load_tokenizer, None))


def derive_skeleton() -> str:
    """The text of ``SKELETON_FILE``, from transformers' own tokenizer of the bundled files (imports transformers)."""
    return skeleton_of(load_tokenizer(None).backend_tokenizer)
