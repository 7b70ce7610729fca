"""Read a video's frame count, fps, duration and display size by demuxing only, never decoding a frame.

Sampling decides the token count, so these figures must be the ones transformers' default video
decoder (torchcodec, ``seek_mode="exact"``) reports: it scans every packet of the best video stream
(no decoding) and takes the count, the first packet's time and the last packet's end from that
scan. We do the same scan with PyAV, which is imported here, lazily, only when a video arrives.

A local file is opened by path (FFmpeg's own buffered reads) and never read into memory
(:class:`VideoFile`): a 10-minute 1080p video is about a gigabyte.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import unquote, urlsplit

import attrs

from .errors import AssetIntegrityError, MMRenderError, NetworkError, VideoSourceError
from .mp4_rotation import mp4_display_rotation, mp4_file_display_rotation
from .storage import SHA256_RE, check_digest, file_sha256, scheme_of, sha256_hex

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
    """A video's encoded bytes and its header figures: a video given as bytes, a ``data:`` URI, one read
    through a storage backend, or a frame archive."""

    data: bytes = attrs.field(repr=False)
    header: VideoHeader
    origin: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def label(self) -> str:
        """How errors name this video."""
        return self.origin or f"<{len(self.data)} bytes>"

    @functools.cached_property
    def sha256(self) -> str:
        """The bytes' sha256 hex digest (computed once, when first asked)."""
        return sha256_hex(self.data)

    def open_container(self) -> av.container.InputContainer:
        return open_video(self.data, self.label)


@attrs.frozen
class VideoFile:
    """A local video file and its header figures, never held in memory: FFmpeg reads it from disk, sha256
    hashes it in chunks and stores copy it in chunks (``Store.put_file``), so memory stays flat in its size."""

    path: Path
    size: int
    header: VideoHeader
    origin: str

    @property
    def label(self) -> str:
        """How errors name this video."""
        return self.origin or str(self.path)

    @functools.cached_property
    def sha256(self) -> str:
        """The file's sha256 hex digest, hashed in chunks (computed once, when first asked)."""
        return file_sha256(self.path)

    def open_container(self) -> av.container.InputContainer:
        return open_video(self.path, self.label)


#: A probed video: its bytes in memory, or a local file read where it lies.
LoadedVideo: TypeAlias = VideoBytes | VideoFile


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


def local_video_path(source: Any) -> Path | None:
    """The file a path or a ``file://`` URI of this host names; None for any other source."""
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str) or not source or source.startswith("data:") or scheme_of(source) != "file":
        return None
    if "://" not in source:
        return Path(source)
    parts = urlsplit(source)
    if parts.netloc not in ("", "localhost"):  # another host's file: read_uri refuses it with its own error
        return None
    return Path(unquote(parts.path))


def _file_size(path: Path, label: str) -> int:
    """The size of a regular file within the limit; anything else is a :class:`VideoSourceError`."""
    if not path.is_file():
        raise VideoSourceError("video file not found" if not path.exists() else "not a regular file", source=label)
    size = path.stat().st_size
    if size > max_video_bytes():
        raise VideoSourceError(f"video file is over the {max_video_bytes()}-byte limit ({MAX_BYTES_ENV})", source=label)
    return size


def video_source_bytes(source: Any, read_uri: Callable[[str], bytes] | None = None) -> tuple[bytes, str]:
    """The encoded bytes behind a video source (bytes, path, ``file://``, ``data:``, store URI) and a label.

    Store URIs go to ``read_uri`` (handed in, as for images: this module asks no plugins).
    :func:`load_video` reads local files where they lie instead.
    """
    from .images import FETCH_SCHEMES, check_fetch_policy

    label = _describe(source)
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), label
    path = local_video_path(source)
    if path is not None:
        _file_size(path, label)
        return path.read_bytes(), label
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str) or not source:
        raise VideoSourceError(f"unsupported video source {label}", source=label)
    if source.startswith("data:"):
        return _decode_data_uri(source, label), label
    if scheme_of(source) in FETCH_SCHEMES:
        check_fetch_policy(source, label)
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


def open_video(source: bytes | Path, label: str) -> av.container.InputContainer:
    """Open a container over in-memory bytes, or a file by path (FFmpeg's own reads, no Python callbacks);
    FFmpeg's refusal becomes a :class:`VideoSourceError`."""
    av = _import_av()
    # "file:" + the path: FFmpeg must not read a protocol ("concat:", "http:" …) out of a file's name
    target = io.BytesIO(source) if isinstance(source, bytes) else f"file:{Path(source).absolute()}"
    try:
        return av.open(target, mode="r")
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


def header_of(container: av.container.InputContainer, source: bytes | Path, label: str) -> VideoHeader:
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
    rotation = 0.0
    if "mov" in container.format.name.split(","):
        read_rotation = mp4_display_rotation if isinstance(source, bytes) else mp4_file_display_rotation
        rotation = read_rotation(source, stream.id)
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


def probe_video_file(path: Path, origin: str = "") -> LoadedVideo:
    """Header figures of a local video file, demuxed from disk (a frame archive, small, is read whole)."""
    from .video_frames import ARCHIVE_SNIFF_BYTES, is_frame_archive

    label = origin or str(path)
    size = _file_size(path, label)
    try:
        with open(path, "rb") as fh:
            head = fh.read(ARCHIVE_SNIFF_BYTES)
    except OSError as exc:
        raise VideoSourceError(f"video file cannot be read: {exc.strerror or exc}", source=label) from exc
    if is_frame_archive(head):
        return probe_video(path.read_bytes(), label)
    path = path.absolute()  # stores and decoders open it later, whatever the working directory is then
    with open_video(path, label) as container:
        header = header_of(container, path, label)
    return VideoFile(path=path, size=size, header=header, origin=label)


def load_video(source: Any, *, read_uri: Callable[[str], bytes] | None = None) -> LoadedVideo:
    """Read a video source (bytes, path, ``file://``, ``data:`` URI, or a URI ``read_uri`` reads) and probe it.

    A local file (a path, or a ``file://`` URI of this host) is probed where it lies and comes back as a
    :class:`VideoFile`; a ``file://`` URI whose name is a sha256 (a store's asset) is verified against
    it, as the ``file`` backend verifies what it reads. Every other source is read into a :class:`VideoBytes`.
    """
    path = local_video_path(source)
    if path is None:
        data, label = video_source_bytes(source, read_uri)
        return probe_video(data, label)
    label = _describe(source)
    video = probe_video_file(path, label)
    is_uri = isinstance(source, str) and "://" in source
    if is_uri and SHA256_RE.fullmatch(path.name):
        try:
            check_digest(video.sha256, path.name, f"asset {path}")
        except AssetIntegrityError as exc:
            raise VideoSourceError(f"video cannot be read: {exc}", source=label) from exc
    return video
