"""Processed-mode cases: a video (a generated clip, or a frame list) through transformers' video processor.

``kwargs`` go to ``Qwen3VLVideoProcessor`` (which decodes the clip itself with torchcodec, or samples the
frame list from its metadata); ``options`` are the matching mmrender renderer options.
"""

from __future__ import annotations

from typing import Any

import attrs

MODELS = {"qwen3_vl": "Qwen/Qwen3-VL-8B-Instruct", "qwen3_5": "Qwen/Qwen3.5-0.8B"}


@attrs.frozen
class ProcessedCase:
    id: str
    family: str
    kwargs: dict[str, Any]
    options: dict[str, Any] = attrs.field(factory=dict)
    clip: str | None = None
    frames: str | None = None


_DEFAULT = {"cap_pixels_per_frame": False}
_CLIPS = {
    "qwen3_vl": (
        "issue_320x240_24fps_48",
        "issue_vp9_320x180",
        "odd_size_333x187",
        "issue_portrait_240x426",
        "rotated_90",
        "rotated_180",
        "ntsc_29_97",
        "bt709_full_range",
    ),
    "qwen3_5": ("issue_320x240_24fps_48", "issue_vp9_320x180", "odd_size_333x187", "rotated_270", "vp9_odd_rate"),
}


def _cases() -> list[ProcessedCase]:
    found = [
        ProcessedCase(f"{family}-{clip}", family, _DEFAULT, clip=clip)
        for family, clips in _CLIPS.items()
        for clip in clips
    ]
    found += [
        ProcessedCase(
            "qwen3_vl-cap-num-frames",
            "qwen3_vl",
            {"cap_pixels_per_frame": True, "num_frames": 8, "fps": None},
            {"video_cap_pixels_per_frame": True, "video_num_frames": 8},
            clip="issue_320x240_24fps_48",
        ),
        ProcessedCase(
            "qwen3_5-budget-fps",
            "qwen3_5",
            {"cap_pixels_per_frame": False, "fps": 3, "size": {"shortest_edge": 4096, "longest_edge": 200000}},
            {"video_fps": 3, "video_max_pixels": 200000},
            clip="issue_640x360_30fps_300",
        ),
        ProcessedCase("qwen3_vl-frames-dense", "qwen3_vl", _DEFAULT, frames="dense_30_at_10fps"),
        ProcessedCase("qwen3_5-frames-odd", "qwen3_5", _DEFAULT, frames="odd_odd_9_at_2_5fps"),
        ProcessedCase(
            "qwen3_vl-frames-cap",
            "qwen3_vl",
            {"cap_pixels_per_frame": True},
            {"video_cap_pixels_per_frame": True},
            frames="portrait_12_at_29_97",
        ),
    ]
    return found


PROCESSED_CASES = tuple(_cases())
