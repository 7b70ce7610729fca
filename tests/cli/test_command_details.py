"""Smaller command-line contracts: store verify/gc arguments, --store spelling, resolve/ref/option output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mmrender.resolve import resolve
from mmrender.storage import sha256_hex

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
MODEL = "Qwen/Qwen3-VL-8B-Instruct"


def run(*args: str, store: Path | str = "/nonexistent", **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MMRENDER_STORE": str(store)}
    return subprocess.run(
        [sys.executable, "-m", "mmrender", *args], capture_output=True, text=True, env=env, timeout=300, **kwargs
    )


def rendered_store(tmp_path: Path) -> tuple[Path, Path]:
    store, out = tmp_path / "store", tmp_path / "out.jsonl"
    proc = run("render", str(EXAMPLES / "conversations.jsonl"), "-m", MODEL, "-o", str(out), "-q", store=store)
    assert proc.returncode == 0, proc.stderr
    return store, out


def test_verify_of_a_missing_store_is_an_error(tmp_path: Path) -> None:
    proc = run("store", "verify", str(tmp_path / "no" / "such" / "dir"))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("mmrender: error:") and "does not exist" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def test_verify_delete_removes_a_same_size_damaged_asset_and_a_render_writes_it_again(tmp_path: Path) -> None:
    store, out = rendered_store(tmp_path)
    victim = sorted(store.iterdir())[0]
    good = victim.read_bytes()
    victim.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # same size: put's size check cannot see it
    report = run("store", "verify", str(store), "--delete")
    assert report.returncode == 1 and json.loads(report.stdout)["deleted"] == [victim.name]
    assert not victim.exists()
    again = run("render", str(EXAMPLES / "conversations.jsonl"), "-m", MODEL, "-o", str(out), "-q", store=store)
    assert again.returncode == 0, again.stderr
    assert victim.read_bytes() == good and run("store", "verify", str(store)).returncode == 0


def test_keep_referenced_is_repeatable_and_does_not_swallow_the_url(tmp_path: Path) -> None:
    store, out = rendered_store(tmp_path)
    orphan = b"referenced by nobody"
    (store / sha256_hex(orphan)).write_bytes(orphan)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    proc = run("store", "gc", "--keep-referenced", str(empty), "--keep-referenced", str(out), str(store))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["reference_files"] == [str(empty), str(out)] and report["url"] == store.as_uri()
    assert report["unreferenced"] == [sha256_hex(orphan)]


def test_store_named_like_a_scheme_without_colon_warns(tmp_path: Path) -> None:
    conv = tmp_path / "conv.json"
    conv.write_text(json.dumps([{"role": "user", "content": "hi"}]))
    proc = run("render", str(conv), "-m", MODEL, "-q", "--store", "data", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (warning,) = proc.stderr.splitlines()
    assert warning.startswith("mmrender: warning:") and "'data:'" in warning and "./data" in warning
    quiet = run("render", str(conv), "-m", MODEL, "-q", "--store", "./data", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_resolve_json_gives_option_defaults_as_json_values() -> None:
    proc = run("resolve", MODEL, "--json")
    assert proc.returncode == 0, proc.stderr
    options = json.loads(proc.stdout)["options"]
    assert options["multimodal_output"] == "raw" and options["add_vision_id"] is False
    assert "run_id" in options and options["run_id"] is None


def test_a_badly_typed_option_is_one_line_naming_option_value_and_type(tmp_path: Path) -> None:
    conv = tmp_path / "conv.json"
    conv.write_text(json.dumps([{"role": "user", "content": "hi"}]))
    proc = run("render", str(conv), "-m", MODEL, "--option", "add_vision_id=yes", store=tmp_path / "s")
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert "add_vision_id='yes'" in line and "str" in line and "bool" in line
    assert "Attribute(" not in line and "<class" not in line


def test_ref_inspect_reads_the_ref_from_stdin(tmp_path: Path) -> None:
    proc = run("render", str(EXAMPLES / "conversations.jsonl"), "-m", MODEL, "-q", store=tmp_path / "s")
    ref = json.loads(proc.stdout.splitlines()[0])["refs"]["image"][0]
    from_arg = run("ref", "inspect", ref)
    from_stdin = run("ref", "inspect", "-", input=ref + "\n")
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert json.loads(from_stdin.stdout) == json.loads(from_arg.stdout)


def test_model_ids_resolve_case_insensitively_when_unambiguous() -> None:
    spec, route = resolve(MODEL.lower())
    assert (spec, route) == resolve(MODEL) and route.model_id == MODEL
    proc = run("resolve", MODEL.upper(), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["route"] == MODEL


def test_render_help_says_where_assets_go_by_default() -> None:
    proc = run("render", "--help")
    assert "~/.cache/mmrender/assets" in " ".join(proc.stdout.split())


def test_keep_referenced_expands_a_quoted_pattern_and_refuses_one_that_matches_nothing(tmp_path: Path) -> None:
    store, out = rendered_store(tmp_path)
    proc = run("store", "gc", str(store), "--keep-referenced", str(tmp_path / "*.jsonl"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["reference_files"] == [str(out)] and report["unreferenced"] == []
    nothing = run("store", "gc", str(store), "--keep-referenced", str(tmp_path / "*.nope"), "--delete")
    assert nothing.returncode == 1 and "matches no file" in nothing.stderr
    assert len(list(store.iterdir())) == report["total"]
