"""Videos given as lists of PIL frames: generated identically here and in the oracle subprocess (no mmrender import).

A message source ``{"frames": NAME}`` stands for the frame list ``NAME``; :func:`with_frames` swaps
in the PIL images (and the list's ``fps``) on both sides.
"""

from __future__ import annotations

from typing import Any

#: name -> (width, height, frame count, fps): denser than the 2 fps sampling, sparser, odd sizes, short.
FRAME_LISTS: dict[str, tuple[int, int, int, float]] = {
    "dense_30_at_10fps": (100, 70, 30, 10.0),
    "sparse_5_at_1fps": (96, 64, 5, 1.0),
    "odd_odd_9_at_2_5fps": (123, 77, 9, 2.5),
    "three_frames": (64, 48, 3, 2.0),
    "portrait_12_at_29_97": (60, 108, 12, 29.97),
}


def frames(name: str) -> list[Any]:
    """Noise frames (so no resampling can hide a difference), seeded by the list's name."""
    import zlib

    import numpy as np
    from PIL import Image

    width, height, count, _fps = FRAME_LISTS[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return [Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB") for _ in range(count)]


def fps(name: str) -> float:
    return FRAME_LISTS[name][3]


def with_frames(messages: Any) -> Any:
    """``messages`` with every ``{"frames": NAME}`` video source replaced by the PIL frames and its ``fps``."""
    if isinstance(messages, list):
        return [with_frames(m) for m in messages]
    if not isinstance(messages, dict):
        return messages
    video = messages.get("video")
    if isinstance(video, dict) and set(video) == {"frames"}:
        return {**messages, "video": frames(video["frames"]), "fps": fps(video["frames"])}
    return {k: with_frames(v) for k, v in messages.items()}


def frame_list_names(messages: Any) -> list[str]:
    """The frame lists ``messages`` name, in order."""
    if isinstance(messages, list):
        return [name for m in messages for name in frame_list_names(m)]
    if not isinstance(messages, dict):
        return []
    if set(messages) == {"frames"}:
        return [messages["frames"]]
    return [name for v in messages.values() for name in frame_list_names(v)]
