"""An in-process, content-addressed store for the kit: refs must materialise from any store, not just files."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

from ..errors import AssetNotFoundError, UnsafeLocatorError
from ..storage import SHA256_RE, AssetStat, Store, StoredAsset, check_asset_name, sha256_hex, verify


class MemoryStore(Store):
    """Assets in a dict, named by sha256; ``raw_uri`` is ``kit-memory://<id>/<sha256>`` (readable only via the store)."""

    background_puts = True  # a dict under a lock: safe from any thread

    def __init__(self) -> None:
        self.url = f"kit-memory://{uuid.uuid4().hex[:12]}"
        self._assets: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, data: bytes, *, mime: str | None = None, sha256: str | None = None) -> StoredAsset:
        sha = check_asset_name(sha256 or sha256_hex(data))
        with self._lock:
            self._assets.setdefault(sha, bytes(data))
        return StoredAsset(sha256=sha, raw_uri=f"{self.url}/{sha}", raw_image_id=sha)

    def _name(self, locator: str) -> str:
        if SHA256_RE.fullmatch(locator):
            return locator
        parent, _, name = locator.rpartition("/")
        if parent != self.url:
            raise UnsafeLocatorError(f"{locator[:80]} is not a location in store {self.url}")
        return check_asset_name(name)

    def get(self, locator: str) -> bytes:
        sha = self._name(locator)
        return verify(self.read_unverified(sha), sha, f"asset {self.url}/{sha}")

    def read_unverified(self, sha256: str) -> bytes:
        with self._lock:
            data = self._assets.get(sha256)
        if data is None:
            raise AssetNotFoundError(f"asset {sha256} is not in store {self.url}")
        return data

    def iter_assets(self) -> Iterator[str]:
        with self._lock:
            names = sorted(self._assets)
        yield from names

    def stat(self, sha256: str) -> AssetStat:
        return AssetStat(size=len(self.read_unverified(check_asset_name(sha256))))

    def delete(self, sha256: str) -> None:
        with self._lock:
            self._assets.pop(check_asset_name(sha256), None)
