"""The video options reach both Qwen renderers (typed errors for bad combinations), and modes without video
support refuse a video part by name."""

from __future__ import annotations

from pathlib import Path

import mmrender
import pytest
from mmrender.errors import ConfigError, MMRenderError

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


def test_processed_mode_refuses_a_video(tmp_path: Path, clip_paths: dict[str, Path]) -> None:
    renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct", store=str(tmp_path), multimodal_output="processed")
    part = {"type": "video", "video": str(clip_paths["issue_short_8fps_6"])}
    with pytest.raises(ConfigError, match="raw mode only"):
        renderer.render([{"role": "user", "content": [part]}])
    assert not list(tmp_path.iterdir())  # refused before anything was stored


def test_frame_lists_are_refused_by_name(tmp_path: Path) -> None:
    renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct", store=str(tmp_path))
    with pytest.raises(mmrender.ConversationError, match="list of frames") as err:
        renderer.render([{"role": "user", "content": [{"type": "video", "video": ["f0.png", "f1.png"]}]}])
    assert (err.value.message_index, err.value.part_index) == (0, 0)
