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

from PIL import ExifTags, Image, PngImagePlugin

#: Orientations 5-8 rotate by 90 degrees: the displayed width is the stored height.
SWAPPING = frozenset({5, 6, 7, 8})
#: PNG chunks whose contents Pillow merges into ``info`` and that can carry EXIF or XMP.
_PNG_METADATA_CHUNKS = (b"eXIf", b"tEXt", b"zTXt", b"iTXt")


def _png_trailing_metadata(img: Image.Image) -> None:
    """Add the metadata chunks that follow the image data to ``img.info``, as ``load()`` would.

    Pillow's ``Image.open`` stops at the first IDAT; its ``load()`` reads the chunks after it
    while decoding. Here the IDAT/fdAT payloads are skipped by their declared length instead.
    """
    fp = img.fp
    if fp is None:
        return
    fp.seek(8)
    stream = PngImagePlugin.PngStream(fp)
    stream.im_info = img.info  # the chunk handlers write into this dict
    try:
        while True:
            cid, pos, length = stream.read()
            if cid == b"IEND":
                break
            if cid in _PNG_METADATA_CHUNKS:
                stream.call(cid, pos, length)
            else:
                fp.seek(length, io.SEEK_CUR)
            fp.seek(4, io.SEEK_CUR)  # CRC
    except (struct.error, SyntaxError, EOFError, ValueError, UnicodeDecodeError):
        pass  # Pillow's own reader stops at the same kinds of damage and keeps what it has


def exif_orientation(img: Image.Image) -> int:
    """Orientation 1-8 of a lazily opened image (1 when absent or out of range); never decodes pixels."""
    if isinstance(img, PngImagePlugin.PngImageFile):
        _png_trailing_metadata(img)
        # PngImageFile.getexif() would call load() (decode) when no eXIf was seen; the base
        # implementation reads only ``info``, which now holds everything load() would add.
        exif = Image.Image.getexif(img)
    else:
        exif = img.getexif()
    value = exif.get(ExifTags.Base.Orientation, 1)
    # exif_transpose looks the raw value up in a dict of ints; anything else means "no transpose".
    return value if type(value) is int and 1 <= value <= 8 else 1


def displayed_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """(width, height) after the orientation is applied."""
    return (height, width) if orientation in SWAPPING else (width, height)
