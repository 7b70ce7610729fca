"""Video layouts and raw video items: the video counterpart of :class:`ImageLayout` and its engine.

A video's layout depends on its header figures (frame count, fps, display size) and the family's
sampling parameters, not on width and height alone, so it has its own engine type; the raw item
carries the sampled frame indices, timestamps and grid so a consumer re-derives nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .types import ProcessedMMItem, RawMMItem, _tuple_of_ints

if TYPE_CHECKING:
    import numpy as np

    from .storage import Store
    from .video_probe import LoadedVideo, VideoHeader

VIDEO_MODALITY = "video"


def _tuple_of_floats(value: Any) -> tuple[float, ...]:
    return tuple(map(float, value))


@attrs.frozen
class VideoLayout:
    """A video's model-side geometry, computed from its header figures alone.

    ``frame_indices`` are the sampled frames (before temporal padding), ``timestamps`` one per
    temporal group, ``grid`` is ``(T, H, W)`` in patches, ``tokens_per_group`` the placeholder run of
    each group, ``num_tokens`` their total. ``params`` are the layout parameters whose fingerprint
    (under ``family``) is ``fingerprint``; ``payload`` is what the raw item carries.
    """

    family: str
    fingerprint: str
    frame_indices: tuple[int, ...] = attrs.field(converter=_tuple_of_ints)
    timestamps: tuple[float, ...] = attrs.field(converter=_tuple_of_floats)
    grid: tuple[int, ...] = attrs.field(converter=_tuple_of_ints)
    tokens_per_group: int
    resized: tuple[int, int]
    params: Mapping[str, Any]
    payload: Mapping[str, Any]
    modality: str = VIDEO_MODALITY

    @property
    def num_tokens(self) -> int:
        """Embedding positions the vision tower produces: one run of ``tokens_per_group`` per group."""
        return self.grid[0] * self.tokens_per_group


@attrs.frozen
class VideoLayoutEngine:
    """A family's video layout function, so consumers can re-check a video ref from its header.

    ``compute(header, params)`` returns the :class:`VideoLayout`; ``check_params(params)`` raises
    ``ValueError`` naming a bad value in a ref's (untrusted) ``layout_params`` before ``compute`` runs.
    ``process(videos, params)`` runs the family's transformers video processor on verified, already
    sampled videos (each ``(N, H, W, 3)`` uint8 RGB frames, decoded by core) laid out with ``params``,
    all in one call (:func:`mmrender.processed_inputs`); it returns one :class:`ProcessedMMItem` whose
    ``grid`` is the videos' grids concatenated. None means the family has no video processor.
    """

    family: str
    compute: Callable[[VideoHeader, Mapping[str, Any]], VideoLayout]
    default_params: Mapping[str, Any]
    check_params: Callable[[Mapping[str, Any]], None] | None = None
    process: Callable[[Sequence[np.ndarray], Mapping[str, Any]], ProcessedMMItem] | None = None


def raw_video_item(layout: VideoLayout, *, raw_image_id: str | None, raw_uri: str | None) -> RawMMItem:
    """The ``prime_raw_mm_item`` of a video: always with its ``layout_params`` (sampling is per renderer)."""
    return RawMMItem(
        modality=VIDEO_MODALITY,
        family=layout.family,
        layout_fingerprint=layout.fingerprint,
        payload=dict(layout.payload),
        vllm_modality=VIDEO_MODALITY,
        raw_image_id=raw_image_id,
        raw_uri=raw_uri,
        layout_params=dict(layout.params),
    )


def store_video(store: Store, video: LoadedVideo, layout: VideoLayout) -> tuple[str, RawMMItem]:
    """Store the video's bytes content-addressed and return its ``mm_hash`` (sha256[:32], as for images) and raw item.

    A local file goes to ``Store.put_file``, so a store that streams files never holds it in memory.
    """
    from .video_probe import VideoFile

    digest, mime = video.sha256, _mime_of(video)
    if isinstance(video, VideoFile):
        asset = store.put_file(video.path, mime=mime, sha256=digest)
    else:
        asset = store.put(video.data, mime=mime, sha256=digest)
    return digest[:32], raw_video_item(layout, raw_image_id=asset.raw_image_id, raw_uri=asset.raw_uri)


def _mime_of(video: LoadedVideo) -> str:
    from .video_frames import FRAMES_CONTAINER, FRAMES_MIME

    if video.header.container == FRAMES_CONTAINER:
        return FRAMES_MIME
    names = video.header.container.split(",")
    if "webm" in names and video.header.codec in ("vp8", "vp9", "av1"):
        return "video/webm"
    if "mov" in names or "mp4" in names:
        return "video/mp4"
    return "application/octet-stream"
