"""Five-turn rollouts, one per family, each with a turn its bridge refuses in the middle (turn 3).

Completions are what the family's own render writes for an assistant message (never hard-coded ids);
a step may cut the end id off (a truncated completion: the bridge appends it, unsampled) or keep a
sampled newline after it (a sampler that did not stop on ``<|im_end|>``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from PIL import Image

#: The step whose new messages the bridge refuses (0-based): segment 0 holds turns 0-2, segment 1 turns 3-4.
REFUSED_AT = 2

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Return the weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ZOOM = {
    "type": "function",
    "function": {
        "name": "zoom",
        "description": "Crop and zoom an image region.",
        "parameters": {"type": "object", "properties": {"bbox": {"type": "array", "items": {"type": "number"}}}},
    },
}


@attrs.frozen
class Step:
    """One sampled turn: the assistant message the completion is made from, how the sampler ended it,
    and the environment's reply (None after the last turn)."""

    assistant: dict[str, Any]
    new: list[dict[str, Any]] | None
    ending: str = "stop"  # "stop": ends with <|im_end|>; "cut": truncated before it; "overrun": a sampled "\n" after it


@attrs.frozen
class Case:
    model: str
    options: dict[str, Any]
    tools: list[dict[str, Any]] | None
    first: list[dict[str, Any]]
    steps: list[Step]
    #: template kwargs for the context-free render that produces completions
    sampling_kwargs: dict[str, Any] = attrs.field(factory=dict)


def make_images(root: Path) -> list[str]:
    """Four real PNG/JPEG files of different sizes (different placeholder counts)."""
    paths = []
    for i, (size, fmt) in enumerate([((64, 48), "PNG"), ((100, 70), "JPEG"), ((48, 96), "PNG"), ((80, 80), "JPEG")]):
        path = root / f"image{i}.{fmt.lower()}"
        Image.new("RGB", size, (40 * i, 90, 200 - 30 * i)).save(path, fmt)
        paths.append(str(path))
    return paths


def img(path: str) -> dict[str, Any]:
    return {"type": "image", "image": path}


def txt(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def qwen_call(name: str, args: dict[str, Any], i: int = 0) -> dict[str, Any]:
    return {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}}


def kimi_call(name: str, idx: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"functions.{name}:{idx}", "type": "function", "function": {"name": name, "arguments": args}}


def user(*parts: Any) -> dict[str, Any]:
    return {"role": "user", "content": list(parts)}


def qwen3_vl_instruct(images: list[str]) -> Case:
    """Instruct bridges refuse a completion that goes on after ``<|im_end|>`` (here a sampled newline)."""
    zoom = qwen_call("zoom", {"bbox": [0, 0, 10, 10]})
    return Case(
        "Qwen/Qwen3-VL-2B-Instruct",
        {},
        [ZOOM],
        [{"role": "system", "content": "Be brief."}, user(img(images[0]), txt("What is on the sign?"))],
        [
            Step(
                {"role": "assistant", "content": "", "tool_calls": [zoom]},
                [{"role": "tool", "content": [img(images[1])]}],
            ),
            Step({"role": "assistant", "content": "Still blurry."}, [user(txt("Try harder."))], ending="cut"),
            Step(
                {"role": "assistant", "content": "It says STOP."},
                [user(img(images[2]), txt("And this one?"))],
                ending="overrun",
            ),
            Step(
                {"role": "assistant", "content": "", "tool_calls": [zoom]},
                [{"role": "tool", "content": [img(images[3]), txt("zoomed")]}],
            ),
            Step({"role": "assistant", "content": "A cat."}, None),
        ],
    )


def qwen3_vl_thinking(images: list[str]) -> Case:
    """Thinking bridges refuse a new real user query (the template drops earlier turns' think blocks)."""
    zoom = qwen_call("zoom", {"bbox": [1, 2, 3, 4]})
    return Case(
        "Qwen/Qwen3-VL-2B-Thinking",
        {},
        [ZOOM],
        [user(img(images[0]), txt("Read the sign."))],
        [
            Step(
                {"role": "assistant", "content": "", "reasoning_content": "Zoom in.", "tool_calls": [zoom]},
                [{"role": "tool", "content": [img(images[1])]}],
            ),
            Step(
                {"role": "assistant", "content": "", "reasoning_content": "Closer.", "tool_calls": [zoom]},
                [{"role": "tool", "content": "done"}],
                ending="cut",
            ),
            Step(
                {"role": "assistant", "content": "STOP.", "reasoning_content": "Red octagon."},
                [user(img(images[2]), txt("And this?"))],
            ),
            Step(
                {"role": "assistant", "content": "", "reasoning_content": "Zoom again.", "tool_calls": [zoom]},
                [{"role": "tool", "content": [img(images[3])]}],
            ),
            Step({"role": "assistant", "content": "A cat.", "reasoning_content": "Whiskers."}, None),
        ],
    )


def qwen3_5(images: list[str]) -> Case:
    """Qwen3.5 bridges refuse a new real user query under the default ``tool_cycle`` retention."""
    city = qwen_call("get_weather", {"city": "Paris"})
    return Case(
        "Qwen/Qwen3.5-9B",
        {},
        [WEATHER],
        [user(img(images[0]), txt("Weather where this photo was taken?"))],
        [
            Step(
                {"role": "assistant", "content": "", "reasoning_content": "Looks like Paris.", "tool_calls": [city]},
                [{"role": "tool", "content": [img(images[1]), txt("sunny")]}],
            ),
            Step(
                {"role": "assistant", "content": "", "reasoning_content": "Check again.", "tool_calls": [city]},
                [{"role": "tool", "content": "22 C"}],
                ending="cut",
            ),
            Step(
                {"role": "assistant", "content": "Sunny, 22 C.", "reasoning_content": "Both agree."},
                [user(img(images[2]), txt("And here?"))],
            ),
            Step(
                {
                    "role": "assistant",
                    "content": "",
                    "reasoning_content": "Maybe Rome.",
                    "tool_calls": [qwen_call("get_weather", {"city": "Rome"})],
                },
                [{"role": "tool", "content": [img(images[3]), txt("rain")]}],
            ),
            Step({"role": "assistant", "content": "Rain in Rome.", "reasoning_content": "Tool said rain."}, None),
        ],
    )


def kimi_k25(images: list[str]) -> Case:
    """Kimi bridges (template rule) refuse closing an answer with reasoning: history reasoning would print empty."""
    return Case(
        "moonshotai/Kimi-K2.5",
        {},
        [WEATHER],
        [{"role": "system", "content": "Be brief."}, user(img(images[0]), txt("Weather where this was taken?"))],
        [
            Step(
                {
                    "role": "assistant",
                    "content": "Checking.",
                    "reasoning_content": "Paris.",
                    "tool_calls": [kimi_call("get_weather", 0, {"city": "Paris"})],
                },
                [
                    {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "sunny"},
                    user(img(images[1]), txt("Also this place.")),
                ],
            ),
            Step(
                {
                    "role": "assistant",
                    "content": "",
                    "reasoning_content": "Lyon.",
                    "tool_calls": [kimi_call("get_weather", 1, {"city": "Lyon"})],
                },
                [{"role": "tool", "tool_call_id": "functions.get_weather:1", "content": "rain"}],
                ending="cut",
            ),
            Step(
                {"role": "assistant", "content": "Sunny, then rain.", "reasoning_content": "Both known."},
                [user(img(images[2]), txt("And here?"))],
            ),
            Step(
                {
                    "role": "assistant",
                    "content": "",
                    "reasoning_content": "Rome.",
                    "tool_calls": [kimi_call("get_weather", 2, {"city": "Rome"})],
                },
                [
                    {"role": "tool", "tool_call_id": "functions.get_weather:2", "content": "cloudy"},
                    user(img(images[3]), txt("Last one.")),
                ],
            ),
            Step({"role": "assistant", "content": "Cloudy.", "reasoning_content": "Tool said so."}, None),
        ],
        sampling_kwargs={"preserve_thinking": True},
    )


CASES: dict[str, Callable[[list[str]], Case]] = {
    "qwen3_vl_instruct": qwen3_vl_instruct,
    "qwen3_vl_thinking": qwen3_vl_thinking,
    "qwen3_5": qwen3_5,
    "kimi_k25": kimi_k25,
}
