"""Storage test fixtures: isolated plugins, the images-only test family, a real S3 server, test images."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mmrender
import pytest
from mmrender import plugins

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Hypothesis caches (unicode tables, constants) go to the system temp dir, never into the repo.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "mmrender-hypothesis"))

import storetest_family
from seaweed import SeaweedServer

LONG_FUZZ = os.environ.get("MMRENDER_FUZZ", "").strip().lower() == "long"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``fuzz_long`` tests run only with ``MMRENDER_FUZZ=long`` or when selected with ``-m fuzz_long``."""
    selected = "fuzz_long" in (config.getoption("markexpr", "") or "")
    if LONG_FUZZ or selected:
        return
    skip = pytest.mark.skip(reason="long fuzz profile: set MMRENDER_FUZZ=long or run with -m fuzz_long")
    for item in items:
        if "fuzz_long" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def storage_plugins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Only ``mmrender-storage`` from entry points, plus the images-only test family, per test."""
    monkeypatch.setenv("MMRENDER_PLUGINS", "mmrender-storage")
    monkeypatch.setenv("MMRENDER_STORE", str(tmp_path / "default-store"))
    for name in ("MMRENDER_FETCH_POLICY", "MMRENDER_FSSPEC_SCHEMES", "MMRENDER_READ_CACHE_BYTES", "MMRENDER_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    plugins.reset()
    mmrender.register_plugin(storetest_family, name="storetest")
    yield
    plugins.reset()


@pytest.fixture
def renderer_for():
    """``renderer_for(store)`` → the images-only test renderer writing to ``store``."""

    def make(store: Any = None, **options: Any) -> mmrender.Renderer:
        return mmrender.get_renderer(storetest_family.MODEL, store=store, **options)

    return make


@pytest.fixture
def s3_options(s3_server: SeaweedServer) -> dict[str, Any]:
    return s3_server.storage_options()
