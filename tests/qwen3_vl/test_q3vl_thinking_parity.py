"""Token-for-token parity with the official Qwen3-VL-8B-Thinking template (sha256-pinned bundled asset).

The shared corpus and the Thinking corpus, each with and without the generation prompt, with the
case's add_vision_id as the renderer option and flipped per call. Inputs mmrender refuses on purpose
are listed in REFUSED and tested against what the oracle does with them, never skipped.
"""

from __future__ import annotations

import itertools

import pytest
from mmrender import ConversationError

from .corpus import CASES, NoImages
from .corpus_thinking import THINKING_CASES
from .oracle import PARITY
from .parity import check_parity

MODEL = "Qwen/Qwen3-VL-8B-Thinking"
#: shared-corpus cases the Thinking renderer refuses: the Thinking template writes a placeholder for a
#: text part with a (null) image key in any role, so the processor would get one placeholder too many.
REFUSED = {"null_image_keys_outside_vision_turns": ("vision placeholder", 0, 0)}
ALL = {
    **{k: v for k, v in CASES.items() if k not in REFUSED},
    **{f"thinking:{k}": v for k, v in THINKING_CASES.items()},
}


def test_case_names_do_not_collide():
    assert not set(CASES) & {f"thinking:{k}" for k in THINKING_CASES}
    assert len(ALL) == len(CASES) - len(REFUSED) + len(THINKING_CASES) >= 70


@pytest.mark.parametrize("add_generation_prompt", [False, True], ids=["no-gen", "gen"])
@pytest.mark.parametrize("flip_vision_id", [False, True], ids=["vid-default", "vid-flipped"])
@pytest.mark.parametrize("name", sorted(ALL))
def test_thinking_parity(
    name, add_generation_prompt, flip_vision_id, thinking_oracle, sources, make_renderer, tmp_path
):
    check_parity(
        thinking_oracle,
        make_renderer,
        MODEL,
        ALL[name](sources),
        add_generation_prompt=add_generation_prompt,
        flip_vision_id=flip_vision_id,
        store=tmp_path / "store",
    )


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_shared_cases(name, thinking_oracle, sources, make_renderer):
    messages, tools, add_vision_id = CASES[name](sources)
    text = thinking_oracle.text(messages, tools=tools, add_vision_id=add_vision_id)
    typed_images = [p for m in messages if isinstance(m["content"], list) for p in m["content"] if p["type"] == "image"]
    assert text.count("<|image_pad|>") > len(typed_images)  # placeholders with no image behind them
    match, message_index, part_index = REFUSED[name]
    with pytest.raises(ConversationError, match=match) as info:
        make_renderer(MODEL).render(messages, tools=tools)
    assert (info.value.message_index, info.value.part_index) == (message_index, part_index)


def _one_turn_per_message(name: str) -> bool:
    """Without tools every message is exactly one ``<|im_start|>`` turn, so the oracle's ids split per message."""
    messages, tools, _ = ALL[name](NoImages())
    return not tools and all(m["role"] != "tool" for m in messages)


@pytest.mark.parametrize("name", sorted(n for n in ALL if _one_turn_per_message(n)))
def test_message_indices_are_the_oracles_turns(name, thinking_oracle, sources, make_renderer):
    messages, _, add_vision_id = ALL[name](sources)
    expected, _, _ = thinking_oracle.render(messages, add_generation_prompt=True, add_vision_id=add_vision_id)
    got = make_renderer(MODEL, add_vision_id=add_vision_id, **PARITY).render(messages, add_generation_prompt=True)
    im_start = got.token_ids[0]
    starts = [i for i, t in enumerate(expected) if t == im_start] + [len(expected)]
    turns = [expected[a:b] for a, b in itertools.pairwise(starts)]
    assert len(turns) == len(messages) + 1  # + the generation prompt
    for k, turn in enumerate(turns):
        owner = k if k < len(messages) else -1
        assert [t for t, o in zip(got.token_ids, got.message_indices, strict=True) if o == owner] == turn
