"""The ``kimi_k25`` layout engine: :class:`ImageLayout` from an image's size, as refs carry it.

Why a separate module: the plugin registers this engine at import time (consumers re-check refs
with it), so it must stay light: no tokenizer, no torch. The size math itself is ``navit_resize.py``.

Fingerprint parameters are the four ``media_proc_cfg`` values that decide the grid
(``patch_size``, ``merge_kernel_size``, ``in_patch_limit``, ``patch_limit_on_one_side``).
Normalisation (``image_mean``/``image_std``) changes pixels, not the layout, and the video
settings never touch images, so they stay out of the fingerprint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from mmrender import ImageLayout, LayoutEngine, ProcessedMMItem
from mmrender.errors import ImageSourceError
from mmrender.layout_engines import check_positive_ints
from mmrender.ref_codecs import layout_fingerprint
from PIL import Image

from .navit_resize import DEFAULT_MEDIA_PROC_CFG, KimiMediaConfig, default_config, kimi_layout

FAMILY = "kimi_k25"
VLLM_MODALITY = "vision_chunk"
__all__ = ["DEFAULT_MEDIA_PROC_CFG", "DEFAULT_PARAMS", "ENGINE", "kimi_image_layout", "params_of"]
DEFAULT_PARAMS: dict[str, int] = default_config().as_dict()


@lru_cache(maxsize=16)
def _fingerprint(items: tuple[tuple[str, int], ...]) -> str:
    return layout_fingerprint(FAMILY, dict(items))


def params_of(config: Mapping[str, Any]) -> dict[str, int]:
    """The fingerprint parameters of a ``preprocessor_config.json`` dict or ``media_proc_cfg`` block."""
    block = config.get("media_proc_cfg", config)
    if block.get("fixed_output_tokens") is not None:
        raise ValueError("media_proc_cfg.fixed_output_tokens is set; only the NaViT resize layout is supported")
    return KimiMediaConfig.from_mapping(block).as_dict()


def kimi_image_layout(width: int, height: int, params: Mapping[str, Any] = DEFAULT_PARAMS) -> ImageLayout:
    """One ``<|media_pad|>`` in the prompt; grid and media-token count travel in the payload."""
    cfg = KimiMediaConfig.from_mapping(params)
    used = cfg.as_dict()
    try:
        lay = kimi_layout(width, height, cfg)
    except ValueError as exc:
        raise ImageSourceError(f"image of {width}x{height} cannot be laid out: {exc}") from exc
    grid = list(lay.grid_thws)
    return ImageLayout(
        family=FAMILY,
        fingerprint=_fingerprint(tuple(sorted(used.items()))),
        grid=tuple(grid),
        num_tokens=lay.num_media_tokens,
        num_placeholders=1,
        payload={"grid_thws": [grid], "num_media_tokens": lay.num_media_tokens},
        resized=lay.resized,
        modality="image",
        vllm_modality=VLLM_MODALITY,
        params=used,
    )


def process_images(pixels: Sequence[Image.Image], params: Mapping[str, Any]) -> ProcessedMMItem:
    """The engine's processor, normalised as the bundled ``media_proc_cfg`` says (imported on first use)."""
    from .vision import process_kimi_images

    return process_kimi_images(pixels, params)


ENGINE = LayoutEngine(
    family=FAMILY,
    compute=kimi_image_layout,
    default_params=DEFAULT_PARAMS,
    check_params=check_positive_ints,
    process=process_images,
)
