"""Qwen3.5 test fixtures: the plugin loaded by entry point, real images, and the transformers oracle.

The oracle is transformers' own ``apply_chat_template(tokenize=False)`` with the official
template text, encoded with the Qwen3.5 tokenizer, and every ``<|image_pad|>`` expanded to the
grid transformers' ``Qwen2VLImageProcessorPil`` (configured from Qwen3.5's
``preprocessor_config.json``) computes on the decoded image.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pytest
from mmrender import plugins
from mmrender_qwen3_5.templates import ASSETS, VARIANTS
from mmrender_qwen3_5.tokenizer import bundled_tokenizer
from PIL import Image

PREPROCESSOR = ASSETS / "Qwen3.5-0.8B" / "preprocessor_config.json"
MODEL = {"small": "Qwen/Qwen3.5-0.8B", "large": "Qwen/Qwen3.5-9B"}


@pytest.fixture(scope="package", autouse=True)
def _only_this_family(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Load this family and the storage backends by entry point, and nothing else in the tree."""
    with pytest.MonkeyPatch.context() as mp, plugins.restricted("mmrender-qwen3-5", "mmrender-storage"):
        mp.setenv("MMRENDER_STORE", str(tmp_path_factory.mktemp("qwen35-store")))
        yield


@pytest.fixture(scope="package")
def tok() -> Any:
    return bundled_tokenizer("small")


def renderer(variant: str = "large", **options: Any) -> Any:
    import mmrender

    return mmrender.get_renderer(MODEL[variant], **options)


@functools.lru_cache(maxsize=1)
def image_processor() -> Any:
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil(**json.loads(PREPROCESSOR.read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=64)
def processor_grid(path: str) -> tuple[int, int, int]:
    with Image.open(path) as img:
        rgb = img.convert("RGB")
    grid = image_processor()(images=[rgb], return_tensors="np")["image_grid_thw"][0]
    return tuple(int(v) for v in grid)


def _image_paths(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    paths = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if isinstance(part, Mapping) and part.get("type") == "image":
                    paths.append(str(part["image"]))
    return paths


#: Renderer options of every parity check: the oracle (official template + tokenizer) turns a special
#: token spelled in text into the control token, which is ``special_tokens_in_text="control"``.
PARITY = {"special_tokens_in_text": "control"}


def oracle(
    tok: Any,
    variant: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[Any] | None = None,
    add_generation_prompt: bool = False,
    **template_kwargs: Any,
) -> tuple[list[int], list[tuple[int, int]], list[tuple[int, int, int]]]:
    """(expanded ids, placeholder (offset, length) per image, grid per image) from transformers."""
    text = tok.apply_chat_template(
        list(messages),
        tools=tools,
        tokenize=False,
        chat_template=VARIANTS[variant].text(),
        add_generation_prompt=add_generation_prompt,
        **template_kwargs,
    )
    ids = tok.encode(text, add_special_tokens=False)
    pad = tok.convert_tokens_to_ids("<|image_pad|>")
    grids = [processor_grid(p) for p in _image_paths(messages)]
    out: list[int] = []
    ranges: list[tuple[int, int]] = []
    images = iter(grids)
    for tid in ids:
        if tid == pad:
            t, h, w = next(images)
            n = t * h * w // 4
            ranges.append((len(out), n))
            out.extend([pad] * n)
        else:
            out.append(tid)
    assert next(images, None) is None, "more images than <|image_pad|> tokens"
    return out, ranges, grids


def _photo(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)), (x + y) % 256], axis=-1)
    noise = rng.integers(0, 40, size=(height, width, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype("uint8"))


@pytest.fixture(scope="package")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Real encoded images of assorted sizes and formats (paths)."""
    root = tmp_path_factory.mktemp("qwen35-images")
    specs = {
        "vga": (640, 480, "JPEG"),
        "wide": (1000, 240, "PNG"),
        "tall": (200, 900, "JPEG"),
        "tiny": (40, 30, "PNG"),
        "odd": (333, 517, "JPEG"),
        "square": (512, 512, "WEBP"),
    }
    out = {}
    for i, (name, (w, h, fmt)) in enumerate(specs.items()):
        path = root / f"{name}.{fmt.lower()}"
        _photo(w, h, i).save(path, format=fmt)
        out[name] = str(path)
    return out


def img(path: str) -> dict[str, Any]:
    return {"type": "image", "image": path}


def txt(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def completion_of(full: Sequence[int], prompt: Sequence[int], im_end: int) -> list[int]:
    """The assistant turn a model would have sampled after ``prompt``: up to and including ``<|im_end|>``."""
    full, prompt = list(full), list(prompt)
    assert full[: len(prompt)] == prompt, "prompt is not a prefix of the full render"
    rest = full[len(prompt) :]
    return rest[: rest.index(im_end) + 1]
