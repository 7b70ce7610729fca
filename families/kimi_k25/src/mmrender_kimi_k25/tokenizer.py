"""Kimi K2.5 tokenizer on tiktoken, without transformers or Moonshot's remote code.

Why it exists: the renderer must produce the exact ids Moonshot's ``TikTokenTokenizer``
(``tokenization_kimi.py``, loaded with ``trust_remote_code``) produces, but offline and fast.
Everything that decides the ids is reproduced from that file's facts:

* the byte-level BPE ranks of ``tiktoken.model`` (163,584 base tokens);
* its pre-tokenisation regex ``pat_str`` (Han runs are split from other letters);
* 256 reserved special ids right after the base ranks, named from
  ``tokenizer_config.json`` ``added_tokens_decoder`` (others ``<|reserved_token_<id>|>``);
* ``encode`` first cuts the text into 400,000-character windows, then cuts every run of more
  than 25,000 consecutive whitespace or non-whitespace characters. BPE never merges across
  these cuts, so they change ids and are reproduced exactly.

One deliberate difference: Moonshot's ``encode`` defaults to ``allowed_special="all"``, so the
literal text ``<|im_end|>`` becomes the control token. Here ``encode`` treats all input as plain
text unless ``allow_special=True`` is passed, which gives Moonshot's default behaviour.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import tiktoken
from tiktoken.load import load_tiktoken_bpe

ASSETS = Path(__file__).parent / "assets"
DEFAULT_VOCAB_FILE = ASSETS / "tiktoken.model"
DEFAULT_TOKENIZER_CONFIG = ASSETS / "tokenizer_config.json"

# TikTokenTokenizer.pat_str of Moonshot's tokenization_kimi.py (Kimi K2 / K2.5 / K2.6), joined with "|".
PAT_STR = "|".join(
    [
        r"""[\p{Han}]+""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*"""
        r"""[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+"""
        r"""[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
NUM_RESERVED_SPECIAL_TOKENS = 256
WINDOW_CHARS = 400_000  # tiktoken's safe input size; Moonshot encodes window by window
MAX_RUN_CHARS = 25_000  # longest run of (non-)whitespace Moonshot hands to tiktoken in one piece

# Python's \s matches exactly the characters for which str.isspace() is true (Moonshot's test).
_LONG_RUN = re.compile(rf"\s{{{MAX_RUN_CHARS + 1},}}|\S{{{MAX_RUN_CHARS + 1},}}")


def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in for every byte: the token-string form HF tokenizers expose."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


_BYTE_TO_CHAR = _byte_to_unicode()
_CHAR_TO_BYTE = {c: b for b, c in _BYTE_TO_CHAR.items()}


def split_like_moonshot(text: str) -> Iterator[str]:
    """Yield the pieces Moonshot's ``encode`` hands to tiktoken one by one.

    Within each 400k-character window, a run of same-class characters (whitespace vs not,
    by ``str.isspace``) is cut every 25,000 characters from the run's start.
    """
    for start in range(0, max(len(text), 1), WINDOW_CHARS):
        window = text[start : start + WINDOW_CHARS]
        cut = 0
        for run in _LONG_RUN.finditer(window):
            for pos in range(run.start() + MAX_RUN_CHARS, run.end(), MAX_RUN_CHARS):
                yield window[cut:pos]
                cut = pos
        yield window[cut:]


class KimiTokenizer:
    """Encode/decode with Kimi's vocabulary; token strings use the HF byte-level form."""

    def __init__(
        self,
        vocab_file: str | Path = DEFAULT_VOCAB_FILE,
        tokenizer_config: str | Path | dict[str, Any] = DEFAULT_TOKENIZER_CONFIG,
    ) -> None:
        if not isinstance(tokenizer_config, dict):
            tokenizer_config = json.loads(Path(tokenizer_config).read_text(encoding="utf-8"))
        ranks = load_tiktoken_bpe(str(vocab_file))
        base = len(ranks)
        named = {int(i): entry["content"] for i, entry in tokenizer_config["added_tokens_decoder"].items()}
        outside = sorted(i for i in named if not base <= i < base + NUM_RESERVED_SPECIAL_TOKENS)
        if outside:
            raise ValueError(f"added_tokens_decoder ids {outside} are outside the reserved special range")
        self.special_tokens: dict[str, int] = {
            named.get(i, f"<|reserved_token_{i}|>"): i for i in range(base, base + NUM_RESERVED_SPECIAL_TOKENS)
        }
        self._special_names = {i: name for name, i in self.special_tokens.items()}
        self._ranks = ranks
        self._encoding = tiktoken.Encoding(
            name=Path(vocab_file).name, pat_str=PAT_STR, mergeable_ranks=ranks, special_tokens=self.special_tokens
        )
        self.num_base_tokens = base
        self.vocab_size: int = self._encoding.n_vocab
        self.bos_token_id = self.special_tokens[tokenizer_config["bos_token"]]
        self.eos_token_id = self.special_tokens[tokenizer_config["eos_token"]]  # "[EOS]"; chat turns end at <|im_end|>
        self.pad_token_id = self.special_tokens[tokenizer_config["pad_token"]]
        self.unk_token_id = self.special_tokens[tokenizer_config["unk_token"]]

    @property
    def special_token_ids(self) -> frozenset[int]:
        return frozenset(self._special_names)

    def encode(self, text: str, *, allow_special: bool = False) -> list[int]:
        """Token ids of ``text``. Plain text by default; ``allow_special=True`` is Moonshot's default."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        encode_piece = self._encode_with_specials if allow_special else self._encoding.encode_ordinary
        if len(text) <= MAX_RUN_CHARS:  # no run can be long enough to be cut
            return encode_piece(text)
        ids: list[int] = []
        for piece in split_like_moonshot(text):
            ids.extend(encode_piece(piece))
        return ids

    def encode_many(self, texts: Sequence[str], *, allow_special: bool = False) -> list[list[int]]:
        """Ids of each text (the batch interface core's plan emitter uses); plain text by default."""
        return [self.encode(text, allow_special=allow_special) for text in texts]

    def encode_offsets(self, text: str, *, allow_special: bool = False) -> tuple[list[int], list[int]]:
        """Ids and the start character of each (for runs that span two messages); plain text by default."""
        ids = self.encode(text, allow_special=allow_special)
        return ids, list(self._encoding.decode_with_offsets(ids)[1])

    def get_added_vocab(self) -> dict[str, int]:
        """The 256 reserved special tokens by name (transformers' name for this table)."""
        return dict(self.special_tokens)

    def _encode_with_specials(self, piece: str) -> list[int]:
        return self._encoding.encode(piece, allowed_special="all")

    def decode(self, ids: int | Iterable[int]) -> str:
        """Text of ``ids``; invalid UTF-8 becomes U+FFFD, special ids decode to their names."""
        return self._encoding.decode([ids] if isinstance(ids, int) else list(ids))

    @overload
    def convert_tokens_to_ids(self, tokens: str) -> int: ...
    @overload
    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]: ...
    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | list[int]:
        """Id of a special-token name or byte-level token string; unknown tokens raise KeyError."""
        if isinstance(tokens, str):
            return self._token_to_id(tokens)
        return [self._token_to_id(t) for t in tokens]

    def _token_to_id(self, token: str) -> int:
        special = self.special_tokens.get(token)
        if special is not None:
            return special
        try:
            return self._ranks[bytes(_CHAR_TO_BYTE[c] for c in token)]
        except KeyError:
            raise KeyError(f"{token!r} is not a Kimi token") from None

    @overload
    def convert_ids_to_tokens(self, ids: int) -> str: ...
    @overload
    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]: ...
    def convert_ids_to_tokens(self, ids: int | list[int]) -> str | list[str]:
        if isinstance(ids, int):
            return self._id_to_token(ids)
        return [self._id_to_token(i) for i in ids]

    def _id_to_token(self, token_id: int) -> str:
        name = self._special_names.get(token_id)
        if name is not None:
            return name
        if not 0 <= token_id < self.num_base_tokens:
            raise KeyError(f"{token_id} is not a Kimi token id")
        return "".join(_BYTE_TO_CHAR[b] for b in self._encoding.decode_single_token_bytes(token_id))


@lru_cache(maxsize=1)
def default_tokenizer() -> KimiTokenizer:
    """The bundled tokenizer (loading the 2.8 MB vocabulary takes ~0.2 s, so it is shared)."""
    return KimiTokenizer()
