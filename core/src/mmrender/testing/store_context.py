"""What the store checks share: the store under test, a probe asset that shows its locator shapes, and cleanup."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from ..dispatch import open_store
from ..storage import Store, StoredAsset, sha256_hex
from .images import noise_png

MIME = "image/png"


class StoreContext:
    """The store at ``url`` (opened with ``options``), or a store object; every asset the kit puts is deleted at close."""

    def __init__(self, store: str | Store, options: Mapping[str, Any] | None = None) -> None:
        self._given = store
        self.url = store if isinstance(store, str) else store.url
        self.options = dict(options or {})
        self.tmp = Path(tempfile.mkdtemp(prefix="mmrender-kit-store-"))
        self.written: set[str] = set()

    @property
    def reopenable(self) -> bool:
        """Another process can open this store (it was given by URL, not as an object)."""
        return isinstance(self._given, str)

    @cached_property
    def store(self) -> Store:
        return open_store(self._given, **self.options) if isinstance(self._given, str) else self._given

    def put(self, data: bytes, **kwargs: Any) -> StoredAsset:
        self.written.add(kwargs.get("sha256") or sha256_hex(data))
        return self.store.put(data, mime=MIME, **kwargs)

    def put_file(self, data: bytes, **kwargs: Any) -> StoredAsset:
        """``put_file`` of ``data`` written to a file of the kit's temporary directory."""
        sha = sha256_hex(data)
        path = self.tmp / f"put-file-{sha[:16]}.bin"
        path.write_bytes(data)
        self.written.add(kwargs.get("sha256") or sha)
        return self.store.put_file(path, mime=MIME, **kwargs)

    @cached_property
    def probe(self) -> StoredAsset:
        """One small asset, put first: its locators show how this store names any asset."""
        return self.put(noise_png(8, 8))

    def locators(self, asset: StoredAsset) -> dict[str, str]:
        """``raw_uri`` and (when the store has one) ``raw_image_id`` of an asset."""
        found = {"raw_uri": asset.raw_uri}
        if asset.raw_image_id is not None:
            found["raw_image_id"] = asset.raw_image_id
        return found

    def locators_for(self, sha256: str) -> dict[str, str]:
        """The locators the store would give an asset named ``sha256`` (from the probe's, where they contain its name)."""
        probe = self.probe
        shapes = self.locators(probe).items()
        return {field: value.replace(probe.sha256, sha256) for field, value in shapes if probe.sha256 in value}

    def names_store(self, message: str) -> bool:
        """The error message says which store: its URL, or the location part of it."""
        location = self.url.split("://", 1)[-1].rstrip("/")
        return self.url in message or (bool(location) and location in message)

    def close(self) -> None:
        for sha in sorted(self.written):
            with contextlib.suppress(Exception):  # a store that cannot delete keeps them
                self.store.delete(sha)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> StoreContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
