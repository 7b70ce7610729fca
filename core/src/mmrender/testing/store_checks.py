"""Store checks one call at a time: verified get, idempotent put, and the typed errors of bad reads, listing, stat, delete."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..errors import AssetIntegrityError, AssetNotFoundError, StorageError, UnsafeLocatorError
from ..ref_codecs import SAFE_FIELD_RE
from ..storage import SHA256_RE, Store, sha256_hex
from .images import noise_png
from .registry import NotApplicable, store_check
from .store_context import StoreContext


def _unsupported(what: str, fn: Callable[[], Any]) -> Any:
    """Call an optional Store method; NotImplementedError (the ABC's "cannot") makes the check not applicable."""
    try:
        return fn()
    except NotImplementedError as exc:
        raise NotApplicable(f"the store cannot {what} (NotImplementedError: {exc})") from exc


def expect_error(ctx: StoreContext, error: type[StorageError], fn: Callable[[], Any], what: str) -> None:
    """``fn`` must raise ``error`` (a StorageError subclass) with a message that names the store."""
    try:
        fn()
    except error as exc:
        assert ctx.names_store(str(exc)), f"{what}: {error.__name__} does not name the store {ctx.url}: {exc}"
        return
    except Exception as exc:
        raise AssertionError(f"{what}: raised {type(exc).__name__}: {exc} (expected {error.__name__})") from exc
    raise AssertionError(f"{what}: returned instead of raising {error.__name__}")


@store_check
def check_put_get_verified(ctx: StoreContext) -> None:
    """``put`` names the asset by its sha256 and is idempotent; ``get`` by ``raw_uri`` or ``raw_image_id`` returns it whole."""
    data = noise_png(20, 20)
    sha = sha256_hex(data)
    asset = ctx.put(data)
    assert asset.sha256 == sha, f"put returned sha256 {asset.sha256}, the bytes hash to {sha}"
    assert isinstance(asset.raw_uri, str) and asset.raw_uri, f"put returned raw_uri {asset.raw_uri!r}"
    if asset.raw_image_id is not None:
        assert SAFE_FIELD_RE.fullmatch(asset.raw_image_id) and asset.raw_image_id not in (".", ".."), (
            f"raw_image_id {asset.raw_image_id!r} is not a safe ref field ({SAFE_FIELD_RE.pattern})"
        )
    for field, locator in ctx.locators(asset).items():
        assert ctx.store.get(locator) == data, f"get({field}) returned other bytes"
    assert ctx.put(data) == asset, "a second put of the same bytes returned another StoredAsset"
    assert ctx.put(data, sha256=sha) == asset, "put with the caller's sha256 returned another StoredAsset"


@store_check
def check_put_file(ctx: StoreContext) -> str:
    """``put_file`` of a file stores its bytes as ``put`` does (same asset, idempotent), whether the file or the bytes came first."""
    data, other = noise_png(24, 24), noise_png(16, 16)
    sha = sha256_hex(data)
    asset = ctx.put_file(data)
    assert asset.sha256 == sha, f"put_file returned sha256 {asset.sha256}, the file hashes to {sha}"
    for field, locator in ctx.locators(asset).items():
        assert ctx.store.get(locator) == data, f"get({field}) of an asset put from a file returned other bytes"
    assert ctx.put_file(data) == asset, "a second put_file of the same file returned another StoredAsset"
    assert ctx.put_file(data, sha256=sha) == asset, "put_file with the caller's sha256 returned another StoredAsset"
    assert ctx.put(data) == asset, "put of a file's bytes returned another StoredAsset than put_file of the file"
    first = ctx.put(other)
    assert ctx.put_file(other) == first, "put_file of bytes already put returned another StoredAsset"
    assert ctx.store.get(first.raw_uri) == other, "an asset put, then put from a file, does not read back whole"
    native = type(ctx.store).put_file is not Store.put_file
    return "streamed by the store's own put_file" if native else "the default put_file (reads the file, calls put)"


@store_check
def check_tampered_asset(ctx: StoreContext) -> str | None:
    """Bytes that do not hash to their name are refused on ``get`` with AssetIntegrityError naming the store."""
    name = sha256_hex(noise_png(8, 8))  # a fresh name, never stored
    other = noise_png(8, 8)
    try:  # put trusts the caller's digest: the one way to mislabel an asset through the Store API
        asset = ctx.put(other, sha256=name)
    except AssetIntegrityError:
        return "put refuses bytes that do not hash to the given sha256"
    locators = {field: loc for field, loc in ctx.locators(asset).items() if name in loc}
    if not locators:
        raise NotApplicable("the store's locators carry the bytes themselves: there is no name to verify against")
    for field, locator in locators.items():
        expect_error(
            ctx, AssetIntegrityError, lambda loc=locator: ctx.store.get(loc), f"get({field}) of a tampered asset"
        )
    return None


@store_check
def check_foreign_locator(ctx: StoreContext) -> None:
    """Locators outside the store (traversal, other roots, other schemes) raise UnsafeLocatorError naming the store."""
    sha = ctx.probe.sha256
    candidates = ["../" + sha, "file:///etc/passwd", f"https://example.invalid/{sha}"]
    uri = ctx.probe.raw_uri
    if sha in uri:
        parent = uri[: uri.rindex(sha)].rstrip("/")
        candidates += [f"{parent}/../{sha}", f"{parent}-elsewhere/{sha}", f"{parent}/nested/{sha}"]
    for locator in candidates:
        expect_error(ctx, UnsafeLocatorError, lambda loc=locator: ctx.store.get(loc), f"get({locator!r})")


@store_check
def check_missing_asset(ctx: StoreContext) -> None:
    """Reading an asset that was never stored raises AssetNotFoundError naming the store."""
    name = sha256_hex(noise_png(8, 8))
    locators = ctx.locators_for(name)
    if not locators:
        raise NotApplicable("the store's locators carry the bytes themselves: no asset can be missing")
    for field, locator in locators.items():
        expect_error(
            ctx, AssetNotFoundError, lambda loc=locator: ctx.store.get(loc), f"get({field}) of a missing asset"
        )


@store_check
def check_iter_assets(ctx: StoreContext) -> None:
    """``iter_assets`` lists every stored asset exactly once, by its sha256 name."""
    shas = [ctx.put(noise_png(8, 8)).sha256 for _ in range(2)]
    names = _unsupported("list its assets", lambda: list(ctx.store.iter_assets()))
    bad = [n for n in names if not (isinstance(n, str) and SHA256_RE.fullmatch(n))]
    assert not bad, f"iter_assets yields names that are not sha256 hex digests: {bad[:3]}"
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, f"iter_assets lists {twice[:3]} more than once"
    missing = [s for s in shas if s not in names]
    assert not missing, f"iter_assets does not list the assets just put: {missing}"


@store_check
def check_stat(ctx: StoreContext) -> None:
    """``stat`` gives an asset's size (and mtime, if any, near now); a missing one raises AssetNotFoundError."""
    data = noise_png(12, 12)
    asset = ctx.put(data)
    info = _unsupported("stat assets", lambda: ctx.store.stat(asset.sha256))
    assert info.size == len(data), f"stat size {info.size}, the asset has {len(data)} bytes"
    if info.mtime is not None:
        assert abs(info.mtime - time.time()) < 86400, f"stat mtime {info.mtime} is not a recent epoch time"
    missing = sha256_hex(noise_png(8, 8))
    expect_error(ctx, AssetNotFoundError, lambda: ctx.store.stat(missing), "stat of a missing asset")


@store_check
def check_delete(ctx: StoreContext) -> None:
    """``delete`` removes an asset (reads then raise AssetNotFoundError), is idempotent, and the asset can be put again."""
    data = noise_png(10, 10)
    asset = ctx.put(data)
    _unsupported("delete assets", lambda: ctx.store.delete(asset.sha256))
    for field, locator in ctx.locators(asset).items():
        expect_error(ctx, AssetNotFoundError, lambda loc=locator: ctx.store.get(loc), f"get({field}) after delete")
    try:
        listed = list(ctx.store.iter_assets())
    except NotImplementedError:
        listed = []
    assert asset.sha256 not in listed, "iter_assets still lists a deleted asset"
    ctx.store.delete(asset.sha256)  # deleting what is gone is not an error
    again = ctx.put(data)
    assert ctx.store.get(again.raw_uri) == data, "an asset put again after delete does not read back whole"
