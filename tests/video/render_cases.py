"""Conversation parity cases with videos: mmrender's render vs the official template + Qwen3-VL processor.

A message source ``{"clip": NAME}`` / ``{"png": NAME}`` is replaced by the clip's (or image's) path on
both sides; ``url_form`` renders the videos as ``video_url`` parts in mmrender (the oracle, whose
template only sees ``video`` parts, gets the same files as ``video`` parts).
"""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class RenderCase:
    id: str
    messages: list[dict[str, Any]]
    options: dict[str, Any] = attrs.field(factory=dict)
    processor_kwargs: dict[str, Any] = attrs.field(factory=dict)
    add_vision_id: bool = False
    legacy: bool = False
    thinking: bool = False
    url_form: bool = False
    #: ``qwen3_5``: Qwen3.5-0.8B (its template, tokenizer and video config) instead of Qwen3-VL-8B.
    family: str = "qwen3_vl"


def _video(clip: str) -> dict[str, Any]:
    return {"type": "video", "video": {"clip": clip}}


def _image(name: str) -> dict[str, Any]:
    return {"type": "image", "image": {"png": name}}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


_SINGLE = [{"role": "user", "content": [_video("issue_320x240_24fps_48"), _text("What happens?")]}]
_MIXED = [
    {"role": "system", "content": "You watch videos."},
    {
        "role": "user",
        "content": [_image("red"), _video("issue_320x240_24fps_48"), _text("Compare them."), _image("blue")],
    },
    {"role": "assistant", "content": "The video moves; the pictures do not."},
    {"role": "user", "content": [_text("And this one?"), _video("issue_short_8fps_6"), _image("red")]},
]

RENDER_CASES = (
    RenderCase("single-current", _SINGLE),
    RenderCase("single-legacy", _SINGLE, options={"video_expansion": "legacy"}, legacy=True),
    RenderCase("single-url-form", _SINGLE, url_form=True),
    RenderCase(
        "single-num-frames",
        _SINGLE,
        options={"video_num_frames": 8},
        processor_kwargs={"num_frames": 8, "fps": None},
    ),
    RenderCase("mixed-multiturn", _MIXED),
    RenderCase("mixed-multiturn-vision-id", _MIXED, add_vision_id=True),
    RenderCase("mixed-thinking-vision-id", _MIXED, add_vision_id=True, thinking=True),
    RenderCase("mixed-legacy", _MIXED, options={"video_expansion": "legacy"}, legacy=True),
    RenderCase("qwen35-single", _SINGLE, family="qwen3_5"),
    RenderCase("qwen35-mixed-vision-id", _MIXED, add_vision_id=True, family="qwen3_5"),
    RenderCase(
        "qwen35-mixed-legacy-fps",
        _MIXED,
        options={"video_expansion": "legacy", "video_fps": 3},
        legacy=True,
        processor_kwargs={"fps": 3},
        family="qwen3_5",
    ),
)


def resolved(messages: Any, clips: dict[str, str], pngs: dict[str, str], *, url_form: bool = False) -> Any:
    """The messages with every ``{"clip"|"png": NAME}`` source replaced by its path."""
    if isinstance(messages, list):
        return [resolved(m, clips, pngs, url_form=url_form) for m in messages]
    if not isinstance(messages, dict):
        return messages
    if set(messages) == {"clip"}:
        return clips[messages["clip"]]
    if set(messages) == {"png"}:
        return pngs[messages["png"]]
    if url_form and messages.get("type") == "video":
        return {"type": "video_url", "video_url": {"url": resolved(messages["video"], clips, pngs)}}
    return {k: resolved(v, clips, pngs, url_form=url_form) for k, v in messages.items()}
