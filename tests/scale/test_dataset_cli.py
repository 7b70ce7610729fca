"""``mmrender render`` / ``mmrender lengths`` over datasets, as users run them: real subprocesses and files.

Workers are real processes (forked, or spawned with ``MMRENDER_WORKER_START=spawn``); the references are the single-process run of the same command.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .conftest import MODELS, mmrender

MODEL = MODELS["qwen3_vl"]


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_workers_write_the_same_bytes_and_lengths_agree(corpus_dir: Path, tmp_path: Path) -> None:
    common = ["-m", MODEL, "--store", str(tmp_path / "store"), "--chunk-size", "16", "-q"]
    one = mmrender(
        "render", "mixed.jsonl", "-o", str(tmp_path / "one.jsonl"), "--workers", "1", *common, cwd=corpus_dir
    )
    assert one.returncode == 0, one.stderr
    two = mmrender(
        "render", "mixed.jsonl", "-o", str(tmp_path / "two.jsonl"), "--workers", "2", *common, cwd=corpus_dir
    )
    assert two.returncode == 0, two.stderr
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    rendered = rows(tmp_path / "one.jsonl")
    records = rows(corpus_dir / "mixed.jsonl")
    assert [r["id"] for r in rendered] == [rec.get("id", i) for i, rec in enumerate(records)]

    lengths = mmrender("lengths", "mixed.jsonl", "-m", MODEL, "--workers", "2", "--chunk-size", "16", cwd=corpus_dir)
    assert lengths.returncode == 0, lengths.stderr
    counted = [json.loads(line) for line in lengths.stdout.splitlines()]
    assert counted == [{"id": r["id"], "num_tokens": len(r["token_ids"])} for r in rendered]
    (summary,) = lengths.stderr.splitlines()  # not a terminal: no progress bar, one summary line
    assert summary.startswith("counted 120 record(s), ") and "records/s" in summary


def test_spawned_workers_write_what_forked_ones_do(corpus_dir: Path, tmp_path: Path) -> None:
    """The opt-out start method renders the same bytes (forked workers reuse the parent's renderer)."""
    common = ["render", "mixed.jsonl", "-m", MODEL, "--store", str(tmp_path / "store"), "--chunk-size", "16", "-q"]
    forked = mmrender(*common, "-o", str(tmp_path / "fork.jsonl"), "--workers", "2", cwd=corpus_dir)
    env = {"MMRENDER_WORKER_START": "spawn"}
    spawned = mmrender(*common, "-o", str(tmp_path / "spawn.jsonl"), "--workers", "2", cwd=corpus_dir, env=env)
    assert forked.returncode == 0 and spawned.returncode == 0, forked.stderr + spawned.stderr
    assert (tmp_path / "fork.jsonl").read_bytes() == (tmp_path / "spawn.jsonl").read_bytes()


def test_progress_bar_on_a_terminal(corpus_dir: Path, tmp_path: Path) -> None:
    """On a terminal, stderr shows records/s, images/s and an ETA against the record count."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    command = [sys.executable, "-m", "mmrender", "render", "mixed.jsonl", "-m", MODEL, "-o", str(tmp_path / "o.jsonl")]
    command += ["--store", str(tmp_path / "store"), "--workers", "1", "--chunk-size", "16"]
    proc = subprocess.Popen(command, cwd=corpus_dir, stderr=follower, stdout=subprocess.DEVNULL)
    os.close(follower)
    screen = b""
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        screen += data
    assert proc.wait(timeout=300) == 0, screen
    text = screen.decode()
    assert "/120 [" in text and "rec/s" in text and "img/s" in text
    assert text.rstrip().splitlines()[-1].startswith("rendered 120 record(s)")


def test_parquet_in_and_out(corpus_dir: Path, tmp_path: Path) -> None:
    """Nested Parquet columns (Arrow adds null keys to every struct) render like the JSONL records."""
    records = rows(corpus_dir / "mixed.jsonl")[:40]
    for record in records:  # one content type per column (as Parquet has it); absolute paths to the images
        for msg in record["messages"]:
            if isinstance(msg["content"], str):
                msg["content"] = [{"type": "text", "text": msg["content"]}]
            for part in msg["content"]:
                if part["type"] == "image":
                    part["image"] = str(corpus_dir / part["image"])
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    table = pa.Table.from_pylist(
        [
            {"id": r.get("id", str(i)), "messages": r["messages"], "tools": json.dumps(r.get("tools"))}
            for i, r in enumerate(records)
        ]
    )
    pq.write_table(table, tmp_path / "in.parquet")
    store = ["--store", str(tmp_path / "store"), "-m", MODEL, "-q", "--workers", "1"]
    ref = mmrender("render", "in.jsonl", "-o", "ref.jsonl", *store, cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr
    out = mmrender("render", "in.parquet", "-o", "out.parquet", *store, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    got = pq.read_table(tmp_path / "out.parquet").to_pylist()
    want = rows(tmp_path / "ref.jsonl")
    for row, expected in zip(got, want, strict=True):
        assert row["token_ids"] == expected["token_ids"]
        assert json.loads(row["multi_modal_data"]) == expected["multi_modal_data"]
        assert json.loads(row["refs"]) == expected["refs"]
    assert [r["id"] for r in got] == [r.get("id", str(i)) for i, r in enumerate(records)]
    assert len(got) == len(want)
