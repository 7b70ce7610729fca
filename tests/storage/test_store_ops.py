"""``verify_store`` and ``gc_store`` (the logic behind ``mmrender store verify|gc``) on local and S3 stores."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from mmrender.dispatch import open_store
from mmrender.errors import StorageError
from mmrender.refs import dump
from mmrender.storage import sha256_hex
from mmrender.store_ops import gc_store, scan_references, verify_store
from mmrender.types import RawMMRef, to_jsonable
from storage_helpers import image_message, png_bytes


def render_line(renderer: Any, *images: bytes) -> dict[str, Any]:
    """A line shaped like ``mmrender render`` output: sidecar envelopes and ``refs`` strings."""
    out = renderer.render([image_message(*images)])
    mm = out.multi_modal_data
    refs = [dump(RawMMRef.from_item(i, h)) for i, h in zip(mm.mm_items["image"], mm.mm_hashes["image"], strict=True)]
    return {"token_ids": list(out.token_ids), "multi_modal_data": to_jsonable(mm), "refs": {"image": refs}}


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture(params=["local", "s3"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    if request.param == "local":
        return str(tmp_path / "store"), {}
    server = request.getfixturevalue("s3_server")
    url = request.getfixturevalue("s3_url")
    return url, server.storage_options()


def test_verify_clean_and_damaged(store_url: tuple[str, dict[str, Any]]) -> None:
    url, options = store_url
    store = open_store(url, **options)
    blobs = [png_bytes(i) for i in range(6)]
    shas = [store.put(b).sha256 for b in blobs]
    report = verify_store(url, **options)
    assert report.clean and report.checked == report.ok == 6 and report.bytes_checked == sum(map(len, blobs))
    damaged = shas[2]
    _overwrite(store, damaged, blobs[2][:-3] + b"xyz")
    report = verify_store(url, **options)
    assert report.mismatched == (damaged,) and report.ok == 5 and not report.clean
    assert report.as_dict()["mismatched"] == [damaged]
    report = verify_store(url, delete_mismatched=True, **options)
    assert report.deleted == (damaged,)
    assert damaged not in set(open_store(url, **options).iter_assets())
    store.put(blobs[2])  # the true bytes can be written again
    assert verify_store(url, **options).clean


def _overwrite(store: Any, sha: str, data: bytes) -> None:
    if hasattr(store, "fs"):
        store.fs.pipe_file(f"{store.root}/{sha}", data)
    else:
        (store.root / sha).write_bytes(data)


def test_gc_keeps_referenced_and_deletes_the_rest(
    store_url: tuple[str, dict[str, Any]], renderer_for: Any, tmp_path: Path
) -> None:
    url, options = store_url
    store = open_store(url, **options)
    renderer = renderer_for(store)
    a, b, c, d, e = (png_bytes(100 + i) for i in range(5))
    envelopes_only = render_line(renderer, a)
    del envelopes_only["refs"]
    refs_only = render_line(renderer, b)
    refs_only = {"refs": refs_only["refs"]}
    bare_id = {"note": {"raw_image_id": store.put(c).sha256}}
    file1 = write_jsonl(tmp_path / "run1.jsonl", [envelopes_only, refs_only])
    file2 = write_jsonl(tmp_path / "run2.jsonl", [bare_id, {"text": "nothing here"}])
    unreferenced = {store.put(d).sha256, store.put(e).sha256}
    referenced = {sha256_hex(x) for x in (a, b, c)}

    report = gc_store(url, [file1, file2], **options)
    assert report.dry_run and report.deleted == ()
    assert set(report.unreferenced) == unreferenced and report.referenced == 3 and report.total == 5
    assert set(store.iter_assets()) == referenced | unreferenced  # dry run deleted nothing

    report = gc_store(url, [file1, file2], dry_run=False, **options)
    assert set(report.deleted) == unreferenced
    assert set(open_store(url, **options).iter_assets()) == referenced
    assert report.as_dict()["dry_run"] is False


def test_gc_reports_referenced_but_missing_assets(tmp_path: Path, renderer_for: Any) -> None:
    url = str(tmp_path / "store")
    line = render_line(renderer_for(url), png_bytes(1))
    sha = sha256_hex(png_bytes(1))
    (tmp_path / "store" / sha).unlink()
    report = gc_store(url, [write_jsonl(tmp_path / "r.jsonl", [line])])
    assert report.missing == (sha,) and report.total == 0


def test_gc_grace_period_spares_young_assets(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    store = open_store(url)
    old, young = store.put(b"old asset").sha256, store.put(b"young asset").sha256
    past = time.time() - 7200
    os.utime(store.root / old, (past, past))
    refs = write_jsonl(tmp_path / "none.jsonl", [])
    report = gc_store(url, [refs], dry_run=False, min_age_seconds=3600)
    assert report.deleted == (old,) and report.kept_young == (young,)


def test_gc_removes_stale_temporaries_only(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    store = open_store(url)
    store.put(b"x")
    stale, fresh = store.root / ".tmp-dead.part", store.root / ".tmp-live.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    past = time.time() - 7200
    os.utime(stale, (past, past))
    refs = write_jsonl(tmp_path / "r.jsonl", [{"raw_image_id": sha256_hex(b"x")}])
    report = gc_store(url, [refs], dry_run=False)
    assert report.stale_temporaries == (".tmp-dead.part",)
    assert not stale.exists() and fresh.exists()


def test_gc_refuses_to_run_on_unreadable_references(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    keep = open_store(url).put(b"keep me").sha256
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text(json.dumps({"raw_image_id": keep}) + '\n{"truncated": \n', encoding="utf-8")
    with pytest.raises(StorageError, match=r"bad.jsonl:2"):
        gc_store(url, [bad_json], dry_run=False)
    bad_ref = write_jsonl(tmp_path / "badref.jsonl", [{"refs": ["mmraw:v3:@@@"]}])
    with pytest.raises(StorageError, match=r"badref.jsonl:1"):
        gc_store(url, [bad_ref], dry_run=False)
    with pytest.raises(StorageError, match="cannot read"):
        gc_store(url, [tmp_path / "missing.jsonl"], dry_run=False)
    assert list(open_store(url).iter_assets()) == [keep]


def test_reference_scan_parses_refs_and_ignores_lookalikes(tmp_path: Path) -> None:
    sha = "ab" * 32
    ref = dump(
        RawMMRef(
            family="f", fingerprint="0" * 32, modality="image", mm_hash=sha[:32], payload={}, raw_uri=f"s3://b/p/{sha}"
        )
    )
    other = "cd" * 32
    lines = [
        {"refs": {"image": [ref]}},
        {"x": [f"file:///store/{other}"]},
        {"mm_hashes": {"image": [sha[:32]]}, "text": "a" + "ef" * 32, "key_" + "12" * 32: 1},
        {"inline": "data:image/png;base64," + "00" * 40},
    ]
    found = scan_references([write_jsonl(tmp_path / "refs.jsonl", lines)])
    assert found == {sha, other}


def test_verify_of_a_store_that_cannot_list(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot be verified"):
        verify_store("data:")
