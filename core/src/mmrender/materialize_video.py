"""Consumer side of a raw video ref: verified bytes, the layout re-checked from the header, the sampled frames.

The ref's payload already names the frames to decode and their timestamps; re-checking its layout
from the header (no decoding) proves the payload is what the producer's family computes for these
bytes and parameters, so a tampered frame list is refused before a frame is decoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .dispatch import video_engines_for
from .errors import AssetIntegrityError, MMRenderError, RefFieldError, UnknownFamilyError, VideoSourceError
from .refs import check_layout_params
from .types import RawMMRef
from .video import VideoLayout, VideoLayoutEngine
from .video_frames import check_archived
from .video_probe import LoadedVideo, VideoBytes, probe_video

if TYPE_CHECKING:
    import numpy as np

    from .storage import Store


@attrs.frozen
class MaterializedVideo:
    """A fetched, verified video and the frames its ref sampled."""

    ref: RawMMRef
    video: LoadedVideo
    layout: VideoLayout | None

    @property
    def frame_indices(self) -> tuple[int, ...]:
        return tuple(int(i) for i in self.ref.payload["frame_indices"])

    @property
    def timestamps(self) -> tuple[float, ...]:
        return tuple(float(t) for t in self.ref.payload["timestamps"])

    def frames(self) -> np.ndarray:
        """The sampled frames as ``(N, H, W, 3)`` uint8 RGB, upright (the display rotation applied).

        Equal, bit for bit, to what torchcodec (transformers' default decoder) returns at these indices
        for the clips the tests cover; frame ``i`` is the ``i``-th frame in presentation order.
        """
        return decode_frames(self.video, self.frame_indices)


def decode_frames(video: LoadedVideo, indices: Sequence[int]) -> np.ndarray:
    """Decode ``video`` once, front to back, keeping the frames at ``indices`` (repeats allowed)."""
    import numpy as np

    from .video_frames import FRAMES_CONTAINER, archive_frames

    label = video.label
    wanted = set(indices)
    if not wanted:
        raise VideoSourceError("no frame indices to decode", source=label)
    last = max(wanted)
    if min(wanted) < 0 or last >= video.header.num_frames:
        raise VideoSourceError(
            f"frame indices {min(wanted)}..{last} are outside the video's {video.header.num_frames} frames",
            source=label,
        )
    if isinstance(video, VideoBytes) and video.header.container == FRAMES_CONTAINER:  # PNGs, not a stream
        return archive_frames(video, indices)
    kept: dict[int, Any] = {}
    with video.open_container() as container:
        from .video_probe import best_video_stream

        stream = best_video_stream(container, label)
        try:
            for position, frame in enumerate(container.decode(stream)):
                if position in wanted:
                    kept[position] = frame.to_ndarray(format="rgb24")
                if position >= last:
                    break
        except Exception as exc:
            if isinstance(exc, MMRenderError):
                raise
            raise VideoSourceError(f"video frames do not decode: {exc}", source=label) from exc
    missing = wanted - set(kept)
    if missing:
        raise VideoSourceError(f"video decoded without frames {sorted(missing)[:5]}", source=label)
    batch = np.stack([kept[i] for i in indices])
    turns = video.header.quarter_turns
    return np.ascontiguousarray(np.rot90(batch, turns, axes=(1, 2))) if turns else batch


def _engine_for(ref: RawMMRef, engine: VideoLayoutEngine | None) -> VideoLayoutEngine:
    if engine is not None:
        if engine.family != ref.family:
            raise UnknownFamilyError(f"video ref family {ref.family!r} is not the given engine's {engine.family!r}")
        return engine
    engines = video_engines_for(ref.family)
    if not engines:
        raise UnknownFamilyError(
            f"video ref family {ref.family!r} is not provided by any installed plugin; install its family package"
        )
    return engines[0]


def video_layout_for(ref: RawMMRef, video: LoadedVideo, engine: VideoLayoutEngine | None = None) -> VideoLayout:
    """Recompute the ref's layout from the header with its own (fingerprint-checked) parameters."""
    if ref.layout_params is None:
        raise RefFieldError("layout_params", "a video ref must carry its layout parameters")
    params = dict(ref.layout_params)
    check_layout_params(ref.family, ref.fingerprint, params)
    found = _engine_for(ref, engine)
    try:
        if found.check_params is not None:
            found.check_params(params)
        layout = found.compute(video.header, params)
    except MMRenderError:
        raise
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        raise RefFieldError("layout_params", f"{params} cannot lay out a {ref.family!r} video: {exc}") from exc
    if dict(layout.payload) != dict(ref.payload):
        raise AssetIntegrityError(
            f"video ref payload {dict(ref.payload)} does not match the layout of its video {dict(layout.payload)}"
        )
    return layout


def materialize_video(
    ref: RawMMRef,
    *,
    store: Store | str | None = None,
    verify_layout: bool = True,
    engine: VideoLayoutEngine | None = None,
) -> MaterializedVideo:
    """Fetch (hash-verified), probe and, by default, re-check the layout of one video ref."""
    from .materialize import fetch_bytes

    if ref.modality != "video":
        raise RefFieldError("modality", f"is {ref.modality!r}, not 'video'")
    video = probe_video(fetch_bytes(ref, store), ref.raw_uri or ref.raw_image_id or "")
    layout = video_layout_for(ref, video, engine) if verify_layout else None
    if layout is not None:
        check_archived(video, layout.frame_indices)
    if not verify_layout and not isinstance(ref.payload.get("frame_indices"), list):
        raise RefFieldError("payload", "a video ref's payload must list its frame_indices")
    return MaterializedVideo(ref=ref, video=video, layout=layout)
