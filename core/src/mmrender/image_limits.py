"""Which encoded images are accepted at all: the supported formats and the byte limit.

Both image readers (:mod:`mmrender.images` for sources, :mod:`mmrender.in_memory_images` for
PIL images and arrays) apply them, so they live below both.
"""

from __future__ import annotations

import os

#: Formats every supported vision processor decodes; others are refused up front.
#: MPO is how Pillow names multi-picture JPEGs (many phone cameras); its first frame is a JPEG.
SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "MPO")
MAX_BYTES_ENV = "MMRENDER_MAX_IMAGE_BYTES"
DEFAULT_MAX_BYTES = 256 * 2**20


def max_image_bytes() -> int:
    """``$MMRENDER_MAX_IMAGE_BYTES`` (default 256 MiB): larger encoded images are refused unread."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    try:
        return int(raw) if raw else DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES
