"""Special tokens: the ``special_tokens_in_text`` option families share, and strict tokenizer checks.

Why strict: a tokenizer from another model (or another type of object) must fail when the renderer
is built, naming what was expected, instead of rendering ids from the wrong vocabulary or failing
later with a bare ``KeyError``. Tokens are looked up in the tokenizer's vocabulary itself, never as
``convert_tokens_to_ids(token) != unk_token_id``: a tokenizer whose ``unk_token`` is one of the
tokens looked up (``<|endoftext|>`` in some Qwen configs) would otherwise be refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from .errors import ConfigError

SpecialTokensInText = Literal["plain", "control"]
#: ``"plain"``: a special token spelled in message text stays text (it can never forge a turn
#: boundary or a placeholder); ``"control"``: it becomes the control token, as the official
#: template + tokenizer make it.
SPECIAL_TOKENS_IN_TEXT: tuple[str, ...] = ("plain", "control")


#: Validator of a family's ``special_tokens_in_text`` option field (default ``"plain"`` in every family).
check_special_tokens_in_text = attrs.validators.in_(SPECIAL_TOKENS_IN_TEXT)


def _kind(tokenizer: Any) -> str:
    cls = type(tokenizer)
    return f"{cls.__module__}.{cls.__qualname__}"


def added_vocab(tokenizer: Any, family: str) -> Mapping[str, int]:
    """The tokenizer's added tokens (``get_added_vocab``), content -> id."""
    get = getattr(tokenizer, "get_added_vocab", None)
    if not callable(get) or not callable(getattr(tokenizer, "convert_tokens_to_ids", None)):
        hint = ""
        if _kind(tokenizer).startswith("tokenizers."):
            hint = "; wrap a tokenizers.Tokenizer with transformers.PreTrainedTokenizerFast(tokenizer_object=...)"
        raise ConfigError(
            f"not a {family} tokenizer: expected a tokenizer object with get_added_vocab() and "
            f"convert_tokens_to_ids() (a transformers tokenizer), got {_kind(tokenizer)}{hint}"
        )
    try:
        vocab = get()
    except Exception as exc:  # a foreign object's method: any failure means it is not usable here
        raise ConfigError(f"not a {family} tokenizer: get_added_vocab() failed on {_kind(tokenizer)}: {exc}") from exc
    if not isinstance(vocab, Mapping):
        raise ConfigError(f"not a {family} tokenizer: get_added_vocab() of {_kind(tokenizer)} is not a mapping")
    return vocab


def lookup_special_tokens(
    tokenizer: Any,
    family: str,
    expected: Mapping[str, int | None],
    *,
    optional: Sequence[str] = (),
    vocab_size: int | None = None,
) -> dict[str, int | None]:
    """Ids of the family's tokens, checked strictly; a mismatch is a :class:`ConfigError`.

    ``expected`` maps each token to the id it has in the family's vocabulary (None: any id);
    every token must be there except those in ``optional`` (None when absent). ``vocab_size`` is
    the base vocabulary size (added tokens excluded) when the family knows it.
    """
    vocab = added_vocab(tokenizer, family)
    full: Mapping[str, int] | None = None
    found: dict[str, int | None] = {}
    for token, want in expected.items():
        tid = vocab.get(token)
        if tid is None:  # not an added token: it may still be a regular vocabulary entry
            if full is None:
                get_vocab = getattr(tokenizer, "get_vocab", None)
                full = get_vocab() if callable(get_vocab) else {}
            tid = full.get(token)
        if tid is None:
            if token in optional:
                found[token] = None
                continue
            where = f" (id {want} in the {family} vocabulary)" if want is not None else ""
            raise ConfigError(f"not a {family} tokenizer: {_kind(tokenizer)} has no {token!r} token{where}")
        if want is not None and tid != want:
            raise ConfigError(
                f"not a {family} tokenizer: its {token!r} is id {tid}, the {family} vocabulary has it at {want} "
                "(a tokenizer of another model)"
            )
        found[token] = int(tid)
    if vocab_size is not None:
        size = getattr(tokenizer, "vocab_size", None)
        if size != vocab_size:
            raise ConfigError(
                f"not a {family} tokenizer: its base vocabulary has {size} tokens, the {family} one {vocab_size}"
            )
    return found
