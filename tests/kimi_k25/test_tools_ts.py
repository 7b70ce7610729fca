"""Every Moonshot tool-declaration vector must come out of our encoder byte for byte.

Oracle: tests/kimi_k25/data/tools_ts_vectors.json, produced by Moonshot's own
tool_declaration_ts.py after tokenization_kimi.py's deep sort (see data/README.md). Error
vectors must raise the same exception type with the same message, because Moonshot's
tokenizer turns any exception into the `tools|tojson` fallback, and log warnings must match.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest
from mmrender_kimi_k25 import tools_ts
from mmrender_kimi_k25.tools_ts import deep_sort, encode_tools_to_typescript

DATA = json.loads((Path(__file__).parent / "data" / "tools_ts_vectors.json").read_text(encoding="utf-8"))
VECTORS = DATA["vectors"]


def test_vector_file_is_complete() -> None:
    assert len(VECTORS) == 146
    assert sum("error" in v for v in VECTORS) == 27
    assert sum(v.get("tools_ts_str") == "" for v in VECTORS) == 6


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector(vector: dict, caplog: pytest.LogCaptureFixture) -> None:
    tools = vector["tools"]
    before = copy.deepcopy(tools)
    with caplog.at_level(logging.WARNING, logger=tools_ts.__name__):
        if "error" in vector:
            with pytest.raises(Exception) as caught:
                encode_tools_to_typescript(tools)
            assert f"{type(caught.value).__name__}: {caught.value}" == vector["error"]
        else:
            assert encode_tools_to_typescript(tools) == vector["tools_ts_str"]
    logged = [f"{r.levelname}: {r.getMessage()}" for r in caplog.records if r.name == tools_ts.__name__]
    assert logged == vector.get("log_warnings", [])
    assert tools == before, "the caller's tools must not be modified"


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["deep_sort_changes_output"]], ids=lambda v: v["id"])
def test_flagged_vectors_need_the_deep_sort(vector: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the sort step disabled these 8 vectors must come out differently (or not raise alike)."""
    monkeypatch.setattr(tools_ts, "deep_sort", lambda obj: obj)
    try:
        outcome = encode_tools_to_typescript(vector["tools"])
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    assert outcome != vector.get("tools_ts_str", vector.get("error"))


def test_deep_sort_keeps_lists_and_sorts_nested_keys() -> None:
    value = {"b": [{"z": 1, "a": 2}, 3], "a": {"d": None, "c": [2, 1]}}
    out = deep_sort(value)
    assert json.dumps(out) == '{"a": {"c": [2, 1], "d": null}, "b": [{"a": 2, "z": 1}, 3]}'
    assert list(value) == ["b", "a"], "input untouched"
