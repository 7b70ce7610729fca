"""Token-for-token parity with the official Qwen3-VL-8B-Instruct template and transformers' image processor."""

from __future__ import annotations

import pytest

from .corpus import CASES, NoImages
from .oracle import PARITY, Oracle
from .parity import check_parity


@pytest.fixture(scope="module")
def oracle(oracle_tokenizer, oracle_image_processor) -> Oracle:
    return Oracle(oracle_tokenizer, oracle_image_processor)


@pytest.mark.parametrize("add_generation_prompt", [False, True], ids=["no-gen", "gen"])
@pytest.mark.parametrize("flip_vision_id", [False, True], ids=["vid-default", "vid-flipped"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_parity(name, add_generation_prompt, flip_vision_id, oracle, sources, make_renderer, tmp_path):
    check_parity(
        oracle,
        make_renderer,
        "Qwen/Qwen3-VL-8B-Instruct",
        CASES[name](sources),
        add_generation_prompt=add_generation_prompt,
        flip_vision_id=flip_vision_id,
        store=tmp_path / "store",
    )


def _plain_cases() -> list[str]:
    """Cases without tools or tool turns (those share turns between messages; see test_q3vl_indices)."""
    names = []
    for name, build in sorted(CASES.items()):
        messages, tools, _ = build(NoImages())
        if not tools and all(m["role"] in ("system", "user", "assistant") for m in messages):
            names.append(name)
    return names


@pytest.mark.parametrize("name", _plain_cases())
def test_message_indices_match_template_growth(name, oracle, sources, make_renderer):
    """Ids owned by message k are exactly what the template adds when message k is appended."""
    messages, _, add_vision_id = CASES[name](sources)
    renderer = make_renderer(add_vision_id=add_vision_id, **PARITY)
    got = renderer.render(messages)
    previous: list[int] = []
    for k in range(len(messages)):
        full, _, _ = oracle.render(messages[: k + 1], add_vision_id=add_vision_id)
        assert full[: len(previous)] == previous
        owned = [t for t, o in zip(got.token_ids, got.message_indices, strict=True) if o == k]
        assert owned == full[len(previous) :]
        previous = full
    assert -1 not in got.message_indices
