"""Batch text encoding over any transformers tokenizer, for :func:`mmrender.plan.emit`.

Every text run of one render goes to the Rust backend in a single ``encode_batch_fast`` call when
the tokenizer is a transformers fast tokenizer (offset tracking skipped), which is what lets a
render beat ``apply_chat_template``; slow tokenizers fall back to one ``encode`` per run. Short
batches are encoded run by run instead: the backend's batch call hands work to its thread pool,
and waking that pool (~0.1 ms) costs more than it saves on a few hundred characters.

``plain=True`` encodes text with none of the tokenizer's added tokens recognised, so a special
token spelled in text (``<|im_end|>``, ``<think>``, ``</tool_response>``…) is tokenized as ordinary
text and never yields its control id. That covers every added token, also the ones transformers'
``split_special_tokens=True`` still matches (those added with ``special=False``, like ``<think>``).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

from .errors import ConfigError

#: Batches with fewer characters than this are encoded run by run in the calling thread.
SERIAL_BATCH_CHARS = 1024
#: Characters of text whose ids an encoder keeps for texts that come again (see :class:`RecentEncodings`).
ENCODE_CACHE_CHARS = 1 << 20


class HFEncoder:
    """Encode many text runs at once; ``encode_offsets`` for runs whose tokens belong to several messages."""

    def __init__(self, tokenizer: Any, *, plain: bool = False) -> None:
        self.tokenizer = tokenizer
        self.plain = plain
        backend = getattr(tokenizer, "_tokenizer", None) or getattr(tokenizer, "backend_tokenizer", None)
        self._control = backend if hasattr(backend, "encode_batch") else None
        self._backend = _without_added_tokens(self._control) if plain and self._control is not None else self._control
        if plain and self._backend is None:
            raise ConfigError(
                "special_tokens_in_text='plain' needs a fast (tokenizers-backed) transformers tokenizer, got "
                f"{type(tokenizer).__name__}"
            )
        fast = getattr(self._backend, "encode_batch_fast", None)
        self._batch = fast or getattr(self._backend, "encode_batch", None)
        self._known = RecentEncodings()

    def _reset_split_flag(self) -> None:
        """Clear ``encode_special_tokens`` on the caller's backend, as every transformers encode call sets it.

        transformers leaves the flag on after one ``tokenizer(..., split_special_tokens=True)``; read
        directly, the backend would then split control tokens spelled by the template into text.
        """
        if self._control is not None and getattr(self._control, "encode_special_tokens", False):
            self._control.encode_special_tokens = False

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        self._reset_split_flag()
        found = self._known.lookup(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            fresh = self._encode_fresh(missing)
            self._known.remember(missing, fresh)
            found.update(zip(missing, fresh, strict=True))
        return [found[t] for t in texts]

    def _encode_fresh(self, texts: list[str]) -> list[list[int]]:
        if self._batch is not None:
            if sum(map(len, texts)) < SERIAL_BATCH_CHARS:
                encode = self._backend.encode
                return [encode(t, add_special_tokens=False).ids for t in texts]
            return [e.ids for e in self._batch(texts, add_special_tokens=False)]
        return [list(self.tokenizer.encode(t, add_special_tokens=False)) for t in texts]

    def encode(self, text: str) -> list[int]:
        return self.encode_many([text])[0]

    def encode_offsets(self, text: str) -> tuple[list[int], list[int]]:
        """Token ids and each token's start character (one call, so BPE sees the whole run)."""
        self._reset_split_flag()
        held = self._known.offsets(text)
        if held is not None:
            return held
        if self._backend is not None:
            enc = self._backend.encode(text, add_special_tokens=False)
            ids, starts = enc.ids, [start for start, _ in enc.offsets]
        else:
            out = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            ids, starts = list(out["input_ids"]), [start for start, _ in out["offset_mapping"]]
        self._known.remember_offsets(text, ids, starts)
        return ids, starts

    def decode(self, ids: Sequence[int]) -> str:
        if self._control is not None:
            return self._control.decode(list(ids), skip_special_tokens=False)
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    def token_id(self, token: str) -> int | None:
        """The id of a single-token string (looked up in the vocabulary), or None when it is not one token."""
        tid = self.tokenizer.get_added_vocab().get(token)
        if tid is None:
            tid = self.tokenizer.get_vocab().get(token)
        return tid if isinstance(tid, int) else None

    def splits_cleanly(self, token: str, tid: int) -> bool:
        """True when the tokenizer makes ``tid`` from ``token`` in text as text | id | text (no whitespace absorbed).

        Checked with added tokens recognised (whatever ``plain`` says): it decides whether the
        template's own spelling of the token can be emitted as the id directly.
        """
        left, right = "x\n ", " \nx"
        self._reset_split_flag()

        def encode(text: str) -> list[int]:
            if self._control is not None:
                return list(self._control.encode(text, add_special_tokens=False).ids)
            return list(self.tokenizer.encode(text, add_special_tokens=False))

        return encode(left + token + right) == [*encode(left), tid, *encode(right)]


class RecentEncodings:
    """Ids (and, for runs spanning several messages, token starts) of texts encoded lately, so a text
    every record repeats (a system prompt, a tool list) is tokenized once per process, not per record.

    Bounded by characters, not entries: when the texts held would pass :data:`ENCODE_CACHE_CHARS` it
    starts over (a repeated text is back after one miss). Ids are kept as 32-bit arrays, a tenth of
    a list's memory; answers are fresh lists. Threads rendering with one renderer share it: every read
    is a single dict lookup, so a start-over in another thread is a miss, never an error. The tokenizer
    is taken to stay as it was when the renderer was built (as the renderer's other cached ids do).
    """

    def __init__(self, max_chars: int = ENCODE_CACHE_CHARS) -> None:
        self.max_chars = max_chars
        self._ids: dict[str, array[int]] = {}
        self._offsets: dict[str, tuple[array[int], array[int]]] = {}
        self._chars = 0

    def lookup(self, texts: Sequence[str]) -> dict[str, list[int]]:
        """The ids of those ``texts`` held here (one ``get`` each: another thread may start over between calls)."""
        found = {}
        for text in texts:
            ids = self._ids.get(text)
            if ids is not None:
                found[text] = ids.tolist()
        return found

    def remember(self, texts: Sequence[str], encoded: Sequence[list[int]]) -> None:
        """Hold ``encoded`` (copied) for ``texts``."""
        for text, ids in zip(texts, encoded, strict=True):
            if self._room_for(text):
                self._ids[text] = array("i", ids)

    def offsets(self, text: str) -> tuple[list[int], list[int]] | None:
        held = self._offsets.get(text)
        return None if held is None else (held[0].tolist(), held[1].tolist())

    def remember_offsets(self, text: str, ids: list[int], starts: list[int]) -> None:
        if self._room_for(text):
            self._offsets[text] = (array("i", ids), array("i", starts))

    def _room_for(self, text: str) -> bool:
        """Count ``text`` in, starting over when full; False for a text over a quarter of the budget."""
        if len(text) * 4 > self.max_chars:
            return False
        if self._chars + len(text) > self.max_chars:
            self._ids.clear()
            self._offsets.clear()
            self._chars = 0
        self._chars += len(text)
        return True


def _without_added_tokens(backend: Any) -> Any:
    """A tokenizer sharing ``backend``'s model, normaliser and pre-tokeniser, with no added tokens.

    Built from the shared components (no copy of the vocabulary), so it costs microseconds.
    """
    from tokenizers import Tokenizer

    clone = Tokenizer(backend.model)
    if backend.normalizer is not None:
        clone.normalizer = backend.normalizer
    if backend.pre_tokenizer is not None:
        clone.pre_tokenizer = backend.pre_tokenizer
    if backend.decoder is not None:
        clone.decoder = backend.decoder
    return clone
