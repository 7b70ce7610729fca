"""Bad video input gets a typed one-line error naming the source, and nothing is stored."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from mmrender.dispatch import read_uri
from mmrender.errors import ImageSourceError, VideoSourceError
from mmrender.video_probe import header_of, load_video, open_video


def _audio_only() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        samples = np.zeros((1, 16000), np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def _zero_frames() -> bytes:
    """A Matroska file whose video stream has no packets (an audio stream keeps the file openable)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as container:
        video = container.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        audio = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 16000), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in [*audio.encode(frame), *audio.encode()]:
            container.mux(packet)
    return buffer.getvalue()


def _cases(clip_paths: dict[str, Path]) -> dict[str, tuple[bytes, str]]:
    mp4 = clip_paths["issue_320x240_24fps_48"].read_bytes()
    return {
        "truncated": (mp4[: len(mp4) // 3], "not a readable video container|corrupt or truncated|no frames"),
        "corrupt": (
            b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40,
            "not a readable video container|no video stream",
        ),
        "not a video": (b"just some text, not a video at all\n" * 20, "not a readable video container"),
        "png": (
            base64.b64decode(
                "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
            ),
            "still image",
        ),
        "audio only": (_audio_only(), "no video stream \\(streams: audio\\)"),
        "zero frames": (_zero_frames(), "video stream has no frames"),
    }


@pytest.mark.parametrize("kind", ["truncated", "corrupt", "not a video", "png", "audio only", "zero frames"])
def test_bad_video_is_a_typed_one_line_error(kind: str, clip_paths: dict[str, Path], tmp_path: Path) -> None:
    data, pattern = _cases(clip_paths)[kind]
    path = tmp_path / "clip.bin"
    path.write_bytes(data)
    with pytest.raises(VideoSourceError, match=pattern) as caught:
        load_video(path)
    assert isinstance(caught.value, ImageSourceError)  # callers catching source errors catch videos too
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_missing_file_and_wrong_data_uri(tmp_path: Path) -> None:
    with pytest.raises(VideoSourceError, match="video file not found"):
        load_video(tmp_path / "nope.mp4")
    with pytest.raises(VideoSourceError, match="is not a video"):
        load_video("data:text/plain;base64,aGVsbG8=")


def test_data_uri_and_file_uri_and_bytes_agree(clip_paths: dict[str, Path]) -> None:
    path = clip_paths["issue_vp9_320x180"]
    data = path.read_bytes()
    uri = "data:video/webm;base64," + base64.b64encode(data).decode()
    headers = {load_video(s, read_uri=read_uri).header for s in (path, str(path), path.as_uri(), uri, data)}
    assert len(headers) == 1


@pytest.mark.parametrize("name", ["issue_320x240_24fps_48", "issue_vp9_320x180", "rotated_90"])
def test_header_is_read_without_opening_a_decoder(name: str, clip_paths: dict[str, Path]) -> None:
    """The scan only demuxes: the stream's codec context is never opened (no frame can have been decoded)."""
    data = clip_paths[name].read_bytes()
    with open_video(data, name) as container:
        header = header_of(container, data, name)
        assert header.num_frames > 0
        assert not container.streams.video[0].codec_context.is_open


def test_core_import_and_images_do_not_import_av() -> None:
    code = (
        "import sys, mmrender, mmrender.images, mmrender.materialize, mmrender.video;"
        "from mmrender.images import probe;"
        "assert 'av' not in sys.modules, 'av imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
