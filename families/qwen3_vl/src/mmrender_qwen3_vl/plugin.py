"""Entry point of ``mmrender-qwen3-vl``: registers the ``qwen3_vl`` family (routes, aliases, options, factory)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmrender import ConfigError, FamilySpec, ModelRoute, Store, hookimpl
from mmrender.tokenizer_loading import choose_tokenizer

from . import layout
from .checkpoint import is_thinking
from .options import Qwen3VLOptions
from .renderer import Qwen3VLRenderer
from .tokenizer import TOKENIZER_FILES, bundled_raw_tokenizer, load_tokenizer
from .video_layout import DEFAULT_VIDEO_PREPROCESSOR, VIDEO_ENGINE

_SIZES = (("2B", False), ("4B", False), ("8B", False), ("32B", False), ("30B-A3B", True), ("235B-A22B", True))


def _routes() -> tuple[ModelRoute, ...]:
    routes = []
    for size, moe in _SIZES:
        for variant in ("Instruct", "Thinking"):
            settings = {"thinking": variant == "Thinking", "model_type": "qwen3_vl_moe" if moe else "qwen3_vl"}
            routes.append(ModelRoute(f"Qwen/Qwen3-VL-{size}-{variant}", settings))
    return tuple(routes)


ROUTES = _routes()
#: Lower-case short names (no organisation) for every checkpoint, e.g. ``qwen3-vl-8b-instruct``.
ALIASES = {r.model_id.split("/", 1)[1].lower(): r.model_id for r in ROUTES}


def _tokenizer(tokenizer: Any, checkpoint: Path | None) -> Any:
    return choose_tokenizer(
        tokenizer,
        checkpoint=checkpoint,
        checkpoint_files=TOKENIZER_FILES,
        load_dir=load_tokenizer,
        bundled=bundled_raw_tokenizer,
    )


def create(*, route: ModelRoute, tokenizer: Any, store: Store, options: Qwen3VLOptions) -> Qwen3VLRenderer:
    """Build a renderer; a local checkpoint directory supplies its preprocessor config and tokenizer."""
    local = route.settings.get("local_path")
    checkpoint = Path(local) if local else None
    preprocessor = layout.DEFAULT_PREPROCESSOR
    if checkpoint is not None and (checkpoint / "preprocessor_config.json").is_file():
        preprocessor = checkpoint / "preprocessor_config.json"
    try:
        params = layout.load_params(preprocessor)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise ConfigError(f"unreadable preprocessor config {str(preprocessor)!r}: {exc}") from exc
    if options.min_pixels is not None:
        params["min_pixels"] = options.min_pixels
    if options.max_pixels is not None:
        params["max_pixels"] = options.max_pixels
    if params["min_pixels"] > params["max_pixels"]:
        raise ConfigError(f"min_pixels {params['min_pixels']} exceeds max_pixels {params['max_pixels']}")
    video_preprocessor = DEFAULT_VIDEO_PREPROCESSOR
    if checkpoint is not None and (checkpoint / "video_preprocessor_config.json").is_file():
        video_preprocessor = checkpoint / "video_preprocessor_config.json"
    if options.thinking is not None:
        thinking = options.thinking
    elif "thinking" in route.settings:
        thinking = bool(route.settings["thinking"])
    else:
        thinking = checkpoint is not None and is_thinking(checkpoint)
    return Qwen3VLRenderer(
        family=FAMILY,
        route=route,
        tokenizer=_tokenizer(tokenizer, checkpoint),
        store=store,
        options=options,
        layout_params=params,
        preprocessor_config=preprocessor,
        video_preprocessor_config=video_preprocessor,
        thinking=thinking,
    )


FAMILY = FamilySpec(
    id="qwen3_vl",
    routes=ROUTES,
    create=create,
    options_class=Qwen3VLOptions,
    aliases=ALIASES,
    model_types=("qwen3_vl", "qwen3_vl_moe"),
    layout=layout.ENGINE,
    video_layout=VIDEO_ENGINE,
    description="Qwen3-VL Instruct and Thinking (2B-235B): token-exact rendering with raw image refs",
)


@hookimpl
def register_families(register: Any) -> None:
    register(FAMILY)
