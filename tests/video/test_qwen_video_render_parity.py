"""Conversations with videos render to the ids of the official template + transformers' Qwen3-VL processor,
with one sidecar range per video over its whole expansion, refs that materialise, and bridges that equal
a re-render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mmrender
import pytest
from mmrender.errors import ConversationError
from mmrender.materialize import materialize
from render_cases import RENDER_CASES, RenderCase, resolved


def _renderer(case: RenderCase, store: Path) -> Any:
    model = "Qwen/Qwen3-VL-8B-Thinking" if case.thinking else "Qwen/Qwen3-VL-8B-Instruct"
    if case.family == "qwen3_5":
        model = "Qwen/Qwen3.5-0.8B"
    return mmrender.get_renderer(model, store=str(store), **case.options)


def _render(case: RenderCase, store: Path, clip_paths: dict[str, Path], png_paths: dict[str, str]) -> Any:
    clips = {name: str(path) for name, path in clip_paths.items()}
    messages = resolved(case.messages, clips, png_paths, url_form=case.url_form)
    renderer = _renderer(case, store)
    return renderer, renderer.render(messages, add_generation_prompt=True, add_vision_id=case.add_vision_id)


@pytest.mark.parametrize("case", RENDER_CASES, ids=lambda c: c.id)
def test_render_matches_processor(
    case: RenderCase, tmp_path: Path, clip_paths: dict[str, Path], png_paths: dict[str, str], oracle: dict[str, Any]
) -> None:
    _, rendered = _render(case, tmp_path, clip_paths, png_paths)
    assert list(rendered.token_ids) == oracle["renders_by_id"][case.id]["input_ids"]


@pytest.mark.parametrize("case", RENDER_CASES, ids=lambda c: c.id)
def test_one_range_per_video_over_its_whole_expansion(
    case: RenderCase, tmp_path: Path, clip_paths: dict[str, Path], png_paths: dict[str, str], oracle: dict[str, Any]
) -> None:
    renderer, rendered = _render(case, tmp_path, clip_paths, png_paths)
    tok = renderer.text_tokenizer
    VISION_START, VISION_END, VIDEO_PAD = (
        tok.convert_tokens_to_ids(t) for t in ("<|vision_start|>", "<|vision_end|>", "<|video_pad|>")
    )
    ids = oracle["renders_by_id"][case.id]["input_ids"]
    data = rendered.multi_modal_data
    ranges = data.mm_placeholders["video"]
    videos = sum(
        1 for m in case.messages if isinstance(m["content"], list) for p in m["content"] if p["type"] == "video"
    )
    assert len(ranges) == len(data.mm_items["video"]) == len(data.mm_hashes["video"]) == videos
    inside = 0
    for rng, item in zip(ranges, data.mm_items["video"], strict=True):
        t, h, w = item.payload["video_grid_thw"][0]
        span = ids[rng.offset : rng.end]
        assert span.count(VIDEO_PAD) == t * h * w // 4
        assert span.count(VISION_START) == span.count(VISION_END) == t  # every group's markers are inside
        assert span[0] not in (VISION_START, VIDEO_PAD)  # it opens with the first group's timestamp text
        assert span[-1] == VISION_END
        if not case.legacy:  # the template's own start/end frame the expansion
            assert ids[rng.offset - 1] == VISION_START and ids[rng.end] == VISION_END
        inside += span.count(VIDEO_PAD)
    assert inside == ids.count(VIDEO_PAD)
    rendered.check_placeholders()  # a '<' outside a video range is text, not an unbacked placeholder


def test_video_refs_materialise(tmp_path: Path, clip_paths: dict[str, Path], png_paths: dict[str, str]) -> None:
    case = next(c for c in RENDER_CASES if c.id == "mixed-multiturn")
    _, rendered = _render(case, tmp_path, clip_paths, png_paths)
    data = rendered.multi_modal_data
    for mm_hash, item in zip(data.mm_hashes["video"], data.mm_items["video"], strict=True):
        video = materialize(item, mm_hash=mm_hash, store=str(tmp_path))
        assert list(video.layout.frame_indices) == item.payload["frame_indices"]
        assert list(video.layout.grid) == item.payload["video_grid_thw"][0]


@pytest.mark.parametrize("case_id", ["mixed-multiturn-vision-id", "mixed-legacy", "qwen35-mixed-vision-id"])
def test_bridge_with_a_video_equals_a_rerender(
    case_id: str, tmp_path: Path, clip_paths: dict[str, Path], png_paths: dict[str, str]
) -> None:
    case = next(c for c in RENDER_CASES if c.id == case_id)
    clips = {name: str(path) for name, path in clip_paths.items()}
    messages = resolved(case.messages, clips, png_paths)
    renderer = _renderer(case, tmp_path)
    bridge_options = {"add_vision_id": case.add_vision_id}
    if case.family == "qwen3_5":  # add_vision_id from its options only; "all" bridges across a new user query
        renderer = mmrender.get_renderer(
            "Qwen/Qwen3.5-0.8B", store=str(tmp_path), add_vision_id=case.add_vision_id, thinking_retention="all"
        )
        bridge_options = {}
    first = renderer.render(messages[:2], add_generation_prompt=True, add_vision_id=case.add_vision_id)
    completion = renderer.text_tokenizer.encode(messages[2]["content"], add_special_tokens=False)
    if case.thinking:
        completion = renderer.text_tokenizer.encode("</think>\n\n", add_special_tokens=False) + completion
    completion = [*completion, renderer.text_tokenizer.convert_tokens_to_ids("<|im_end|>")]
    bridged = renderer.bridge_to_next_turn(first, completion, messages[3:], start_index=3, **bridge_options)
    full = renderer.render(messages, add_generation_prompt=True, add_vision_id=case.add_vision_id)
    assert bridged is not None
    assert bridged.token_ids == full.token_ids
    assert bridged.multi_modal_data.mm_placeholders == full.multi_modal_data.mm_placeholders
    assert bridged.multi_modal_data.mm_hashes == full.multi_modal_data.mm_hashes


def test_family_without_video_refuses_a_video_part(tmp_path: Path, clip_paths: dict[str, Path]) -> None:
    renderer = mmrender.get_renderer("moonshotai/Kimi-K2.5", store=str(tmp_path))
    part = {"type": "video", "video": str(clip_paths["issue_320x240_24fps_48"])}
    with pytest.raises(ConversationError, match="does not render videos") as err:
        renderer.render([{"role": "user", "content": [{"type": "text", "text": "hi"}, part]}])
    assert "part 1" in str(err.value)


def _rope_index(ids: list[int], types: list[int], images: list, videos: list) -> tuple[list[list[int]], int]:
    """transformers' ``Qwen3VLModel.get_rope_index`` on a config-only stand-in (no weights), given the
    processor's ids, token types and grids."""
    import functools
    import types as pytypes

    import torch
    from transformers import Qwen3VLConfig, Qwen3VLModel

    stand_in = pytypes.SimpleNamespace(config=Qwen3VLConfig())
    stand_in.get_vision_position_ids = functools.partial(Qwen3VLModel.get_vision_position_ids, stand_in)
    positions, delta = Qwen3VLModel.get_rope_index(
        stand_in,
        torch.tensor([ids]),
        torch.tensor([types]),
        image_grid_thw=torch.tensor(images) if images else None,
        video_grid_thw=torch.tensor(videos) if videos else None,
    )
    return positions[:, 0, :].tolist(), int(delta.reshape(-1)[0])


@pytest.mark.parametrize(
    "case_id", ["mixed-multiturn-vision-id", "mixed-legacy", "single-num-frames", "qwen35-mixed-legacy-fps"]
)
def test_training_types_and_positions_are_the_models(
    case_id: str, tmp_path: Path, clip_paths: dict[str, Path], png_paths: dict[str, str], oracle: dict[str, Any]
) -> None:
    """Token type 2 on video pads only (timestamps and markers are text, as the processor returns them)
    and M-RoPE rows equal to ``get_rope_index``, which splits each video into one-frame grids."""
    from mmrender.samples import sample_from_rendered

    case = next(c for c in RENDER_CASES if c.id == case_id)
    renderer, rendered = _render(case, tmp_path, clip_paths, png_paths)
    expected = oracle["renders_by_id"][case.id]
    sample = sample_from_rendered(renderer, rendered, [0] * len(rendered.token_ids))
    assert list(sample.mm_token_type_ids) == expected["mm_token_type_ids"]
    positions, delta = _rope_index(
        expected["input_ids"], expected["mm_token_type_ids"], expected["image_grid_thw"], expected["video_grid_thw"]
    )
    assert [list(row) for row in sample.position_ids] == positions
    assert sample.rope_delta == delta


def test_truncation_never_cuts_inside_a_video(
    tmp_path: Path, clip_paths: dict[str, Path], png_paths: dict[str, str]
) -> None:
    case = next(c for c in RENDER_CASES if c.id == "mixed-multiturn")
    clips = {name: str(path) for name, path in clip_paths.items()}
    messages = resolved(case.messages, clips, png_paths)
    renderer = _renderer(case, tmp_path)
    full = renderer.build_training_sample(messages)
    video = full.multi_modal_data.mm_placeholders["video"][1]
    sample = renderer.build_training_sample(messages, max_length=video.offset + video.length // 2)
    assert len(sample) <= video.offset
    assert len(sample.multi_modal_data.mm_placeholders["video"]) == 1
