"""``mmrender.records``: the per-record logic the CLI job and the Ray integration share."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import mmrender
import pyarrow as pa
import pytest
from mmrender.errors import ConversationError, StoreNetworkError
from mmrender.records import BadRecordError, error_row, guarded, length_record, parse_record, render_record

from .conftest import MODELS, TOOLS

MESSAGES = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def test_json_string_columns_parse_like_objects() -> None:
    as_strings = parse_record({"messages": json.dumps(MESSAGES), "tools": json.dumps(TOOLS), "id": 7}, 3)
    as_objects = parse_record({"messages": MESSAGES, "tools": TOOLS, "id": 7}, 3)
    assert as_strings == as_objects and as_objects.row_id == 7
    assert parse_record(MESSAGES, 4).row_id == 4, "no id: the 0-based record number"


def test_arrow_rows_lose_the_null_keys_structs_add(tmp_path: Path) -> None:
    image = str(tmp_path / "x.png")
    messages = [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "hi"}]}]
    (row,) = pa.Table.from_pylist([{"messages": messages, "tools": None}]).to_pylist()
    assert row["messages"][0]["content"][1] == {"type": "text", "text": "hi", "image": None}  # what Arrow gives
    assert parse_record(row, 0, from_arrow=True).messages == messages
    as_text = [{"role": "assistant", "content": None, "tool_calls": []}]
    assert parse_record({"messages": json.dumps(as_text)}, 0, from_arrow=True).messages == as_text, "JSON keeps nulls"


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"messages": "[oops"}, "field 'messages' must be a list of messages (or a JSON string of one)"),
        ({"messages": MESSAGES, "tools": {"name": "f"}}, "field 'tools' must be a list"),
        ("text", "a record must be a list of messages or an object with 'messages'"),
        ({"tools": []}, "a record must be"),
    ],
)
def test_bad_records_name_the_record_and_field(raw: object, needle: str) -> None:
    with pytest.raises(ConversationError, match=r"^data\.jsonl:9 \(record 3\): ") as info:
        parse_record(raw, 2, label="data.jsonl:9 (record 3)")
    assert needle in str(info.value)


def test_a_record_error_becomes_an_error_row_and_crosses_processes(tmp_path: Path) -> None:
    renderer = mmrender.get_renderer(MODELS["qwen3_vl"], store=str(tmp_path))
    bad = [{"role": "user", "content": [{"type": "image", "image": str(tmp_path / "missing.png")}]}]
    record = parse_record({"messages": bad, "id": "a"}, 5, label="in.jsonl:6 (record 6)")
    with pytest.raises(BadRecordError) as info:
        guarded(5, record.label, record.id, lambda: render_record(renderer, record))
    err = pickle.loads(pickle.dumps(info.value))
    assert isinstance(err, ConversationError) and str(err) == str(info.value)
    row = error_row(err)
    assert (row["index"], row["id"], row["error"], row["label"]) == (5, "a", "ImageSourceError", record.label)
    assert row["message"].startswith("message 0, part 0: image file not found")


def test_job_level_errors_pass_through() -> None:
    def unreachable() -> None:
        raise StoreNetworkError("store s3://b: timed out")

    with pytest.raises(StoreNetworkError):
        guarded(0, "record 1", None, unreachable)


def test_rows_keep_the_id_and_agree_with_the_length_row(tmp_path: Path) -> None:
    renderer = mmrender.get_renderer(MODELS["qwen3_5"], store=str(tmp_path))
    record = parse_record({"messages": MESSAGES, "tools": TOOLS}, 11)
    row = render_record(renderer, record, add_generation_prompt=True)
    assert row["id"] == 11 and row["model"] == renderer.model_id
    expected = renderer.render(MESSAGES, tools=TOOLS, add_generation_prompt=True)
    assert row["token_ids"] == list(expected.token_ids)
    assert length_record(renderer, record, add_generation_prompt=True) == {
        "id": 11,
        "num_tokens": len(row["token_ids"]),
    }
