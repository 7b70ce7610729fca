"""Small test videos encoded with PyAV: every container, codec, size, rate and rotation the parity tests need."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import attrs


@attrs.frozen
class Clip:
    """One generated video: ``rate`` is frames per second (a Fraction for NTSC), ``rotation`` the display matrix."""

    name: str
    width: int
    height: int
    rate: Fraction
    frames: int
    codec: str = "libx264"
    suffix: str = ".mp4"
    rotation: int = 0
    colorspace: int = 0  # AVColorSpace: 0 unspecified, 1 BT.709
    color_range: int = 0  # AVColorRange: 0 unspecified, 2 full (PC)


#: The issue's examples first, then a sweep of sizes, rates, lengths and codecs.
CLIPS = (
    Clip("issue_320x240_24fps_48", 320, 240, Fraction(24), 48),
    Clip("issue_640x360_30fps_300", 640, 360, Fraction(30), 300),
    Clip("issue_portrait_240x426", 240, 426, Fraction(30), 90),
    Clip("issue_short_8fps_6", 160, 128, Fraction(8), 6),
    Clip("issue_vp9_320x180", 320, 180, Fraction(25), 80, codec="libvpx-vp9", suffix=".webm"),
    Clip("ntsc_29_97", 352, 240, Fraction(30000, 1001), 61),
    Clip("odd_size_333x187", 334, 188, Fraction(15), 23),
    Clip("fewer_than_min_frames", 160, 120, Fraction(10), 3),
    Clip("rotated_90", 320, 240, Fraction(24), 20, rotation=90),
    Clip("rotated_270", 320, 240, Fraction(24), 20, rotation=-90),
    Clip("rotated_180", 256, 144, Fraction(24), 12, rotation=180),
    Clip("tiny_48x32", 48, 32, Fraction(12), 14),
    Clip("long_low_fps", 128, 96, Fraction(5), 300),
    Clip("vp9_odd_rate", 200, 150, Fraction(12), 31, codec="libvpx-vp9", suffix=".webm"),
    Clip("wide_1280x160", 1280, 160, Fraction(20), 30),
    Clip("two_frames", 96, 64, Fraction(2), 2),
    Clip("bt709_full_range", 160, 120, Fraction(24), 10, colorspace=1, color_range=2),
)


def _pixels(clip: Clip, index: int) -> object:
    import numpy as np

    y, x = np.mgrid[0 : clip.height, 0 : clip.width]
    frame = np.empty((clip.height, clip.width, 3), np.uint8)
    frame[..., 0] = (x * 255 // max(clip.width - 1, 1) + index * 9) % 256
    frame[..., 1] = (y * 255 // max(clip.height - 1, 1)) % 256
    frame[..., 2] = ((x // 8 + y // 8 + index) % 2) * 200
    return frame


def encode(clip: Clip, directory: Path) -> Path:
    """Write ``clip`` under ``directory`` (yuv420p; H.264 in MP4 or VP9 in WebM) and return its path."""
    import av

    path = directory / f"{clip.name}{clip.suffix}"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(clip.codec, rate=clip.rate)
        stream.width, stream.height, stream.pix_fmt = clip.width, clip.height, "yuv420p"
        if clip.codec == "libvpx-vp9":
            stream.options = {"deadline": "realtime", "cpu-used": "8"}
        else:
            stream.options = {"preset": "ultrafast"}
        if clip.colorspace:
            stream.codec_context.colorspace = clip.colorspace
            stream.codec_context.color_primaries = clip.colorspace
            stream.codec_context.color_trc = clip.colorspace
        if clip.color_range:
            stream.codec_context.color_range = clip.color_range
        if clip.rotation:
            stream.set_display_rotation(clip.rotation)
        for index in range(clip.frames):
            frame = av.VideoFrame.from_ndarray(_pixels(clip, index), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
