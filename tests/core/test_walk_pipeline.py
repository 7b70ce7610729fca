"""Core owns the render pipeline (template arguments -> the family's ``walk`` -> emit); a family declares pieces.

The out-of-tree toy family implements ``walk`` and its declarations only (no ``render_conversation``),
so everything it renders here went through core's pipeline. A family that forgets a piece is told
which one, by name, instead of failing deep inside core.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType
from typing import Any

import mmrender
import pytest
from mmrender import ConfigError, FamilySpec, ModelRoute, MultiModalData, Renderer, RendererOptions, TokenBuffer
from mmrender.bridging import BridgeRules, BridgeTurn
from mmrender.conversation import normalize_conversation
from mmrender.errors import PluginError
from mmrender.plan import Plan
from mmrender.plugins import register_plugin
from PIL import Image

TOY = "acme/toy-vl-1"
USER = {"role": "user", "content": "hi"}


@pytest.fixture
def toy(throwaway_module: ModuleType) -> ModuleType:
    register_plugin(throwaway_module, name="throwaway")
    return throwaway_module


def _png(path: Path, width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (1, 2, 3)).save(buf, format="PNG")
    path.write_bytes(buf.getvalue())
    return str(path)


def test_the_toy_implements_walk_not_render_conversation(toy: ModuleType) -> None:
    cls = toy.ToyRenderer
    assert "walk" in cls.__dict__
    assert cls.render_conversation is Renderer.render_conversation  # core's pipeline, not the family's


def test_a_family_with_only_walk_renders_text_images_and_owners_through_core(toy: ModuleType, tmp_path: Path) -> None:
    image = _png(tmp_path / "a.png", 130, 64)  # 3 x 1 cells of 64 pixels
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "é"}, {"type": "image", "path": image}]},
        {"role": "assistant", "content": "ok"},
    ]
    out = mmrender.get_renderer(TOY).render(messages, add_generation_prompt=True)
    user, assistant, prompt = list(b"<user>" + "é".encode()), list(b"<assistant>ok"), list(b"<assistant>")
    pads = [toy.IMAGE_PLACEHOLDER] * 3
    assert out.token_ids == (*user, *pads, *assistant, toy.END_OF_TURN, *prompt)
    owners = [0] * (len(user) + 3) + [1] * (len(assistant) + 1) + [-1] * len(prompt)
    assert out.message_indices == tuple(owners)
    (rng,) = out.multi_modal_data.mm_placeholders["image"]
    assert (rng.offset, rng.length) == (len(user), 3)


def test_core_checks_the_template_arguments_the_family_declares(toy: ModuleType) -> None:
    renderer = mmrender.get_renderer(TOY)
    assert renderer.render([USER], shout=True).token_ids == tuple(b"<user>HI")  # per call, over the option
    assert renderer.render([USER]).token_ids == tuple(b"<user>hi")
    with pytest.raises(ConfigError, match=r"unknown template argument.*shuot.*acme_toy.*valid: shout"):
        renderer.render([USER], shuot=True)


def test_the_bridge_tail_goes_through_the_walker_and_core_emit(toy: ModuleType, tmp_path: Path) -> None:
    renderer = mmrender.get_renderer(TOY)
    first = renderer.render([USER], add_generation_prompt=True)
    new = [{"role": "user", "content": [{"type": "image", "path": _png(tmp_path / "b.png", 64, 64)}]}]
    bridged = renderer.bridge_to_next_turn(first, list(b"yo"), new, start_index=2)
    full = renderer.render([USER, {"role": "assistant", "content": "yo"}, *new], add_generation_prompt=True)
    assert bridged is not None
    assert bridged.token_ids == full.token_ids
    assert bridged.multi_modal_data.mm_placeholders == full.multi_modal_data.mm_placeholders


# -- a family that forgets a piece is told which ---------------------------------------------------


class _NoWalk(Renderer):
    def compute_layout(self, width: int, height: int) -> Any:
        raise NotImplementedError

    def parse_response(self, completion_ids: Any, *, tools: Any = None) -> Any:
        raise NotImplementedError


class _WalkWithoutEmitFacts(_NoWalk):
    def walk(self, conversation: Any, settings: Any) -> Plan:
        plan = Plan()
        plan.text("x", 0)
        return plan


def _make(cls: type[Renderer]) -> Any:
    spec = FamilySpec(id="forgetful", routes=(ModelRoute("forgetful/1"),), create=cls, options_class=RendererOptions)
    return cls(family=spec, route=spec.routes[0], tokenizer=None, store=None, options=RendererOptions())  # type: ignore[arg-type]


def test_a_family_without_walk_cannot_be_built_and_is_told_to_implement_walk() -> None:
    with pytest.raises(TypeError, match=r"_NoWalk.*does not implement walk\(conversation, settings\)"):
        _make(_NoWalk)


def test_a_family_that_walks_without_emit_facts_is_told_to_declare_them() -> None:
    renderer = _make(_WalkWithoutEmitFacts)
    conversation = normalize_conversation([USER])
    with pytest.raises(PluginError, match="declares no emit_facts"):
        renderer.render_conversation(conversation)


class _RulesWithoutPrompts(BridgeRules):
    def closing(self, completion: tuple[int, ...], generation_prompt: str) -> tuple[int, ...] | None:
        return ()

    def write_tail(self, turn: BridgeTurn, previous: MultiModalData, buf: TokenBuffer) -> None:
        buf.add([1], -1)


class _BridgesWithoutPrompts(_WalkWithoutEmitFacts):
    def bridge_rules(self, **options: Any) -> BridgeRules:
        return _RulesWithoutPrompts()


def test_bridge_rules_without_generation_prompts_name_what_to_set() -> None:
    renderer = _make(_BridgesWithoutPrompts)
    with pytest.raises(PluginError, match=r"_RulesWithoutPrompts.*lacks generation_prompts"):
        renderer.bridge_to_next_turn([1, 2], [3], [USER])
