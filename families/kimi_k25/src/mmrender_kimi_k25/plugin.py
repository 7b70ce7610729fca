"""Entry point of ``mmrender-kimi-k25``: registers the ``kimi_k25`` family (routes, aliases, options, factory).

Importing this module must stay cheap (every mmrender process loads it): the tokenizer,
tiktoken and transformers are imported only when a renderer is created.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmrender import ConfigError, FamilySpec, ModelRoute, Store, hookimpl
from mmrender.tokenizer_loading import choose_tokenizer

from . import layout
from .options import KimiK25Options

ROUTES = (
    ModelRoute("moonshotai/Kimi-K2.5", {"template": "k2.5"}),
    ModelRoute("moonshotai/Kimi-K2.6", {"template": "k2.6"}),
)
ALIASES = {"kimi-k2.5": "moonshotai/Kimi-K2.5", "kimi-k2.6": "moonshotai/Kimi-K2.6"}
#: Text only the K2.6 template has (its suffix test); a local checkpoint's template picks its rules by it.
_K26_MARK = "thinking is false and preserve_thinking is false"


def _template_of(route: ModelRoute, checkpoint: Path | None) -> str:
    if "template" in route.settings:
        return str(route.settings["template"])
    if checkpoint is not None:
        path = checkpoint / "chat_template.jinja"
        if path.is_file():
            return "k2.6" if _K26_MARK in path.read_text(encoding="utf-8", errors="replace") else "k2.5"
    return "k2.6"


def _load_tokenizer_dir(root: Path) -> Any:
    from .tokenizer import KimiTokenizer

    vocab, config = root / "tiktoken.model", root / "tokenizer_config.json"
    if not vocab.is_file() or not config.is_file():
        raise ConfigError(f"{str(root)!r} has no tiktoken.model and tokenizer_config.json")
    try:
        return KimiTokenizer(vocab, config)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot load the Kimi tokenizer from {str(root)!r}: {exc}") from exc


def _default_tokenizer() -> Any:
    from .tokenizer import default_tokenizer

    return default_tokenizer()


def _tokenizer(tokenizer: Any, checkpoint: Path | None) -> Any:
    return choose_tokenizer(
        tokenizer,
        checkpoint=checkpoint,
        checkpoint_files=("tiktoken.model",),
        load_dir=_load_tokenizer_dir,
        bundled=_default_tokenizer,
    )


def _media_cfg(checkpoint: Path | None) -> dict[str, Any]:
    path = layout.DEFAULT_MEDIA_PROC_CFG
    if checkpoint is not None and (checkpoint / "preprocessor_config.json").is_file():
        path = checkpoint / "preprocessor_config.json"
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        block = data.get("media_proc_cfg", data)
        layout.params_of(block)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"unreadable media_proc_cfg in {str(path)!r}: {exc}") from exc
    return dict(block)


def create(*, route: ModelRoute, tokenizer: Any, store: Store, options: KimiK25Options) -> Any:
    """Build a renderer; a local checkpoint directory supplies its tokenizer, template kind and media config."""
    from .renderer import KimiK25Renderer
    from .walker import RULES

    local = route.settings.get("local_path")
    checkpoint = Path(local) if local else None
    template = _template_of(route, checkpoint)
    if template not in RULES:
        raise ConfigError(f"unknown Kimi template kind {template!r} (expected one of {', '.join(RULES)})")
    media_cfg = _media_cfg(checkpoint)
    return KimiK25Renderer(
        family=FAMILY,
        route=route,
        tokenizer=_tokenizer(tokenizer, checkpoint),
        store=store,
        options=options,
        rules=RULES[template],
        layout_params=layout.params_of(media_cfg),
        media_cfg=media_cfg,
    )


FAMILY = FamilySpec(
    id="kimi_k25",
    routes=ROUTES,
    create=create,
    options_class=KimiK25Options,
    aliases=ALIASES,
    model_types=("kimi_k25",),
    layout=layout.ENGINE,
    description="Kimi K2.5 / K2.6: token-exact rendering (one <|media_pad|> per image, vision_chunk refs)",
)


@hookimpl
def register_families(register: Any) -> None:
    register(FAMILY)
