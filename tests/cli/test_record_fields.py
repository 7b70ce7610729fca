"""Dataset records are typed JSON: a field of the wrong type is an error naming the record and field.

``bool("false")`` is True, so a coerced ``"add_generation_prompt": "false"`` silently added a
generation prompt to every such record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mmrender.errors import ConversationError
from mmrender.render_job import run_render_job

MODEL = "Qwen/Qwen3-VL-8B-Instruct"
GOOD = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("add_generation_prompt", "false"),
        ("add_generation_prompt", 0),
        ("add_generation_prompt", None),
        ("tools", "none"),
        ("tools", {"name": "f"}),
        ("model", 3),
        ("messages", "hi"),
    ],
)
def test_wrong_field_type_names_record_and_field(tmp_path: Path, field: str, value: object) -> None:
    data, out = tmp_path / "data.jsonl", tmp_path / "out.jsonl"
    records = [GOOD, {}, {**GOOD, field: value}]  # the blank line is not a record: the bad one is record 2
    data.write_text("\n".join(json.dumps(r) if r else "" for r in records) + "\n")
    with pytest.raises(ConversationError, match=rf"data.jsonl:3 \(record 2\): field '{field}' must be"):
        run_render_job(str(data), output=str(out), model=MODEL, store=str(tmp_path / "s"), progress=False)
    assert not out.exists()


def test_boolean_add_generation_prompt_is_honoured(tmp_path: Path) -> None:
    data, out = tmp_path / "data.jsonl", tmp_path / "out.jsonl"
    data.write_text("\n".join(json.dumps({**GOOD, "add_generation_prompt": v}) for v in (False, True)) + "\n")
    run_render_job(str(data), output=str(out), model=MODEL, store=str(tmp_path / "s"), progress=False)
    without, with_prompt = (json.loads(line)["token_ids"] for line in out.read_text().splitlines())
    assert with_prompt[: len(without)] == without and len(with_prompt) > len(without)
