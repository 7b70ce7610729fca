"""Qwen3-VL fixtures: the oracle (official template + transformers' image processor), test images, renderers.

The oracle files are the shared fixtures (hash-pinned in test_q3vl_assets.py); on a machine without
them the byte-identical bundled copies are used, and the same hash test proves they are the official files.
The Thinking oracle runs the bundled official Thinking ``chat_template.json`` (hash-pinned the same way)
with the same tokenizer: only the chat template differs between the two checkpoints.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from mmrender import plugins
from mmrender_qwen3_vl.tokenizer import BUNDLED_TOKENIZER
from PIL import Image

SHARED = Path("/work/shared/fixtures/qwen3_vl/Qwen3-VL-8B-Instruct")
ORACLE_DIR = Path(os.environ.get("MMRENDER_QWEN3_VL_FIXTURES", SHARED if SHARED.is_dir() else BUNDLED_TOKENIZER))
THINKING_TEMPLATE_FILE = BUNDLED_TOKENIZER.parent / "Qwen3-VL-8B-Thinking" / "chat_template.json"
OWN_PLUGINS = "mmrender-qwen3-vl,mmrender-storage"

#: name -> (width, height, format); sizes chosen around smart_resize's rounding and pixel limits.
IMAGE_SPECS = {
    "jpg640": (640, 480, "JPEG"),
    "png333": (333, 517, "PNG"),
    "webp_wide": (1024, 96, "WEBP"),
    "gif": (97, 203, "GIF"),
    "bmp_tiny": (31, 29, "BMP"),
    "jpg_big": (1600, 1200, "JPEG"),
    "png_tie": (16, 2048, "PNG"),
    "jpg_odd": (1023, 769, "JPEG"),
}


@pytest.fixture(scope="module", autouse=True)
def _only_this_family() -> Iterator[None]:
    """Load only this family and the storage backends, so a sibling plugin mid-development cannot break us."""
    with plugins.restricted(*OWN_PLUGINS.split(",")):
        yield


@pytest.fixture(scope="session")
def oracle_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(ORACLE_DIR), local_files_only=True)


@pytest.fixture(scope="session")
def oracle_image_processor():
    """transformers' own Qwen image processor, configured from the oracle preprocessor_config.json."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    cfg = json.loads((ORACLE_DIR / "preprocessor_config.json").read_text(encoding="utf-8"))
    keys = ("size", "patch_size", "temporal_patch_size", "merge_size", "image_mean", "image_std")
    return Qwen2VLImageProcessorPil(**{k: cfg[k] for k in keys})


@pytest.fixture(scope="session")
def thinking_template() -> str:
    """The official Qwen3-VL-8B-Thinking template text (sha256 pinned in test_q3vl_assets.py)."""
    return json.loads(THINKING_TEMPLATE_FILE.read_text(encoding="utf-8"))["chat_template"]


@pytest.fixture(scope="session")
def thinking_oracle(oracle_tokenizer, oracle_image_processor, thinking_template):
    """apply_chat_template with the official Thinking template; it writes system and assistant images too."""
    from .oracle import THINKING_IMAGE_ROLES, Oracle

    return Oracle(oracle_tokenizer, oracle_image_processor, thinking_template, THINKING_IMAGE_ROLES)


def _noise_image(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8), "RGB")


@pytest.fixture(scope="session")
def image_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("q3vl-images")
    out = {}
    for seed, (name, (w, h, fmt)) in enumerate(IMAGE_SPECS.items()):
        img = _noise_image(w, h, seed)
        path = root / f"{name}.{fmt.lower()}"
        img.save(path, format=fmt)
        out[name] = path
    return out


class Sources:
    """The same test images in every source form a message may carry."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def path(self, name: str) -> str:
        return str(self.files[name])

    def uri(self, name: str) -> str:
        return self.files[name].resolve().as_uri()

    def data_uri(self, name: str) -> str:
        fmt = IMAGE_SPECS[name][2].lower()
        return f"data:image/{fmt};base64," + base64.b64encode(self.files[name].read_bytes()).decode()

    def raw(self, name: str) -> bytes:
        return self.files[name].read_bytes()

    def pil(self, name: str) -> Image.Image:
        with Image.open(self.files[name]) as img:
            img.load()
            return img.copy()


@pytest.fixture(scope="session")
def sources(image_files: dict[str, Path]) -> Sources:
    return Sources(image_files)


@pytest.fixture
def make_renderer(tmp_path: Path):
    """``make_renderer(model="Qwen/Qwen3-VL-8B-Instruct", **options)`` with a per-test local store."""
    import mmrender

    def make(model: str = "Qwen/Qwen3-VL-8B-Instruct", **options):
        return mmrender.get_renderer(model, store=str(tmp_path / "store"), **options)

    return make


def decode_source(source) -> Image.Image:
    """The oracle's own image decoding (independent of mmrender's loader)."""
    if isinstance(source, Image.Image):
        return source.convert("RGB")
    if isinstance(source, bytes | bytearray):
        return Image.open(io.BytesIO(source)).convert("RGB")
    if isinstance(source, str) and source.startswith("data:"):
        return Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).convert("RGB")
    if isinstance(source, str) and source.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        return Image.open(unquote(urlsplit(source).path)).convert("RGB")
    return Image.open(source).convert("RGB")
