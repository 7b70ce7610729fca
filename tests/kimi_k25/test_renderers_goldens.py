"""The public `kimi-k2.5` goldens of PrimeIntellect-ai/renderers, reproduced from first principles.

Why: those goldens were made with Moonshot's real tokenizer (remote code, K2.5 revision
4d01dfe0). Reproducing their text with the official K2.6 template run through transformers'
own Jinja machinery (tools deep-sorted, `tools_ts_str` from our encoder, thinking=True,
preserve_thinking=False, as tokenization_kimi.py calls it) and their token sha256 with our
tokenizer ties template, encoder and tokenizer to an independent, published result.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from mmrender_kimi_k25.tokenizer import ASSETS, KimiTokenizer, default_tokenizer
from mmrender_kimi_k25.tools_ts import deep_sort, encode_tools_to_typescript
from transformers.utils.chat_template_utils import render_jinja_template

GOLDEN = json.loads((Path(__file__).parent / "data" / "renderers_goldens_kimi_k25.json").read_text("utf-8"))
CASE, INPUTS = GOLDEN["case"], GOLDEN["inputs"]
TEMPLATE = (ASSETS / "chat_template.K2.6.jinja").read_text(encoding="utf-8")


def _render(messages: list[dict], tools: list[dict] | None, add_generation_prompt: bool) -> str:
    """Render like Moonshot's TikTokenTokenizer.apply_chat_template (tokenize=False)."""
    kwargs: dict = {"thinking": True, "preserve_thinking": False}
    if tools:
        tools = deep_sort(tools)
        kwargs["tools_ts_str"] = encode_tools_to_typescript(tools)
    rendered, _ = render_jinja_template(
        conversations=[messages],
        tools=tools,
        chat_template=TEMPLATE,
        add_generation_prompt=add_generation_prompt,
        **kwargs,
    )
    return rendered[0]


def _sha(ids: list[int]) -> str:
    return hashlib.sha256(json.dumps(ids, separators=(",", ":")).encode()).hexdigest()


@pytest.fixture(scope="module")
def tok() -> KimiTokenizer:
    return default_tokenizer()


SNAPSHOTS = {
    "generation_prompt": CASE["generation_prompt"],
    "completed_turn": CASE["completed_turn"],
    "parser_input": CASE["parser_input"],
    "bridge": CASE["bridge"],
    "bridge.extension": CASE["bridge"]["extension"],
}


@pytest.mark.parametrize("name", sorted(SNAPSHOTS))
def test_token_ids_sha256(tok: KimiTokenizer, name: str) -> None:
    snap = SNAPSHOTS[name]
    ids = tok.encode(snap["text"], allow_special=True)
    assert (len(ids), _sha(ids)) == (snap["token_count"], snap["token_ids_sha256"])
    assert tok.decode(ids) == snap["text"]


def test_rle_lengths_add_up() -> None:
    for snap in (CASE["generation_prompt"], CASE["completed_turn"], CASE["bridge"]):
        for key in ("message_indices_rle", "sampled_mask_rle", "is_content_rle"):
            assert sum(n for _, n in snap[key]) == snap["token_count"], key


def test_template_reproduces_generation_prompt_and_completed_turn() -> None:
    messages, tools = INPUTS["system_and_user"], INPUTS["tools"]
    assert _render(messages, tools, add_generation_prompt=True) == CASE["generation_prompt"]["text"]
    completed = _render([*messages, INPUTS["assistant"]], tools, add_generation_prompt=False)
    assert completed == CASE["completed_turn"]["text"]


def test_template_reproduces_bridge() -> None:
    messages = [*INPUTS["system_and_user"], INPUTS["bridge_previous_assistant"], INPUTS["bridge_new_user"]]
    assert _render(messages, None, add_generation_prompt=True) == CASE["bridge"]["text"]
