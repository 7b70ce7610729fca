"""The display rotation of an MP4/MOV track, read from its ``tkhd`` (and the ``mvhd``) matrix.

PyAV exposes no stream side data, and decoding a frame to read its rotation would break the
header-only promise; FFmpeg's mov demuxer builds the display matrix from exactly these two boxes
(``mov_read_tkhd``), and ``av_display_rotation_get`` turns it into the angle computed here.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

_CONTAINERS = {b"moov", b"trak"}


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in ``data[start:end]``; stops at a malformed one."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1 and pos + 16 <= end:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def _matrix(data: bytes, offset: int) -> list[list[float]]:
    """A 3x3 ISO-BMFF matrix: columns 0-1 are 16.16 fixed point, column 2 is 2.30."""
    raw = struct.unpack_from(">9i", data, offset)
    return [[raw[3 * i] / 65536, raw[3 * i + 1] / 65536, raw[3 * i + 2] / 2**30] for i in range(3)]


def _multiply(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def _rotation(m: list[list[float]]) -> float:
    """``av_display_rotation_get``: the counter-clockwise angle (degrees) that makes the picture upright."""
    scale0, scale1 = math.hypot(m[0][0], m[1][0]), math.hypot(m[0][1], m[1][1])
    if scale0 == 0 or scale1 == 0:
        return 0.0
    angle = -math.degrees(math.atan2(m[0][1] / scale1, m[0][0] / scale0))
    return angle + 0.0  # no -0.0


def mp4_display_rotation(data: bytes, track_id: int) -> float:
    """The display rotation of track ``track_id`` (0.0 when the file has no such track or matrix)."""
    movie = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for inner, istart, iend in _boxes(data, start, end):
            if inner == b"mvhd" and iend - istart >= 100:
                offset = istart + (48 if data[istart] == 1 else 36)
                if offset + 36 <= iend:
                    movie = _matrix(data, offset)
            elif inner == b"trak":
                for box, bstart, bend in _boxes(data, istart, iend):
                    if box != b"tkhd":
                        continue
                    version = data[bstart]
                    ident_at = bstart + (20 if version == 1 else 12)
                    offset = bstart + (32 if version == 1 else 20) + 4 + 16
                    if offset + 36 > bend or struct.unpack_from(">I", data, ident_at)[0] != track_id:
                        continue
                    return _rotation(_multiply(_matrix(data, offset), movie))
    return 0.0


def _top_level_moov(fh: BinaryIO, size: int) -> bytes:
    """The whole top-level ``moov`` box (header included) of an open file, read by seeking from box to box."""
    pos = 0
    while pos + 8 <= size:
        fh.seek(pos)
        head = fh.read(16)
        if len(head) < 8:
            return b""
        length, kind = struct.unpack_from(">I4s", head)
        if length == 1 and len(head) == 16:
            length = struct.unpack_from(">Q", head, 8)[0]
        elif length == 0:
            length = size - pos
        if length < 8 or pos + length > size:
            return b""
        if kind == b"moov":  # the sample tables: its size follows the frame count, not the bitrate
            fh.seek(pos)
            return fh.read(length)
        pos += length
    return b""


def mp4_file_display_rotation(path: str | os.PathLike[str], track_id: int) -> float:
    """:func:`mp4_display_rotation` of a file on disk: only its top-level box headers and ``moov`` are read."""
    with open(path, "rb") as fh:
        return mp4_display_rotation(_top_level_moov(fh, os.fstat(fh.fileno()).st_size), track_id)
