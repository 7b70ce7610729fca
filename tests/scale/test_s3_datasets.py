"""Datasets read from and written to S3 (the suite's real SeaweedFS server), with assets in S3 too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import s3fs

from .conftest import MODELS, mixed_corpus, mmrender, write_images, write_jsonl


def test_s3_dataset_in_and_out(s3_server: Any, s3_url: str, tmp_path: Path) -> None:
    fs = s3fs.S3FileSystem(**s3_server.storage_options())
    images = write_images(tmp_path / "images")
    records = mixed_corpus(images, 60, seed=9, image_dir=str(tmp_path / "images"))  # absolute image paths
    write_jsonl(tmp_path / "data.jsonl", records)
    fs.put_file(str(tmp_path / "data.jsonl"), f"{s3_url}/in/data.jsonl")
    env = s3_server.env()
    args = ["-m", MODELS["qwen3_vl"], "--store", f"{s3_url}/assets", "--workers", "2", "--chunk-size", "16", "-q"]

    ref = mmrender("render", "data.jsonl", "-o", "ref.jsonl", *args, "--workers", "1", cwd=tmp_path, env=env)
    assert ref.returncode == 0, ref.stderr
    out = mmrender(
        "render", f"{s3_url}/in/data.jsonl", "-o", f"{s3_url}/out/rows.parquet", *args, cwd=tmp_path, env=env
    )
    assert out.returncode == 0, out.stderr

    with fs.open(f"{s3_url}/out/rows.parquet", "rb") as fh:
        got = pq.read_table(fh).to_pylist()
    want = [json.loads(line) for line in (tmp_path / "ref.jsonl").read_text().splitlines()]
    assert any(isinstance(r["id"], int) for r in want), "some records have no id: numbered"
    # one Arrow type per column: among string ids, a record's number is written as a string
    assert [(r["id"], r["token_ids"], json.loads(r["refs"])) for r in got] == [
        (str(r["id"]), r["token_ids"], r["refs"]) for r in want
    ]
    used = {
        p["image"]
        for r in records
        for m in r["messages"]
        if isinstance(m["content"], list)
        for p in m["content"]
        if p["type"] == "image"
    }
    assert used, "the corpus has images"
    assets = [p for p in fs.ls(f"{s3_url}/assets") if not p.rsplit("/", 1)[-1].startswith(".")]
    assert len(assets) == len(used), "every image stored once, by both runs together"
    assert not [p for p in fs.ls(f"{s3_url}/out") if ".part" in p or ".mmrender" in p], "only the output was uploaded"
