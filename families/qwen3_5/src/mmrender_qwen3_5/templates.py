"""The two official Qwen3.5 chat templates and how to tell which one a checkpoint ships.

Qwen3.5 checkpoints ship one of two templates that are identical except for the
generation-prompt default: the small checkpoints (0.8B, 2B) start the reply with the
thinking block already closed unless ``enable_thinking`` is exactly ``True``; 4B and larger
leave it open unless ``enable_thinking`` is exactly ``False``. Everything else the renderer
does is the same for both, so a variant is just its asset, its hash and that one rule.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import attrs
from mmrender.errors import ConfigError
from mmrender.family import checkpoint_chat_template

ASSETS = Path(__file__).parent / "assets"


@attrs.frozen
class TemplateVariant:
    """One official chat template: where its bytes live, their sha256, and its thinking default."""

    name: str
    asset_dir: str
    sha256: str
    thinking_default: bool

    @property
    def path(self) -> Path:
        return ASSETS / self.asset_dir / "chat_template.jinja"

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def thinking_open(self, enable_thinking: Any) -> bool:
        """Whether the generation prompt leaves ``<think>`` open, by the template's own test.

        The small template tests ``enable_thinking is true`` and the large one
        ``enable_thinking is false`` (Jinja identity tests), so non-bool values fall to the default.
        """
        if self.thinking_default:
            return enable_thinking is not False
        return enable_thinking is True


SMALL = TemplateVariant(
    name="small",
    asset_dir="Qwen3.5-0.8B",
    sha256="273d8e0e683b885071fb17e08d71e5f2a5ddfb5309756181681de4f5a1822d80",
    thinking_default=False,
)
LARGE = TemplateVariant(
    name="large",
    asset_dir="Qwen3.5-9B",
    sha256="a4aee8afcf2e0711942cf848899be66016f8d14a889ff9ede07bca099c28f715",
    thinking_default=True,
)
VARIANTS = {v.name: v for v in (SMALL, LARGE)}
BY_SHA256 = {v.sha256: v for v in (SMALL, LARGE)}


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def detect_variant(directory: Path) -> TemplateVariant:
    """Pick the variant whose bytes the checkpoint's template matches; anything else is refused.

    A fine-tuned checkpoint with an edited template would render differently from what this
    renderer produces, so an unknown template is an error rather than a silent guess.
    """
    text = checkpoint_chat_template(directory)
    if text is None:
        raise ConfigError(
            f"{directory} has no chat template (chat_template.jinja, chat_template.json or tokenizer_config.json)"
        )
    variant = BY_SHA256.get(sha256_text(text))
    if variant is None:
        known = ", ".join(f"{v.asset_dir} ({v.sha256[:12]}…)" for v in VARIANTS.values())
        raise ConfigError(
            f"the chat template in {directory} (sha256 {sha256_text(text)[:12]}…) is not an official "
            f"Qwen3.5 template mmrender renders token-exactly; known: {known}"
        )
    return variant
