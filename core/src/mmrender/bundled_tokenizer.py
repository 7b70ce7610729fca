"""A family's bundled byte-level BPE tokenizer, built in Rust from its files without importing transformers.

Why: a cold process pays ~1 s to import transformers and build its tokenizer class in Python (which also keeps
a Python copy of the vocabulary alive), while raw rendering needs only the ``tokenizers.Tokenizer`` underneath.
That Rust tokenizer is assembled from ``vocab.json`` + merges and a small DERIVED *skeleton*: transformers' own
``backend_tokenizer.to_str()`` with the vocabulary and merges left out (normaliser, pre-tokeniser, decoder,
post-processor, BPE settings, added tokens). Families' tests regenerate each skeleton from transformers and
compare the assembled tokenizer's whole serialisation with transformers', so the two cannot drift.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

#: Components a skeleton carries that are copied onto the assembled tokenizer.
_COMPONENTS = ("normalizer", "pre_tokenizer", "post_processor", "decoder")


def skeleton_of(backend: Tokenizer) -> str:
    """The skeleton text of a BPE ``tokenizers.Tokenizer``: its JSON with ``model.vocab`` and ``model.merges`` emptied."""
    data = json.loads(backend.to_str())
    model = data.get("model") or {}
    if model.get("type") != "BPE":
        raise ValueError(f"only BPE tokenizers have a skeleton, got model type {model.get('type')!r}")
    model["vocab"], model["merges"] = {}, []
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def assemble_bpe(skeleton: Path, vocab: Path, merges: Path) -> Tokenizer:
    """The tokenizer ``skeleton`` describes, with the BPE model read from ``vocab`` and ``merges`` (in Rust)."""
    from tokenizers import AddedToken, Tokenizer
    from tokenizers.models import BPE

    try:
        text = skeleton.read_text(encoding="utf-8")
        spec = json.loads(text)
        model = spec["model"]
        if model.get("type") != "BPE" or model.get("vocab") or model.get("merges"):
            raise ValueError("not a BPE skeleton (model type BPE with empty vocab and merges)")
        if spec.get("truncation") is not None or spec.get("padding") is not None:
            raise ValueError("truncation and padding are not supported")
        settings = {k: v for k, v in model.items() if k not in ("type", "vocab", "merges")}
        # The shell holds the components; its added tokens got ids of an empty vocabulary, so they are re-added below.
        shell = Tokenizer.from_str(text)
        tok = Tokenizer(BPE.from_file(str(vocab), str(merges), **settings))
    except Exception as exc:  # tokenizers raises bare Exception for a malformed file; any failure means unusable
        raise ConfigError(
            f"cannot assemble the tokenizer of {skeleton} from {vocab.name} + {merges.name}: {exc}"
        ) from exc
    for name in _COMPONENTS:
        component = getattr(shell, name)
        if component is not None:
            setattr(tok, name, component)
    for entry in sorted(spec.get("added_tokens", []), key=lambda e: e["id"]):
        flags = {k: entry[k] for k in ("single_word", "lstrip", "rstrip", "normalized", "special")}
        token = AddedToken(entry["content"], **flags)
        (tok.add_special_tokens if flags["special"] else tok.add_tokens)([token])
        if tok.token_to_id(entry["content"]) != entry["id"]:
            raise ConfigError(
                f"{skeleton}: added token {entry['content']!r} got id {tok.token_to_id(entry['content'])}, "
                f"not {entry['id']} (added tokens must follow the vocabulary in id order)"
            )
    return tok


class BundledTokenizer:
    """A bundled tokenizer as rendering sees it: the Rust tokenizer, with the lookups rendering makes.

    It answers what :class:`~mmrender.encoders.HFEncoder` and
    :func:`~mmrender.special_tokens.lookup_special_tokens` ask of a transformers tokenizer
    (``backend_tokenizer``, ``get_added_vocab``, ``get_vocab``, ``convert_tokens_to_ids``, ``vocab_size``,
    ``encode``, ``decode``), and :meth:`transformers_tokenizer` builds the transformers object that
    :attr:`mmrender.Renderer.tokenizer` hands users, only when they ask for it.
    """

    def __init__(self, backend: Tokenizer, load_transformers: Callable[[], Any]) -> None:
        self.backend_tokenizer = backend
        self._load_transformers = load_transformers
        self.vocab_size: int = backend.get_vocab_size(with_added_tokens=False)

    def transformers_tokenizer(self) -> Any:
        """The equivalent transformers tokenizer (imports transformers; the family's loader caches it)."""
        return self._load_transformers()

    def get_added_vocab(self) -> dict[str, int]:
        return {tok.content: tid for tid, tok in sorted(self.backend_tokenizer.get_added_tokens_decoder().items())}

    def get_vocab(self) -> dict[str, int]:
        return self.backend_tokenizer.get_vocab(with_added_tokens=True)

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int | None] | None:
        """Id of a token string (None when it is not one token, as transformers' with no unk token)."""
        if isinstance(tokens, str):
            return self.backend_tokenizer.token_to_id(tokens)
        return [self.backend_tokenizer.token_to_id(t) for t in tokens]

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return self.backend_tokenizer.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return self.backend_tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)
