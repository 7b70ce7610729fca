"""Registration by entry point, routes and their template defaults, local checkpoints, options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import mmrender
import pytest
from mmrender.errors import ConfigError, UnknownModelError
from mmrender_qwen3_5.plugin import ROUTES
from mmrender_qwen3_5.templates import ASSETS

from .conftest import oracle

SMALL = {"Qwen/Qwen3.5-0.8B", "Qwen/Qwen3.5-2B"}
ALL = SMALL | {
    "Qwen/Qwen3.5-4B",
    "Qwen/Qwen3.5-9B",
    "Qwen/Qwen3.5-27B",
    "Qwen/Qwen3.5-35B-A3B",
    "Qwen/Qwen3.5-122B-A10B",
    "Qwen/Qwen3.5-397B-A17B",
}


def test_family_is_registered_by_entry_point() -> None:
    spec = next(f for f in mmrender.families() if f.id == "qwen3_5")
    assert {r.model_id for r in spec.routes} == ALL
    assert set(spec.model_types) == {"qwen3_5", "qwen3_5_moe"}
    assert spec.layout is not None and spec.layout.family == "qwen_vl"


@pytest.mark.parametrize("model", sorted(ALL))
def test_route_template_and_default_thinking(model: str, tok: Any) -> None:
    r = mmrender.get_renderer(model)
    variant = "small" if model in SMALL else "large"
    assert r.route.settings["template"] == variant
    assert r.route.settings["thinking_default"] is (variant == "large")
    messages = [{"role": "user", "content": "hi"}]
    expected, _, _ = oracle(tok, variant, messages, add_generation_prompt=True)
    assert list(r.render(messages, add_generation_prompt=True).token_ids) == expected
    think_end = tok.convert_tokens_to_ids("</think>")
    assert (think_end in expected) is (variant == "small")


def test_every_route_documents_its_evidence() -> None:
    for route in ROUTES:
        assert route.settings["template_evidence"]
        assert (ASSETS / route.settings["chat_template"]).is_file()


@pytest.mark.parametrize("name", ["Qwen/Qwen3.5-9B-Base", "Qwen/Qwen3.5-27B-FP8"])
def test_unverified_names_are_not_routed(name: str) -> None:
    with pytest.raises(UnknownModelError):
        mmrender.get_renderer(name)


def _checkpoint(root: Path, model_type: str, template_from: str | None) -> Path:
    root.mkdir()
    (root / "config.json").write_text(json.dumps({"model_type": model_type}), encoding="utf-8")
    if template_from is not None:
        shutil.copy(ASSETS / template_from / "chat_template.jinja", root / "chat_template.jinja")
    return root


@pytest.mark.parametrize(
    ("model_type", "asset", "variant"), [("qwen3_5", "Qwen3.5-0.8B", "small"), ("qwen3_5_moe", "Qwen3.5-9B", "large")]
)
def test_local_checkpoint_uses_its_own_template(model_type: str, asset: str, variant: str, tmp_path: Path) -> None:
    r = mmrender.get_renderer(str(_checkpoint(tmp_path / "ckpt", model_type, asset)))
    assert r.family.id == "qwen3_5" and r.variant.name == variant


def test_local_checkpoint_with_edited_template_is_refused(tmp_path: Path) -> None:
    root = _checkpoint(tmp_path / "ckpt", "qwen3_5", "Qwen3.5-9B")
    (root / "chat_template.jinja").write_text("{{ messages }}", encoding="utf-8")
    with pytest.raises(ConfigError, match="not an official"):
        mmrender.get_renderer(str(root))


def test_local_checkpoint_template_from_tokenizer_config(tmp_path: Path) -> None:
    root = _checkpoint(tmp_path / "ckpt", "qwen3_5", None)
    shutil.copy(ASSETS / "Qwen3.5-0.8B" / "tokenizer_config.json", root / "tokenizer_config.json")
    assert mmrender.get_renderer(str(root)).variant.name == "small"


@pytest.mark.parametrize(
    "options",
    [{"enable_thinking": "yes"}, {"thinking_retention": "some"}, {"add_vision_id": 1}, {"no_such_option": True}],
)
def test_bad_options_are_config_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        mmrender.get_renderer("Qwen/Qwen3.5-9B", **options)


def test_tokenizer_object_is_used_as_given(tok: Any) -> None:
    r = mmrender.get_renderer("Qwen/Qwen3.5-9B", tokenizer=tok)
    assert r.tokenizer is tok
