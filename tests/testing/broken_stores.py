"""Stores broken in one way each, built on the kit's MemoryStore: the kit must fail exactly there.

They are store objects (no URL), so the multi-process check does not apply to them; the torn
``tornfile://`` plugin covers it by URL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mmrender.errors import AssetNotFoundError
from mmrender.storage import AssetStat, StoredAsset, check_asset_name, sha256_hex
from mmrender.testing import MemoryStore


class WrongSha(MemoryStore):
    def put(self, data: bytes, *, mime: str | None = None, sha256: str | None = None) -> StoredAsset:
        asset = super().put(data, mime=mime, sha256=sha256)
        return StoredAsset(sha256=asset.sha256[::-1], raw_uri=asset.raw_uri, raw_image_id=asset.raw_image_id)


class UnverifiedGet(MemoryStore):
    def get(self, locator: str) -> bytes:
        return self.read_unverified(self._name(locator))


class FollowsForeignLocators(MemoryStore):
    def _name(self, locator: str) -> str:
        return check_asset_name(locator.rpartition("/")[2])  # the bug: whatever the parent is


class AnonymousMissing(MemoryStore):
    def get(self, locator: str) -> bytes:
        try:
            return super().get(locator)
        except AssetNotFoundError:
            raise AssetNotFoundError("not found") from None  # the bug: which store?


class DuplicateListing(MemoryStore):
    def iter_assets(self) -> Iterator[str]:
        for name in list(super().iter_assets()):
            yield name
            yield name


class WrongStat(MemoryStore):
    def stat(self, sha256: str) -> AssetStat:
        return AssetStat(size=super().stat(sha256).size + 1)


class DeleteDoesNothing(MemoryStore):
    def delete(self, sha256: str) -> None:
        check_asset_name(sha256)


class TornPut(MemoryStore):
    def put(self, data: bytes, *, mime: str | None = None, sha256: str | None = None) -> StoredAsset:
        asset = super().put(data, mime=mime, sha256=sha256)
        with self._lock:
            whole = self._assets[asset.sha256]
            self._assets[asset.sha256] = whole[: len(whole) // 2]  # the bug: visible half-way
        time.sleep(0.05)
        with self._lock:
            self._assets[asset.sha256] = whole
        return asset


class PutFileStoresAPart(MemoryStore):
    def put_file(self, path: Any, *, mime: str | None = None, sha256: str | None = None) -> StoredAsset:
        data = Path(path).read_bytes()
        return self.put(data[: len(data) // 2], mime=mime, sha256=sha256 or sha256_hex(data))  # the bug: a prefix


class FlagNotBool(MemoryStore):
    background_puts = 1  # type: ignore[assignment]


#: variant → (store class, store checks that must fail)
VARIANTS: dict[str, tuple[type[Any], set[str]]] = {
    "wrong-sha": (WrongSha, {"put_get_verified", "put_file", "iter_assets", "stat", "delete", "background_puts"}),
    "unverified-get": (UnverifiedGet, {"tampered_asset"}),
    "follows-foreign-locators": (FollowsForeignLocators, {"foreign_locator"}),
    "anonymous-missing": (AnonymousMissing, {"missing_asset", "delete"}),
    "duplicate-listing": (DuplicateListing, {"iter_assets"}),
    "wrong-stat": (WrongStat, {"stat"}),
    "delete-does-nothing": (DeleteDoesNothing, {"delete"}),
    "torn-put": (TornPut, {"put_atomic_threads"}),
    "put-file-stores-a-part": (PutFileStoresAPart, {"put_file"}),
    "flag-not-bool": (FlagNotBool, {"background_puts"}),
}
