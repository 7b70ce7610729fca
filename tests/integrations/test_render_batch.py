"""RenderBatch and LengthBatch called in-process on the three batch formats Ray hands a UDF, on a Parquet
file written from heterogeneous messages: every row equals ``renderer.render`` on the JSON record."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import mmrender
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import MODEL
from dataset_records import build_dataset, direct_row, output_row, parquet_bytes
from mmrender.errors import ConversationError, UnknownModelError
from mmrender.integrations import ray as mr
from mmrender.integrations.arrow_records import raw_records
from mmrender.records import parse_record


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], pa.Table]:
    """40 records (2 bad) and the table Arrow reads back from their Parquet file."""
    folder = tmp_path_factory.mktemp("ray-dataset")
    records = build_dataset(folder, 40, distinct_images=6, bad_every=20)
    return records, pq.read_table(io.BytesIO(parquet_bytes(records)))


def _json_record(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in ("messages", "tools") if key in record}


def test_parquet_rows_read_back_as_the_json_records(dataset: tuple[list[dict[str, Any]], pa.Table]) -> None:
    records, table = dataset
    raw = table.column("messages").to_pylist()
    # Arrow unified the structs: a text part now carries image/image_url keys set to None
    assert any(part.get("image") is None and "image" in part for m in raw[0] for part in m["content"])
    parsed = [parse_record(raw, i, from_arrow=True) for i, raw in enumerate(raw_records(table))]
    assert [{"messages": p.messages, **({"tools": p.tools} if p.tools is not None else {})} for p in parsed] == [
        _json_record(r) for r in records
    ]


@pytest.mark.parametrize("batch_format", ["pyarrow", "pandas", "numpy"])
def test_render_batch_rows_equal_direct_render(
    dataset: tuple[list[dict[str, Any]], pa.Table], batch_format: str, tmp_path: Path
) -> None:
    records, table = dataset
    if batch_format == "pandas":
        batch: Any = table.to_pandas()
    elif batch_format == "numpy":
        batch = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    else:
        batch = table
    out = mr.RenderBatch(MODEL, store=str(tmp_path / "store"))(batch)
    assert out.column_names == ["id", *mr.RENDER_SCHEMA.names]
    renderer = mmrender.get_renderer(MODEL, store=str(tmp_path / "store"))
    expected = [direct_row(renderer, r) for r in records]
    assert [output_row(row) for row in out.to_pylist()] == expected
    errors = [row["error"] for row in expected if row["error"]]
    assert len(errors) == 2 and all(e.startswith(("ImageSourceError", "ConversationError")) for e in errors)


def test_json_string_columns_render_the_same(dataset: tuple[list[dict[str, Any]], pa.Table], tmp_path: Path) -> None:
    records, _ = dataset
    table = pq.read_table(io.BytesIO(parquet_bytes(records, as_json=True)))
    assert table.schema.field("messages").type == pa.string()
    out = mr.RenderBatch(MODEL, store=str(tmp_path / "store"))(table)
    renderer = mmrender.get_renderer(MODEL, store=str(tmp_path / "store"))
    assert [output_row(row) for row in out.to_pylist()] == [direct_row(renderer, r) for r in records]


def test_a_row_of_invalid_json_gets_an_error_and_the_rest_render(tmp_path: Path) -> None:
    good = [{"role": "user", "content": "hello"}]
    table = pa.table({"id": [1, 2, 3], "messages": [json.dumps(good), "[{not json", None]})
    rows = mr.RenderBatch(MODEL, store=str(tmp_path / "store"))(table).to_pylist()
    assert rows[0]["error"] is None and rows[0]["num_tokens"] > 0
    assert rows[1]["error"].startswith("ConversationError: field 'messages' must be a list of messages")
    assert "not valid JSON" in rows[1]["error"]
    assert rows[2]["error"].startswith("ConversationError: ") and "messages" in rows[2]["error"]
    assert [row["id"] for row in rows] == [1, 2, 3]


def test_a_batch_without_messages_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(ConversationError, match="no 'messages' column"):
        mr.RenderBatch(MODEL, store=str(tmp_path / "store"))(pa.table({"text": ["hi"]}))


def test_an_unknown_model_fails_the_batch_rather_than_every_row() -> None:
    with pytest.raises(UnknownModelError):
        mr.RenderBatch("no-such/model")(pa.table({"messages": [json.dumps([{"role": "user", "content": "hi"}])]}))


def test_the_instance_pickles_without_its_renderer(tmp_path: Path) -> None:
    udf = mr.RenderBatch(MODEL, store=str(tmp_path / "store"))
    udf(pa.table({"messages": [json.dumps([{"role": "user", "content": "hi"}])]}))
    assert list(udf._renderers) == [MODEL]
    payload = pickle.dumps(udf)
    assert len(payload) < 2_000  # the recipe, not a tokenizer
    copy = pickle.loads(payload)
    assert copy._renderers == {} and copy.model == MODEL
    assert copy(pa.table({"messages": [json.dumps([{"role": "user", "content": "hi"}])]})).column(
        "error"
    ).to_pylist() == [None]


def test_importing_without_ray_names_the_extra_to_install() -> None:
    code = "import sys; sys.modules['ray'] = None\nimport mmrender.integrations.ray"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "ImportError: mmrender.integrations.ray needs Ray Data" in proc.stderr
    assert "pip install 'mmrender[ray]'" in proc.stderr


def test_core_and_its_cli_never_import_ray_or_pyarrow() -> None:
    code = "import sys, mmrender, mmrender.cli, mmrender.integrations; print(sorted({'ray', 'pyarrow'} & set(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert proc.stdout.strip() == "[]"


def test_relative_image_paths_resolve_against_image_root(tmp_path: Path) -> None:
    records = build_dataset(tmp_path, 12, distinct_images=4, bad_every=100)
    relative = json.loads(json.dumps(records).replace(str(tmp_path) + "/", ""))
    assert relative != records and "images/img" in json.dumps(relative)
    table = pq.read_table(io.BytesIO(parquet_bytes(relative)))
    out = mr.RenderBatch(MODEL, store=str(tmp_path / "store"), image_root=str(tmp_path))(table)
    renderer = mmrender.get_renderer(MODEL, store=str(tmp_path / "store"))
    assert [output_row(row) for row in out.to_pylist()] == [direct_row(renderer, r) for r in records]
