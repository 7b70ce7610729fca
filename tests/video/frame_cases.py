"""Conversation parity cases whose videos are lists of PIL frames (``{"frames": NAME}``, see ``frame_lists``):
Qwen3-VL and Qwen3.5, with and without ``add_vision_id``, both ``video_expansion`` values."""

from __future__ import annotations

from typing import Any

from render_cases import RenderCase


def _frames(name: str) -> dict[str, Any]:
    return {"type": "video", "video": {"frames": name}}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


_SINGLE = [{"role": "user", "content": [_frames("dense_30_at_10fps"), _text("What happens?")]}]
_MIXED = [
    {"role": "system", "content": "You watch videos."},
    {
        "role": "user",
        "content": [
            {"type": "image", "image": {"png": "red"}},
            _frames("sparse_5_at_1fps"),
            _text("Compare them."),
            _frames("odd_odd_9_at_2_5fps"),
        ],
    },
    {"role": "assistant", "content": "The first is slower."},
    {"role": "user", "content": [_text("And these?"), _frames("three_frames"), _frames("portrait_12_at_29_97")]},
]


def _matrix() -> list[RenderCase]:
    cases = [RenderCase("frames-single", _SINGLE)]
    for family in ("qwen3_vl", "qwen3_5"):
        for vision_id in (False, True):
            for legacy in (False, True):
                name = f"frames-{family}-{'vid' if vision_id else 'novid'}-{'legacy' if legacy else 'current'}"
                options = {"video_expansion": "legacy"} if legacy else {}
                cases.append(
                    RenderCase(name, _MIXED, options=options, add_vision_id=vision_id, legacy=legacy, family=family)
                )
    cases.append(
        RenderCase(
            "frames-num-frames-cap",
            _MIXED,
            options={"video_num_frames": 4, "video_cap_pixels_per_frame": True},
            processor_kwargs={"num_frames": 4, "fps": None, "cap_pixels_per_frame": True},
        )
    )
    return cases


FRAME_RENDER_CASES = tuple(_matrix())
