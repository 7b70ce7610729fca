"""The Qwen3.5 tokenizer, built offline the way transformers' ``Qwen3_5Tokenizer`` builds it.

Why not ``AutoTokenizer.from_pretrained``: the official ``tokenizer_config.json`` names
``tokenizer_class: Qwen2Tokenizer``. Loaded from a folder without ``config.json``, transformers
then builds a Qwen2 tokenizer whose pre-tokenizer ignores the config's ``pretokenize_regex``
(Qwen3.5's regex keeps combining marks ``\\p{M}`` inside words; Qwen2's does not), which
silently changes ids for scripts such as Devanagari or Thai. Here we instantiate
``Qwen3_5Tokenizer`` itself from the bundled ``vocab.json`` + ``merges.DERIVED.txt`` + the
config's added tokens, and verify its pre-tokenizer carries the config's regex.

Rendering with the bundled tokenizer needs none of that: :func:`bundled_raw_tokenizer` assembles the
same Rust tokenizer from ``vocab.json`` + ``merges.DERIVED.txt`` and the DERIVED skeleton
``SKELETON_FILE`` (see :mod:`mmrender.bundled_tokenizer`) without importing transformers, and builds
``Qwen3_5Tokenizer`` only when asked for.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmrender.bundled_tokenizer import BundledTokenizer, assemble_bpe, skeleton_of
from mmrender.errors import ConfigError

from .templates import ASSETS, VARIANTS

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers.models.qwen3_5.tokenization_qwen3_5 import Qwen3_5Tokenizer

VOCAB_FILE = ASSETS / "vocab.json"
MERGES_FILE = ASSETS / "merges.DERIVED.txt"
#: transformers' ``backend_tokenizer`` of the bundled tokenizer without vocabulary and merges (:func:`derive_skeleton`).
SKELETON_FILE = ASSETS / "tokenizer_skeleton.DERIVED.json"
# Tokenizer configs differ only in ``chat_template``; the 0.8B one is the reference for the rest.
TOKENIZER_CONFIG = ASSETS / "Qwen3.5-0.8B" / "tokenizer_config.json"
# Keys of tokenizer_config.json the constructor must not see (handled here or meaningless offline).
_NOT_KWARGS = ("added_tokens_decoder", "chat_template", "tokenizer_class", "pretokenize_regex")


def read_merges(path: Path) -> list[tuple[str, str]]:
    """``#version`` header then one ``left right`` pair per line (byte-level symbols never hold spaces)."""
    merges: list[tuple[str, str]] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#version"):
                continue
            left, sep, right = line.partition(" ")
            if not sep or " " in right:
                raise ConfigError(f"{path}:{lineno}: malformed merge line {line!r}")
            merges.append((left, right))
    return merges


def build_tokenizer(
    vocab: Mapping[str, int],
    merges: Sequence[tuple[str, str]],
    config: Mapping[str, Any],
    *,
    chat_template: str | None = None,
) -> Qwen3_5Tokenizer:
    """A ``Qwen3_5Tokenizer`` from vocab, merges and a ``tokenizer_config.json`` dict."""
    from tokenizers import AddedToken
    from transformers.models.qwen3_5.tokenization_qwen3_5 import Qwen3_5Tokenizer

    added = {
        int(idx): AddedToken(**{k: v for k, v in spec.items() if k != "id"})
        for idx, spec in (config.get("added_tokens_decoder") or {}).items()
    }
    kwargs = {k: v for k, v in config.items() if k not in _NOT_KWARGS}
    tok = Qwen3_5Tokenizer(vocab=dict(vocab), merges=list(merges), added_tokens_decoder=added, **kwargs)
    if chat_template is not None:
        tok.chat_template = chat_template
    check_pretokenizer(tok, config.get("pretokenize_regex"))
    return tok


def pretokenizer_regex(tok: Any) -> str | None:
    """The Split regex of a fast tokenizer's pre-tokenizer (None when it has no such step)."""
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None or backend.pre_tokenizer is None:
        return None
    # Only the pre-tokenizer is serialised: ``backend.to_str()`` would dump the whole vocabulary (~0.7 s).
    state = json.loads(backend.pre_tokenizer.__getstate__())
    steps = state.get("pretokenizers", [state])
    for step in steps:
        if step.get("type") == "Split":
            pattern = step.get("pattern", {})
            return pattern.get("Regex", pattern.get("String"))
    return None


def check_pretokenizer(tok: Any, expected: str | None) -> None:
    """Refuse a tokenizer whose split regex is not the one the config asks for (the Qwen2 trap)."""
    if expected is None:
        return
    found = pretokenizer_regex(tok)
    if found != expected:
        raise ConfigError(
            f"tokenizer pre-tokenizer regex {found!r} differs from tokenizer_config.json pretokenize_regex "
            f"{expected!r}; load it as Qwen3_5Tokenizer, not Qwen2Tokenizer"
        )


@functools.lru_cache(maxsize=2)
def bundled_tokenizer(variant: str = "small") -> Qwen3_5Tokenizer:
    """The bundled tokenizer with the variant's official chat template set (built once per variant)."""
    config = json.loads(TOKENIZER_CONFIG.read_text(encoding="utf-8"))
    vocab = json.loads(VOCAB_FILE.read_text(encoding="utf-8"))
    return build_tokenizer(vocab, read_merges(MERGES_FILE), config, chat_template=VARIANTS[variant].text())


@functools.lru_cache(maxsize=2)
def bundled_raw_tokenizer(variant: str = "small") -> BundledTokenizer:
    """The bundled tokenizer for rendering: Rust-built from the files (shared by both variants), and the
    variant's ``Qwen3_5Tokenizer`` (:func:`bundled_tokenizer`) only on request."""
    return BundledTokenizer(_bundled_backend(), functools.partial(bundled_tokenizer, variant))


@functools.lru_cache(maxsize=1)
def _bundled_backend() -> Tokenizer:
    return assemble_bpe(SKELETON_FILE, VOCAB_FILE, MERGES_FILE)


def derive_skeleton() -> str:
    """The text of ``SKELETON_FILE``, from transformers' ``Qwen3_5Tokenizer`` of the bundled files (imports transformers)."""
    return skeleton_of(bundled_tokenizer("small").backend_tokenizer)


def load_tokenizer_dir(directory: str | os.PathLike[str]) -> Qwen3_5Tokenizer:
    """A local tokenizer folder (``tokenizer.json``, else ``vocab.json`` + ``merges.txt``), as Qwen3.5.

    The class is named explicitly: ``AutoTokenizer`` follows ``tokenizer_class: Qwen2Tokenizer``
    and rebuilds the Qwen2 pre-tokenizer even when ``tokenizer.json`` is present. With only
    vocab + merges, ``from_pretrained`` would not read them, so they are loaded here.
    """
    from transformers.models.qwen3_5.tokenization_qwen3_5 import Qwen3_5Tokenizer

    path = Path(directory)
    if not path.is_dir():
        raise ConfigError(f"tokenizer directory {path} does not exist")
    config_path = path / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    try:
        if (path / "tokenizer.json").is_file():
            tok = Qwen3_5Tokenizer.from_pretrained(str(path), local_files_only=True)
        elif (path / "vocab.json").is_file() and (path / "merges.txt").is_file():
            vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
            return build_tokenizer(vocab, read_merges(path / "merges.txt"), config)
        else:
            raise ConfigError(f"{path} has neither tokenizer.json nor vocab.json + merges.txt")
    except (OSError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"cannot load a Qwen3.5 tokenizer from {path}: {exc}") from exc
    check_pretokenizer(tok, config.get("pretokenize_regex"))
    return tok
