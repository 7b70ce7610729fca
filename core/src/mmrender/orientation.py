"""EXIF orientation read from an image's header, so layouts see the size consumers display.

transformers' ``load_image`` and vLLM's image loader both apply ``ImageOps.exif_transpose``, so a
phone photo stored 1600x1200 with orientation 6 reaches the model as 1200x1600. This module finds
the same orientation Pillow's ``exif_transpose`` uses (EXIF tag 0x0112, else XMP
``tiff:Orientation``) without decoding pixels: JPEG, WebP and the PNG chunks before the image data
are parsed by ``Image.open``; every PNG chunk (some writers put ``eXIf`` after the image data) is
walked by length, skipping the compressed pixels unread.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

from PIL import ExifTags, Image, PngImagePlugin

#: ``read_at(offset, size)``: up to ``size`` bytes of the image from ``offset`` (fewer at its end).
ReadAt = Callable[[int, int], bytes]

#: Orientations 5-8 rotate by 90 degrees: the displayed width is the stored height.
SWAPPING = frozenset({5, 6, 7, 8})
#: PNG chunks whose contents Pillow merges into ``info`` and that can carry EXIF or XMP.
_PNG_METADATA_CHUNKS = (b"eXIf", b"tEXt", b"zTXt", b"iTXt")


def _png_trailing_metadata(img: Image.Image, read_at: ReadAt, size: int) -> None:
    """Add the metadata chunks that follow the image data to ``img.info``, as ``load()`` would.

    Pillow's ``Image.open`` stops at the first IDAT; its ``load()`` reads the chunks after it
    while decoding. Here every chunk is stepped over by its declared length (the compressed pixels
    are never read) and only the metadata chunks go through Pillow's own chunk handlers; ``read_at``
    lets a header-only read fetch just the chunk headers from a file.
    """
    stream = PngImagePlugin.PngStream(io.BytesIO(b""))
    stream.im_info = img.info  # the chunk handlers write into this dict
    pos, seen_image_data = 8, False
    while pos + 8 <= size:
        head = read_at(pos, 8)
        if len(head) < 8:
            break
        length, cid = struct.unpack(">I4s", head)
        if cid == b"IEND" or not PngImagePlugin.is_cid(cid) or (cid == b"fcTL" and seen_image_data):
            break  # where Pillow's reader stops too (an APNG's next frame starts at its fcTL)
        seen_image_data = seen_image_data or cid == b"IDAT"
        if cid in _PNG_METADATA_CHUNKS:
            stream.fp = io.BytesIO(read_at(pos + 8, length))
            try:
                stream.call(cid, 0, length)
            except (struct.error, SyntaxError, EOFError, OSError, ValueError, UnicodeDecodeError):
                break  # damaged metadata: Pillow's reader stops here and keeps what it has
        pos += 12 + length


def exif_orientation(img: Image.Image, data: bytes, read_at: ReadAt | None = None, size: int | None = None) -> int:
    """Orientation 1-8 of an image lazily opened from ``data`` (1 when absent); never decodes pixels.

    ``data`` may be a prefix of a file of ``size`` bytes whose other bytes ``read_at`` returns.
    """
    if isinstance(img, PngImagePlugin.PngImageFile):
        _png_trailing_metadata(img, read_at or _slicer(data), len(data) if size is None else size)
        # PngImageFile.getexif() would call load() (decode) when no eXIf was seen; the base
        # implementation reads only ``info``, which now holds everything load() would add.
        exif = Image.Image.getexif(img)
    else:
        exif = img.getexif()
    value = exif.get(ExifTags.Base.Orientation, 1)
    # exif_transpose looks the raw value up in a dict of ints; anything else means "no transpose".
    return value if type(value) is int and 1 <= value <= 8 else 1


def _slicer(data: bytes) -> ReadAt:
    return lambda offset, size: data[offset : offset + size]


def displayed_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """(width, height) after the orientation is applied."""
    return (height, width) if orientation in SWAPPING else (width, height)
