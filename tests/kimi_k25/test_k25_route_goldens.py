"""The K2.5 route against PrimeIntellect-ai/renderers' public `kimi-k2.5` goldens (made with Moonshot's own
K2.5 tokenizer code at revision 4d01dfe0): token count, id sha256 and message attribution of the
generation prompt, the completed turn and the bridge; the parser snapshot."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import renderer

GOLDEN = json.loads((Path(__file__).parent / "data" / "renderers_goldens_kimi_k25.json").read_text("utf-8"))
CASE, INPUTS = GOLDEN["case"], GOLDEN["inputs"]


def _sha(ids: Any) -> str:
    return hashlib.sha256(json.dumps(list(ids), separators=(",", ":")).encode()).hexdigest()


def _rle(values: Any) -> list[list[int]]:
    out: list[list[int]] = []
    for v in values:
        if out and out[-1][0] == v:
            out[-1][1] += 1
        else:
            out.append([v, 1])
    return out


@pytest.fixture(scope="module")
def k25() -> Any:
    return renderer("moonshotai/Kimi-K2.5")


def test_golden_is_a_k25_thinking_case() -> None:
    assert CASE["model"] == "moonshotai/Kimi-K2.5" and CASE["config"]["thinking"] is True


def test_generation_prompt(k25: Any) -> None:
    out = k25.render(INPUTS["system_and_user"], tools=INPUTS["tools"], add_generation_prompt=True)
    snap = CASE["generation_prompt"]
    assert (len(out.token_ids), _sha(out.token_ids)) == (snap["token_count"], snap["token_ids_sha256"])
    assert _rle(out.message_indices) == snap["message_indices_rle"]


def test_completed_turn(k25: Any) -> None:
    messages = [*INPUTS["system_and_user"], INPUTS["assistant"]]
    out = k25.render(messages, tools=INPUTS["tools"])
    snap = CASE["completed_turn"]
    assert (len(out.token_ids), _sha(out.token_ids)) == (snap["token_count"], snap["token_ids_sha256"])
    assert _rle(out.message_indices) == snap["message_indices_rle"]


def test_parser_snapshot(k25: Any) -> None:
    snap, want = CASE["parser_input"], CASE["parsed_completion"]
    ids = k25.tokenizer.encode(snap["text"], allow_special=True)
    assert (len(ids), _sha(ids)) == (snap["token_count"], snap["token_ids_sha256"])
    parsed = k25.parse_response(ids)
    assert parsed.content == want["content"]
    assert parsed.reasoning_content == want["reasoning_content"]
    assert list(parsed.tool_calls) == want["tool_calls"]
    assert not parsed.truncated


def test_bridge_all(k25: Any) -> None:
    """The golden bridge (thinking_retention="all"): prompt + sampled turn + new user turn."""
    snap = CASE["bridge"]
    assert snap["config"]["thinking_retention"] == "all"
    prompt = k25.render(INPUTS["system_and_user"], add_generation_prompt=True).token_ids
    completion = k25.tokenizer.encode("</think>Prior answer.<|im_end|>", allow_special=True)
    for retention in ("all", None):  # the previous answer has no reasoning, so the template rule agrees
        out = k25.bridge_to_next_turn(prompt, completion, [INPUTS["bridge_new_user"]], thinking_retention=retention)
        assert out is not None
        assert (len(out.token_ids), _sha(out.token_ids)) == (snap["token_count"], snap["token_ids_sha256"])
        assert _rle(out.message_indices) == snap["message_indices_rle"]
        ext = out.token_ids[len(prompt) + len(completion) :]
        assert (len(ext), _sha(ext)) == (snap["extension"]["token_count"], snap["extension"]["token_ids_sha256"])
