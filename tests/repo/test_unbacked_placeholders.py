"""Image-placeholder ids with no sidecar entry never leave mmrender: render, bridge and wire all refuse them.

The silent loss this guards against: a follow-up bridged from bare ids carries the first image's pads
but no sidecar, and its wire body sends pads without features. Every bundled family is checked with
its real tokenizer; the pad id is read from the position the sidecar says holds the image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import mmrender
import pytest
from mmrender import ConfigError, MultiModalData, RenderedTokens
from mmrender.errors import UnbackedPlaceholderError
from mmrender.wire import generate_request, vllm_prompt_request

ROOT = Path(__file__).resolve().parents[2]
IMAGE = str(ROOT / "examples" / "images" / "street.jpg")

#: One model per family; "all" lets every family bridge a new user query.
MODELS = {
    "Qwen/Qwen3-VL-8B-Instruct": {},
    "Qwen/Qwen3.5-0.8B": {"thinking_retention": "all"},
    "moonshotai/Kimi-K2.5": {"thinking_retention": "all"},
}
FIRST = [{"role": "user", "content": [{"type": "image", "image": IMAGE}, {"type": "text", "text": "What is it?"}]}]
FOLLOW_UP = [{"role": "user", "content": "Why?"}]


@pytest.fixture(params=list(MODELS), scope="module")
def turn(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, RenderedTokens]:
    store = str(tmp_path_factory.mktemp("store"))
    renderer = mmrender.get_renderer(request.param, store=store, **MODELS[request.param])
    return renderer, renderer.render(FIRST, add_generation_prompt=True)


def _completion(renderer: Any, *extra: int) -> list[int]:
    im_end = renderer.tokenizer.convert_tokens_to_ids("<|im_end|>")
    return [*renderer.tokenizer.encode("A street."), *extra, im_end]


def _pad(rendered: RenderedTokens) -> int:
    return rendered.token_ids[rendered.multi_modal_data.mm_placeholders["image"][0].offset]


def test_render_stamps_the_family_placeholder_id(turn: tuple[Any, RenderedTokens]) -> None:
    renderer, rendered = turn
    assert _pad(rendered) in rendered.placeholder_ids
    assert rendered.placeholder_ids == renderer.placeholder_token_ids


def test_bridge_from_the_rendered_object_keeps_the_sidecar(turn: tuple[Any, RenderedTokens]) -> None:
    renderer, rendered = turn
    completion = _completion(renderer)
    easy = renderer.bridge_to_next_turn(rendered, completion, FOLLOW_UP, start_index=2)
    explicit = renderer.bridge_to_next_turn(
        rendered.token_ids, completion, FOLLOW_UP, previous_multi_modal_data=rendered.multi_modal_data, start_index=2
    )
    assert easy is not None and easy == explicit
    assert easy.multi_modal_data == rendered.multi_modal_data
    first_ref = generate_request(rendered)["features"]["kwargs_data"]
    assert generate_request(easy)["features"]["kwargs_data"] == first_ref


def test_bridge_from_bare_ids_without_sidecar_is_refused(turn: tuple[Any, RenderedTokens]) -> None:
    renderer, rendered = turn
    with pytest.raises(UnbackedPlaceholderError, match="pass the previous RenderedTokens") as err:
        renderer.bridge_to_next_turn(rendered.token_ids, _completion(renderer), FOLLOW_UP)
    assert err.value.position == rendered.multi_modal_data.mm_placeholders["image"][0].offset
    assert err.value.token_id == _pad(rendered)


def test_an_object_stripped_of_its_sidecar_is_not_trusted(turn: tuple[Any, RenderedTokens]) -> None:
    """A renderer's own results skip the prefix scan; an evolved copy is scanned again."""
    renderer, rendered = turn
    assert rendered.placeholders_checked
    stripped = attrs.evolve(rendered, multi_modal_data=MultiModalData())
    assert not stripped.placeholders_checked
    with pytest.raises(UnbackedPlaceholderError, match="previous prompt"):
        renderer.bridge_to_next_turn(stripped, _completion(renderer), FOLLOW_UP)


def test_bridge_refuses_a_pad_the_sampler_emitted(turn: tuple[Any, RenderedTokens]) -> None:
    renderer, rendered = turn
    completion = _completion(renderer, _pad(rendered))
    with pytest.raises(UnbackedPlaceholderError, match="previous completion") as err:
        renderer.bridge_to_next_turn(rendered, completion, FOLLOW_UP)
    assert err.value.position == len(rendered.token_ids) + completion.index(_pad(rendered))


def test_rendered_object_and_sidecar_together_are_ambiguous(turn: tuple[Any, RenderedTokens]) -> None:
    renderer, rendered = turn
    with pytest.raises(ConfigError, match="previous_multi_modal_data"):
        renderer.bridge_to_next_turn(
            rendered, _completion(renderer), FOLLOW_UP, previous_multi_modal_data=rendered.multi_modal_data
        )


def test_wire_bodies_refuse_pads_without_features(turn: tuple[Any, RenderedTokens]) -> None:
    renderer, rendered = turn
    stripped = attrs.evolve(rendered, multi_modal_data=MultiModalData())  # the stamped ids stay
    with pytest.raises(UnbackedPlaceholderError):
        generate_request(stripped)
    with pytest.raises(UnbackedPlaceholderError):
        vllm_prompt_request(stripped, model=renderer.model_id)
    # read back from JSON the stamp is gone: the caller names the ids, or a range's first id does
    bare = RenderedTokens(rendered.token_ids, rendered.message_indices)
    assert generate_request(bare)  # nothing says these ids are pads
    with pytest.raises(UnbackedPlaceholderError):
        generate_request(bare, placeholder_ids=renderer.placeholder_token_ids)


def test_a_render_hook_returning_pads_without_sidecar_is_refused(turn: tuple[Any, RenderedTokens]) -> None:
    """A plugin may override ``mmrender_render``; core checks whatever it returns."""
    renderer, rendered = turn

    class Lossy:
        @mmrender.hookimpl(tryfirst=True)
        def mmrender_render(self, renderer: Any, conversation: Any) -> RenderedTokens:
            return RenderedTokens(rendered.token_ids, rendered.message_indices)

    plugin = Lossy()
    mmrender.register_plugin(plugin, name="lossy-render")
    try:
        with pytest.raises(UnbackedPlaceholderError, match="rendered prompt"):
            renderer.render(FIRST, add_generation_prompt=True)
    finally:
        mmrender.unregister_plugin(plugin)
