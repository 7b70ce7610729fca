"""Processed mode for videos: transformers' own ``Qwen3VLVideoProcessor`` on the frames a layout sampled.

The frames come from core (``decode_frames``: bit-identical to torchcodec's), so the processor runs
with ``do_sample_frames=False`` and the layout's geometry (size budget, patch sizes, per-frame cap);
its ``pixel_values_videos`` then equal what the processor gives when it decodes the file itself.
Qwen3.5 uses the same processor class and shares this module.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmrender import ProcessedMMItem

from .video_layout import DEFAULT_VIDEO_PREPROCESSOR

if TYPE_CHECKING:
    import numpy as np

#: Keys of a ``video_preprocessor_config.json`` that name classes rather than set the processor.
_NOT_SETTINGS = ("processor_class", "video_processor_type", "auto_map")


@functools.lru_cache(maxsize=8)
def video_processor(config: Path, items: tuple[tuple[str, Any], ...]) -> Any:
    """The checkpoint's video processor with the layout parameters ``items`` (sorted pairs) applied.

    Imported and built lazily: importing transformers' video processing pulls in torch, which raw mode never needs.
    """
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    params = dict(items)
    settings = {k: v for k, v in json.loads(Path(config).read_text(encoding="utf-8")).items() if k not in _NOT_SETTINGS}
    settings.update(
        size={"shortest_edge": params["min_pixels"], "longest_edge": params["max_pixels"]},
        patch_size=params["patch_size"],
        temporal_patch_size=params["temporal_patch_size"],
        merge_size=params["merge_size"],
        max_video_tokens=params["max_video_tokens"],
        cap_pixels_per_frame=params["cap_pixels_per_frame"],
    )
    return Qwen3VLVideoProcessor(**settings)


def process_qwen_videos(
    videos: Sequence[np.ndarray], params: Mapping[str, Any], config: Path = DEFAULT_VIDEO_PREPROCESSOR
) -> ProcessedMMItem:
    """``pixel_values_videos`` (float32) and ``video_grid_thw`` (int64) of already-sampled ``(N, H, W, 3)``
    RGB frame stacks, in one processor call (as a trainer's ``processor(videos=[...])``), as numpy arrays."""
    import numpy as np

    processor = video_processor(Path(config), tuple(sorted(params.items())))
    out = processor(videos=list(videos), do_sample_frames=False, return_tensors="pt")
    values, grid = out["pixel_values_videos"].numpy(), out["video_grid_thw"].numpy()
    return ProcessedMMItem(
        data={"pixel_values_videos": np.asarray(values), "video_grid_thw": np.asarray(grid)},
        grid=tuple(int(v) for v in grid.reshape(-1)),
    )
