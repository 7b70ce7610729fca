"""The ``file`` backend: a content-addressed directory, written atomically, verified on read."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mmrender import hookimpl
from mmrender.errors import AssetNotFoundError, StorageError, UnsafeLocatorError
from mmrender.storage import SHA256_RE, StorageBackend, Store, StoredAsset, check_asset_name, sha256_hex, verify


def path_of(uri: str) -> Path:
    """A local path from ``file://`` URIs or plain paths."""
    if uri.startswith("file:"):
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise UnsafeLocatorError(f"file URI with a remote host is not local: {uri}")
        return Path(unquote(parts.path))
    return Path(uri)


class LocalStore(Store):
    """Assets named by full sha256 under one root; a temp file + ``os.replace`` makes each write whole."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.url = self.root.as_uri()

    def _path(self, sha: str) -> Path:
        return self.root / check_asset_name(sha)

    def put(self, data: bytes, *, mime: str | None = None) -> StoredAsset:
        sha = sha256_hex(data)
        path = self._path(sha)
        if not path.exists():
            self._write(path, data)
        return StoredAsset(sha256=sha, raw_uri=path.as_uri(), raw_image_id=sha)

    def _write(self, path: Path, data: bytes) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".part")
        except OSError as exc:
            raise StorageError(f"cannot write to store {self.url}: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def locate(self, locator: str) -> tuple[str, Path]:
        """Map a ``raw_image_id`` or a ``file://`` URI to an asset path inside the root."""
        if SHA256_RE.fullmatch(locator):
            return locator, self._path(locator)
        path = path_of(locator).resolve()
        if not path.is_relative_to(self.root):
            raise UnsafeLocatorError(f"{locator} is outside the store root {self.root}")
        return check_asset_name(path.name), path

    def get(self, locator: str) -> bytes:
        sha, path = self.locate(locator)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise AssetNotFoundError(f"asset {sha} is not in store {self.url}") from exc
        return verify(data, sha, f"asset {path}")

    def read_unverified(self, sha256: str) -> bytes:
        return self._path(sha256).read_bytes()

    def iter_assets(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.is_file() and SHA256_RE.fullmatch(entry.name):
                yield entry.name

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)


class FileBackend(StorageBackend):
    schemes = ("file",)

    def open_store(self, url: str, **options: Any) -> Store:
        if options:
            raise StorageError(f"the file backend takes no options, got {sorted(options)}")
        return LocalStore(path_of(url))

    def read(self, uri: str, **options: Any) -> bytes:
        return path_of(uri).read_bytes()


@hookimpl
def register_storage_backends(register: Any) -> None:
    register(FileBackend())
