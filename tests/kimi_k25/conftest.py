"""Kimi K2.5 test fixtures: the plugin loaded by entry point (with the storage backends) and real images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mmrender import plugins
from PIL import Image

#: (name, size, format) of the test images, written once per session.
IMAGES = {
    "wide": ((640, 480), "PNG"),
    "tall": ((100, 50), "JPEG"),
    "big": ((2000, 1500), "JPEG"),
    "tiny": ((1, 1), "PNG"),
    "patch": ((28, 28), "PNG"),
}


@pytest.fixture(scope="package", autouse=True)
def _only_this_family(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Load this family and the storage backends by entry point, and nothing else in the tree."""
    with pytest.MonkeyPatch.context() as mp, plugins.restricted("mmrender-kimi-k25", "mmrender-storage"):
        mp.setenv("MMRENDER_STORE", str(tmp_path_factory.mktemp("kimi-store")))
        yield


@pytest.fixture(scope="package")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Paths of real encoded images (distinct pixels, so distinct hashes)."""
    root = tmp_path_factory.mktemp("kimi-images")
    out = {}
    for k, (name, (size, fmt)) in enumerate(IMAGES.items()):
        path = root / f"{name}.{fmt.lower()}"
        Image.new("RGB", size, (40 * k, 255 - 30 * k, 90)).save(path, format=fmt)
        out[name] = str(path)
    return out


def renderer(model: str = "moonshotai/Kimi-K2.6", **options: Any) -> Any:
    import mmrender

    return mmrender.get_renderer(model, **options)


def image_bytes(path: str) -> bytes:
    return Path(path).read_bytes()
