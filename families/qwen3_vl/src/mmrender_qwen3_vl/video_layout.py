"""Qwen video layout (family id ``qwen_vl_video``): transformers' ``Qwen3VLVideoProcessor`` from the header alone.

Sampling, the per-frame pixel cap, ``smart_resize`` over T×H×W and the timestamps are restated from
``transformers/models/qwen3_vl/video_processing_qwen3_vl.py`` and ``processing_qwen3_vl.py``
(transformers 5.24, Apache-2.0), because importing them pulls in torch. The size budget, patch and
merge sizes come from the checkpoint's ``video_preprocessor_config.json`` (bundled); ``fps``,
``min_frames``, ``max_frames`` and ``max_video_tokens`` are absent from it, so they are the
processor class defaults (2, 4, 768, 768). Qwen3.5 uses the same video processor and reuses this.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
from mmrender.errors import ConfigError, VideoSourceError
from mmrender.refs import layout_fingerprint
from mmrender.video import VideoLayout, VideoLayoutEngine
from mmrender.video_probe import VideoHeader

VIDEO_FAMILY = "qwen_vl_video"
ASSETS = Path(__file__).parent / "assets"
DEFAULT_VIDEO_PREPROCESSOR = ASSETS / "Qwen3-VL-8B-Instruct" / "video_preprocessor_config.json"
#: ``Qwen3VLVideoProcessor`` class attributes the bundled config does not set.
CLASS_DEFAULTS: dict[str, Any] = {"fps": 2.0, "min_frames": 4, "max_frames": 768, "max_video_tokens": 768}

VideoExpansion = Literal["current", "legacy"]
VIDEO_START, VIDEO_PAD, VIDEO_END = "<|vision_start|>", "<|video_pad|>", "<|vision_end|>"


def video_params_from_preprocessor(config: Mapping[str, Any]) -> dict[str, Any]:
    """The layout parameters a ``video_preprocessor_config.json`` dict implies (class defaults filling gaps)."""
    size = config.get("size") or {}
    fps = config.get("fps", CLASS_DEFAULTS["fps"])
    return {
        "cap_pixels_per_frame": bool(config.get("cap_pixels_per_frame") or False),
        "fps": None if fps is None else float(fps),
        "max_frames": int(config.get("max_frames", CLASS_DEFAULTS["max_frames"])),
        "max_pixels": int(config.get("max_pixels", size.get("longest_edge"))),
        "max_video_tokens": int(config.get("max_video_tokens", CLASS_DEFAULTS["max_video_tokens"])),
        "merge_size": int(config["merge_size"]),
        "min_frames": int(config.get("min_frames", CLASS_DEFAULTS["min_frames"])),
        "min_pixels": int(config.get("min_pixels", size.get("shortest_edge"))),
        "num_frames": None if config.get("num_frames") is None else int(config["num_frames"]),
        "patch_size": int(config["patch_size"]),
        "temporal_patch_size": int(config["temporal_patch_size"]),
    }


def load_video_params(path: Path = DEFAULT_VIDEO_PREPROCESSOR) -> dict[str, Any]:
    return video_params_from_preprocessor(json.loads(Path(path).read_text(encoding="utf-8")))


DEFAULT_VIDEO_PARAMS: dict[str, Any] = load_video_params()


def _positive(name: str) -> Any:
    def check(_inst: object, _attr: attrs.Attribute, value: Any) -> None:
        if value is None:
            return
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        if not ok or (name != "video_fps" and not isinstance(value, int)):
            kind = "a positive number" if name == "video_fps" else "a positive int"
            raise ConfigError(f"{name} must be {kind} or None, got {value!r}")

    return check


@attrs.frozen(kw_only=True, slots=False)  # not slotted: the families' option classes inherit it beside RendererOptions
class QwenVideoOptions:
    """The Qwen families' video options; None keeps the checkpoint's value.

    ``video_fps`` / ``video_num_frames``: sample that many frames per second, or exactly that many
    frames (mutually exclusive, as in transformers). ``video_min_frames`` / ``video_max_frames``
    clamp fps sampling; ``video_min_pixels`` / ``video_max_pixels`` set the T×H×W pixel budget;
    ``video_cap_pixels_per_frame`` applies qwen-vl-utils' per-frame cap (transformers'
    ``cap_pixels_per_frame``). ``video_expansion``: ``"current"`` replaces only the template's bare
    ``<|video_pad|>`` (transformers ≥ 5.10, vLLM 0.33), ``"legacy"`` the whole start/pad/end triple.
    """

    video_fps: float | None = attrs.field(default=None, validator=_positive("video_fps"))
    video_num_frames: int | None = attrs.field(default=None, validator=_positive("video_num_frames"))
    video_min_frames: int | None = attrs.field(default=None, validator=_positive("video_min_frames"))
    video_max_frames: int | None = attrs.field(default=None, validator=_positive("video_max_frames"))
    video_min_pixels: int | None = attrs.field(default=None, validator=_positive("video_min_pixels"))
    video_max_pixels: int | None = attrs.field(default=None, validator=_positive("video_max_pixels"))
    video_cap_pixels_per_frame: bool | None = attrs.field(default=None)
    video_expansion: VideoExpansion = attrs.field(default="current")

    def __attrs_post_init__(self) -> None:
        if self.video_cap_pixels_per_frame not in (None, True, False):
            raise ConfigError(
                f"video_cap_pixels_per_frame must be a bool or None, got {self.video_cap_pixels_per_frame!r}"
            )
        if self.video_expansion not in ("current", "legacy"):
            raise ConfigError(f"video_expansion must be 'current' or 'legacy', got {self.video_expansion!r}")
        if self.video_fps is not None and self.video_num_frames is not None:
            raise ConfigError("video_fps and video_num_frames are mutually exclusive; set one")
        if self.video_num_frames is not None and (self.video_min_frames or self.video_max_frames):
            raise ConfigError(
                "video_min_frames/video_max_frames clamp fps sampling; they do not apply to video_num_frames"
            )
        pairs = (("video_min_frames", "video_max_frames"), ("video_min_pixels", "video_max_pixels"))
        for low, high in pairs:
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise ConfigError(f"{low} ({lo}) is larger than {high} ({hi})")

    def layout_params(self, base: Mapping[str, Any] = DEFAULT_VIDEO_PARAMS) -> dict[str, Any]:
        """The checkpoint's video layout parameters with these options applied."""
        params = dict(base)
        if self.video_num_frames is not None:
            params["num_frames"], params["fps"] = self.video_num_frames, None
        elif self.video_fps is not None:
            params["fps"], params["num_frames"] = float(self.video_fps), None
        for option, key in (
            ("video_min_frames", "min_frames"),
            ("video_max_frames", "max_frames"),
            ("video_min_pixels", "min_pixels"),
            ("video_max_pixels", "max_pixels"),
            ("video_cap_pixels_per_frame", "cap_pixels_per_frame"),
        ):
            if getattr(self, option) is not None:
                params[key] = getattr(self, option)
        try:
            check_video_params(params)
        except ValueError as exc:
            raise ConfigError(f"video options give an invalid layout: {exc}") from exc
        return params


def check_video_params(params: Mapping[str, Any]) -> None:
    """A ref's ``layout_params`` (untrusted JSON): the exact key set, typed values, sane ranges."""
    if set(params) != set(DEFAULT_VIDEO_PARAMS):
        raise ValueError(f"keys {sorted(params)} are not the video layout keys {sorted(DEFAULT_VIDEO_PARAMS)}")
    for key, value in params.items():
        if key == "cap_pixels_per_frame":
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be a bool, got {value!r}")
        elif key == "fps":
            if value is not None and (not isinstance(value, float) or not value > 0 or math.isinf(value)):
                raise ValueError(f"fps must be a positive float or None, got {value!r}")
        elif key == "num_frames" and value is None:
            continue
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive int, got {value!r}")
    if (params["fps"] is None) == (params["num_frames"] is None):
        raise ValueError("exactly one of fps and num_frames must be set")
    if params["min_frames"] > params["max_frames"] or params["min_pixels"] > params["max_pixels"]:
        raise ValueError("a minimum exceeds its maximum")


def sample_indices(total: int, source_fps: float, params: Mapping[str, Any]) -> list[int]:
    """``Qwen3VLVideoProcessor.sample_frames``: fps sampling clamped to [min_frames, min(max_frames, total)],
    or exactly ``num_frames``; indices by ``np.linspace(0, total - 1, n).round()`` (ties to even)."""
    n = params["num_frames"]
    if n is None:
        n = int(total / source_fps * params["fps"])
        n = min(max(n, params["min_frames"]), params["max_frames"], total)
    if n == 1:
        return [0]
    step = (total - 1) / (n - 1)
    return [round(i * step) if i < n - 1 else total - 1 for i in range(n)]


def smart_resize_video(
    num_frames: int, height: int, width: int, *, temporal_factor: int, factor: int, min_pixels: int, max_pixels: int
) -> tuple[int, int]:
    """transformers' video ``smart_resize``, statement for statement (``round`` ties to even, same order)."""
    if num_frames < temporal_factor:
        raise ValueError(f"t:{num_frames} must be larger than temporal_factor:{temporal_factor}")
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height, width = int(height * scale), int(width * scale)
    if max(height, width) / min(height, width) > 200:
        raise ValueError(
            f"absolute aspect ratio must be smaller than 200, got {max(height, width) / min(height, width)}"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    t_bar = round(num_frames / temporal_factor) * temporal_factor
    if t_bar * h_bar * w_bar > max_pixels:
        beta = math.sqrt((num_frames * height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif t_bar * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (num_frames * height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def group_timestamps(indices: list[int], source_fps: float, temporal_patch: int) -> list[float]:
    """``Qwen3VLProcessor._calculate_timestamps``: pad with the last index, then each group's mean time."""
    padded = list(indices) + [indices[-1]] * (-len(indices) % temporal_patch)
    times = [i / source_fps for i in padded]
    return [(times[i] + times[i + temporal_patch - 1]) / 2 for i in range(0, len(times), temporal_patch)]


@functools.lru_cache(maxsize=64)
def _fingerprint(items: tuple[tuple[str, Any], ...]) -> str:
    return layout_fingerprint(VIDEO_FAMILY, dict(items))


def qwen_video_layout(header: VideoHeader, params: Mapping[str, Any] = DEFAULT_VIDEO_PARAMS) -> VideoLayout:
    """Sampled frames, grid ``[T/2, H/16, W/16]``, tokens per group and timestamps of one video."""
    patch, merge, temporal = params["patch_size"], params["merge_size"], params["temporal_patch_size"]
    factor = patch * merge
    indices = sample_indices(header.num_frames, header.average_fps, params)
    count = len(indices)
    max_pixels = params["max_pixels"]
    if params["cap_pixels_per_frame"]:
        frame_cap = params["max_video_tokens"] * factor * factor
        per_frame = max(min(frame_cap, params["max_pixels"] // count), int(params["min_pixels"] * 1.05))
        max_pixels = per_frame * count
    try:
        resized_h, resized_w = smart_resize_video(
            count,
            header.height,
            header.width,
            temporal_factor=temporal,
            factor=factor,
            min_pixels=params["min_pixels"],
            max_pixels=max_pixels,
        )
    except ValueError as exc:
        raise VideoSourceError(
            f"video of {header.width}x{header.height} with {count} sampled frame(s) cannot be laid out: {exc}"
        ) from exc
    grid = ((count + -count % temporal) // temporal, resized_h // patch, resized_w // patch)
    timestamps = group_timestamps(indices, header.average_fps, temporal)
    return VideoLayout(
        family=VIDEO_FAMILY,
        fingerprint=_fingerprint(tuple(sorted(params.items()))),
        frame_indices=indices,
        timestamps=timestamps,
        grid=grid,
        tokens_per_group=grid[1] * grid[2] // (merge * merge),
        resized=(resized_w, resized_h),
        params=dict(params),
        payload={"video_grid_thw": [list(grid)], "frame_indices": list(indices), "timestamps": list(timestamps)},
    )


def expansion_text(layout: VideoLayout) -> str:
    """Per temporal group ``<t seconds>`` + start + N pads + end: the processor's replacement text."""
    run = VIDEO_START + VIDEO_PAD * layout.tokens_per_group + VIDEO_END
    return "".join(f"<{t:.1f} seconds>" + run for t in layout.timestamps)


def replaced_text(mode: VideoExpansion) -> str:
    """What the expansion replaces in the template's output: the bare pad, or the whole triple (legacy)."""
    return VIDEO_PAD if mode == "current" else VIDEO_START + VIDEO_PAD + VIDEO_END


def _process(videos: Any, params: Mapping[str, Any]) -> Any:
    """``VideoLayoutEngine.process``: transformers' video processor (imported only when a trainer asks)."""
    from .video_vision import process_qwen_videos

    return process_qwen_videos(videos, params)


VIDEO_ENGINE = VideoLayoutEngine(
    family=VIDEO_FAMILY,
    compute=qwen_video_layout,
    default_params=DEFAULT_VIDEO_PARAMS,
    check_params=check_video_params,
    process=_process,
)
