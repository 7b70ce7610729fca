"""What a render accumulates: ids, their owners and the images and videos spliced in, in stream order."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, wait
from typing import TYPE_CHECKING, Any

import attrs

from .types import ImageLayout, MultiModalData, PlaceholderRange, RenderedTokens

if TYPE_CHECKING:
    from .video import VideoLayout

__all__ = ["PreparedImage", "PreparedVideo", "TokenBuffer"]


@attrs.frozen
class PreparedImage:
    """An image ready to splice: its hash, layout and the ``mm_items`` entry.

    ``item`` is a ``Future`` of the entry while the store writes the asset in the background;
    :meth:`TokenBuffer.result` waits for it, so no rendered result names an asset not yet stored.
    """

    mm_hash: str
    layout: ImageLayout
    item: Any


@attrs.frozen
class PreparedVideo:
    """A video ready to splice: its hash, header-only layout and raw ``mm_items`` entry (already stored)."""

    mm_hash: str
    layout: VideoLayout
    item: Any


def _settled_items(images: Sequence[PreparedImage]) -> list[Any]:
    """Every image's ``mm_items`` entry; background puts are all awaited, then the first failure raised."""
    pending = [image.item for image in images if isinstance(image.item, Future)]
    if pending:
        wait(pending)
    return [image.item.result() if isinstance(image.item, Future) else image.item for image in images]


class TokenBuffer:
    """Accumulates ids, their message indices and image placeholder ranges in stream order."""

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset
        self.ids: list[int] = []
        self.owners: list[int] = []
        self.images: list[tuple[PreparedImage | PreparedVideo, PlaceholderRange]] = []

    def add(self, ids: Sequence[int], message_index: int = -1) -> None:
        self.ids.extend(ids)
        self.owners.extend([message_index] * len(ids))

    def add_image(self, image: PreparedImage, placeholder_id: int, message_index: int) -> None:
        """Append the layout's placeholder ids and record their absolute range."""
        n = image.layout.num_placeholders
        rng = PlaceholderRange(self.offset + len(self.ids), n)
        self.add([placeholder_id] * n, message_index)
        self.images.append((image, rng))

    def add_video(self, video: PreparedVideo, expansion: Sequence[int], message_index: int) -> None:
        """Append a video's whole expansion (timestamps and markers too) as one range, as vLLM's ``from_seq`` does."""
        rng = PlaceholderRange(self.offset + len(self.ids), len(expansion))
        self.add(expansion, message_index)
        self.images.append((video, rng))

    def multi_modal_data(self) -> MultiModalData:
        if not self.images:  # a text-only render: nothing to settle or group
            return MultiModalData()
        hashes: dict[str, list[str]] = {}
        places: dict[str, list[PlaceholderRange]] = {}
        items: dict[str, list[Any]] = {}
        settled = _settled_items([image for image, _ in self.images])
        for (image, rng), item in zip(self.images, settled, strict=True):
            key = image.layout.modality
            hashes.setdefault(key, []).append(image.mm_hash)
            places.setdefault(key, []).append(rng)
            items.setdefault(key, []).append(item)
        return MultiModalData(
            mm_hashes={k: tuple(v) for k, v in hashes.items()},
            mm_placeholders={k: tuple(v) for k, v in places.items()},
            mm_items={k: tuple(v) for k, v in items.items()},
        )

    def result(self) -> RenderedTokens:
        return RenderedTokens.trusted(tuple(self.ids), tuple(self.owners), self.multi_modal_data())
