"""The header-only Qwen video layout equals transformers' Qwen3-VL processor: indices, grid, timestamps, ids."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from mmrender.video import VideoLayout
from mmrender.video_probe import load_video
from mmrender_qwen3_vl.video_layout import (
    QwenVideoOptions,
    expansion_text,
    qwen_video_layout,
    replaced_text,
)
from video_cases import CASES, Case

ASSETS = Path(__file__).resolve().parents[2] / "families/qwen3_vl/src/mmrender_qwen3_vl/assets/Qwen3-VL-8B-Instruct"

#: The issue's examples (measured with transformers 5.24 + torchcodec 0.17), checked against the oracle too.
ISSUE_GRIDS = {
    "issue_320x240_24fps_48-default": [2, 16, 20],
    "issue_640x360_30fps_300-default": [10, 22, 40],
    "issue_portrait_240x426-default": [3, 26, 16],
    "issue_short_8fps_6-default": [2, 8, 10],
    "issue_vp9_320x180-default": [3, 12, 20],
}


@cache
def _tokenizer() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(ASSETS)


def _layout(case: Case, clip_paths: dict[str, Path]) -> VideoLayout:
    params = QwenVideoOptions(**case.options).layout_params()
    return qwen_video_layout(load_video(clip_paths[case.clip]).header, params)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_layout_matches_processor(case: Case, clip_paths: dict[str, Path], oracle: dict[str, Any]) -> None:
    expected = oracle["by_id"][case.id]
    assert "error" not in expected, expected.get("error")
    layout = _layout(case, clip_paths)
    assert list(layout.frame_indices) == expected["indices"]
    assert list(layout.grid) == expected["grid"]
    if case.id in ISSUE_GRIDS:
        assert expected["grid"] == ISSUE_GRIDS[case.id]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_expansion_gives_the_processors_ids(case: Case, clip_paths: dict[str, Path], oracle: dict[str, Any]) -> None:
    """The official template's text with the bare pad replaced tokenizes to the processor's input_ids."""
    expected = oracle["by_id"][case.id]
    layout = _layout(case, clip_paths)
    text = expected["template_text"]
    assert text.count(replaced_text("current")) == 1
    ids = _tokenizer()(text.replace(replaced_text("current"), expansion_text(layout)))["input_ids"]
    assert ids == expected["input_ids"]
    pad = _tokenizer().convert_tokens_to_ids("<|video_pad|>")
    assert ids.count(pad) == layout.num_tokens


def test_issue_example_has_189_ids(clip_paths: dict[str, Path], oracle: dict[str, Any]) -> None:
    assert len(oracle["by_id"]["issue_320x240_24fps_48-default"]["input_ids"]) == 189


def test_legacy_expansion_replaces_the_whole_triple(clip_paths: dict[str, Path], oracle: dict[str, Any]) -> None:
    """Older processors replaced start+pad+end: the same ids as today's minus the template's outer markers."""
    expected = oracle["by_id"]["issue_320x240_24fps_48-default"]
    layout = _layout(CASES[0], clip_paths)
    text = expected["template_text"]
    legacy = _tokenizer()(text.replace(replaced_text("legacy"), expansion_text(layout)))["input_ids"]
    start, end = _tokenizer().convert_tokens_to_ids(["<|vision_start|>", "<|vision_end|>"])
    current = expected["input_ids"]
    first = current.index(start)
    last = len(current) - 1 - current[::-1].index(end)
    assert legacy == current[:first] + current[first + 1 : last] + current[last + 1 :]
