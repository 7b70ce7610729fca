"""An mmrender storage backend that keeps content-addressed image blobs in one SQLite file.

URLs: the store is ``sqlite:///abs/path/assets.db``; each asset is ``sqlite:///abs/path/assets.db/<sha256>``
(``raw_uri``) and, because every reader opens the same database, also just ``<sha256>``
(``raw_image_id``). A write is one ``INSERT OR IGNORE`` transaction: SQLite makes it atomic and
idempotent, so concurrent writers of the same bytes leave exactly one whole row.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mmrender import hookimpl
from mmrender.errors import AssetNotFoundError, StorageError, UnsafeLocatorError
from mmrender.storage import SHA256_RE, StorageBackend, Store, StoredAsset, check_asset_name, sha256_hex, verify

SCHEMA = "CREATE TABLE IF NOT EXISTS assets (sha256 TEXT PRIMARY KEY, mime TEXT, data BLOB NOT NULL)"


def split_url(url: str) -> tuple[Path, str | None]:
    """``sqlite:///db`` → (db, None); ``sqlite:///db/<sha256>`` → (db, sha256)."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc not in ("", "localhost"):
        raise UnsafeLocatorError(f"not a local sqlite URL: {url}")
    path = Path(unquote(parts.path))
    if SHA256_RE.fullmatch(path.name):
        return path.parent, path.name
    return path, None


class SqliteStore(Store):
    def __init__(self, db: Path) -> None:
        self.db = db.expanduser().resolve()
        self.url = f"sqlite://{self.db.as_posix()}"
        try:
            self.db.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open store {self.url}: {exc}") from exc

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One connection per operation, committed (or rolled back) and closed at the end."""
        conn = sqlite3.connect(self.db, timeout=30)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def put(self, data: bytes, *, mime: str | None = None, sha256: str | None = None) -> StoredAsset:
        sha = sha256 or sha256_hex(data)  # renderers pass the digest they already computed
        try:
            with self._connect() as conn:  # one transaction: the row is there whole, or not at all
                conn.execute("INSERT OR IGNORE INTO assets VALUES (?, ?, ?)", (sha, mime, data))
        except sqlite3.Error as exc:
            raise StorageError(f"store {self.url}: writing asset {sha} failed: {exc}") from exc
        return StoredAsset(sha256=sha, raw_uri=f"{self.url}/{sha}", raw_image_id=sha)

    def _sha_of(self, locator: str) -> str:
        if SHA256_RE.fullmatch(locator):
            return locator
        try:
            db, sha = split_url(locator)
        except UnsafeLocatorError as exc:  # name this store: the caller may read from several
            raise UnsafeLocatorError(f"{locator} is not an asset of store {self.url} ({exc})") from exc
        if db.resolve() != self.db or sha is None:
            raise UnsafeLocatorError(f"{locator} is not an asset of store {self.url}")
        return check_asset_name(sha)

    def read_unverified(self, sha256: str) -> bytes:
        try:
            with self._connect() as conn:
                row = conn.execute("SELECT data FROM assets WHERE sha256 = ?", (sha256,)).fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"store {self.url}: reading asset {sha256} failed: {exc}") from exc
        if row is None:
            raise AssetNotFoundError(f"asset {sha256} is not in store {self.url}")
        return bytes(row[0])

    def get(self, locator: str) -> bytes:
        sha = self._sha_of(locator)
        return verify(self.read_unverified(sha), sha, f"asset {self.url}/{sha}")

    def iter_assets(self) -> Iterator[str]:
        with self._connect() as conn:
            rows = conn.execute("SELECT sha256 FROM assets ORDER BY sha256").fetchall()
        yield from (r[0] for r in rows)

    def delete(self, sha256: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM assets WHERE sha256 = ?", (check_asset_name(sha256),))


class SqliteBackend(StorageBackend):
    schemes = ("sqlite",)

    def open_store(self, url: str, **options: Any) -> Store:
        if options:
            raise StorageError(f"the sqlite backend takes no options, got {sorted(options)}")
        db, sha = split_url(url)
        if sha is not None:
            raise StorageError(f"a store URL names a database, not an asset: {url}")
        return SqliteStore(db)

    def read(self, uri: str, **options: Any) -> bytes:
        db, sha = split_url(uri)
        if sha is None:
            raise StorageError(f"{uri} names a database, not an asset")
        return SqliteStore(db).get(sha)


@hookimpl
def register_storage_backends(register: Any) -> None:
    register(SqliteBackend())
