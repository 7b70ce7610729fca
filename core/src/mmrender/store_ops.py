"""Store maintenance behind ``mmrender store verify`` and ``mmrender store gc``.

``verify_store`` re-hashes every asset. ``gc_store`` deletes assets that no listed JSONL file
references (a dry run unless told otherwise). A line references an asset when any string in it
is an ``mmraw:`` ref whose ``raw_image_id``/``raw_uri`` names the asset's sha256, or is (or ends
with) that sha256 — this covers ``mmrender render`` output (``multi_modal_data.mm_items``
envelopes and ``refs`` lists) and any other JSON that carries the locators. A reference file
that cannot be read completely aborts gc: deleting on partial knowledge could lose live assets.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs

from .dispatch import open_store
from .errors import MMRenderError, RefError, StorageError
from .refs import parse
from .storage import Store, sha256_hex

_TRAILING_SHA = re.compile(r"(?:^|[^0-9a-f])([0-9a-f]{64})$")


def _jsonable(report: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.asdict(report, recurse=False).items()}


@attrs.frozen
class VerifyReport:
    """What ``verify_store`` found: ``mismatched`` assets hash to something else than their name."""

    url: str
    checked: int
    ok: int
    bytes_checked: int
    mismatched: tuple[str, ...] = ()
    unreadable: tuple[tuple[str, str], ...] = ()
    deleted: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not self.mismatched and not self.unreadable

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (lists, not tuples)."""
        out = _jsonable(self)
        out["unreadable"] = [{"sha256": s, "error": e} for s, e in self.unreadable]
        out["clean"] = self.clean
        return out


@attrs.frozen
class GcReport:
    """What ``gc_store`` kept and removed (``dry_run``: what it *would* remove)."""

    url: str
    dry_run: bool
    total: int
    referenced: int
    unreferenced: tuple[str, ...]
    deleted: tuple[str, ...]
    kept_young: tuple[str, ...]
    missing: tuple[str, ...]
    stale_temporaries: tuple[str, ...]
    reference_files: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (lists, not tuples)."""
        return _jsonable(self)


def _check_one(store: Store, sha: str, delete_mismatched: bool) -> tuple[str, str, int, str]:
    """Hash one asset: (sha, "ok"|"mismatch"|"unreadable", size, error)."""
    try:
        data = store.read_unverified(sha)
    except (MMRenderError, OSError) as exc:
        return sha, "unreadable", 0, str(exc)
    if sha256_hex(data) == sha:
        return sha, "ok", len(data), ""
    if delete_mismatched:
        store.delete(sha)
    return sha, "mismatch", len(data), ""


def verify_store(
    url: str | Store, *, delete_mismatched: bool = False, workers: int = 8, **options: Any
) -> VerifyReport:
    """Re-hash every asset of the store at ``url``; with ``delete_mismatched``, remove damaged ones.

    Removing a damaged asset lets the next ``put`` of the true bytes write it again (a remote
    store's put skips an existing object of the right size). ``options`` are the store's open options.
    """
    store = open_store(url, **options)
    try:
        names = list(store.iter_assets())
    except NotImplementedError as exc:
        raise StorageError(f"store {store.url} cannot be verified: {exc}") from exc
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(lambda s: _check_one(store, s, delete_mismatched), names))
    mismatched = tuple(s for s, status, _, _ in results if status == "mismatch")
    return VerifyReport(
        url=store.url,
        checked=len(results),
        ok=sum(1 for _, status, _, _ in results if status == "ok"),
        bytes_checked=sum(size for _, _, size, _ in results),
        mismatched=mismatched,
        unreadable=tuple((s, err) for s, status, _, err in results if status == "unreadable"),
        deleted=mismatched if delete_mismatched else (),
    )


def _strings(value: Any) -> Iterator[str]:
    """Every string value (not key) anywhere in a decoded JSON document."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _sha_in(text: str) -> str | None:
    if text.startswith("data:"):
        return None
    match = _TRAILING_SHA.search(text[-65:]) if len(text) >= 64 else None
    return match.group(1) if match else None


def shas_referenced_by(value: Any) -> set[str]:
    """The asset names one decoded JSON document references (refs are parsed, locators matched).

    Raises :class:`RefError` for an ``mmraw:`` string that does not parse.
    """
    found: set[str] = set()
    for text in _strings(value):
        if text.startswith("mmraw:"):
            ref = parse(text)  # a RefError here aborts gc: that ref might name a live asset
            for locator in (ref.raw_image_id, ref.raw_uri):
                sha = _sha_in(locator) if locator else None
                if sha:
                    found.add(sha)
            continue
        sha = _sha_in(text)
        if sha:
            found.add(sha)
    return found


def scan_references(paths: Iterable[str | os.PathLike[str]]) -> set[str]:
    """Union of the shas referenced by every line of every JSONL file; any unreadable line is an error."""
    found: set[str] = set()
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                for lineno, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        found |= shas_referenced_by(json.loads(line))
                    except (json.JSONDecodeError, RecursionError, RefError) as exc:
                        raise StorageError(
                            f"{path}:{lineno}: unreadable ({exc}); refusing to collect garbage on partial references"
                        ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise StorageError(f"cannot read reference file {path}: {exc}") from exc
    return found


def gc_store(
    url: str | Store,
    referenced_jsonl_paths: Iterable[str | os.PathLike[str]],
    *,
    dry_run: bool = True,
    min_age_seconds: float = 0.0,
    temporary_max_age_seconds: float = 3600.0,
    **options: Any,
) -> GcReport:
    """Delete (or, with ``dry_run``, list) assets that no line of the given JSONL files references.

    ``min_age_seconds`` spares assets written more recently than that (renders still running may
    reference them in files not listed yet). Temporaries of interrupted uploads older than
    ``temporary_max_age_seconds`` are removed too. ``options`` are the store's open options.
    """
    paths = tuple(os.fspath(p) for p in referenced_jsonl_paths)
    referenced = scan_references(paths)
    store = open_store(url, **options)
    try:
        names = list(store.iter_assets())
    except NotImplementedError as exc:
        raise StorageError(f"store {store.url} cannot list its assets for gc: {exc}") from exc
    present = set(names)
    now = time.time()
    unreferenced, young = [], []
    for sha in names:
        if sha in referenced:
            continue
        if min_age_seconds > 0:
            mtime = store.stat(sha).mtime
            if mtime is None or now - mtime < min_age_seconds:
                young.append(sha)
                continue
        unreferenced.append(sha)
    stale = [
        name
        for name, mtime in store.iter_temporaries()
        if mtime is not None and now - mtime > temporary_max_age_seconds
    ]
    deleted: list[str] = []
    if not dry_run:
        for sha in unreferenced:
            store.delete(sha)
            deleted.append(sha)
        for name in stale:
            store.delete_temporary(name)
    return GcReport(
        url=store.url,
        dry_run=dry_run,
        total=len(names),
        referenced=len(present & referenced),
        unreferenced=tuple(unreferenced),
        deleted=tuple(deleted),
        kept_young=tuple(young),
        missing=tuple(sorted(referenced - present)),
        stale_temporaries=tuple(stale),
        reference_files=paths,
    )


__all__ = ["GcReport", "VerifyReport", "gc_store", "scan_references", "shas_referenced_by", "verify_store"]
