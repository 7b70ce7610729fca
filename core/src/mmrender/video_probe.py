"""Read a video's frame count, fps, duration and display size by demuxing only, never decoding a frame.

Sampling decides the token count, so these figures must be the ones transformers' default video
decoder (torchcodec, ``seek_mode="exact"``) reports: it scans every packet of the best video stream
(no decoding) and takes the count, the first packet's time and the last packet's end from that
scan. We do the same scan with PyAV, which is imported here, lazily, only when a video arrives.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .errors import MMRenderError, NetworkError, VideoSourceError
from .mp4_rotation import mp4_display_rotation
from .storage import scheme_of

if TYPE_CHECKING:
    import av.container

MAX_BYTES_ENV = "MMRENDER_MAX_VIDEO_BYTES"
DEFAULT_MAX_BYTES = 2 * 2**30


@attrs.frozen
class VideoHeader:
    """What demuxing a video's best stream says about it, in torchcodec's terms.

    ``width`` / ``height`` are the displayed size: a ±90° display matrix swaps them, as torchcodec
    (which rotates decoded frames) does. ``rotation`` is the display matrix's counter-clockwise angle.
    """

    num_frames: int
    average_fps: float
    duration: float
    width: int
    height: int
    rotation: float = 0.0
    codec: str = ""
    container: str = ""

    @property
    def quarter_turns(self) -> int:
        """The rotation rounded to a multiple of 90°, as 0-3 counter-clockwise quarter turns."""
        return round(self.rotation / 90) % 4


@attrs.frozen
class VideoBytes:
    """A video's encoded bytes and its header figures."""

    data: bytes = attrs.field(repr=False)
    header: VideoHeader
    origin: str


def _describe(source: Any) -> str:
    if isinstance(source, bytes | bytearray | memoryview):
        return f"<{len(source)} bytes>"
    text = os.fspath(source) if isinstance(source, os.PathLike) else source
    if isinstance(text, str):
        return text if len(text) <= 80 else text[:60] + "…"
    return f"<{type(source).__name__}>"


def max_video_bytes() -> int:
    """``$MMRENDER_MAX_VIDEO_BYTES`` (default 2 GiB): larger videos are refused unread."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    return int(raw) if raw.isdigit() else DEFAULT_MAX_BYTES


def _decode_data_uri(uri: str, label: str) -> bytes:
    header, sep, body = uri.partition(",")
    mime = header[5:].split(";")[0].strip().lower()
    if not sep or ";base64" not in header.lower():
        raise VideoSourceError("video data URI is not base64 (data:video/…;base64,…)", source=label)
    if mime and not mime.startswith(("video/", "application/octet-stream")):
        raise VideoSourceError(f"data URI media type {mime!r} is not a video", source=label)
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VideoSourceError(f"video data URI base64 does not decode: {exc}", source=label) from exc


def video_source_bytes(source: Any, read_uri: Callable[[str], bytes] | None = None) -> tuple[bytes, str]:
    """The encoded bytes behind a video source (bytes, path, ``file://``, ``data:``, store URI) and a label.

    Store and ``file://`` URIs go to ``read_uri`` (handed in, as for images: this module asks no plugins).
    """
    from .images import FETCH_SCHEMES, check_fetch_policy

    label = _describe(source)
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), label
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str) or not source:
        raise VideoSourceError(f"unsupported video source {label}", source=label)
    if source.startswith("data:"):
        return _decode_data_uri(source, label), label
    scheme = scheme_of(source)
    if scheme in FETCH_SCHEMES:
        check_fetch_policy(source, label)
    if scheme == "file" and "://" not in source:
        path = Path(source)
        if not path.is_file():
            raise VideoSourceError("video file not found" if not path.exists() else "not a regular file", source=label)
        if path.stat().st_size > max_video_bytes():
            raise VideoSourceError(
                f"video file is over the {max_video_bytes()}-byte limit ({MAX_BYTES_ENV})", source=label
            )
        return path.read_bytes(), label
    if read_uri is None:
        raise VideoSourceError(f"video URI {label} needs a URI reader (read_uri=mmrender.dispatch.read_uri)")
    try:
        return read_uri(source), label
    except (FileNotFoundError, NetworkError, MMRenderError, OSError) as exc:
        raise VideoSourceError(f"video cannot be read: {exc}", source=label) from exc


def _import_av() -> Any:
    try:
        import av
    except ImportError as exc:  # pragma: no cover - the extra is installed wherever videos are used
        raise VideoSourceError("video parts need PyAV: pip install 'mmrender-core[video]'") from exc
    return av


def open_video(data: bytes, label: str) -> av.container.InputContainer:
    """Open a container over in-memory bytes; FFmpeg's refusal becomes a :class:`VideoSourceError`."""
    av = _import_av()
    try:
        return av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise VideoSourceError(f"not a readable video container: {exc}", source=label) from exc


def best_video_stream(container: av.container.InputContainer, label: str) -> Any:
    """FFmpeg's best video stream (``av_find_best_stream``, as torchcodec picks), cover art excluded."""
    av = _import_av()
    demuxer = container.format.name
    if demuxer.endswith("_pipe") or demuxer == "image2":  # FFmpeg reads a PNG/JPEG as a one-frame "video"
        raise VideoSourceError(f"is a still image ({demuxer}), not a video", source=label)
    streams = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not streams:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        raise VideoSourceError(f"no video stream (streams: {', '.join(kinds)})", source=label)
    try:
        best = container.streams.best("video")
    except (ValueError, av.FFmpegError):
        best = None
    return best if best in streams else streams[0]


def header_of(container: av.container.InputContainer, data: bytes, label: str) -> VideoHeader:
    """Scan the best video stream's packets (no codec is opened) for torchcodec's exact-mode figures."""
    av = _import_av()
    stream = best_video_stream(container, label)
    count, begin, end = 0, None, None
    try:
        for packet in container.demux(stream):
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None or packet.is_discard:  # PyAV's end-of-stream flush packet has neither
                continue
            count += 1
            begin = stamp if begin is None else min(begin, stamp)
            end = stamp + packet.duration if end is None else max(end, stamp + packet.duration)
    except av.FFmpegError as exc:
        raise VideoSourceError(f"video stream is corrupt or truncated: {exc}", source=label) from exc
    if count == 0 or begin is None or end is None:
        raise VideoSourceError("video stream has no frames", source=label)
    base = stream.time_base
    begin_s = float(begin) * base.numerator / base.denominator  # torchcodec's pts_to_seconds, op for op
    end_s = float(end) * base.numerator / base.denominator
    duration = end_s - begin_s
    fps = count / duration if duration != 0 else float(stream.base_rate or 0)
    rotation = mp4_display_rotation(data, stream.id) if "mov" in container.format.name.split(",") else 0.0
    width, height = stream.codec_context.width, stream.codec_context.height
    if width <= 0 or height <= 0:
        raise VideoSourceError(f"video stream has no frame size ({width}x{height})", source=label)
    if round(rotation / 90) % 2:
        width, height = height, width
    return VideoHeader(
        num_frames=count,
        average_fps=fps,
        duration=duration,
        width=width,
        height=height,
        rotation=rotation,
        codec=stream.codec_context.name,
        container=container.format.name,
    )


def probe_video(data: bytes, origin: str = "") -> VideoBytes:
    """Header figures of encoded video bytes (or of a frame archive, from its manifest); every failure is a
    :class:`VideoSourceError` naming ``origin``."""
    from .video_frames import archive_header, is_frame_archive

    label = origin or f"<{len(data)} bytes>"
    if is_frame_archive(data):  # a frame-list video's stored form (mmrender.video_frames)
        return VideoBytes(data=data, header=archive_header(data, label), origin=origin)
    with open_video(data, label) as container:
        return VideoBytes(data=data, header=header_of(container, data, label), origin=origin)


def load_video(source: Any, *, read_uri: Callable[[str], bytes] | None = None) -> VideoBytes:
    """Read a video source (bytes, path, ``file://``, ``data:`` URI, or a URI ``read_uri`` reads) and probe it."""
    data, label = video_source_bytes(source, read_uri)
    return probe_video(data, label)
