"""The Ray Data integration on a real local Ray cluster (one per session): Parquet in and out of the
suite's SeaweedFS S3 server, every row equal to ``renderer.render`` on the JSON record, bad rows in the
``error`` column, every asset in S3 once, ids passed through, lengths equal to the rendered lengths."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mmrender
import pyarrow.parquet as pq
import pytest
from conftest import MODEL
from dataset_records import build_dataset, direct_row, output_row, parquet_bytes
from mmrender.integrations import ray as mr  # requirements-dev installs the ray extra: never skipped


def _s3fs(server: Any) -> Any:
    import s3fs

    return s3fs.S3FileSystem(**server.storage_options())


def _arrow_fs(server: Any) -> Any:
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    return PyFileSystem(FSSpecHandler(_s3fs(server)))


def _image_paths(record: dict[str, Any]) -> list[str]:
    return [
        part["image"] if part["type"] == "image" else part["image_url"]["url"]
        for message in record["messages"]
        for part in message["content"]
        if part["type"] in ("image", "image_url")
    ]


def test_500_records_from_s3_render_into_s3_equal_to_direct_render(
    ray_cluster: Any, s3_server: Any, s3_url: str, tmp_path: Path
) -> None:
    records = build_dataset(tmp_path, 500, distinct_images=12, bad_every=100)
    fs = _s3fs(s3_server)
    prefix = s3_url.removeprefix("s3://")
    for part, start in enumerate(range(0, 500, 125)):  # four files, so several blocks and both actors work
        fs.pipe(f"{prefix}/convs/part-{part}.parquet", parquet_bytes(records[start : start + 125]))

    ds = ray_cluster.data.read_parquet(f"{prefix}/convs/", filesystem=_arrow_fs(s3_server)).repartition(4)
    store, store_options = f"{s3_url}/assets", s3_server.storage_options()
    # two actors of half a CPU each leave one of the cluster's two CPUs to the read and write tasks
    out = mr.render_dataset(
        ds, model=MODEL, store=store, store_options=store_options, concurrency=2, num_cpus=0.5, batch_size=50
    )
    out.write_parquet(f"{prefix}/rendered/", filesystem=_arrow_fs(s3_server))

    rendered = [
        row
        for path in sorted(fs.find(f"{prefix}/rendered/"))
        for row in pq.read_table(io.BytesIO(fs.cat_file(path))).to_pylist()
    ]
    assert sorted(row["id"] for row in rendered) == sorted(r["id"] for r in records)
    by_id = {row["id"]: output_row(row) for row in rendered}
    bad = {r["id"] for r in records if r["id"].startswith("bad-")}
    assert {i for i, row in by_id.items() if row["error"]} == bad and len(bad) == 5

    # every image of every good row is in S3 exactly once, under its sha256, and nothing else is
    good_images = {p for r in records if r["id"] not in bad for p in _image_paths(r)}
    digests = {hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in good_images}
    stored = fs.find(f"{prefix}/assets/")
    assert sorted(Path(key).name for key in stored) == sorted(digests)

    renderer = mmrender.get_renderer(MODEL, store=mmrender.open_store(store, **store_options))
    assert [by_id[r["id"]] for r in records] == [direct_row(renderer, r) for r in records]

    # and equal to the rows `mmrender render` writes for the same records, bad ones in its --errors file
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    args = ["data.jsonl", "-m", MODEL, "--store", store, "-o", "cli.jsonl", "--errors", "errors.jsonl"]
    cli = subprocess.run(
        [sys.executable, "-m", "mmrender", "render", *args, "--workers", "1", "-q"],
        cwd=tmp_path, env={**os.environ, **s3_server.env()}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    cli_rows = [json.loads(line) for line in (tmp_path / "cli.jsonl").read_text().splitlines()]
    assert [{k: by_id[row["id"]][k] for k in row} for row in cli_rows] == cli_rows
    errors = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert {e["id"]: f"{e['error']}: {e['message']}" for e in errors} == {i: by_id[i]["error"] for i in bad}


@pytest.mark.parametrize("batch_format", ["pandas", "numpy"])
def test_render_batch_takes_pandas_and_numpy_batches(ray_cluster: Any, batch_format: str, tmp_path: Path) -> None:
    records = build_dataset(tmp_path, 40, distinct_images=5, bad_every=20)
    (tmp_path / "convs.parquet").write_bytes(parquet_bytes(records))
    store = str(tmp_path / "store")
    out = ray_cluster.data.read_parquet(str(tmp_path / "convs.parquet")).map_batches(
        mr.RenderBatch,
        fn_constructor_kwargs={"model": MODEL, "store": store},
        compute=ray_cluster.data.ActorPoolStrategy(size=1),
        batch_size=16,
        batch_format=batch_format,
    )
    by_id = {row["id"]: output_row(row) for row in out.iter_rows()}
    renderer = mmrender.get_renderer(MODEL, store=store)
    assert [by_id[r["id"]] for r in records] == [direct_row(renderer, r) for r in records]


def test_lengths_adds_the_rendered_length_for_filtering(ray_cluster: Any, tmp_path: Path) -> None:
    from ray.data.expressions import col

    records = build_dataset(tmp_path, 60, distinct_images=6, bad_every=30)
    (tmp_path / "convs.parquet").write_bytes(parquet_bytes(records))
    ds = ray_cluster.data.read_parquet(str(tmp_path / "convs.parquet"))
    counted = mr.lengths(ds, model=MODEL, concurrency=1).materialize()
    rows = {row["id"]: row for row in counted.iter_rows()}
    assert set(next(iter(rows.values()))) == {"id", "messages", "tools", "num_tokens", "error"}

    renderer = mmrender.get_renderer(MODEL, store=str(tmp_path / "store"))
    expected = {r["id"]: direct_row(renderer, r) for r in records}
    for record_id, row in rows.items():
        want = expected[record_id]
        assert (row["num_tokens"], row["error"]) == (want.get("num_tokens"), want["error"])
    limit = sorted(r["num_tokens"] for r in expected.values() if r["error"] is None)[30]
    kept = counted.filter(expr=col("num_tokens") <= limit).take_all()
    assert sorted(r["id"] for r in kept) == sorted(
        i for i, r in expected.items() if r["error"] is None and r["num_tokens"] <= limit
    )
