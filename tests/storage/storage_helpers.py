"""Helpers shared by the storage tests (test images, messages); imported as ``storage_helpers``."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

from PIL import Image

HERE = Path(__file__).resolve().parent


def png_bytes(seed: int, size: tuple[int, int] = (40, 30), *, noise: bool = False) -> bytes:
    """A small, distinct PNG per seed (noise makes it incompressible, i.e. bigger)."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    if noise:
        img.frombytes(rng.randbytes(size[0] * size[1] * 3))
    else:
        img.putpixel((seed % size[0], (seed // size[0]) % size[1]), (seed % 256, 7, 9))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def image_bytes(fmt: str, size: tuple[int, int] = (48, 32)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buf, format=fmt)
    return buf.getvalue()


def image_message(*sources: Any, text: str = "look") -> dict[str, Any]:
    parts: list[Any] = [{"type": "text", "text": text}]
    parts += [
        {"type": "image_url", "image_url": {"url": s}} if isinstance(s, str) else {"type": "image", "image": s}
        for s in sources
    ]
    return {"role": "user", "content": parts}
