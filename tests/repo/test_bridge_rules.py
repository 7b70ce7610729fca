"""Bridge rules every family shares, through core's bridge steps (``mmrender.bridging``).

The three bridges had drifted: Qwen3.5 took a previous sidecar whose placeholder ranges run past
the previous prompt (they cannot belong to it) while the other two refused it. Core's
``previous_sidecar`` now does this check for every family.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import mmrender
import pytest
from mmrender.testing.family_turn_checks import sampled_completion
from PIL import Image

MODELS = ("Qwen/Qwen3-VL-8B-Instruct", "Qwen/Qwen3.5-0.8B", "moonshotai/Kimi-K2.6")
QUESTION = {"role": "user", "content": "What is the weather in Paris?"}
ANSWER = {"role": "assistant", "content": "Sunny."}
TOOL = {"role": "tool", "content": "18C"}


@pytest.mark.parametrize("model", MODELS)
def test_a_previous_sidecar_past_the_prompt_is_refused(model: str, tmp_path: Path) -> None:
    image = tmp_path / "red.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(image)
    renderer = mmrender.get_renderer(model, store=str(tmp_path / "store"))
    with_images = renderer.render(
        [
            {
                "role": "user",
                "content": [{"type": "text", "text": "word " * 400}, {"type": "image", "image": str(image)}],
            }
        ],
        add_generation_prompt=True,
    )
    prompt, completion = sampled_completion(SimpleNamespace(renderer=renderer), [QUESTION], ANSWER, None)
    assert renderer.bridge_to_next_turn(prompt, completion, [TOOL], start_index=2) is not None  # the bridge applies
    (image_range,) = with_images.multi_modal_data.mm_placeholders[with_images.multi_modal_data.modalities[0]]
    assert image_range.offset > len(prompt.token_ids)  # the sidecar cannot belong to this prompt
    with pytest.raises(mmrender.ConversationError, match="beyond the"):
        renderer.bridge_to_next_turn(
            prompt.token_ids,
            completion,
            [TOOL],
            previous_multi_modal_data=with_images.multi_modal_data,
            start_index=2,
        )
