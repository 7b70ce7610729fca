"""The ``fsspec`` backend claims what fsspec knows without importing fsspec when plugins load."""

from __future__ import annotations

import subprocess
import sys

from fsspec.registry import known_implementations
from mmrender_storage.fsspec_protocols import KNOWN_PROTOCOLS


def test_the_protocol_copy_is_the_installed_fsspecs() -> None:
    """Fails when fsspec adds or drops a protocol: update ``KNOWN_PROTOCOLS`` (and its version note)."""
    assert list(KNOWN_PROTOCOLS) == sorted(known_implementations)


def test_loading_plugins_leaves_fsspec_for_the_first_remote_uri() -> None:
    code = """
import sys
import mmrender
from mmrender.plugins import registries
backends = registries().backends
before = sorted(m for m in ("fsspec", "asyncio", "aiohttp", "ssl") if m in sys.modules)
store = mmrender.open_store("memory://lazy-check")
print(before, type(backends["s3"].item).__name__, type(store).__name__, "fsspec" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "FsspecBackend", "RemoteStore", "True"]
