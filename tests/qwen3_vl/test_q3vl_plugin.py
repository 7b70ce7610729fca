"""Registration, resolution (ids, aliases, local checkpoints), options and tokenizer sources."""

from __future__ import annotations

import json
import shutil

import mmrender
import pytest
from mmrender import ConfigError, UnknownModelError
from mmrender_qwen3_vl import plugin
from mmrender_qwen3_vl.layout import DEFAULT_PARAMS
from mmrender_qwen3_vl.tokenizer import BUNDLED_TOKENIZER

SIZES = ("2B", "4B", "8B", "32B", "30B-A3B", "235B-A22B")


@pytest.mark.parametrize("variant", ["Instruct", "Thinking"])
@pytest.mark.parametrize("size", SIZES)
def test_every_checkpoint_resolves(size, variant, make_renderer):
    model = f"Qwen/Qwen3-VL-{size}-{variant}"
    spec, route = mmrender.resolve(model)
    assert spec.id == "qwen3_vl" and route.model_id == model
    assert route.settings["thinking"] is (variant == "Thinking")
    assert route.settings["model_type"] == ("qwen3_vl_moe" if "A" in size else "qwen3_vl")
    renderer = make_renderer(model)
    assert renderer.thinking is (variant == "Thinking")
    tail = renderer.encoder.decode(renderer.generation_prompt_ids)
    assert tail == ("<|im_start|>assistant\n<think>\n" if variant == "Thinking" else "<|im_start|>assistant\n")


def test_aliases_and_spec(make_renderer):
    spec, route = mmrender.resolve("qwen3-vl-8b-instruct")
    assert route.model_id == "Qwen/Qwen3-VL-8B-Instruct" and route.settings["thinking"] is False
    assert mmrender.resolve("qwen3-vl-235b-a22b-thinking")[1].model_id == "Qwen/Qwen3-VL-235B-A22B-Thinking"
    assert spec.model_types == ("qwen3_vl", "qwen3_vl_moe")
    assert spec.layout.family == "qwen_vl" and spec.options_class.__name__ == "Qwen3VLOptions"
    with pytest.raises(UnknownModelError, match="Qwen/Qwen3-VL-8B-Instruct"):
        mmrender.resolve("Qwen/Qwen3-VL-8B-Instrukt")


def test_default_layout_fingerprint_is_the_briefs(make_renderer):
    layout = make_renderer().compute_layout(640, 480)
    assert layout.fingerprint == "c2f096345b0d84e6bd2ee38b815cc329"
    assert (list(layout.grid), layout.num_placeholders) == ([1, 30, 40], 300)


def _checkpoint(tmp_path, name: str, *, model_type="qwen3_vl", max_pixels=None, tokenizer=False, template=None):
    ckpt = tmp_path / name
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"model_type": model_type}))
    if max_pixels is not None:
        cfg = json.loads((BUNDLED_TOKENIZER / "preprocessor_config.json").read_text())
        cfg["size"]["longest_edge"] = max_pixels
        (ckpt / "preprocessor_config.json").write_text(json.dumps(cfg))
    if tokenizer:
        for f in ("vocab.json", "merges.txt", "tokenizer_config.json"):
            shutil.copy(BUNDLED_TOKENIZER / f, ckpt / f)
    if template is not None:
        (ckpt / "chat_template.jinja").write_text(template)
    return ckpt


def test_local_checkpoint_reads_preprocessor_and_tokenizer(tmp_path, make_renderer):
    ckpt = _checkpoint(tmp_path, "my-finetune", model_type="qwen3_vl_moe", max_pixels=512 * 512, tokenizer=True)
    renderer = make_renderer(str(ckpt))
    assert renderer.family.id == "qwen3_vl" and renderer.thinking is False
    assert renderer.layout_params["max_pixels"] == 512 * 512
    assert renderer.compute_layout(4000, 3000).num_placeholders <= 512 * 512 // 1024
    assert renderer.compute_layout(640, 480).fingerprint != "c2f096345b0d84e6bd2ee38b815cc329"
    assert renderer.tokenizer.name_or_path == str(ckpt.resolve())


def test_local_checkpoint_without_files_uses_defaults(tmp_path, make_renderer):
    renderer = make_renderer(str(_checkpoint(tmp_path, "bare")))
    assert renderer.layout_params == DEFAULT_PARAMS
    assert renderer.tokenizer.name_or_path.endswith("Qwen3-VL-8B-Instruct")


def test_local_thinking_detection(tmp_path, make_renderer):
    assert make_renderer(str(_checkpoint(tmp_path, "Qwen3-VL-2B-Thinking"))).thinking is True
    by_template = _checkpoint(tmp_path, "ft", template="{{- '<|im_start|>assistant\\n<think>\\n' }}")
    assert make_renderer(str(by_template)).thinking is True
    assert make_renderer(str(by_template), thinking=False).thinking is False


def _official(name: str) -> str:
    return (BUNDLED_TOKENIZER.parent / name / "chat_template.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("file", ["chat_template.json", "tokenizer_config.json", "chat_template.jinja"])
def test_local_official_template_is_authoritative(file, tmp_path, make_renderer):
    """The official templates are known by hash, in any of the files a checkpoint may carry, whatever the name."""
    for variant, dirname, thinking in (
        ("Thinking", "my-finetune", True),
        ("Instruct", "Qwen3-VL-8B-Thinking-sft", False),
    ):
        ckpt = _checkpoint(tmp_path, f"{variant}-{file}-{dirname}", tokenizer=file == "tokenizer_config.json")
        text = _official(f"Qwen3-VL-8B-{variant}")
        template = json.loads(text)["chat_template"]
        if file == "chat_template.jinja":
            (ckpt / file).write_text(template, encoding="utf-8")
        elif file == "tokenizer_config.json":
            config = json.loads((ckpt / file).read_text(encoding="utf-8"))
            (ckpt / file).write_text(json.dumps({**config, "chat_template": template}), encoding="utf-8")
        else:
            (ckpt / file).write_text(text, encoding="utf-8")
        assert make_renderer(str(ckpt)).thinking is thinking, (variant, file)


def test_options_are_typed(make_renderer):
    with pytest.raises(ConfigError, match="add_vision_id"):
        make_renderer(add_visionid=True)
    with pytest.raises(ConfigError):
        make_renderer(add_vision_id="yes")
    with pytest.raises(ConfigError):
        make_renderer(min_pixels=10_000, max_pixels=100)
    with pytest.raises(ConfigError):
        make_renderer(max_pixels=0)
    assert make_renderer("Qwen/Qwen3-VL-8B-Instruct", thinking=True).thinking is True


def test_unknown_template_argument(make_renderer):
    with pytest.raises(ConfigError, match="enable_thinking"):
        make_renderer().render([{"role": "user", "content": "hi"}], enable_thinking=False)


def test_tokenizer_sources(tmp_path):
    from transformers import AutoTokenizer

    store = str(tmp_path / "s")
    by_path = mmrender.get_renderer("Qwen/Qwen3-VL-4B-Instruct", tokenizer=str(BUNDLED_TOKENIZER), store=store)
    obj = AutoTokenizer.from_pretrained(str(BUNDLED_TOKENIZER))
    by_object = mmrender.get_renderer("Qwen/Qwen3-VL-4B-Instruct", tokenizer=obj, store=store)
    assert by_object.tokenizer is obj
    msgs = [{"role": "user", "content": "same ids?"}]
    assert by_path.render(msgs).token_ids == by_object.render(msgs).token_ids
    with pytest.raises(ConfigError, match="does not exist"):
        mmrender.get_renderer("Qwen/Qwen3-VL-4B-Instruct", tokenizer=str(tmp_path / "nope"), store=store)


def test_a_non_qwen_tokenizer_is_refused(tmp_path):
    class Fake:
        unk_token_id = 0

        def convert_tokens_to_ids(self, token):
            return 0

        def encode(self, text, add_special_tokens=False):
            return [1]

    with pytest.raises(ConfigError, match="not a Qwen3-VL tokenizer"):
        mmrender.get_renderer("Qwen/Qwen3-VL-4B-Instruct", tokenizer=Fake(), store=str(tmp_path / "s"))


def test_plugin_module_registers_one_family():
    seen = []
    plugin.register_families(seen.append)
    assert [s.id for s in seen] == ["qwen3_vl"] and len(seen[0].routes) == 12
    assert len(seen[0].aliases) == 12 and all(a == a.lower() for a in seen[0].aliases)
