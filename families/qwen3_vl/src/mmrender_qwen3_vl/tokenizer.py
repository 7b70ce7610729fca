"""Tokenizer loading (bundled, local directory or caller's object) and the batch encoder the renderer uses.

Rendering tokenizes every run of text between two structural special tokens in one call; all runs of
one conversation go to the Rust backend in a single ``encode_batch_fast`` call when the tokenizer is
a transformers fast tokenizer, which is what makes rendering faster than ``apply_chat_template``.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path
from typing import Any

from mmrender.errors import ConfigError

from .layout import ASSETS

BUNDLED_TOKENIZER = ASSETS / "Qwen3-VL-8B-Instruct"
_load_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _load_dir(path: str) -> Any:
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


def has_tokenizer_files(path: Path) -> bool:
    names = ("tokenizer.json", "vocab.json", "tokenizer_config.json")
    return any((path / n).is_file() for n in names)
