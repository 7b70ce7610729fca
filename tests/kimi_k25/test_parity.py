"""Token parity with the official K2.6 template (and the closest public K2.5 text) on the corpus in cases.py.

Per render: ids equal the oracle's exactly; one placeholder of length 1 per image, at the
oracle's ``<|media_pad|>`` positions; hashes of the image bytes in stream order; every raw item
round-trips through the ``mmraw`` ref codec; ``message_indices`` start each message at its role tag.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from mmrender import RawMMItem, RawMMRef, refs
from mmrender_kimi_k25.tokenizer import default_tokenizer

from .cases import SETTINGS, corpus
from .conftest import IMAGES, renderer
from .oracle import PARITY, oracle_ids

MODELS = ("moonshotai/Kimi-K2.6", "moonshotai/Kimi-K2.5")
MEDIA_CFG = json.loads(
    (
        Path(__file__).parents[2] / "families/kimi_k25/src/mmrender_kimi_k25/assets/media_proc_cfg.DERIVED.json"
    ).read_text(encoding="utf-8")
)["media_proc_cfg"]
FINGERPRINT_PARAMS = {
    k: MEDIA_CFG[k] for k in ("patch_size", "merge_kernel_size", "in_patch_limit", "patch_limit_on_one_side")
}
N_CASES = len(corpus({name: "" for name in IMAGES}))


def _sources(messages: list[dict[str, Any]]) -> list[str]:
    out = []
    for m in messages:
        if isinstance(m.get("content"), list):
            for part in m["content"]:
                if part.get("type") == "image_url":
                    out.append(part["image_url"]["url"])
                elif part.get("type") == "image":
                    out.append(part["image"])
    return out


@pytest.fixture(scope="module")
def cases(images: dict[str, str]) -> list[tuple[str, list[dict[str, Any]], Any]]:
    return corpus(images)


@pytest.fixture(scope="module")
def renderers() -> dict[str, Any]:
    return {model: renderer(model, **PARITY) for model in MODELS}


def check_render(r: Any, messages: list, tools: Any, thinking: bool, preserve: bool, gen: bool, model: str) -> None:
    want = oracle_ids(
        messages, tools, add_generation_prompt=gen, thinking=thinking, preserve_thinking=preserve, model=model
    )
    got = r.render(messages, tools=tools, add_generation_prompt=gen, thinking=thinking, preserve_thinking=preserve)
    assert list(got.token_ids) == want
    pad = r.specials.media_pad
    sources = _sources(messages)
    mm = got.multi_modal_data
    places = mm.mm_placeholders.get("image", ())
    assert [(p.offset, p.length) for p in places] == [(k, 1) for k, t in enumerate(want) if t == pad]
    assert len(places) == len(sources)
    hashes = [hashlib.sha256(Path(s).read_bytes()).hexdigest()[:32] for s in sources]
    assert list(mm.mm_hashes.get("image", ())) == hashes
    for mm_hash, item in zip(hashes, mm.mm_items.get("image", ()), strict=True):
        assert isinstance(item, RawMMItem)
        assert (item.family, item.vllm_modality, item.modality) == ("kimi_k25", "vision_chunk", "image")
        assert item.layout_fingerprint == refs.layout_fingerprint("kimi_k25", FINGERPRINT_PARAMS)
        (grid,) = item.payload["grid_thws"]
        assert grid[0] == 1 and item.payload["num_media_tokens"] == grid[1] * grid[2] // 4
        ref = RawMMRef.from_item(item, mm_hash)
        assert refs.parse(refs.dump(ref)) == ref
    owners = got.message_indices
    assert len(owners) == len(want)
    starts = {}
    for k, owner in enumerate(owners):
        starts.setdefault(owner, k)
    tags = {r.specials.im_user, r.specials.im_assistant, r.specials.im_system}
    for owner, k in starts.items():
        if owner >= 0:
            assert want[k] in tags and owner < len(messages)
    assert sorted(o for o in starts if o >= 0) == list(range(len(messages)))


def test_corpus_size(cases: list) -> None:
    assert len(cases) == N_CASES >= 55


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: "think{:d}-preserve{:d}-gen{:d}".format(*s))
@pytest.mark.parametrize("index", range(N_CASES))
def test_parity(cases: list, renderers: dict, model: str, setting: tuple, index: int) -> None:
    _name, messages, tools = cases[index]
    thinking, preserve, gen = setting
    check_render(renderers[model], messages, tools, thinking, preserve, gen, model)


def test_routes_differ_where_documented(images: dict[str, str]) -> None:
    """The K2.5 and K2.6 oracles disagree on `reasoning` vs `reasoning_content` and on thinking-off + preserve."""
    messages = [
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": "", "reasoning": "A", "reasoning_content": "B", "tool_calls": []},
    ]
    k26, k25 = renderer("moonshotai/Kimi-K2.6"), renderer("moonshotai/Kimi-K2.5")
    kw: dict[str, Any] = {"preserve_thinking": True}
    assert default_tokenizer().decode(k26.render(messages, **kw).token_ids).endswith("<think>A</think><|im_end|>")
    assert default_tokenizer().decode(k25.render(messages, **kw).token_ids).endswith("<think>B</think><|im_end|>")
    kw = {"preserve_thinking": True, "thinking": False}
    assert default_tokenizer().decode(k26.render(messages, **kw).token_ids).endswith("<think>A</think><|im_end|>")
    assert default_tokenizer().decode(k25.render(messages, **kw).token_ids).endswith("<think></think><|im_end|>")


def test_tool_vectors_through_template() -> None:
    """Every tools_ts vector the oracle accepts renders the same tools block (TS text or JSON fallback)."""
    vectors = json.loads((Path(__file__).parent / "data" / "tools_ts_vectors.json").read_text("utf-8"))["vectors"]
    r = renderer()
    messages = [{"role": "user", "content": "hi"}]
    checked = 0
    for v in vectors:
        tools = v["tools"]
        if not isinstance(tools, list) or not all(isinstance(t, Mapping) for t in tools):
            continue  # transformers itself rejects non-dict tools (tested in test_errors.py)
        assert list(r.render(messages, tools=tools).token_ids) == oracle_ids(messages, tools), v["id"]
        checked += 1
    assert checked >= 140
