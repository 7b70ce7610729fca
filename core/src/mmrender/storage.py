"""Storage contracts: content-addressed stores and the backends that open them by URI scheme.

Core names no backend; every scheme (``file``, ``data``, ``s3`` …) arrives through
``register_storage_backends``, exactly as a third-party backend would.
"""

from __future__ import annotations

import abc
import hashlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from .errors import AssetIntegrityError, StorageError, UnsafeLocatorError

STORE_ENV = "MMRENDER_STORE"
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@attrs.frozen
class AssetStat:
    """Size and last-modified time (seconds since the epoch, or None when the store cannot say)."""

    size: int
    mtime: float | None = None


@attrs.frozen
class StoredAsset:
    """Where an asset landed: ``raw_uri`` always; ``raw_image_id`` when the store has a shared root."""

    sha256: str
    raw_uri: str
    raw_image_id: str | None = None


class Store(abc.ABC):
    """A content-addressed asset store: names are full sha256 hex digests, reads are verified."""

    url: str

    #: True when ``put`` is thread-safe and spends its time in I/O that releases the GIL (files,
    #: network): renderers then run it on worker threads while they hash the next image.
    background_puts: bool = False

    @abc.abstractmethod
    def put(self, data: bytes, *, mime: str | None = None, sha256: str | None = None) -> StoredAsset:
        """Store ``data`` once (idempotent) and say where it is.

        ``sha256`` is the caller's hex digest of ``data`` when it already has one (renderers hash
        each image once for ``mm_hash`` and the asset name); compute it when it is None.
        """

    def put_file(
        self, path: str | os.PathLike[str], *, mime: str | None = None, sha256: str | None = None
    ) -> StoredAsset:
        """Store the bytes of the local file at ``path``, exactly as :meth:`put` stores them.

        Videos go through here: a backend that can stream a file (the ``file`` and ``fsspec`` ones)
        overrides it so the file is never held in memory; this default reads it whole and calls ``put``,
        so every store takes files. ``sha256`` is the caller's digest of the file (as for ``put``).
        """
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise StorageError(f"cannot read {path} to store it in {self.url}: {exc.strerror or exc}") from exc
        return self.put(data, mime=mime, sha256=sha256)

    @abc.abstractmethod
    def get(self, locator: str) -> bytes:
        """Return verified bytes for a ``raw_uri`` or ``raw_image_id`` of this store."""

    def iter_assets(self) -> Iterator[str]:
        """Yield the sha256 name of every asset (stores that cannot list raise NotImplementedError)."""
        raise NotImplementedError(f"store {self.url} cannot list its assets")

    def delete(self, sha256: str) -> None:
        raise NotImplementedError(f"store {self.url} cannot delete assets")

    def read_unverified(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256`` as they are (``verify``/``gc`` tools hash them themselves)."""
        raise NotImplementedError(f"store {self.url} cannot read assets by name")

    def stat(self, sha256: str) -> AssetStat:
        """Size and modification time of one asset (used by ``gc``'s grace period)."""
        raise NotImplementedError(f"store {self.url} cannot stat assets")

    def iter_temporaries(self) -> Iterator[tuple[str, float | None]]:
        """Yield ``(name, mtime)`` of in-flight or abandoned temporary uploads (none by default)."""
        return iter(())

    def delete_temporary(self, name: str) -> None:
        raise NotImplementedError(f"store {self.url} has no temporaries to delete")


@attrs.frozen
class ObjectRanges:
    """One stored object opened for a header read: its size, its first and last bytes (fetched
    when it is opened, in one round trip where the backend can) and any other byte ranges.

    ``read_ranges`` takes ``(offset, length)`` pairs and returns their bytes in order (fewer at the
    object's end), fetched together where the backend can (concurrent requests on S3).
    """

    size: int
    head: bytes = attrs.field(repr=False)
    tail: bytes = attrs.field(repr=False)
    read_ranges: Callable[[Sequence[tuple[int, int]]], list[bytes]] = attrs.field(repr=False)


class StorageBackend(abc.ABC):
    """Opens stores and reads source URIs for the schemes it names."""

    schemes: tuple[str, ...] = ()

    @abc.abstractmethod
    def open_store(self, url: str, **options: Any) -> Store:
        """Return a store rooted at ``url``."""

    @abc.abstractmethod
    def read(self, uri: str, **options: Any) -> bytes:
        """Read the bytes a URI of one of ``schemes`` points at (an image source or a ref locator)."""

    def open_ranges(self, uri: str, head: int, tail: int, **options: Any) -> ObjectRanges | None:
        """``uri`` opened for byte ranges with its first ``head`` and last ``tail`` bytes read, or None
        when only a whole :meth:`read` gives what it must (the default: header reads then read whole)."""
        return None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file, hashed in chunks (a video of a gigabyte is never in memory at once)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def check_digest(actual: str, expected_sha256: str, where: str) -> None:
    """Raise :class:`AssetIntegrityError` unless the content's digest ``actual`` is ``expected_sha256``."""
    if actual != expected_sha256:
        raise AssetIntegrityError(f"{where}: content hashes to {actual[:16]}…, name says {expected_sha256[:16]}…")


def verify(data: bytes, expected_sha256: str, where: str) -> bytes:
    """Raise :class:`AssetIntegrityError` unless ``data`` hashes to ``expected_sha256``."""
    check_digest(sha256_hex(data), expected_sha256, where)
    return data


def check_asset_name(name: str) -> str:
    """Accept only a bare 64-hex name: anything else could escape a store root."""
    if not SHA256_RE.fullmatch(name):
        raise UnsafeLocatorError(f"asset name {name!r} is not a sha256 hex digest (path traversal refused)")
    return name


def scheme_of(uri: str) -> str:
    """The URI scheme, or ``file`` for a plain local path (``C:`` drive letters included)."""
    if uri.startswith("data:"):
        return "data"
    if ":" not in uri:  # the common relative or absolute path: no scheme to parse
        return "file"
    scheme = urlsplit(uri).scheme
    if len(scheme) <= 1:
        return "file"
    return scheme.lower()


def default_store_url() -> str:
    """``$MMRENDER_STORE`` or a per-user cache directory."""
    env = os.environ.get(STORE_ENV)
    if env:
        return env
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "mmrender" / "assets")
