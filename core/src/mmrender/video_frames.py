"""A video given as a list of frames (PIL images) with an ``fps``, and the archive its raw ref stores.

Why an archive: a raw ref names one content-addressed asset, and a consumer must get back exactly the
frames the model saw, bit for bit. So the sampled frames are stored as lossless PNGs in one
uncompressed ZIP beside a small manifest (the list's frame count, fps and size), written
deterministically: the same frames and sampling give the same bytes, hence the same ``mm_hash``.
The manifest is the archive's "header": the layout is re-checked from it without decoding a frame.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import VideoSourceError

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from .video_probe import LoadedVideo, VideoBytes, VideoHeader

#: ``VideoHeader.container`` (and the manifest's ``format``) of a frame archive.
FRAMES_CONTAINER = "mmrender-frames"
FRAMES_MIME = "application/vnd.mmrender.frames+zip"
FRAMES_VERSION = 1
MANIFEST = "frames.json"
#: Every member's timestamp: a fixed one keeps the archive's bytes a function of its frames alone.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_MAX_MANIFEST_BYTES = 1 << 20
#: How many leading bytes :func:`is_frame_archive` looks at.
ARCHIVE_SNIFF_BYTES = 30 + len(MANIFEST)


def _member(index: int) -> str:
    return f"frame-{index:06d}.png"


def validate_frame_list(frames: Any, fps: Any) -> tuple[tuple[Image.Image, ...], float]:
    """The frames and fps of a frame-list video part, or ``ValueError`` naming the first problem."""
    from PIL import Image

    if isinstance(fps, bool) or not isinstance(fps, int | float) or not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"a video given as a list of frames needs a positive 'fps' (frames per second), got {fps!r}")
    if not frames:
        raise ValueError("a video given as a list of frames has no frames")
    size = None
    for index, frame in enumerate(frames):
        if not isinstance(frame, Image.Image):
            raise ValueError(f"video frame {index} is a {type(frame).__name__}, not a PIL image")
        if size is None:
            size = frame.size
        elif frame.size != size:
            raise ValueError(
                f"video frame {index} is {frame.size[0]}x{frame.size[1]}, frame 0 is {size[0]}x{size[1]}; "
                "all frames of a video must share one size"
            )
    return tuple(frames), float(fps)


def frames_header(frames: Sequence[Image.Image], fps: float) -> VideoHeader:
    """The header figures of a frame list: its length at ``fps``, the frames' (shared) size."""
    from .video_probe import VideoHeader

    width, height = frames[0].size
    return VideoHeader(
        num_frames=len(frames),
        average_fps=fps,
        duration=len(frames) / fps,
        width=width,
        height=height,
        codec="png",
        container=FRAMES_CONTAINER,
    )


def _manifest(header: VideoHeader, stored: Sequence[int]) -> bytes:
    manifest = {
        "format": FRAMES_CONTAINER,
        "version": FRAMES_VERSION,
        "num_frames": header.num_frames,
        "fps": header.average_fps,
        "width": header.width,
        "height": header.height,
        "stored": list(stored),
    }
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def pack_frames(frames: Sequence[Image.Image], indices: Sequence[int], header: VideoHeader) -> bytes:
    """The archive of the frames at ``indices`` (each once, as RGB PNG) and the manifest; deterministic."""
    stored = sorted(set(indices))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(zipfile.ZipInfo(MANIFEST, _ZIP_EPOCH), _manifest(header, stored))
        for index in stored:
            png = io.BytesIO()
            frame = frames[index]
            (frame if frame.mode == "RGB" else frame.convert("RGB")).save(png, format="PNG")
            archive.writestr(zipfile.ZipInfo(_member(index), _ZIP_EPOCH), png.getvalue())
    return buffer.getvalue()


def is_frame_archive(data: bytes) -> bool:
    """A ZIP whose first member is the manifest (a cheap sniff; :func:`archive_header` checks the rest)."""
    return data[:4] == b"PK\x03\x04" and data[30:ARCHIVE_SNIFF_BYTES] == MANIFEST.encode()


def _open(data: bytes, label: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise VideoSourceError(f"frame archive is corrupt: {exc}", source=label) from exc


def _read_manifest(archive: zipfile.ZipFile, label: str) -> dict[str, Any]:
    try:
        info = archive.getinfo(MANIFEST)
        if info.file_size > _MAX_MANIFEST_BYTES:
            raise VideoSourceError(f"frame archive manifest is over {_MAX_MANIFEST_BYTES} bytes", source=label)
        manifest = json.loads(archive.read(info))
    except (KeyError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise VideoSourceError(f"frame archive has no readable {MANIFEST}: {exc}", source=label) from exc
    ints = ("num_frames", "width", "height", "version")
    ok = (
        isinstance(manifest, dict)
        and manifest.get("format") == FRAMES_CONTAINER
        and all(type(manifest.get(key)) is int and manifest[key] > 0 for key in ints)
        and isinstance(manifest.get("fps"), float)
        and math.isfinite(manifest["fps"])
        and manifest["fps"] > 0
        and isinstance(manifest.get("stored"), list)
        and all(type(i) is int and 0 <= i < manifest["num_frames"] for i in manifest["stored"])
    )
    if not ok:
        raise VideoSourceError(f"frame archive manifest is malformed: {str(manifest)[:200]}", source=label)
    if manifest["version"] != FRAMES_VERSION:
        raise VideoSourceError(f"frame archive version {manifest['version']} is not {FRAMES_VERSION}", source=label)
    return manifest


def archive_header(data: bytes, label: str) -> VideoHeader:
    """The header figures a frame archive's manifest states (no frame is decoded); members are checked
    to be exactly the stored frames, uncompressed (so no member can inflate past the archive's size)."""
    from .video_probe import VideoHeader

    with _open(data, label) as archive:
        manifest = _read_manifest(archive, label)
        members = [info.filename for info in archive.infolist()]
        expected = [MANIFEST, *(_member(i) for i in manifest["stored"])]
        if members != expected or any(info.compress_type != zipfile.ZIP_STORED for info in archive.infolist()):
            raise VideoSourceError("frame archive members are not its manifest's stored frames", source=label)
    return VideoHeader(
        num_frames=manifest["num_frames"],
        average_fps=manifest["fps"],
        duration=manifest["num_frames"] / manifest["fps"],
        width=manifest["width"],
        height=manifest["height"],
        codec="png",
        container=FRAMES_CONTAINER,
    )


def stored_indices(data: bytes, label: str) -> tuple[int, ...]:
    """The frame indices a frame archive holds."""
    with _open(data, label) as archive:
        return tuple(_read_manifest(archive, label)["stored"])


def check_archived(video: LoadedVideo, indices: Sequence[int]) -> None:
    """A frame archive must hold every frame ``indices`` names: it stores only those its render sampled,
    so re-rendering it (or a ref to it) with other sampling options is refused before anything is stored."""
    from .video_probe import VideoBytes

    if not isinstance(video, VideoBytes) or video.header.container != FRAMES_CONTAINER:
        return  # a local file is probed as an archive only after it is read into memory
    label = video.label
    stored = stored_indices(video.data, label)
    missing = sorted(set(indices) - set(stored))
    if missing:
        raise VideoSourceError(
            f"frame archive stores frames {list(stored)} only, not {missing[:5]}: it was sampled with other "
            "options; render the original frames instead",
            source=label,
        )


def archive_frames(video: VideoBytes, indices: Sequence[int]) -> np.ndarray:
    """The archived frames at ``indices`` as ``(N, H, W, 3)`` uint8 RGB, each checked against the manifest's size."""
    import numpy as np
    from PIL import Image

    label = video.label
    decoded: dict[int, np.ndarray] = {}
    with _open(video.data, label) as archive:
        stored = set(_read_manifest(archive, label)["stored"])
        for index in indices:
            if index in decoded:
                continue
            if index not in stored:
                raise VideoSourceError(f"frame archive holds no frame {index}", source=label)
            try:
                with Image.open(io.BytesIO(archive.read(_member(index))), formats=["PNG"]) as image:
                    pixels = np.asarray(image.convert("RGB"))
            except (OSError, ValueError, zipfile.BadZipFile) as exc:
                raise VideoSourceError(f"frame {index} of the archive does not decode: {exc}", source=label) from exc
            if pixels.shape != (video.header.height, video.header.width, 3):
                raise VideoSourceError(
                    f"frame {index} is {pixels.shape[1]}x{pixels.shape[0]}, the manifest says "
                    f"{video.header.width}x{video.header.height}",
                    source=label,
                )
            decoded[index] = pixels
    return np.stack([decoded[i] for i in indices])
