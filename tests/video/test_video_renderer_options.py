"""The video options reach both Qwen renderers (typed errors for bad combinations), and frame lists missing
what they need are refused by name."""

from __future__ import annotations

from pathlib import Path

import mmrender
import pytest
from mmrender.errors import MMRenderError

MODELS = ("Qwen/Qwen3-VL-8B-Instruct", "Qwen/Qwen3.5-0.8B")


@pytest.mark.parametrize("model", MODELS)
def test_video_options_set_the_layout_params(model: str, tmp_path: Path) -> None:
    default = mmrender.get_renderer(model, store=str(tmp_path))
    custom = mmrender.get_renderer(model, store=str(tmp_path), video_num_frames=6, video_max_pixels=300000)
    assert default.video_params["num_frames"] is None and default.video_params["fps"] == 2.0
    assert custom.video_params["num_frames"] == 6 and custom.video_params["fps"] is None
    assert custom.video_params["max_pixels"] == 300000


@pytest.mark.parametrize("model", MODELS)
def test_conflicting_video_options_are_a_typed_error(model: str, tmp_path: Path) -> None:
    with pytest.raises(MMRenderError, match="mutually exclusive"):
        mmrender.get_renderer(model, store=str(tmp_path), video_fps=1.0, video_num_frames=4)
    with pytest.raises(MMRenderError, match="video_expansion"):
        mmrender.get_renderer(model, store=str(tmp_path), video_expansion="sometimes")


def test_frame_lists_without_fps_or_of_paths_are_refused_by_name(tmp_path: Path) -> None:
    """A frame list needs its ``fps`` (sampling and timestamps depend on it) and PIL images as frames."""
    renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct", store=str(tmp_path))
    with pytest.raises(mmrender.ConversationError, match="list of frames needs a positive 'fps'") as err:
        renderer.render([{"role": "user", "content": [{"type": "video", "video": ["f0.png", "f1.png"]}]}])
    assert (err.value.message_index, err.value.part_index) == (0, 0)
    with pytest.raises(mmrender.ConversationError, match="frame 0 is a str, not a PIL image"):
        renderer.render([{"role": "user", "content": [{"type": "video", "video": ["f0.png"], "fps": 2.0}]}])
