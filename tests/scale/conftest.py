"""Scale-out fixtures: a mixed corpus (text, 1-3 images of many sizes and formats, tools, multi-turn) on disk."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

#: family -> model id, one per family the repo ships
MODELS = {
    "qwen3_vl": "Qwen/Qwen3-VL-8B-Instruct",
    "qwen3_5": "Qwen/Qwen3.5-0.8B",
    "kimi_k25": "moonshotai/Kimi-K2.6",
}
#: (width, height, format): tiny, wide, tall, square, large, odd sizes around the patch grids
IMAGE_SIZES = (
    (28, 28, "PNG"),
    (33, 61, "JPEG"),
    (640, 480, "JPEG"),
    (900, 120, "WEBP"),
    (120, 900, "PNG"),
    (1280, 960, "JPEG"),
    (517, 389, "WEBP"),
    (2000, 64, "PNG"),
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def write_images(folder: Path) -> list[str]:
    """One file per size, noisy so every image has its own bytes (and its own asset)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    names = []
    for i, (w, h, fmt) in enumerate(IMAGE_SIZES):
        img = Image.frombytes("RGB", (w, h), bytes(rng.getrandbits(8) for _ in range(w * h * 3)))
        name = f"img{i}.{fmt.lower()}"
        img.save(folder / name, format=fmt)
        names.append(name)
    return names


def mixed_corpus(images: list[str], n: int, seed: int = 0, image_dir: str = "images") -> list[dict[str, Any]]:
    """``n`` records: 70% with 1-3 images, some with tools, some multi-turn, most with an id."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        content: list[dict[str, Any]] = [{"type": "text", "text": f"question {i}: " + "why so " * rng.randint(0, 12)}]
        if rng.random() < 0.7:
            for _ in range(rng.randint(1, 3)):
                content.insert(
                    rng.randint(0, len(content)), {"type": "image", "image": f"{image_dir}/{rng.choice(images)}"}
                )
        messages: list[dict[str, Any]] = [{"role": "user", "content": content}]
        if rng.random() < 0.4:  # multi-turn
            messages += [
                {"role": "assistant", "content": "answer " * rng.randint(1, 8)},
                {"role": "user", "content": f"and then {i}?"},
            ]
        record: dict[str, Any] = {"messages": messages}
        if rng.random() < 0.2:
            record["tools"] = TOOLS
        if rng.random() < 0.9:
            record["id"] = f"r{i}"
        records.append(record)
    return records


def write_jsonl(path: Path, records: Iterable[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def mmrender(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m mmrender ARGS`` as a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "mmrender", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``images/`` and ``mixed.jsonl`` (120 records, relative image paths)."""
    folder = tmp_path_factory.mktemp("corpus")
    images = write_images(folder / "images")
    write_jsonl(folder / "mixed.jsonl", mixed_corpus(images, 120))
    return folder
