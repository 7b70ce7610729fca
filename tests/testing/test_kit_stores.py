"""The conformance kit on every bundled store kind (a directory, ``data:``, ``memory://``, S3) and a third-party one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mmrender.testing import STORE_CHECKS, MemoryStore, check_store

#: The inline store keeps nothing: no names to verify, list, stat or delete.
INLINE_NOT_APPLICABLE = frozenset({"tampered_asset", "missing_asset", "iter_assets", "stat", "delete"})


def _outcomes(report: Any) -> dict[str, str]:
    return {result.check: result.outcome for result in report}


def _passes(report: Any, not_applicable: frozenset[str] = frozenset()) -> None:
    outcomes = _outcomes(report)
    assert list(outcomes) == list(STORE_CHECKS)
    assert {n for n, o in outcomes.items() if o == "not_applicable"} == not_applicable
    assert {n for n, o in outcomes.items() if o == "passed"} == set(STORE_CHECKS) - not_applicable


def test_directory_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    _passes(check_store(str(root)))
    assert sorted(os.listdir(root)) == []  # the kit deletes what it wrote


def test_file_uri_store(tmp_path: Path) -> None:
    report = check_store((tmp_path / "store").as_uri(), checks=["put_get_verified", "foreign_locator", "missing_asset"])
    assert [r.outcome for r in report] == ["passed"] * 3


def test_inline_data_store() -> None:
    _passes(check_store("data:"), INLINE_NOT_APPLICABLE)


def test_memory_store() -> None:
    report = check_store("memory://mmrender-kit")
    _passes(report)
    notes = {r.check: r.detail for r in report}
    assert "process-local" in notes["put_atomic_processes"]


def test_s3_store(s3_server: Any, s3_url: str) -> None:
    report = check_store(s3_url, **s3_server.storage_options())
    _passes(report)
    notes = {r.check: r.detail for r in report}
    assert notes["background_puts"] == "background_puts=True"
    assert "agree" in notes["put_atomic_processes"]  # the other processes' assets are visible here


def test_the_kits_memory_store_object() -> None:
    _passes(check_store(MemoryStore()), frozenset({"put_atomic_processes"}))  # an object cannot be reopened elsewhere


def test_third_party_sqlite_store(sqlite_site: Path, use_site: Any, tmp_path: Path) -> None:
    use_site(sqlite_site, "mmrender-sqlite-example")
    _passes(check_store(f"sqlite://{tmp_path / 'assets.db'}"), frozenset({"stat"}))  # it keeps no mtimes
