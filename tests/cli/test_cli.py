"""The ``mmrender`` CLI as users run it: real subprocesses, real files, real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mmrender
import pytest
from mmrender.storage import sha256_hex

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
MODEL = "Qwen/Qwen3-VL-8B-Instruct"


def run(*args: str, store: Path | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MMRENDER_STORE": str(store) if store else os.environ.get("MMRENDER_STORE", "/nonexistent")}
    return subprocess.run(
        [sys.executable, "-m", "mmrender", *args], capture_output=True, text=True, env=env, timeout=300, **kwargs
    )


def test_render_dataset_offloads_images_and_refs_verify(tmp_path: Path) -> None:
    store, out = tmp_path / "store", tmp_path / "out.jsonl"
    proc = run("render", str(EXAMPLES / "conversations.jsonl"), "-m", MODEL, "-o", str(out), store=store)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    records = [json.loads(line) for line in (EXAMPLES / "conversations.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == [r["id"] for r in records]
    images_in = sum(
        1
        for r in records
        for m in r["messages"]
        if isinstance(m["content"], list)
        for p in m["content"]
        if p.get("type") in ("image", "image_url")
    )
    refs = [ref for line in lines for ref in line["refs"].get("image", [])]
    assert len(refs) == images_in
    # every asset file is named by the sha256 of its bytes and every ref materialises to those bytes
    for asset in store.iterdir():
        assert asset.name == sha256_hex(asset.read_bytes())
    for line in lines:
        placeholders = line["multi_modal_data"]["mm_placeholders"].get("image", [])
        for ref, place in zip(line["refs"].get("image", []), placeholders, strict=True):
            got = mmrender.materialize(ref)
            assert got.layout is not None and got.layout.num_placeholders == place["length"]
            span = line["token_ids"][place["offset"] : place["offset"] + place["length"]]
            assert len(set(span)) == 1


def test_render_single_conversation_json_to_stdout(tmp_path: Path) -> None:
    conv = tmp_path / "conv.json"
    conv.write_text(json.dumps([{"role": "user", "content": "hi"}]))
    proc = run("render", str(conv), "-m", MODEL, "-q", store=tmp_path / "s")
    assert proc.returncode == 0, proc.stderr
    (line,) = [json.loads(x) for x in proc.stdout.splitlines()]
    assert line["refs"] == {} and len(line["token_ids"]) == len(line["message_indices"]) > 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"messages": [{"role": "user", "content": "x"}]}\nnot json\n', ":2 (record 2): not valid JSON"),
        ('{"messages": [{"role": "robot", "content": "x"}]}\n', "message 0: unexpected role 'robot'"),
        ('{"messages": [{"role": "user", "content": [{"type": "image", "image": "missing.png"}]}]}\n', "part 0"),
    ],
)
def test_bad_input_is_one_line_error_and_no_output(tmp_path: Path, content: str, expected: str) -> None:
    data, out = tmp_path / "bad.jsonl", tmp_path / "out.jsonl"
    data.write_text(content)
    proc = run("render", str(data), "-m", MODEL, "-o", str(out), store=tmp_path / "s")
    assert proc.returncode == 1
    assert proc.stderr.startswith("mmrender: error:") and expected in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".mmrender-*"))


def test_unknown_model_suggests_close_matches(tmp_path: Path) -> None:
    proc = run("resolve", "Qwen/Qwen3-VL-8B-Instruc")
    assert proc.returncode == 1 and "did you mean" in proc.stderr and MODEL in proc.stderr


def test_resolve_and_plugins_json() -> None:
    proc = run("resolve", MODEL, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["distribution"] == "mmrender-qwen3-vl"
    rows = json.loads(run("plugins", "--json").stdout)
    by_dist = {row["distribution"]: row for row in rows}
    assert MODEL in by_dist["mmrender-qwen3-vl"]["models"]
    assert "register_families" in by_dist["mmrender-qwen3-vl"]["hooks"]
    assert {"file", "data"} <= {s for row in rows for s in row["schemes"]}


def test_resolve_text_lists_option_defaults_as_literals() -> None:
    proc = run("resolve", "qwen3-vl-8b-thinking")
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(": ", 1) for line in proc.stdout.splitlines())
    assert lines["route"] == "Qwen/Qwen3-VL-8B-Thinking"
    assert "multimodal_output='raw'" in lines["options"] and "add_vision_id=False" in lines["options"]


def test_layout_reads_header_only(tmp_path: Path) -> None:
    proc = run("layout", "-m", MODEL, str(EXAMPLES / "images" / "street.jpg"), "--json")
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    # brief: 640x480 -> grid [1, 30, 40], 300 placeholder tokens
    assert row["grid"] == [1, 30, 40] and row["num_tokens"] == 300


def test_ref_inspect_rejects_garbage() -> None:
    proc = run("ref", "inspect", "mmraw:v9:abc")
    assert proc.returncode == 1 and "unknown ref version" in proc.stderr


def test_store_verify_and_gc_from_the_command_line(tmp_path: Path) -> None:
    store, out = tmp_path / "store", tmp_path / "out.jsonl"
    proc = run("render", str(EXAMPLES / "conversations.jsonl"), "-m", MODEL, "-o", str(out), "-q", store=store)
    assert proc.returncode == 0, proc.stderr
    assets = sorted(p.name for p in store.iterdir())
    orphan = b"not referenced by any line"
    (store / sha256_hex(orphan)).write_bytes(orphan)

    verify = run("store", "verify", str(store))
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["checked"] == len(assets) + 1

    dry = run("store", "gc", str(store), "--keep-referenced", str(out))
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["unreferenced"] == [sha256_hex(orphan)]
    assert (store / sha256_hex(orphan)).exists(), "gc without --delete is a dry run"
    gone = run("store", "gc", str(store), "--keep-referenced", str(out), "--delete")
    assert gone.returncode == 0 and not (store / sha256_hex(orphan)).exists()
    assert sorted(p.name for p in store.iterdir()) == assets

    victim = store / assets[0]
    victim.write_bytes(victim.read_bytes()[:-1] + b"\x00")  # same size, different content: tampering
    tampered = run("store", "verify", str(store))
    assert tampered.returncode == 1 and json.loads(tampered.stdout)["mismatched"] == [assets[0]]
