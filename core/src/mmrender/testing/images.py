"""Small generated test images (Pillow), so the kit needs no fixture files: distinct sizes, formats and content."""

from __future__ import annotations

import io
import os

from PIL import Image

#: (width, height, format): a tiny PNG, an odd-sized JPEG and a portrait PNG, so layouts differ.
DEFAULT_IMAGES = ((64, 48, "PNG"), (333, 217, "JPEG"), (200, 320, "PNG"))


def image_bytes(width: int, height: int, fmt: str = "PNG", *, seed: int = 0, noise: bool = False) -> bytes:
    """An encoded image; ``noise`` makes it incompressible (large), ``seed`` makes it distinct."""
    if noise:
        img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        img = Image.new("RGB", (width, height), ((37 * seed) % 256, (91 * seed + 40) % 256, (13 * seed + 90) % 256))
        for k in range(min(width, height)):
            img.putpixel((k, (k * 7 + seed) % height), (255 - seed % 256, k % 256, 0))
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def default_images() -> list[bytes]:
    return [image_bytes(w, h, fmt, seed=i) for i, (w, h, fmt) in enumerate(DEFAULT_IMAGES)]


def noise_png(width: int, height: int) -> bytes:
    """A PNG of random pixels: unique per call (never already in a store) and about 3 bytes per pixel."""
    return image_bytes(width, height, "PNG", noise=True)
