"""The shared DERIVED goldens (transformers 5.24.0 output, generated outside this repo) as extra checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mmrender import ConversationError

DATA = Path(__file__).parent / "data"
TEMPLATE = json.loads((DATA / "goldens.chat_template.DERIVED.json").read_text(encoding="utf-8"))
GRIDS = json.loads((DATA / "goldens.image_grid.DERIVED.json").read_text(encoding="utf-8"))


def _with_sources(messages: list[dict], path: str) -> list[dict]:
    """Golden image parts carry no real image; give each one a real file (the template ignores the value)."""
    out = []
    for m in messages:
        m = dict(m)
        if isinstance(m.get("content"), list):
            parts = []
            for p in m["content"]:
                if p.get("type") == "image_url":
                    p = {"type": "image_url", "image_url": {"url": path}}
                elif p.get("type") == "image":
                    p = {"type": "image", "image": path}
                parts.append(p)
            m["content"] = parts
        out.append(m)
    return out


def _collapse(ids: tuple[int, ...], pad: int) -> list[int]:
    """One placeholder per image, as in the unexpanded template output."""
    return [t for i, t in enumerate(ids) if t != pad or i == 0 or ids[i - 1] != pad]


@pytest.mark.parametrize("index", range(len(TEMPLATE["cases"])))
def test_chat_template_golden(index, make_renderer, image_files):
    case = TEMPLATE["cases"][index]
    renderer = make_renderer(add_vision_id=case["kwargs"]["add_vision_id"])
    messages = _with_sources(case["messages"], str(image_files["jpg640"]))
    kwargs = {"tools": case["tools"], "add_generation_prompt": case["kwargs"]["add_generation_prompt"]}
    if any(p.get("type") == "video" for m in messages if isinstance(m["content"], list) for p in m["content"]):
        with pytest.raises(ConversationError, match="video"):
            renderer.render(messages, **kwargs)
        return
    got = renderer.render(messages, **kwargs)
    pad = TEMPLATE["special_token_ids"]["<|image_pad|>"]
    assert _collapse(got.token_ids, pad) == case["input_ids"]
    assert renderer.encoder.decode(_collapse(got.token_ids, pad)) == case["text"]


def test_special_token_ids_golden(make_renderer):
    renderer = make_renderer()
    for token, tid in TEMPLATE["special_token_ids"].items():
        assert renderer.encoder.token_id(token) == tid


@pytest.mark.parametrize("case", GRIDS["cases"], ids=lambda c: f"{c['width']}x{c['height']}")
def test_image_grid_golden(case, make_renderer):
    layout = make_renderer().compute_layout(case["width"], case["height"])
    assert list(layout.grid) == case["image_grid_thw"]
    assert layout.num_placeholders == case["num_image_tokens"]
    assert layout.resized == (case["resized_hw"][1], case["resized_hw"][0])
