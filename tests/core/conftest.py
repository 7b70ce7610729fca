"""Shared fixtures for the core tests: clean plugin state, a tmp store, the out-of-tree throwaway plugin."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from mmrender import plugins

REPO = Path(__file__).resolve().parents[2]
PLUGINS_SRC = REPO / "tests" / "plugins_src"
THROWAWAY_SRC = PLUGINS_SRC / "throwaway_family"
THROWAWAY_DIST = "mmrender-throwaway-family"


@pytest.fixture(autouse=True)
def clean_plugins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Every test starts from a fresh plugin manager and leaves none behind.

    In-process tests load only ``mmrender-storage`` by default so a half-built family elsewhere in
    the tree cannot break core tests; tests about the allow-list set ``MMRENDER_PLUGINS`` themselves.
    """
    monkeypatch.setenv("MMRENDER_PLUGINS", "mmrender-storage")
    monkeypatch.delenv("MMRENDER_TRACE_PLUGINS", raising=False)
    monkeypatch.setenv("MMRENDER_STORE", str(tmp_path / "store"))
    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture(scope="session")
def throwaway_site(tmp_path_factory: pytest.TempPathFactory, install_plugin: Callable[..., Path]) -> Path:
    """A site directory outside the tree holding only the installed throwaway distribution."""
    work = tmp_path_factory.mktemp("throwaway")
    return install_plugin(THROWAWAY_SRC, work / "site", work)


def write_dist(root: Path, dist: str, module: str, body: str) -> Path:
    """Write a one-module plugin distribution with an ``mmrender`` entry point (for conflict tests)."""
    (root / "src" / module).mkdir(parents=True)
    (root / "src" / module / "__init__.py").write_text(body, encoding="utf-8")
    (root / "pyproject.toml").write_text(
        f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.0.1"

[project.entry-points."mmrender"]
{module} = "{module}"

[tool.setuptools.packages.find]
where = ["src"]
""",
        encoding="utf-8",
    )
    return root


@pytest.fixture
def make_dist(tmp_path: Path, install_plugin: Callable[..., Path]) -> Callable[[str, str, str], Path]:
    """Build and install a one-module plugin distribution into its own site dir; return the site."""

    def make(dist: str, module: str, body: str) -> Path:
        work = tmp_path / f"dist-{dist}"
        write_dist(work / "src-tree", dist, module, body)
        return install_plugin(work / "src-tree", work / "site", work)

    return make


RunPython = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_python(tmp_path: Path) -> RunPython:
    """Run code in a fresh interpreter with extra site dirs on PYTHONPATH (entry points seen for real)."""

    def run(code: str, *sites: Path, env: dict[str, str] | None = None, args: list[str] | None = None):
        full = {k: v for k, v in os.environ.items() if not k.startswith("MMRENDER_")}
        full["PYTHONPATH"] = os.pathsep.join(str(s) for s in sites)
        full["MMRENDER_STORE"] = str(tmp_path / "sub-store")
        full.update(env or {})
        cmd = [sys.executable, "-c", code] if args is None else args
        return subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=120)

    return run


@pytest.fixture(scope="session")
def throwaway_module() -> ModuleType:
    """The throwaway plugin imported from its source file, for in-process ``register_plugin`` tests."""
    path = THROWAWAY_SRC / "src" / "mmrender_throwaway" / "__init__.py"
    spec = importlib.util.spec_from_file_location("mmrender_throwaway_inproc", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
