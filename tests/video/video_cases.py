"""Parity cases: (clip, transformers processor kwargs, the matching mmrender video options)."""

from __future__ import annotations

from typing import Any

import attrs
from video_clips import CLIPS


@attrs.frozen
class Case:
    id: str
    clip: str
    kwargs: dict[str, Any]
    options: dict[str, Any]


def _cases() -> list[Case]:
    found: list[Case] = []
    for clip in CLIPS:
        if clip.name == "two_frames":
            continue
        found.append(Case(f"{clip.name}-default", clip.name, {"cap_pixels_per_frame": False}, {}))
        found.append(
            Case(f"{clip.name}-cap", clip.name, {"cap_pixels_per_frame": True}, {"video_cap_pixels_per_frame": True})
        )
    sweep = [
        ("issue_320x240_24fps_48", {"num_frames": 8, "fps": None}, {"video_num_frames": 8}),
        ("issue_320x240_24fps_48", {"num_frames": 5, "fps": None}, {"video_num_frames": 5}),
        ("fewer_than_min_frames", {"num_frames": 7, "fps": None}, {"video_num_frames": 7}),
        ("issue_640x360_30fps_300", {"fps": 0.5}, {"video_fps": 0.5}),
        ("ntsc_29_97", {"fps": 3}, {"video_fps": 3}),
        ("long_low_fps", {"max_frames": 6}, {"video_max_frames": 6}),
        (
            "long_low_fps",
            {"max_frames": 7, "cap_pixels_per_frame": True},
            {"video_max_frames": 7, "video_cap_pixels_per_frame": True},
        ),
        ("issue_short_8fps_6", {"min_frames": 6}, {"video_min_frames": 6}),
        (
            "issue_640x360_30fps_300",
            {"size": {"shortest_edge": 4096, "longest_edge": 200000}},
            {"video_max_pixels": 200000},
        ),
        ("tiny_48x32", {"size": {"shortest_edge": 300000, "longest_edge": 25165824}}, {"video_min_pixels": 300000}),
        (
            "wide_1280x160",
            {"size": {"shortest_edge": 4096, "longest_edge": 400000}, "cap_pixels_per_frame": True},
            {"video_max_pixels": 400000, "video_cap_pixels_per_frame": True},
        ),
        (
            "issue_640x360_30fps_300",
            {"size": {"shortest_edge": 4096, "longest_edge": 2000000}, "cap_pixels_per_frame": True},
            {"video_max_pixels": 2000000, "video_cap_pixels_per_frame": True},
        ),
    ]
    for number, (clip, kwargs, options) in enumerate(sweep):
        kwargs = {"cap_pixels_per_frame": False, **kwargs}
        found.append(Case(f"{clip}-sweep{number}", clip, kwargs, options))
    return found


CASES = tuple(_cases())
#: Clips whose torchcodec frames (at the default sampling) are compared with mmrender's ``.frames()``.
FRAME_CLIPS = (
    "issue_320x240_24fps_48",
    "issue_vp9_320x180",
    "rotated_90",
    "rotated_270",
    "rotated_180",
    "ntsc_29_97",
    "bt709_full_range",
    "odd_size_333x187",
)
