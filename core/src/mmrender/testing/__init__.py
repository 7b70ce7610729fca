"""The conformance kit: every contract a family or a storage backend must keep, as named checks.

``check_family(model)`` and ``check_store(url)`` run all checks and raise one ``AssertionError``
listing every failure; the pytest plugin (``--mmrender-family`` / ``--mmrender-store``) runs the
same checks as one test each. Importing this package does not import pytest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..storage import Store
from . import (  # noqa: F401
    family_checks,
    family_io_checks,
    family_training_checks,
    family_turn_checks,
    store_checks,
    store_concurrency_checks,
)
from .family_context import FamilyContext
from .memory_store import MemoryStore
from .registry import FAMILY_CHECKS, STORE_CHECKS, Check, CheckResult, KitReport, NotApplicable, run_all
from .store_context import StoreContext

__all__ = [
    "FAMILY_CHECKS",
    "STORE_CHECKS",
    "Check",
    "CheckResult",
    "FamilyContext",
    "KitReport",
    "MemoryStore",
    "NotApplicable",
    "StoreContext",
    "check_family",
    "check_store",
]


def check_family(
    model: str,
    *,
    images: Sequence[Any] | None = None,
    tokenizer_path: str | Path | None = None,
    checks: Sequence[str] | None = None,
    **get_renderer_kwargs: Any,
) -> KitReport:
    """Run every family check on ``model`` (as ``get_renderer`` resolves it, with ``get_renderer_kwargs``).

    ``images``: image sources to render (default: small generated PNG and JPEG images);
    ``tokenizer_path``: a directory the family loads its tokenizer from (default: the tokenizer's own);
    ``checks``: names of a subset to run. Raises one AssertionError listing every failed check.
    """
    selected = _select(FAMILY_CHECKS, checks)
    with FamilyContext(model, images=images, tokenizer_path=tokenizer_path, renderer_kwargs=get_renderer_kwargs) as ctx:
        return run_all(selected, ctx, f"family {model}").raise_for_failures()


def check_store(store: str | Store, *, checks: Sequence[str] | None = None, **store_options: Any) -> KitReport:
    """Run every store check on the store at ``store`` (a URL, opened with ``store_options``, or a Store object).

    The kit writes small assets there and deletes them afterwards (where the store can delete): use a
    scratch location. Raises one AssertionError listing every failed check.
    """
    selected = _select(STORE_CHECKS, checks)
    with StoreContext(store, store_options) as ctx:
        return run_all(selected, ctx, f"store {ctx.url}").raise_for_failures()


def _select(table: Mapping[str, Check], names: Sequence[str] | None) -> list[Check]:
    if names is None:
        return list(table.values())
    unknown = sorted(set(names) - set(table))
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(table)}")
    return [table[name] for name in names]
