"""What a Qwen renderer (Qwen3-VL and Qwen3.5) needs to splice videos: layout, expansion ids, legacy join.

A mixin over :class:`mmrender.Renderer`, so both families share one statement of the processor's
expansion (``<t seconds>`` + ``<|vision_start|>`` + pads + ``<|vision_end|>`` per temporal group).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmrender import ProcessedMMItem
from mmrender.errors import ConfigError
from mmrender.video import VideoLayout
from mmrender.video_probe import LoadedVideo, VideoHeader

from .video_layout import qwen_video_layout


class QwenVideoRendering:
    """Set ``video_params`` (layout parameters), ``video_preprocessor_config`` (the file processed mode
    builds the video processor from), ``encoder`` and ``video_ids`` (start, pad, end ids)."""

    video_params: dict[str, Any]
    video_preprocessor_config: Path
    video_ids: tuple[int, int | None, int]
    encoder: Any
    options: Any

    def compute_video_layout(self, header: VideoHeader) -> VideoLayout:
        if self.video_ids[1] is None:
            raise ConfigError("this tokenizer has no <|video_pad|> token, so it cannot render videos")
        return qwen_video_layout(header, self.video_params)

    def video_expansion_ids(self, layout: VideoLayout) -> Sequence[int]:
        """Per temporal group ``<t seconds>`` (tokenized alone) + start + pads + end: the processor's expansion."""
        start, pad, end = self.video_ids
        run = [start, *[pad] * layout.tokens_per_group, end]
        ids: list[int] = []
        for stamp in self.encoder.encode_many([f"<{t:.1f} seconds>" for t in layout.timestamps]):
            ids.extend(stamp)
            ids.extend(run)
        return ids

    def video_leading_text(self, layout: VideoLayout) -> str | None:
        """Legacy expansion replaces the template's ``<|vision_start|>`` too, so the first timestamp
        tokenizes together with the text before it (``?<`` is one token), as the old processors did."""
        return f"<{layout.timestamps[0]:.1f} seconds>" if self.options.video_expansion == "legacy" else None

    def process_video(self, video: LoadedVideo, layout: VideoLayout) -> ProcessedMMItem:
        """Processed mode: the layout's sampled frames (decoded as torchcodec does) through transformers' processor."""
        from mmrender.materialize_video import decode_frames

        from .video_vision import process_qwen_videos

        frames = decode_frames(video, layout.frame_indices)
        return process_qwen_videos([frames], layout.params, self.video_preprocessor_config)
