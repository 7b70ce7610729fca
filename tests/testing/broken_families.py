"""Families broken in one way each, built on the out-of-tree toy family: the kit must fail exactly there.

Each variant subclasses the toy's renderer (loaded from its source file) and is registered in-process
under its own model id ``acme/broken-<name>``; ``EXPECTED`` says which checks must fail.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
from mmrender import ConfigError, FamilySpec, ModelRoute, MultiModalData, RenderedTokens, TokenBuffer, hookimpl
from mmrender.bridging import join_turn

TOY_SOURCE = Path(__file__).resolve().parents[1] / "plugins_src/throwaway_family/src/mmrender_throwaway/__init__.py"


def load_toy() -> ModuleType:
    name = "mmrender_throwaway_for_kit"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TOY_SOURCE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


toy = load_toy()
Toy = toy.ToyRenderer


class FakeTokenizer:
    """Spells the toy's placeholder id as ``<img>`` (the toy has no tokenizer of its own)."""

    def decode(self, ids: Sequence[int]) -> str:
        return "".join("<img>" if i == toy.IMAGE_PLACEHOLDER else chr(i) for i in ids)


class OldSignatures(Toy):
    def parse_response(self, completion_ids: Sequence[int]) -> Any:  # type: ignore[override]
        return super().parse_response(completion_ids)


class NotDeterministic(Toy):
    calls = 0

    def render_conversation(self, conversation: Any) -> RenderedTokens:
        out = super().render_conversation(conversation)
        NotDeterministic.calls += 1
        return RenderedTokens(
            (*out.token_ids, NotDeterministic.calls % 200), (*out.message_indices, -1), out.multi_modal_data
        )


class LongerRun(Toy):
    """Splices one placeholder more than the layout it reports (its sidecar range covers them all)."""

    def prepare_image(self, part: Any) -> Any:
        prepared = super().prepare_image(part)
        return attrs.evolve(
            prepared, layout=attrs.evolve(prepared.layout, num_placeholders=prepared.layout.num_placeholders + 1)
        )


class ImagesOwnedByNobody(Toy):
    def render_conversation(self, conversation: Any) -> RenderedTokens:
        out = super().render_conversation(conversation)
        owners = [
            -1 if t == toy.IMAGE_PLACEHOLDER else o for t, o in zip(out.token_ids, out.message_indices, strict=True)
        ]
        return RenderedTokens(out.token_ids, owners, out.multi_modal_data)


class OtherPayload(Toy):
    def compute_layout(self, width: int, height: int) -> Any:
        layout = super().compute_layout(width, height)
        return attrs.evolve(layout, payload={**layout.payload, "extra": 1})


class OtherFingerprint(Toy):
    def compute_layout(self, width: int, height: int) -> Any:
        return toy.toy_layout(width, height, {"cell": 64, "revision": 2})


class WrongHash(Toy):
    def prepare_image(self, part: Any) -> Any:
        prepared = super().prepare_image(part)
        return attrs.evolve(prepared, mm_hash="0" * 32)


class TextBecomesImage(Toy):
    """Turns the text ``<img>`` into the placeholder id (what a tokenizer with unguarded specials does)."""

    def render_conversation(self, conversation: Any) -> RenderedTokens:
        out = super().render_conversation(conversation)
        ids, owners = list(out.token_ids), list(out.message_indices)
        spelled = list(b"<img>")
        k = 0
        while k <= len(ids) - len(spelled):
            if ids[k : k + len(spelled)] == spelled:
                ids[k : k + len(spelled)] = [toy.IMAGE_PLACEHOLDER]
                owners[k : k + len(spelled)] = [owners[k]]
            k += 1
        return RenderedTokens(ids, owners, out.multi_modal_data)


class BrokenProcessedMode(Toy):
    def process_image(self, image: Any) -> Any:
        raise RuntimeError("processor exploded")


class LossyParser(Toy):
    def parse_response(self, completion_ids: Sequence[int], *, tools: Any = None) -> Any:
        parsed = super().parse_response(completion_ids, tools=tools)
        return attrs.evolve(parsed, content=parsed.content[:-1])


class BridgeForgetsGenerationPrompt(Toy):
    def bridge_turn(
        self,
        prompt: tuple[int, ...],
        completion: tuple[int, ...],
        new_messages: Sequence[Mapping[str, Any]],
        *,
        tools: Any = None,
        previous_multi_modal_data: Any = None,
        start_index: int = 0,
    ) -> RenderedTokens | None:
        new = TokenBuffer(offset=len(prompt) + len(completion))
        if toy.END_OF_TURN not in completion:
            new.add([toy.END_OF_TURN], start_index - 1)
        rest = self.render(list(new_messages))  # the bug: no generation prompt (and images lose their sidecar)
        new.add(rest.token_ids, start_index)
        return join_turn(prompt, completion, start_index - 1, new, previous_multi_modal_data or MultiModalData())


class TrainsOnThePrompt(Toy):
    """Wraps core's sample builder wrongly: every id, the system and user turns included, gets loss."""

    def build_training_sample(self, messages: Any, **kwargs: Any) -> Any:
        return super().build_training_sample(messages, **{**kwargs, "train_on": "all"})


#: variant → (renderer class, tokenizer given to it, checks that must fail)
VARIANTS: dict[str, tuple[type, Any, set[str]]] = {
    "old-signatures": (OldSignatures, None, {"signatures", "parse_round_trip", "bridge_equals_full_render"}),
    "not-deterministic": (NotDeterministic, None, {"deterministic", "training_sample"}),
    "longer-run": (LongerRun, None, {"placeholder_runs"}),
    "images-owned-by-nobody": (ImagesOwnedByNobody, None, {"message_indices", "bridge_equals_full_render"}),
    "other-payload": (OtherPayload, None, {"header_only_layout", "refs_materialize"}),
    "other-fingerprint": (OtherFingerprint, None, {"header_only_layout", "fingerprint_family", "refs_materialize"}),
    "wrong-hash": (WrongHash, None, {"refs_materialize"}),
    "text-becomes-image": (TextBecomesImage, FakeTokenizer(), {"placeholder_text_refused"}),
    "ignores-missing-tokenizer": (Toy, FakeTokenizer(), {"tokenizer_forms"}),
    "broken-processed-mode": (BrokenProcessedMode, None, {"processed_mode"}),
    "lossy-parser": (LossyParser, None, {"parse_round_trip", "bridge_equals_full_render"}),
    "bridge-forgets-generation-prompt": (BridgeForgetsGenerationPrompt, None, {"bridge_equals_full_render"}),
    "trains-on-the-prompt": (TrainsOnThePrompt, None, {"training_sample"}),
}


def _spec(name: str, cls: type, default_tokenizer: Any) -> FamilySpec:
    checks_paths = name != "ignores-missing-tokenizer"

    def create(*, route: ModelRoute, tokenizer: Any, store: Any, options: Any) -> Any:
        if isinstance(tokenizer, str | Path) and checks_paths:
            raise ConfigError(f"no tokenizer directory {str(tokenizer)!r} for the broken toy")
        chosen = default_tokenizer if tokenizer is None or isinstance(tokenizer, str | Path) else tokenizer
        return cls(family=spec, route=route, tokenizer=chosen, store=store, options=options)

    spec = FamilySpec(
        id=f"broken_{name.replace('-', '_')}",
        routes=(ModelRoute(f"acme/broken-{name}"),),
        create=create,
        options_class=toy.ToyOptions,
        layout=toy.SPEC.layout,
    )
    return spec


class BrokenFamilies:
    """An in-process plugin registering every variant."""

    @hookimpl
    def register_families(self, register: Any) -> None:
        for name, (cls, tokenizer, _) in VARIANTS.items():
            register(_spec(name, cls, tokenizer))
