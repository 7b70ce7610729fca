"""Video options are validated up front: bad values and contradictory combinations are ConfigErrors."""

from __future__ import annotations

import pytest
from mmrender.errors import ConfigError
from mmrender_qwen3_vl.video_layout import DEFAULT_VIDEO_PARAMS, QwenVideoOptions, check_video_params


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"video_fps": 2, "video_num_frames": 8}, "mutually exclusive"),
        ({"video_num_frames": 8, "video_max_frames": 4}, "do not apply to video_num_frames"),
        ({"video_min_frames": 9, "video_max_frames": 4}, "larger than"),
        ({"video_min_pixels": 10_000, "video_max_pixels": 100}, "larger than"),
        ({"video_fps": 0}, "positive number"),
        ({"video_fps": True}, "positive number"),
        ({"video_num_frames": 2.5}, "positive int"),
        ({"video_expansion": "nested"}, "'current' or 'legacy'"),
        ({"video_cap_pixels_per_frame": "yes"}, "bool"),
    ],
)
def test_bad_options_are_config_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        QwenVideoOptions(**options)


def test_unknown_option_is_refused() -> None:
    with pytest.raises(TypeError, match="video_frames"):
        QwenVideoOptions(video_frames=3)  # type: ignore[call-arg]


def test_options_against_the_checkpoint_budget() -> None:
    with pytest.raises(ConfigError, match="minimum exceeds"):
        QwenVideoOptions(video_max_pixels=1000).layout_params()  # below the checkpoint's min_pixels 4096


def test_defaults_come_from_the_bundled_video_preprocessor_config() -> None:
    assert DEFAULT_VIDEO_PARAMS["min_pixels"] == 4096 and DEFAULT_VIDEO_PARAMS["max_pixels"] == 25165824
    assert QwenVideoOptions().layout_params() == DEFAULT_VIDEO_PARAMS


@pytest.mark.parametrize(
    "change", [{"fps": 2}, {"fps": None}, {"cap_pixels_per_frame": 1}, {"max_frames": 0}, {"extra": 1}]
)
def test_untrusted_ref_params_are_checked(change: dict) -> None:
    with pytest.raises(ValueError):
        check_video_params({**DEFAULT_VIDEO_PARAMS, **change})


def test_qwen3_5_checkpoint_has_the_same_video_layout_parameters() -> None:
    """Qwen3.5 reuses this layout: its bundled video preprocessor config implies the same parameters."""
    from pathlib import Path

    from mmrender_qwen3_vl.video_layout import load_video_params

    config = Path(__file__).resolve().parents[2] / "families/qwen3_5/src/mmrender_qwen3_5/assets/Qwen3.5-0.8B"
    assert load_video_params(config / "video_preprocessor_config.json") == DEFAULT_VIDEO_PARAMS
