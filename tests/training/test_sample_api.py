"""The sample API around the parity checks: ``sample_from_rendered``, processed mode, JSON, bad arguments."""

from __future__ import annotations

import json

import cattrs
import mmrender
import pytest
from mmrender import ConfigError, sample_from_rendered
from mmrender.samples import TrainingSample
from mmrender.types import RawMMItem, converter

from .conversations import CASES
from .oracles import ORACLES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
MODELS = {family: make().model for family, make in ORACLES.items()}


@pytest.mark.parametrize("family", sorted(MODELS))
def test_sample_from_rendered_matches_build(family: str, images: dict[str, str]) -> None:
    renderer = mmrender.get_renderer(MODELS[family])
    messages = CASES["long_multi_turn_images"](images)["messages"]
    built = renderer.build_training_sample(messages)
    rendered = renderer.render(messages)
    assert sample_from_rendered(renderer, rendered, built.loss_mask) == built
    logprobs = [-0.5] * len(rendered.token_ids)
    seg = sample_from_rendered(renderer, rendered, built.loss_mask, logprobs=logprobs, segment=1, num_segments=3)
    assert seg.logprobs == tuple(logprobs) and (seg.segment, seg.num_segments) == (1, 3)
    with pytest.raises(ConfigError, match="loss_mask has 3 entries"):
        sample_from_rendered(renderer, rendered, [1, 0, 1])


@pytest.mark.parametrize("family", sorted(MODELS))
def test_processed_mode_sample_equals_raw(family: str, images: dict[str, str]) -> None:
    """Grids come from ``ProcessedMMItem.grid`` in processed mode and from the raw payload otherwise."""
    messages = CASES["long_multi_turn_images"](images)["messages"]
    raw = mmrender.get_renderer(MODELS[family]).build_training_sample(messages)
    processed = mmrender.get_renderer(MODELS[family], multimodal_output="processed").build_training_sample(messages)
    for field in ("token_ids", "loss_mask", "mm_token_type_ids", "position_ids", "rope_delta"):
        assert getattr(processed, field) == getattr(raw, field), field


@pytest.mark.parametrize("family", sorted(MODELS))
def test_json_round_trip(family: str, images: dict[str, str]) -> None:
    sample = mmrender.get_renderer(MODELS[family]).build_training_sample(
        CASES["three_images"](images)["messages"], train_on="last_assistant"
    )
    data = json.loads(json.dumps(converter.unstructure(sample)))
    back = converter.structure(data, TrainingSample)
    assert back == sample
    assert all(isinstance(item, RawMMItem) for item in back.multi_modal_data.mm_items["image"])
    with pytest.raises(cattrs.BaseValidationError) as info:
        converter.structure({**data, "extra": 1}, TrainingSample)
    assert "extra" in " ".join(cattrs.transform_error(info.value))


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "10"])
def test_bad_max_length(bad: object) -> None:
    renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct")
    with pytest.raises(ConfigError, match="max_length"):
        renderer.build_training_sample([{"role": "user", "content": "hi"}], max_length=bad)  # type: ignore[arg-type]


def test_bad_train_on() -> None:
    renderer = mmrender.get_renderer("moonshotai/Kimi-K2.6")
    with pytest.raises(ConfigError, match="train_on must be one of assistant, last_assistant, all"):
        renderer.build_training_sample([{"role": "user", "content": "hi"}], train_on="assistants")


def test_template_kwargs_reach_the_render(images: dict[str, str]) -> None:
    """``**template_kwargs`` change the render exactly as they change ``render``."""
    messages = CASES["reasoning_final"](images)["messages"]
    renderer = mmrender.get_renderer("Qwen/Qwen3.5-9B")
    for thinking in (True, False):
        sample = renderer.build_training_sample(messages, enable_thinking=thinking)
        assert sample.token_ids == renderer.render(messages, enable_thinking=thinking).token_ids
    kimi = mmrender.get_renderer("moonshotai/Kimi-K2.6")
    off = kimi.build_training_sample(messages, thinking=False, preserve_thinking=True)
    assert off.token_ids == kimi.render(messages, thinking=False, preserve_thinking=True).token_ids
    assert off.token_ids != kimi.build_training_sample(messages).token_ids


def test_thinking_assistant_image_is_not_trained(images: dict[str, str]) -> None:
    """The Qwen3-VL Thinking template writes an assistant message's images: inside the turn, yet mask 0."""
    from .oracles import PARITY, VARIANTS

    oracle = VARIANTS["qwen3_vl_thinking"]()
    messages = [
        {"role": "user", "content": "Draw a square."},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "Here:"}, {"type": "image", "image": images["square"]}],
        },
    ]
    sample = mmrender.get_renderer(oracle.model, **PARITY).build_training_sample(messages)
    want = oracle.run(messages, None)
    assert list(sample.token_ids) == want["ids"] and list(sample.mm_token_type_ids) == want["types"]
    (image,) = sample.multi_modal_data.mm_placeholders["image"]
    assert sample.message_indices[image.offset] == 1  # the image is inside the assistant turn
    assert set(sample.loss_mask[image.offset : image.end]) == {0} and sample.loss_mask[image.end] == 1
    assert list(sample.loss_mask) == oracle.loss_mask(want["ids"], "assistant")


def test_sidecar_without_grid_is_a_typed_error(images: dict[str, str]) -> None:
    """A hand-built sidecar whose item carries no grid: ConfigError naming the item, not a KeyError."""
    import attrs
    from mmrender import MultiModalData, RenderedTokens

    renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct")
    rendered = renderer.render(CASES["image_vga"](images)["messages"])
    data = rendered.multi_modal_data
    item = attrs.evolve(data.mm_items["image"][0], payload={})
    broken = MultiModalData(mm_hashes=data.mm_hashes, mm_placeholders=data.mm_placeholders, mm_items={"image": (item,)})
    hand_built = RenderedTokens(rendered.token_ids, rendered.message_indices, broken)
    with pytest.raises(ConfigError, match=r"image item 0 carries no grid"):
        sample_from_rendered(renderer, hand_built, [0] * len(rendered.token_ids))
    with pytest.raises(ConfigError, match="logprobs has 1 entries"):
        sample_from_rendered(renderer, rendered, [0] * len(rendered.token_ids), logprobs=[0.0])
