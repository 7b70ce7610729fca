"""The ``fsspec`` backend: content-addressed stores at any fsspec URL (``s3://``, ``gs://``, ``memory://`` …).

Schemes: every protocol fsspec knows by name (:mod:`.fsspec_protocols`) except ``file``, ``local``
and ``data`` (the ``file`` and ``data`` backends own those), or only those listed in
``$MMRENDER_FSSPEC_SCHEMES`` (comma-separated) so another plugin can own, say, ``s3``.

Why writes are whole: object stores (S3, GCS, Azure …) make an object visible only after its
single PUT (or a completed multipart upload) succeeded, so assets are written straight to their
final key. For any other protocol (sftp, smb, webdav …) the bytes go to a temporary name in the
store and are then moved into place. Every read is verified against the asset's sha256 name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mmrender import hookimpl
from mmrender.errors import AssetNotFoundError, MissingBackendError, MMRenderError, StorageError, UnsafeLocatorError
from mmrender.images import FETCH_SCHEMES, check_fetch_policy
from mmrender.network import network_timeout
from mmrender.storage import (
    SHA256_RE,
    AssetStat,
    ObjectRanges,
    StorageBackend,
    Store,
    StoredAsset,
    check_asset_name,
    file_sha256,
    scheme_of,
    sha256_hex,
    verify,
)

from .fsspec_protocols import KNOWN_PROTOCOLS
from .network import HTTP_PROTOCOLS, S3_PROTOCOLS, bound_retries, network_error, timeout_options

if TYPE_CHECKING:  # fsspec itself is imported when a URI of ours is first opened (see .fsspec_protocols)
    import fsspec

SCHEMES_ENV = "MMRENDER_FSSPEC_SCHEMES"
CACHE_ENV = "MMRENDER_READ_CACHE_BYTES"
EXCLUDED = frozenset({"file", "local", "data"})
#: Protocols whose one-shot write is all-or-nothing: written directly to the final key.
ATOMIC_PUT = frozenset(
    {"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss", "oci", "ocilake", "tos", "tosfs", "memory"}
)
#: Which extra of this distribution brings a protocol's implementation.
EXTRAS = {"s3": "mmrender-storage[s3]", "s3a": "mmrender-storage[s3]"}
TMP_PREFIX = ".tmp-"
TMP_SUFFIX = ".part"


def _etag_matches(etag: object, md5: Callable[[], str]) -> bool:
    """Whether an S3 ETag agrees with the content whose MD5 hex ``md5()`` gives (asked only when needed):
    a plain ETag is the object's MD5; a multipart one (``"…-N"``) or none at all says nothing about
    the content, so it is taken as agreeing."""
    if not isinstance(etag, str):
        return True
    tag = etag.strip('"').lower()
    if len(tag) != 32 or "-" in tag:
        return True
    return md5() == tag


def _file_md5(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


def registered_schemes() -> tuple[str, ...]:
    """The schemes this backend claims (see the module docstring)."""
    raw = os.environ.get(SCHEMES_ENV)
    names = {n.strip().lower() for n in raw.split(",") if n.strip()} if raw is not None else set(KNOWN_PROTOCOLS)
    return tuple(sorted(names - EXCLUDED))


def _install_hint(protocol: str, exc: BaseException) -> MissingBackendError:
    extra = EXTRAS.get(protocol)
    if extra:
        how = f"pip install '{extra}'"
    else:
        from fsspec.registry import known_implementations

        err = known_implementations.get(protocol, {}).get("err") or str(exc)
        how = f"install the fsspec implementation for {protocol}:// ({err})"
    return MissingBackendError(f"{protocol}:// needs a package that is not installed: {how}")


def open_filesystem(url: str, options: dict[str, Any], timeout: float) -> tuple[fsspec.AbstractFileSystem, str]:
    """``url_to_fs`` with the network timeout applied and typed errors (a missing package is named)."""
    protocol = scheme_of(url.split("::")[-1])
    if "::" not in url:  # chained URLs: options belong to the outer protocol, leave them alone
        options = timeout_options(protocol, options, timeout)
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(url, **options)
    except ImportError as exc:
        raise _install_hint(protocol, exc) from exc
    except Exception as exc:  # bad options or URL: TypeError, ValueError … from the implementation
        raise StorageError(f"cannot open {url}: {type(exc).__name__}: {exc}") from exc
    bound_retries(fs)
    return fs, path


class ReadCache:
    """A bounded LRU of verified asset bytes keyed by sha256 (content-addressed, so never stale)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, sha: str) -> bytes | None:
        if not self.max_bytes:
            return None
        with self._lock:
            data = self._items.get(sha)
            if data is not None:
                self._items.move_to_end(sha)
            return data

    def put(self, sha: str, data: bytes) -> None:
        if not self.max_bytes or len(data) > self.max_bytes:
            return
        with self._lock:
            if sha in self._items:
                return
            self._items[sha] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)

    @property
    def size(self) -> int:
        return self._size


def _env_cache_bytes() -> int:
    try:
        return int(os.environ.get(CACHE_ENV, "0") or 0)
    except ValueError:
        return 0


def _fail(what: str, exc: Exception, timeout: float, url: str | None) -> StorageError:
    """One clear error for every transport failure; network ones name the host, what happened and the timeout.

    The network check comes first: fsspec's HTTP filesystem wraps an unreachable host in a
    ``FileNotFoundError``, which must not read as "not found".
    """
    unreachable = network_error(what, exc, timeout, url)
    if unreachable is not None:
        return unreachable
    if isinstance(exc, FileNotFoundError):
        return AssetNotFoundError(f"{what}: not found")
    return StorageError(f"{what} failed: {type(exc).__name__}: {exc}")


def _endpoint(fs: fsspec.AbstractFileSystem, url: str) -> str | None:
    """The URL naming the host ``fs`` talks to: s3fs's ``endpoint_url``, else ``url`` itself.

    An ``s3://`` URL names a bucket, not a host: with no endpoint set, the host comes from the
    botocore error (or stays unnamed).
    """
    endpoint = getattr(fs, "endpoint_url", None) or (getattr(fs, "client_kwargs", None) or {}).get("endpoint_url")
    if isinstance(endpoint, str) and endpoint:
        return endpoint
    return None if scheme_of(url) in S3_PROTOCOLS else url


class RemoteStore(Store):
    """A content-addressed store at ``<protocol>://<root>/<sha256>`` on any fsspec filesystem."""

    def __init__(
        self, fs: fsspec.AbstractFileSystem, root: str, *, cache_bytes: int = 0, timeout: float | None = None
    ) -> None:
        root = root.rstrip("/")
        if not root.strip("/"):
            raise StorageError(f"a {fs.protocol} store needs a bucket or directory in its URL")
        self.fs = fs
        self.root = root
        self.protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
        self.url = fs.unstrip_protocol(root)
        self.atomic = bool(ATOMIC_PUT & set(self.protocols))
        self.is_s3 = bool(S3_PROTOCOLS & set(self.protocols)) and hasattr(fs, "call_s3")
        self.cache = ReadCache(cache_bytes)
        self.timeout = network_timeout(timeout)
        self.endpoint = _endpoint(fs, self.url)
        # async filesystems (s3fs, gcsfs, adlfs …) serve sync calls from any thread on fsspec's loop
        self.background_puts = bool(getattr(fs, "async_impl", False))

    def _path(self, sha: str) -> str:
        return f"{self.root}/{check_asset_name(sha)}"

    def _uri(self, sha: str) -> str:
        return self.fs.unstrip_protocol(self._path(sha))

    def _fail(self, what: str, exc: Exception) -> StorageError:
        return _fail(f"store {self.url}: {what}", exc, self.timeout, self.endpoint)

    # -- writing -----------------------------------------------------------------------------
    def put(self, data: bytes, *, mime: str | None = None, sha256: str | None = None) -> StoredAsset:
        sha = sha256 or sha256_hex(data)
        return self._write(
            sha,
            len(data),
            lambda: hashlib.md5(data, usedforsecurity=False).hexdigest(),
            mime,
            lambda target, **kw: self.fs.pipe_file(target, data, **kw),
        )

    def put_file(
        self, path: str | os.PathLike[str], *, mime: str | None = None, sha256: str | None = None
    ) -> StoredAsset:
        """:meth:`put` of a local file, streamed: fsspec's ``put_file`` uploads it in parts (multipart on S3)."""
        source = os.fspath(path)
        try:
            sha, size = sha256 or file_sha256(source), os.path.getsize(source)
        except OSError as exc:
            raise StorageError(f"cannot read {source} to store it in {self.url}: {exc.strerror or exc}") from exc
        return self._write(
            sha, size, lambda: _file_md5(source), mime, lambda to, **kw: self.fs.put_file(source, to, **kw)
        )

    def _write(
        self, sha: str, size: int, md5: Callable[[], str], mime: str | None, send: Callable[..., Any]
    ) -> StoredAsset:
        """Upload through ``send(target, **kwargs)`` unless the asset is already there, whole."""
        path = self._path(sha)
        try:
            if not self._present(path, size, md5):
                self._upload(path, mime, send)
        except MMRenderError:
            raise
        except Exception as exc:
            raise self._fail(f"writing asset {sha}", exc) from exc
        return StoredAsset(sha256=sha, raw_uri=self._uri(sha), raw_image_id=sha)

    def _present(self, path: str, size: int, md5: Callable[[], str]) -> bool:
        """One HEAD: are these ``size`` bytes there already? A wrong size, or on S3 a single-part object
        whose ETag (its MD5) is not ``md5()``, is damage: rewrite it. Multipart ETags are not an MD5; size only then."""
        if self.is_s3:  # a bare HEAD; s3fs's info() adds a LIST on every miss
            bucket, key, _ = self.fs.split_path(path)
            try:
                head = self.fs.call_s3("head_object", Bucket=bucket, Key=key)
            except FileNotFoundError:
                return False
            return head.get("ContentLength") == size and _etag_matches(head.get("ETag"), md5)
        self.fs.invalidate_cache(path)
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return False
        return info.get("type", "file") == "file" and info.get("size") == size

    def _upload(self, path: str, mime: str | None, write: Callable[..., object]) -> None:
        """``write(target, **kwargs)`` the asset whole: to its key where one upload is all-or-nothing, else
        to a temporary name moved into place."""
        if self.atomic:
            kwargs = {"ContentType": mime} if mime and self.is_s3 else {}
            write(path, **kwargs)
            return
        tmp = f"{self.root}/{TMP_PREFIX}{uuid.uuid4().hex}{TMP_SUFFIX}"
        self.fs.makedirs(self.root, exist_ok=True)
        try:
            write(tmp)
            self.fs.mv(tmp, path)
        except BaseException:
            with contextlib.suppress(Exception):  # already gone, or the filesystem is unreachable
                self.fs.rm_file(tmp)
            raise

    # -- reading -----------------------------------------------------------------------------
    def sha_of(self, locator: str) -> str:
        """The asset name behind a ``raw_image_id`` or a ``raw_uri`` of this store; others are refused."""
        if SHA256_RE.fullmatch(locator):
            return locator
        if scheme_of(locator) not in self.protocols:
            raise UnsafeLocatorError(f"{locator[:80]} is not a location in store {self.url}")
        parent, _, name = self.fs._strip_protocol(locator).rpartition("/")
        if parent.rstrip("/") != self.root:
            raise UnsafeLocatorError(f"{locator[:80]} is outside the store root {self.url}")
        return check_asset_name(name)

    def get(self, locator: str) -> bytes:
        sha = self.sha_of(locator)
        cached = self.cache.get(sha)
        if cached is not None:
            return cached
        data = verify(self.read_unverified(sha), sha, f"asset {self._uri(sha)}")
        self.cache.put(sha, data)
        return data

    def read_unverified(self, sha256: str) -> bytes:
        path = self._path(sha256)
        self.fs.invalidate_cache(path)  # a listing cached earlier must not hide assets other processes wrote since
        try:
            return self.fs.cat_file(path)
        except Exception as exc:
            raise self._fail(f"reading asset {sha256}", exc) from exc

    def stat(self, sha256: str) -> AssetStat:
        path = self._path(sha256)
        self.fs.invalidate_cache(path)
        try:
            info = self.fs.info(path)
            try:
                modified: datetime | None = self.fs.modified(path)
            except (NotImplementedError, AttributeError):
                modified = None
        except Exception as exc:
            raise self._fail(f"stat of asset {sha256}", exc) from exc
        return AssetStat(size=int(info.get("size") or 0), mtime=modified.timestamp() if modified else None)

    def _listing(self) -> list[str]:
        self.fs.invalidate_cache(self.root)
        try:
            return [p.rstrip("/").rpartition("/")[2] for p in self.fs.ls(self.root, detail=False)]
        except FileNotFoundError:
            return []
        except Exception as exc:
            raise self._fail("listing", exc) from exc

    def iter_assets(self) -> Iterator[str]:
        yield from sorted(n for n in self._listing() if SHA256_RE.fullmatch(n))

    def iter_temporaries(self) -> Iterator[tuple[str, float | None]]:
        for name in self._listing():
            if name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX):
                try:
                    modified = self.fs.modified(f"{self.root}/{name}").timestamp()
                except Exception:  # vanished (moved into place) or no mtime support
                    modified = None
                yield name, modified

    def delete(self, sha256: str) -> None:
        try:
            self.fs.rm_file(self._path(sha256))
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise self._fail(f"deleting asset {sha256}", exc) from exc

    def delete_temporary(self, name: str) -> None:
        if not (name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)) or "/" in name:
            raise UnsafeLocatorError(f"{name!r} is not a temporary of store {self.url}")
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(f"{self.root}/{name}")


class FsspecBackend(StorageBackend):
    """Opens :class:`RemoteStore` objects; reads any URI of its schemes (fetch policy for http/ftp)."""

    def __init__(self) -> None:
        self.schemes = registered_schemes()
        self.cache = ReadCache(_env_cache_bytes())

    def open_store(self, url: str, **options: Any) -> Store:
        """``url`` plus fsspec storage options (``endpoint_url``, ``key`` …); ``read_cache_bytes`` is ours."""
        if "::" in url:
            raise StorageError(f"chained fsspec URLs cannot be stores ({url}); use read_cache_bytes for caching")
        cache_bytes = options.pop("read_cache_bytes", None)
        timeout = network_timeout(options.pop("timeout", None))
        fs, root = open_filesystem(url, options, timeout)
        cache = _env_cache_bytes() if cache_bytes is None else int(cache_bytes)
        return RemoteStore(fs, root, cache_bytes=cache, timeout=timeout)

    def read(self, uri: str, **options: Any) -> bytes:
        """Read one URI; a name that is a sha256 is verified (and cached when the cache is on)."""
        if scheme_of(uri.split("::")[-1]) in FETCH_SCHEMES:
            check_fetch_policy(uri)
        timeout = network_timeout(options.pop("timeout", None))
        fs, path = open_filesystem(uri, options, timeout)
        name = path.rstrip("/").rpartition("/")[2]
        is_asset = bool(SHA256_RE.fullmatch(name))
        if is_asset and (cached := self.cache.get(name)) is not None:
            return cached
        try:
            data = fs.cat_file(path)
        except Exception as exc:
            raise _fail(f"reading {uri[:80]}", exc, timeout, _endpoint(fs, uri)) from exc
        if is_asset:
            verify(data, name, f"asset {uri}")
            self.cache.put(name, data)
        return data

    def open_ranges(self, uri: str, head: int, tail: int, **options: Any) -> ObjectRanges | None:
        """``uri`` opened for header reads (see :mod:`.ranged_reads`); http(s) only where the fetch
        policy allows it, as :meth:`read`. None for what :meth:`read` must read whole: ftp, chained
        URLs, and store assets (verified against their sha256 name, which takes every byte)."""
        scheme = scheme_of(uri)
        if "::" in uri or (scheme in FETCH_SCHEMES and scheme not in HTTP_PROTOCOLS):
            return None
        if scheme in FETCH_SCHEMES:
            check_fetch_policy(uri)
        timeout = network_timeout(options.pop("timeout", None))
        fs, path = open_filesystem(uri, options, timeout)
        if SHA256_RE.fullmatch(path.rstrip("/").rpartition("/")[2]):
            return None
        from .ranged_reads import object_ranges

        try:
            return object_ranges(fs, path, head, tail)
        except MMRenderError:
            raise
        except Exception as exc:
            raise _fail(f"reading {uri[:80]}", exc, timeout, _endpoint(fs, uri)) from exc


@hookimpl
def register_storage_backends(register: Any) -> None:
    register(FsspecBackend())
