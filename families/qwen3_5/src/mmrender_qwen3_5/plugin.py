"""Entry point of ``mmrender-qwen3-5``: registers the Qwen3.5 family.

Routes name the chat template each checkpoint ships (``settings["template"]``) and how that was
established (``settings["template_evidence"]``); see docs/families/qwen3_5.md. ``-Base`` and
``-FP8`` repositories are not routed: no pin of their template was found, so they are reachable
only as local checkpoints, whose template bytes are checked against the two official ones.
The image layout is the Qwen vision layout of the Qwen3-VL package (family id ``qwen_vl``):
Qwen3.5 ships the same vision processor, so both families share one layout engine.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from mmrender import FamilySpec, ModelRoute, Store, hookimpl
from mmrender.errors import ConfigError
from mmrender.tokenizer_loading import choose_tokenizer
from mmrender_qwen3_vl.layout import ENGINE
from mmrender_qwen3_vl.video_layout import VIDEO_ENGINE

from .options import Qwen35Options
from .templates import VARIANTS, detect_variant

_VERIFIED = "official template bytes pinned by sha256/git blob for this repository"
_COPY = "byte-identical template in a public conversion of this checkpoint"
_INDIRECT = "not byte-verified; same template family per public parity tests and docs"

# (model id, template, evidence)
_ROUTES = (
    ("Qwen/Qwen3.5-0.8B", "small", _VERIFIED),
    ("Qwen/Qwen3.5-2B", "small", _COPY),
    ("Qwen/Qwen3.5-4B", "large", _VERIFIED),
    ("Qwen/Qwen3.5-9B", "large", _VERIFIED),
    ("Qwen/Qwen3.5-27B", "large", _INDIRECT),
    ("Qwen/Qwen3.5-35B-A3B", "large", _COPY),
    ("Qwen/Qwen3.5-122B-A10B", "large", _INDIRECT),
    ("Qwen/Qwen3.5-397B-A17B", "large", _INDIRECT),
)
ROUTES = tuple(
    ModelRoute(
        model_id,
        {
            "template": template,
            "chat_template": f"{VARIANTS[template].asset_dir}/chat_template.jinja",
            "chat_template_sha256": VARIANTS[template].sha256,
            "thinking_default": VARIANTS[template].thinking_default,
            "template_evidence": evidence,
        },
    )
    for model_id, template, evidence in _ROUTES
)


def create(*, route: ModelRoute, tokenizer: Any, store: Store, options: Qwen35Options) -> Any:
    """Build the renderer: the route's template, and the bundled tokenizer unless one is given.

    A local checkpoint (resolved by ``model_type``) uses its own template, which must be one of
    the two official ones, and its own tokenizer files when present. The bundled tokenizer renders
    without transformers (its transformers object is built on first ``renderer.tokenizer`` access).
    """
    from .renderer import Qwen35Renderer
    from .tokenizer import bundled_raw_tokenizer, load_tokenizer_dir

    local = route.settings.get("local_path")
    if local is not None:
        variant = detect_variant(Path(local))
    else:
        name = route.settings.get("template")
        if name not in VARIANTS:
            raise ConfigError(f"route {route.model_id!r} names no Qwen3.5 chat template")
        variant = VARIANTS[name]
    tokenizer = choose_tokenizer(
        tokenizer,
        checkpoint=local,
        checkpoint_files=("tokenizer.json", "vocab.json"),
        load_dir=load_tokenizer_dir,
        bundled=functools.partial(bundled_raw_tokenizer, variant.name),
    )
    return Qwen35Renderer(
        family=FAMILY, route=route, tokenizer=tokenizer, store=store, options=options, variant=variant
    )


FAMILY = FamilySpec(
    id="qwen3_5",
    routes=ROUTES,
    create=create,
    options_class=Qwen35Options,
    model_types=("qwen3_5", "qwen3_5_moe"),
    layout=ENGINE,
    video_layout=VIDEO_ENGINE,
    description="Qwen3.5 (dense and MoE): thinking, XML tool calls, images via the shared Qwen vision layout",
)


@hookimpl
def register_families(register: Any) -> None:
    register(FAMILY)
