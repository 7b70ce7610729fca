"""Training-sample fixtures: the three families loaded by entry point, and real encoded images of assorted sizes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from mmrender import plugins
from PIL import Image

#: name -> (width, height, format); sizes give different grids (and, for Qwen, different max(h, w)).
IMAGE_SPECS = {
    "vga": (640, 480, "JPEG"),
    "wide": (1000, 240, "PNG"),
    "tall": (200, 900, "JPEG"),
    "tiny": (40, 30, "PNG"),
    "odd": (333, 517, "JPEG"),
    "square": (512, 512, "WEBP"),
    "big": (1600, 1200, "JPEG"),
}
PLUGINS = ("mmrender-qwen3-vl", "mmrender-qwen3-5", "mmrender-kimi-k25", "mmrender-storage")


@pytest.fixture(scope="package", autouse=True)
def _families(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Load the three families and the storage backends by entry point, and nothing else in the tree."""
    with pytest.MonkeyPatch.context() as mp, plugins.restricted(*PLUGINS):
        mp.setenv("MMRENDER_STORE", str(tmp_path_factory.mktemp("training-store")))
        yield


@pytest.fixture(scope="package")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Paths of real encoded noise images (distinct pixels, so distinct hashes)."""
    root = tmp_path_factory.mktemp("training-images")
    out = {}
    for seed, (name, (w, h, fmt)) in enumerate(IMAGE_SPECS.items()):
        rng = np.random.default_rng(seed)
        path = root / f"{name}.{fmt.lower()}"
        Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8), "RGB").save(path, format=fmt)
        out[name] = str(path)
    return out
