"""The family as a plugin: routes, aliases, local checkpoints, options, light import, refs and wire payloads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import mmrender
import pytest
from mmrender import ConfigError, refs, wire
from mmrender.errors import AssetIntegrityError
from mmrender_kimi_k25.tokenizer import ASSETS
from mmrender_kimi_k25.walker import K25, K26

from .cases import img
from .conftest import renderer
from .oracle import k25_template, k26_template, oracle_ids


def test_registered_by_entry_point() -> None:
    (spec,) = [f for f in mmrender.families() if f.id == "kimi_k25"]
    assert {r.model_id: dict(r.settings) for r in spec.routes} == {
        "moonshotai/Kimi-K2.5": {"template": "k2.5"},
        "moonshotai/Kimi-K2.6": {"template": "k2.6"},
    }
    assert spec.model_types == ("kimi_k25",)
    assert spec.layout is not None and spec.layout.family == "kimi_k25"
    assert spec.layout.default_params == {
        "in_patch_limit": 16384,
        "merge_kernel_size": 2,
        "patch_limit_on_one_side": 512,
        "patch_size": 14,
    }


@pytest.mark.parametrize(
    ("name", "rules"),
    [("moonshotai/Kimi-K2.5", K25), ("kimi-k2.5", K25), ("moonshotai/Kimi-K2.6", K26), ("kimi-k2.6", K26)],
)
def test_routes_and_aliases(name: str, rules: Any) -> None:
    r = mmrender.get_renderer(name)
    assert r.family.id == "kimi_k25" and r.rules is rules


def _checkpoint(root: Path, template: str | None, *, tokenizer: bool = False, media: dict | None = None) -> Path:
    root.mkdir()
    shutil.copy(ASSETS / "config.json", root / "config.json")
    if template is not None:
        (root / "chat_template.jinja").write_text(template, encoding="utf-8")
    if tokenizer:
        for name in ("tiktoken.model", "tokenizer_config.json"):
            shutil.copy(ASSETS / name, root / name)
    if media is not None:
        (root / "preprocessor_config.json").write_text(json.dumps({"media_proc_cfg": media}), encoding="utf-8")
    return root


def test_local_checkpoints(tmp_path: Path) -> None:
    assert json.loads((ASSETS / "config.json").read_text())["model_type"] == "kimi_k25"
    k26 = mmrender.get_renderer(str(_checkpoint(tmp_path / "a", k26_template(), tokenizer=True)))
    k25 = mmrender.get_renderer(str(_checkpoint(tmp_path / "b", k25_template())))
    plain = mmrender.get_renderer(str(_checkpoint(tmp_path / "c", None)))
    assert (k26.rules, k25.rules, plain.rules) == (K26, K25, K26)
    assert type(k26.tokenizer).__name__ == "KimiTokenizer"
    messages = [{"role": "user", "content": "Hi 你好"}]
    assert list(k26.render(messages, add_generation_prompt=True).token_ids) == oracle_ids(
        messages, add_generation_prompt=True
    )


def test_local_media_config_changes_layout_and_fingerprint(tmp_path: Path, images: dict[str, str]) -> None:
    media = json.loads((ASSETS / "media_proc_cfg.DERIVED.json").read_text())["media_proc_cfg"]
    small = mmrender.get_renderer(str(_checkpoint(tmp_path / "m", None, media={**media, "in_patch_limit": 1024})))
    default = renderer()
    assert small.compute_layout(2000, 1500).num_tokens < default.compute_layout(2000, 1500).num_tokens
    assert small.compute_layout(10, 10).fingerprint != default.compute_layout(10, 10).fingerprint
    with pytest.raises(ConfigError, match="fixed_output_tokens"):
        mmrender.get_renderer(str(_checkpoint(tmp_path / "f", None, media={**media, "fixed_output_tokens": 64})))


def test_options_are_validated() -> None:
    with pytest.raises(ConfigError, match="valid options"):
        renderer(enable_thinking=False)
    with pytest.raises(ConfigError):
        renderer(thinking_retention="sometimes")
    with pytest.raises(ConfigError):
        renderer(thinking="yes")
    r = renderer()
    with pytest.raises(ConfigError, match="enable_thinking"):
        r.render([{"role": "user", "content": "x"}], enable_thinking=False)
    with pytest.raises(ConfigError):
        r.render([{"role": "user", "content": "x"}], thinking="no")


def test_thinking_option_sets_the_generation_prompt() -> None:
    messages = [{"role": "user", "content": "x"}]
    off = renderer(thinking=False).render(messages, add_generation_prompt=True)
    assert list(off.token_ids) == oracle_ids(messages, add_generation_prompt=True, thinking=False)
    on = renderer(thinking=False).render(messages, add_generation_prompt=True, thinking=True)
    assert list(on.token_ids) == oracle_ids(messages, add_generation_prompt=True)
    preserve = renderer(preserve_thinking=True)
    history = [*messages, {"role": "assistant", "content": "a", "reasoning_content": "r"}]
    assert list(preserve.render(history).token_ids) == oracle_ids(history, preserve_thinking=True)


def test_plugin_import_is_light() -> None:
    code = (
        "import sys, mmrender_kimi_k25.plugin as p; "
        "print(sorted(m for m in ('tiktoken', 'transformers', 'torch', 'mmrender_kimi_k25.tokenizer') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_refs_materialize_and_wire(images: dict[str, str], tmp_path: Path) -> None:
    store = tmp_path / "store"
    r = mmrender.get_renderer("moonshotai/Kimi-K2.6", store=str(store))
    out = r.render([{"role": "user", "content": [img(images["big"]), {"type": "text", "text": "?"}]}])
    (item,) = out.multi_modal_data.mm_items["image"]
    (mm_hash,) = out.multi_modal_data.mm_hashes["image"]
    # 2000x1500 has 142x107 < 16384 patches, so no resize; padded to 2016x1512 = 144x108 patches
    assert item.payload == {"grid_thws": [[1, 108, 144]], "num_media_tokens": 108 * 144 // 4}
    text = refs.dump(mmrender.RawMMRef.from_item(item, mm_hash))
    got = mmrender.materialize(text, store=str(store))
    assert (got.image.width, got.image.height) == (2000, 1500)
    assert got.layout is not None and got.layout.payload == item.payload
    forged = attrs.evolve(
        mmrender.RawMMRef.from_item(item, mm_hash), payload={"grid_thws": [[1, 2, 2]], "num_media_tokens": 1}
    )
    with pytest.raises(AssetIntegrityError):
        mmrender.materialize(refs.dump(forged), store=str(store))
    body = wire.generate_request(out)
    assert list(body["features"]["mm_hashes"]) == ["vision_chunk"]
    assert body["features"]["mm_placeholders"]["vision_chunk"] == [
        {"offset": out.token_ids.index(r.specials.media_pad), "length": 1}
    ]
    assert wire.unexpanded_ids(out) == list(out.token_ids)


def test_layout_fingerprint_preimage() -> None:
    """The brief's fingerprint rule applied by hand to the four documented parameters."""
    import hashlib

    preimage = (
        "image-layout:v1:kimi_k25:in_patch_limit=16384:merge_kernel_size=2:patch_limit_on_one_side=512:patch_size=14"
    )
    layout = renderer().compute_layout(640, 480)
    assert layout.fingerprint == hashlib.sha256(preimage.encode()).hexdigest()[:32]
    assert (layout.grid, layout.num_tokens, layout.num_placeholders) == ((1, 36, 46), 414, 1)
    assert (layout.modality, layout.vllm_modality) == ("image", "vision_chunk")
