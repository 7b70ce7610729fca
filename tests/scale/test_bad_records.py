"""Bad records: the first one stops the job (one line, no output), or ``--errors FILE`` skips and lists them.

The bad kinds are the ones mmrender types: unparsable lines, wrongly typed fields, bad roles, unknown
models, and every image failure the storage hardening names (missing, not an image, truncated,
unsupported format, a directory, undecodable data URI, over the byte limit).
"""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import MODELS, mixed_corpus, mmrender, write_images, write_jsonl

MODEL = MODELS["qwen3_vl"]


def image_record(source: str, rid: str) -> str:
    return json.dumps({"id": rid, "messages": [{"role": "user", "content": [{"type": "image", "image": source}]}]})


def bad_lines(folder: Path) -> dict[str, tuple[str, str]]:
    """id -> (JSONL line, the error class its row must name)."""
    (folder / "notes.txt").write_text("not an image at all")
    (folder / "truncated.png").write_bytes((folder / "images" / "img0.png").read_bytes()[:40])
    (folder / "scan.tiff").write_bytes(b"II*\x00" + bytes(64))
    largest = max((folder / "images").iterdir(), key=lambda p: p.stat().st_size)
    (folder / "big.png").write_bytes(largest.read_bytes() + bytes(1000))  # trailing bytes: still that image
    (folder / "adir.png").mkdir()
    return {
        "json": ('{"id": "json", "messages": [', "JSONDecodeError"),
        "field": (
            json.dumps({"id": "field", "messages": [{"role": "user", "content": "x"}], "tools": "none"}),
            "ConversationError",
        ),
        "role": (json.dumps({"id": "role", "messages": [{"role": "robot", "content": "x"}]}), "ConversationError"),
        "model": (
            json.dumps({"id": "model", "model": "no/such-model", "messages": [{"role": "user", "content": "x"}]}),
            "UnknownModelError",
        ),
        "missing": (image_record("nope.png", "missing"), "ImageSourceError"),
        "notimage": (image_record("notes.txt", "notimage"), "ImageSourceError"),
        "truncated": (image_record("truncated.png", "truncated"), "ImageSourceError"),
        "tiff": (image_record("scan.tiff", "tiff"), "ImageSourceError"),
        "dir": (image_record("adir.png", "dir"), "ImageSourceError"),
        "datauri": (image_record("data:image/png;base64,@@@", "datauri"), "ImageSourceError"),
        "toobig": (image_record("big.png", "toobig"), "ImageSourceError"),
    }


def test_bad_records_stop_the_job_or_are_skipped_into_the_errors_file(tmp_path: Path) -> None:
    good = mixed_corpus(write_images(tmp_path / "images"), 990, seed=3)
    bad = bad_lines(tmp_path)
    lines = [json.dumps(r) for r in good]
    positions = {}
    for k, (rid, (line, _)) in enumerate(bad.items()):  # spread over the dataset, ~1% of it
        at = 40 + k * 90
        lines.insert(at, line)
        positions[rid] = at
    (tmp_path / "data.jsonl").write_text("\n".join(lines) + "\n")
    write_jsonl(tmp_path / "good.jsonl", good)
    env = {"MMRENDER_MAX_IMAGE_BYTES": str((tmp_path / "big.png").stat().st_size - 1)}  # only big.png is over
    args = ["-m", MODEL, "--store", "store", "--chunk-size", "32", "-q"]

    stop = mmrender("render", "data.jsonl", "-o", "out.jsonl", "--workers", "2", *args, cwd=tmp_path, env=env)
    assert stop.returncode == 1
    first = min(positions.values())
    assert stop.stderr.splitlines() == [stop.stderr.strip()] and stop.stderr.startswith("mmrender: error: ")
    assert f"data.jsonl:{first + 1} (record {first + 1}): not valid JSON" in stop.stderr
    assert not (tmp_path / "out.jsonl").exists() and not list(tmp_path.glob(".mmrender-*"))

    skip = mmrender(
        "render",
        "data.jsonl",
        "-o",
        "out.jsonl",
        "--errors",
        "errors.jsonl",
        "--workers",
        "2",
        *args[:-1],
        cwd=tmp_path,
        env=env,
    )
    assert skip.returncode == 0, skip.stderr
    assert f"skipped {len(bad)} bad record(s) -> errors.jsonl" in skip.stderr.splitlines()[-1]
    errors = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert [(e["index"], e["error"]) for e in errors] == [(positions[rid], bad[rid][1]) for rid in bad]
    assert [e["id"] for e in errors] == [None if rid == "json" else rid for rid in bad]
    by_id = {e["id"]: e["message"] for e in errors}
    assert by_id["missing"].startswith("message 0, part 0: image file not found")
    assert "'tools'" in by_id["field"] and "robot" in by_id["role"] and "no/such-model" in by_id["model"]

    ref = mmrender("render", "good.jsonl", "-o", "ref.jsonl", "--workers", "1", *args, cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    want = [json.loads(line) for line in (tmp_path / "ref.jsonl").read_text().splitlines()]
    for row in want:  # records without an id are numbered by their place in their own file
        if not isinstance(row["id"], str):
            row["id"] = None
    for row in out:
        if not isinstance(row["id"], str):
            row["id"] = None
    assert out == want
