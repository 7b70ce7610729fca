"""Fixtures for the conformance-kit tests: the in-tree plugins only, a real S3 server, out-of-tree test plugins."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mmrender import plugins

TESTS = Path(__file__).resolve().parents[1]
PLUGINS_SRC = TESTS / "plugins_src"
#: The distributions the in-tree kit runs load: every bundled family and the storage backends.
IN_TREE = ("mmrender-storage", "mmrender-qwen3-vl", "mmrender-qwen3-5", "mmrender-kimi-k25")


@pytest.fixture(autouse=True)
def in_tree_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Load only the bundled plugins (plus what a test adds to the allow-list), from a fresh manager."""
    monkeypatch.setenv("MMRENDER_PLUGINS", ",".join(IN_TREE))
    for name in ("MMRENDER_FETCH_POLICY", "MMRENDER_FSSPEC_SCHEMES", "MMRENDER_READ_CACHE_BYTES"):
        monkeypatch.delenv(name, raising=False)
    plugins.reset()
    yield
    plugins.reset()


def _site(tmp_path_factory: pytest.TempPathFactory, install_plugin: Callable[..., Path], name: str) -> Path:
    work = tmp_path_factory.mktemp(name)
    return install_plugin(PLUGINS_SRC / name, work / "site", work)


@pytest.fixture(scope="session")
def torn_store_site(tmp_path_factory: pytest.TempPathFactory, install_plugin: Callable[..., Path]) -> Path:
    """The deliberately non-atomic store, pip-installed outside the tree."""
    return _site(tmp_path_factory, install_plugin, "torn_store")


@pytest.fixture(scope="session")
def sqlite_site(tmp_path_factory: pytest.TempPathFactory, install_plugin: Callable[..., Path]) -> Path:
    """The third-party SQLite backend example, pip-installed outside the tree."""
    return _site(tmp_path_factory, install_plugin, "sqlite_backend")


@pytest.fixture(scope="session")
def throwaway_site(tmp_path_factory: pytest.TempPathFactory, install_plugin: Callable[..., Path]) -> Path:
    """The out-of-tree example family, pip-installed outside the tree."""
    return _site(tmp_path_factory, install_plugin, "throwaway_family")


@pytest.fixture
def use_site(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, str], None]:
    """Make an installed plugin site visible here and to subprocesses, and allow its distribution."""

    def use(site: Path, dist: str) -> None:
        monkeypatch.syspath_prepend(str(site))
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, (str(site), os.environ.get("PYTHONPATH")))))
        monkeypatch.setenv("MMRENDER_PLUGINS", ",".join((*IN_TREE, dist)))
        plugins.reset()

    return use
