"""Batch text encoding over any transformers tokenizer, for :func:`mmrender.plan.emit`.

Every text run of one render goes to the Rust backend in a single ``encode_batch_fast`` call when
the tokenizer is a transformers fast tokenizer (offset tracking skipped), which is what lets a
render beat ``apply_chat_template``; slow tokenizers fall back to one ``encode`` per run. Short
batches are encoded run by run instead: the backend's batch call hands work to its thread pool,
and waking that pool (~0.1 ms) costs more than it saves on a few hundred characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Batches with fewer characters than this are encoded run by run in the calling thread.
SERIAL_BATCH_CHARS = 1024


class HFEncoder:
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
            if sum(map(len, texts)) < SERIAL_BATCH_CHARS:
                encode = self._backend.encode
                return [encode(t, add_special_tokens=False).ids for t in texts]
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
