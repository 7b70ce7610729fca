"""Header figures from demuxing agree with what torchcodec (transformers' default video decoder) reports."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from mmrender.video_probe import load_video
from video_clips import CLIPS


@pytest.mark.parametrize("name", [clip.name for clip in CLIPS])
def test_probe_matches_torchcodec(name: str, clip_paths: dict[str, Path], oracle: dict[str, Any]) -> None:
    header = load_video(clip_paths[name]).header
    expected = oracle["metadata"][name]
    assert header.num_frames == expected["num_frames"]
    assert header.average_fps == expected["average_fps"]  # exact: the fps decides the sampled frame count
    assert header.duration == expected["duration"]
    assert (header.width, header.height) == (expected["width"], expected["height"])
    assert header.rotation == (expected["rotation"] or 0.0)


def test_webm_states_no_frame_count_so_packets_are_counted(clip_paths: dict[str, Path]) -> None:
    import av

    with av.open(str(clip_paths["issue_vp9_320x180"])) as container:
        assert container.streams.video[0].frames == 0  # the container does not say
    assert load_video(clip_paths["issue_vp9_320x180"]).header.num_frames == 80


def test_rotated_mp4_reports_the_displayed_size(clip_paths: dict[str, Path]) -> None:
    header = load_video(clip_paths["rotated_90"]).header
    assert (header.width, header.height, header.rotation) == (240, 320, 90.0)
    assert math.isclose(load_video(clip_paths["rotated_180"]).header.rotation % 360, 180.0)
