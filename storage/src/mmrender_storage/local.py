"""The ``file`` backend: a content-addressed directory, written atomically, verified on read.

Why a temp file + ``os.replace``: a rename inside one directory is atomic on POSIX and Windows,
so a reader (or a crash) sees either no asset or the whole asset, never a prefix of it, even
with many processes writing the same content at once.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from mmrender import hookimpl
from mmrender.errors import AssetNotFoundError, StorageError, UnsafeLocatorError
from mmrender.storage import (
    SHA256_RE,
    AssetStat,
    StorageBackend,
    Store,
    StoredAsset,
    check_asset_name,
    file_sha256,
    sha256_hex,
    verify,
)

TMP_PREFIX = ".tmp-"
TMP_SUFFIX = ".part"


def path_of(uri: str) -> Path:
    """A local path from ``file://`` URIs or plain paths."""
    if uri.startswith("file:"):
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise UnsafeLocatorError(f"file URI with a remote host is not local: {uri}")
        return Path(unquote(parts.path))
    return Path(uri)


def read_file(path: Path, what: str) -> bytes:
    """Read a regular file; missing → :class:`AssetNotFoundError`, anything else → :class:`StorageError`."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise StorageError(f"{what} {path} is not a regular file")
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise AssetNotFoundError(f"{what} {path} does not exist") from exc
    except OSError as exc:
        raise StorageError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


FSYNC_ENV = "MMRENDER_STORE_FSYNC"
#: Bytes per read when a file is compared with or copied into the store.
COPY_CHUNK = 1 << 20


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy_into(src: BinaryIO, fd: int) -> None:
    """Copy the rest of ``src`` to the descriptor ``fd`` one chunk at a time."""
    buffer = bytearray(COPY_CHUNK)
    while count := src.readinto(buffer):
        _write_all(fd, memoryview(buffer)[:count])


class LocalStore(Store):
    """Assets named by full sha256 under one root; a temp file + ``os.replace`` makes each write whole.

    ``fsync`` (off by default, ``MMRENDER_STORE_FSYNC=1`` or ``fsync=True``) also survives power loss;
    without it a crash can at worst leave a short file, which the next put of those bytes rewrites
    and every read's hash check refuses.
    """

    def __init__(self, root: Path, *, fsync: bool | None = None) -> None:
        self.root = root.expanduser().resolve()
        self.url = self.root.as_uri()
        self._root = str(self.root)
        self._uri_prefix = (self.root / "x").as_uri()[:-1]  # the asset URI up to its name
        if fsync is None:
            fsync = os.environ.get(FSYNC_ENV, "").strip().lower() in ("1", "true", "yes")
        self.fsync = fsync

    def _path(self, sha: str) -> Path:
        return self.root / check_asset_name(sha)

    def put(self, data: bytes, *, mime: str | None = None, sha256: str | None = None) -> StoredAsset:
        sha = check_asset_name(sha256 or sha256_hex(data))
        path = f"{self._root}/{sha}"  # plain strings: this runs once per image of every render
        if not self._holds(path, data):
            self._write(path, sha, data)
        return StoredAsset(sha256=sha, raw_uri=self._uri_prefix + sha, raw_image_id=sha)

    def put_file(
        self, path: str | os.PathLike[str], *, mime: str | None = None, sha256: str | None = None
    ) -> StoredAsset:
        """:meth:`put` of a file's bytes, streamed: compared and copied in chunks, never held in memory."""
        source = os.fspath(path)
        try:
            sha = check_asset_name(sha256 or file_sha256(source))
            target = f"{self._root}/{sha}"
            with open(source, "rb") as src:
                if not self._holds_file(target, src):
                    src.seek(0)
                    self._write_with(target, sha, lambda fd: _copy_into(src, fd))
        except OSError as exc:
            raise StorageError(f"cannot read {source} to store it in {self.url}: {exc.strerror or exc}") from exc
        return StoredAsset(sha256=sha, raw_uri=self._uri_prefix + sha, raw_image_id=sha)

    @staticmethod
    def _holds_file(path: str, src: BinaryIO) -> bool:
        """The asset file holds exactly what ``src`` holds (:meth:`_holds` for a file: sizes, then chunks)."""
        try:
            with open(path, "rb") as fh:
                if os.fstat(fh.fileno()).st_size != os.fstat(src.fileno()).st_size:
                    return False
                while True:
                    ours, theirs = fh.read(COPY_CHUNK), src.read(COPY_CHUNK)
                    if ours != theirs:
                        return False
                    if not ours:
                        return True
        except OSError:
            return False

    @staticmethod
    def _holds(path: str, data: bytes) -> bool:
        """The asset file holds exactly ``data``; anything else (missing, short, same-size damage) is rewritten.

        Comparing with the bytes in hand verifies the asset as re-hashing would, at a fifth of the
        cost (benchmarks/bench_qwen3_vl.py, docs/performance.md); a size check alone missed flipped bytes.
        """
        try:
            with open(path, "rb", buffering=0) as fh:
                return fh.read(len(data) + 1) == data
        except OSError:
            return False

    def _write(self, path: str, sha: str, data: bytes) -> None:
        """Write ``data`` to a private temp file, then rename it into place (readers never see a part)."""
        self._write_with(path, sha, lambda fd: _write_all(fd, data))

    def _write_with(self, path: str, sha: str, fill: Callable[[int], None]) -> None:
        """Let ``fill`` write the asset to a private temp file's descriptor, then rename it into place."""
        tmp = f"{self._root}/{TMP_PREFIX}{secrets.token_hex(8)}{TMP_SUFFIX}"
        try:
            fd = self._create(tmp)
        except OSError as exc:
            raise StorageError(f"cannot write to store {self.url}: {exc}") from exc
        try:
            try:
                os.fchmod(fd, 0o644)  # readable by consumers whatever the writer's umask
                fill(fd)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise StorageError(f"cannot write asset {sha} to store {self.url}: {exc}") from exc
            raise

    def _create(self, tmp: str) -> int:
        """Open a new temp file (0644, never an existing one), creating the root on first use."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(tmp, flags, 0o644)
        except FileNotFoundError:
            self.root.mkdir(parents=True, exist_ok=True)
            return os.open(tmp, flags, 0o644)

    def locate(self, locator: str) -> tuple[str, Path]:
        """Map a ``raw_image_id`` or a ``file://`` URI to an asset path inside the root."""
        if SHA256_RE.fullmatch(locator):
            return locator, self._path(locator)
        if not locator.startswith("file:") and "://" in locator:
            raise UnsafeLocatorError(f"{locator} is not a location in store {self.url}")
        path = path_of(locator).resolve()
        if not path.is_relative_to(self.root) or path.parent != self.root:
            raise UnsafeLocatorError(f"{locator} is outside the store root {self.root}")
        return check_asset_name(path.name), path

    def get(self, locator: str) -> bytes:
        sha, path = self.locate(locator)
        try:
            data = read_file(path, "asset")
        except AssetNotFoundError as exc:
            raise AssetNotFoundError(f"asset {sha} is not in store {self.url}") from exc
        return verify(data, sha, f"asset {path}")

    def read_unverified(self, sha256: str) -> bytes:
        return read_file(self._path(sha256), "asset")

    def stat(self, sha256: str) -> AssetStat:
        try:
            info = self._path(sha256).stat()
        except FileNotFoundError as exc:
            raise AssetNotFoundError(f"asset {sha256} is not in store {self.url}") from exc
        return AssetStat(size=info.st_size, mtime=info.st_mtime)

    def iter_assets(self) -> Iterator[str]:
        """Every asset name; a missing root is an error (a mistyped path must not look like an empty store)."""
        if not self.root.is_dir():
            problem = "is not a directory" if self.root.exists() else "does not exist"
            raise StorageError(f"store directory {self.root} {problem}")
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.is_file() and SHA256_RE.fullmatch(entry.name):
                yield entry.name

    def iter_temporaries(self) -> Iterator[tuple[str, float | None]]:
        if not self.root.is_dir():
            return
        for entry in os.scandir(self.root):
            if entry.name.startswith(TMP_PREFIX) and entry.name.endswith(TMP_SUFFIX):
                try:
                    yield entry.name, entry.stat().st_mtime
                except FileNotFoundError:  # its writer just renamed it into place
                    continue

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)

    def delete_temporary(self, name: str) -> None:
        if not (name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)) or "/" in name or os.sep in name:
            raise UnsafeLocatorError(f"{name!r} is not a temporary of store {self.url}")
        (self.root / name).unlink(missing_ok=True)


class FileBackend(StorageBackend):
    schemes = ("file",)

    def open_store(self, url: str, **options: Any) -> Store:
        fsync = options.pop("fsync", None)
        if options:
            raise StorageError(f"the file backend takes only the option 'fsync', got {sorted(options)}")
        return LocalStore(path_of(url), fsync=fsync)

    def read(self, uri: str, **options: Any) -> bytes:
        """Read a local file; a file named by a sha256 (an asset) is verified against its name."""
        path = path_of(uri)
        data = read_file(path, "file")
        if SHA256_RE.fullmatch(path.name):
            verify(data, path.name, f"asset {path}")
        return data


@hookimpl
def register_storage_backends(register: Any) -> None:
    register(FileBackend())
