"""Which layout parameters a ref must carry: none for an engine's defaults, all of them otherwise (pure).

A consumer re-checks a ref's layout with the family's :class:`LayoutEngine`; the engine knows its
default parameters, so a ref laid out with anything else (renderer options, a local checkpoint's
preprocessor config, a layout-hook override) has to say which parameters it used.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError
from .ref_codecs import layout_fingerprint
from .types import ImageLayout


def params_to_stamp(layout: ImageLayout, default_fingerprints: frozenset[str]) -> Mapping[str, Any] | None:
    """The ``layout_params`` an image's ref carries: None for an engine's defaults or unknown params.

    ``default_fingerprints`` are those of the installed engines' defaults for ``layout.family``
    (:meth:`mmrender.host.PluginHost.default_fingerprints`).

    Raises :class:`ConfigError` when a layout (a hook override) reports params whose fingerprint is
    not its own: the ref would be refused by every consumer.
    """
    if layout.params is None or layout.fingerprint in default_fingerprints:
        return None
    params = dict(layout.params)
    try:
        key = tuple((k, type(v).__name__, v) for k, v in sorted(params.items()))  # 1, 1.0 and True differ
        actual = _cached_fingerprint(layout.family, key)
    except TypeError:  # an unhashable value (a list): hash it afresh
        actual = _fingerprint_of(layout.family, params)
    if actual != layout.fingerprint:
        raise ConfigError(
            f"{layout.family!r} layout reports params {params} whose fingerprint is {actual}, "
            f"not its fingerprint {layout.fingerprint}"
        )
    return params


@functools.lru_cache(maxsize=64)
def _cached_fingerprint(family: str, items: tuple[tuple[str, str, Any], ...]) -> str:
    """Fingerprints repeat for every image of a renderer; sha256 and JSON per image would cost ~20 µs."""
    return _fingerprint_of(family, {k: v for k, _type, v in items})


def _fingerprint_of(family: str, params: Mapping[str, Any]) -> str:
    try:
        return layout_fingerprint(family, params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{family!r} layout params {dict(params)} are not JSON-serialisable: {exc}") from exc


def check_positive_ints(params: Mapping[str, Any]) -> None:
    """A ``LayoutEngine.check_params`` for engines whose every parameter is a positive int (pixel
    counts, patch sizes): a ref's JSON may hold any value, and ``True``, ``14.0`` or ``"14"`` would
    otherwise slip through ``int()`` into the arithmetic."""
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive int, got {value!r}")
