"""``Renderer.count_tokens`` is exactly ``len(render(...).token_ids)``, from image headers alone."""

from __future__ import annotations

import json
from pathlib import Path

import mmrender
import pytest
from mmrender import storage

from .conftest import MODELS


@pytest.mark.parametrize("family", sorted(MODELS))
def test_count_tokens_equals_the_render_length_on_every_record(
    family: str, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [json.loads(line) for line in (corpus_dir / "mixed.jsonl").read_text().splitlines()]
    monkeypatch.chdir(corpus_dir)  # the corpus names its images relative to its folder
    counting = mmrender.get_renderer(MODELS[family], store=str(tmp_path / "untouched"))
    rendering = mmrender.get_renderer(MODELS[family], store=str(tmp_path / "assets"))
    hashed: list[int] = []
    real_sha = storage.sha256_hex
    monkeypatch.setattr("mmrender.renderer.sha256_hex", lambda data: hashed.append(len(data)) or real_sha(data))
    counts = [counting.count_tokens(r["messages"], r.get("tools")) for r in records]
    assert hashed == [], "count_tokens hashed image bytes"
    assert not (tmp_path / "untouched").exists() or not any((tmp_path / "untouched").iterdir()), "it stored assets"
    lengths = [len(rendering.render(r["messages"], tools=r.get("tools")).token_ids) for r in records]
    assert hashed, "the render path hashes (so the check above can fail)"
    assert counts == lengths
    with_prompt = records[0]
    assert counting.count_tokens(with_prompt["messages"], add_generation_prompt=True) == len(
        rendering.render(with_prompt["messages"], add_generation_prompt=True).token_ids
    )


def test_count_tokens_errors_name_the_message_and_part(tmp_path: Path) -> None:
    renderer = mmrender.get_renderer(MODELS["qwen3_vl"], store=str(tmp_path))
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image", "image": "missing.png"}]}
    ]
    with pytest.raises(mmrender.ImageSourceError) as info:
        renderer.count_tokens(messages)
    assert (info.value.message_index, info.value.part_index) == (0, 1)
