"""Which layout parameters a ref must carry: none for an engine's defaults, all of them otherwise.

A consumer re-checks a ref's layout with the family's :class:`LayoutEngine`; the engine knows its
default parameters, so a ref laid out with anything else (renderer options, a local checkpoint's
preprocessor config, a layout-hook override) has to say which parameters it used.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError
from .family import LayoutEngine
from .refs import layout_fingerprint
from .types import ImageLayout


def engines_for(family: str) -> list[LayoutEngine]:
    """Every installed layout engine of ``family`` (a layout family id, e.g. ``qwen_vl``), once each."""
    return list(_engines(_generation())[0].get(family, ()))


def default_fingerprints(family: str) -> frozenset[str]:
    """Fingerprints of the default parameters of ``family``'s installed engines."""
    return _engines(_generation())[1].get(family, frozenset())


def _generation() -> int:
    from .plugins import generation

    return generation()


@functools.lru_cache(maxsize=2)
def _engines(_gen: int) -> tuple[dict[str, tuple[LayoutEngine, ...]], dict[str, frozenset[str]]]:
    """Engines and their default fingerprints by family, recomputed when the plugins change."""
    from .plugins import registries

    engines: dict[str, list[LayoutEngine]] = {}
    for spec, _owner in registries().families.values():
        engine = spec.layout
        if engine is not None and all(e is not engine for e in engines.setdefault(engine.family, [])):
            engines[engine.family].append(engine)
    defaults = {
        family: frozenset(layout_fingerprint(family, e.default_params) for e in found)
        for family, found in engines.items()
    }
    return {family: tuple(found) for family, found in engines.items()}, defaults


def params_to_stamp(layout: ImageLayout) -> Mapping[str, Any] | None:
    """The ``layout_params`` an image's ref carries: None for an engine's defaults or unknown params.

    Raises :class:`ConfigError` when a layout (a hook override) reports params whose fingerprint is
    not its own: the ref would be refused by every consumer.
    """
    if layout.params is None or layout.fingerprint in default_fingerprints(layout.family):
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
