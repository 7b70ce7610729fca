"""Suite-wide: no test writes assets into the repo or $HOME, a per-test isolated store, out-of-tree plugin installs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# SeaweedFS helpers live beside the storage tests; the S3 fixture below serves every directory.
sys.path.insert(0, str(Path(__file__).resolve().parent / "storage"))


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


def pip_install_target(src: Path, site: Path, workdir: Path) -> Path:
    """``pip install --target site`` of a plugin distribution, from a copy (setuptools writes build files
    next to its source), offline and without touching the test virtualenv; returns ``site``."""
    copy = workdir / "pip-src" / src.name
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(copy),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return site


@pytest.fixture(scope="session")
def install_plugin() -> Callable[[Path, Path, Path], Path]:
    """:func:`pip_install_target`, for fixtures that install a plugin outside the tree."""
    return pip_install_target


@pytest.fixture(scope="session")
def as_message_objects() -> Callable[[list[Any]], list[Any]]:
    """Turns a dict conversation into OpenAI-SDK-shaped pydantic objects (see ``message_objects.py``)."""
    from message_objects import as_message_objects

    return as_message_objects


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One SeaweedFS ``weed mini`` for the whole session (storage and kit tests), on free loopback ports."""
    from seaweed import SeaweedServer

    server = SeaweedServer(tmp_path_factory.mktemp("seaweed"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_url(s3_server: Any) -> str:
    """A fresh prefix in the session bucket, so tests never see each other's assets."""
    return f"s3://{s3_server.bucket}/t-{uuid.uuid4().hex[:12]}"
