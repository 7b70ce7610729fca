"""``mmrender render --samples [--max-length N]``: one training sample per record, as the Python API builds it."""

from __future__ import annotations

import json
from pathlib import Path

import mmrender
from mmrender.types import to_jsonable

from .conftest import MODELS
from .conftest import mmrender as run

MODEL = MODELS["qwen3_vl"]


def test_samples_rows_equal_build_training_sample(corpus_dir: Path, tmp_path: Path, monkeypatch) -> None:
    store = tmp_path / "store"
    args = ["--samples", "--max-length", "400", "--errors", str(tmp_path / "errors.jsonl"), "--workers", "1", "-q"]
    proc = run(
        "render",
        "mixed.jsonl",
        "-m",
        MODEL,
        "--store",
        str(store),
        "-o",
        str(tmp_path / "s.jsonl"),
        *args,
        cwd=corpus_dir,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    skipped = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]

    monkeypatch.chdir(corpus_dir)
    renderer = mmrender.get_renderer(MODEL, store=str(store))
    records = [json.loads(line) for line in (corpus_dir / "mixed.jsonl").read_text().splitlines()]
    expected, too_long = [], []
    for index, record in enumerate(records):
        try:
            sample = renderer.build_training_sample(record["messages"], tools=record.get("tools"), max_length=400)
        except mmrender.MMRenderError:
            too_long.append(index)
            continue
        expected.append({"id": record.get("id", index), **to_jsonable(sample)})
    assert rows == expected
    assert any(row["truncated"] for row in rows) and all(len(row["token_ids"]) <= 400 for row in rows)
    assert too_long and [e["index"] for e in skipped] == too_long  # a first image that does not fit is a bad record
