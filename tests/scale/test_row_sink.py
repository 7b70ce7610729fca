"""Parquet output keeps one type per column whatever order rows come in, and appears only on commit."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from mmrender.datasets import RowSink


def lines(*rows: dict) -> list[str]:
    return [json.dumps(row) + "\n" for row in rows]


def test_error_rows_without_ids_first_still_give_a_string_id_column(tmp_path: Path) -> None:
    out = tmp_path / "errors.parquet"
    sink = RowSink(str(out), error_rows=True)
    error = {"index": 0, "id": None, "label": "d.jsonl:1 (record 1)", "error": "JSONDecodeError", "message": "m"}
    sink.write_lines(lines(error))
    sink.write_lines(lines({**error, "index": 5, "id": "x"}, {**error, "index": 6, "id": 7}))
    assert not out.exists(), "nothing appears before the commit"
    sink.commit()
    assert pq.read_table(out).column("id").to_pylist() == [None, "x", "7"]


def test_a_discarded_sink_leaves_no_file(tmp_path: Path) -> None:
    sink = RowSink(str(tmp_path / "rows.parquet"))
    sink.write_lines(lines({"id": "a", "token_ids": [1, 2], "refs": {}}))
    sink.discard()
    assert list(tmp_path.iterdir()) == []
