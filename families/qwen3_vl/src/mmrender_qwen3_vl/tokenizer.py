"""Tokenizer loading (bundled, local directory or caller's object) and the batch encoder the renderer uses.

Rendering tokenizes every run of text between two structural special tokens in one call; all runs of
one conversation go to the Rust backend in a single ``encode_batch_fast`` call when the tokenizer is
a transformers fast tokenizer, which is what makes rendering faster than ``apply_chat_template``.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
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


class Encoder:
    """Encode many text runs at once; ``encode_offsets`` for runs whose tokens belong to several messages."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        backend = getattr(tokenizer, "_tokenizer", None) or getattr(tokenizer, "backend_tokenizer", None)
        self._backend = backend if hasattr(backend, "encode_batch") else None
        fast = getattr(self._backend, "encode_batch_fast", None)
        self._batch = fast or getattr(self._backend, "encode_batch", None)

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        if self._batch is not None:
            return [e.ids for e in self._batch(list(texts), add_special_tokens=False)]
        return [list(self.tokenizer.encode(t, add_special_tokens=False)) for t in texts]

    def encode(self, text: str) -> list[int]:
        return self.encode_many([text])[0]

    def encode_offsets(self, text: str) -> tuple[list[int], list[int]]:
        """Token ids and each token's start character (one call, so BPE sees the whole run)."""
        if self._backend is not None:
            enc = self._backend.encode(text, add_special_tokens=False)
            return enc.ids, [start for start, _ in enc.offsets]
        out = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return list(out["input_ids"]), [start for start, _ in out["offset_mapping"]]

    def decode(self, ids: Sequence[int]) -> str:
        if self._backend is not None:
            return self._backend.decode(list(ids), skip_special_tokens=False)
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    def token_id(self, token: str) -> int | None:
        """The id of a single-token string, or None when the tokenizer does not have it as one token."""
        tid = self.tokenizer.convert_tokens_to_ids(token)
        if not isinstance(tid, int) or tid < 0:
            return None
        if getattr(self.tokenizer, "unk_token_id", None) == tid:
            return None
        return tid

    def splits_cleanly(self, token: str, tid: int) -> bool:
        """True when text containing ``token`` tokenizes as text | id | text (no whitespace absorbed)."""
        left, right = "x\n ", " \nx"
        return self.encode(left + token + right) == [*self.encode(left), tid, *self.encode(right)]
