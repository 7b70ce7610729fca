"""Suite-wide safety net: no test writes assets into the repo or $HOME, and a per-test isolated store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _default_store_outside_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point ``$MMRENDER_STORE`` at a session tmp dir unless a test or the caller set one."""
    if os.environ.get("MMRENDER_STORE"):
        yield
        return
    os.environ["MMRENDER_STORE"] = str(tmp_path_factory.mktemp("mmrender-store"))
    try:
        yield
    finally:
        os.environ.pop("MMRENDER_STORE", None)


@pytest.fixture
def isolated_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh local store directory, also set as ``$MMRENDER_STORE`` for this test."""
    root = tmp_path / "isolated-store"
    monkeypatch.setenv("MMRENDER_STORE", str(root))
    return root
