"""Wire and result objects: frozen attrs classes with one strict cattrs converter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import cattrs

from .placeholders import check_placeholders, placeholder_set

RAW_ITEM_KIND = "prime_raw_mm_item"
RAW_ITEM_VERSION = 1


def _tuple_of_ints(value: Any) -> tuple[int, ...]:
    return tuple(map(int, value))


@attrs.frozen
class PlaceholderRange:
    """Where one multimodal item's placeholder tokens sit in ``token_ids``."""

    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


@attrs.frozen
class ImageLayout:
    """An image's model-side geometry, computed from its dimensions alone.

    ``num_tokens`` is the number of embedding positions the vision tower produces;
    ``num_placeholders`` the number of placeholder ids the prompt carries for it
    (equal for Qwen, one for Kimi, whose server expands it later). ``params`` are the layout
    parameters whose fingerprint is ``fingerprint`` (None when the producer does not say); refs carry
    them when they differ from the family engine's defaults, so a consumer can re-check the layout.
    """

    family: str
    fingerprint: str
    grid: tuple[int, ...] = attrs.field(converter=_tuple_of_ints)
    num_tokens: int
    num_placeholders: int
    payload: Mapping[str, Any]
    resized: tuple[int, int] | None = None
    modality: str = "image"
    vllm_modality: str | None = None
    params: Mapping[str, Any] | None = None


@attrs.frozen
class RawMMItem:
    """The descriptor envelope that travels in ``mm_items`` in raw mode.

    ``layout_params`` is set only when the layout used other than its engine's default parameters.
    """

    modality: str
    family: str
    layout_fingerprint: str
    payload: Mapping[str, Any]
    kind: str = RAW_ITEM_KIND
    version: int = RAW_ITEM_VERSION
    vllm_modality: str | None = None
    raw_image_id: str | None = None
    raw_uri: str | None = None
    layout_params: Mapping[str, Any] | None = None


@attrs.frozen
class ProcessedMMItem:
    """Processor outputs (e.g. ``pixel_values``, ``image_grid_thw``) for one item.

    ``grid``: the grid the processor produced, flat (e.g. ``(1, 30, 40)``), declared by the family so
    core can check it against the header-only layout without knowing the processor's key names.
    """

    data: Mapping[str, Any]
    grid: tuple[int, ...] | None = None


@attrs.frozen
class RawMMRef:
    """Everything a consumer needs to fetch, verify and lay out one image.

    ``layout_params``: the parameters whose layout fingerprint is ``fingerprint``; absent (None)
    when they are the layout engine's defaults, so default refs stay byte-identical to older ones.
    """

    family: str
    fingerprint: str
    modality: str
    mm_hash: str
    payload: Mapping[str, Any]
    raw_image_id: str | None = None
    raw_uri: str | None = None
    run_id: str | None = None
    layout_params: Mapping[str, Any] | None = None

    @classmethod
    def from_item(cls, item: RawMMItem, mm_hash: str, run_id: str | None = None) -> RawMMRef:
        return cls(
            family=item.family,
            fingerprint=item.layout_fingerprint,
            modality=item.modality,
            mm_hash=mm_hash,
            payload=item.payload,
            raw_image_id=item.raw_image_id,
            raw_uri=item.raw_uri,
            run_id=run_id,
            layout_params=item.layout_params,
        )


@attrs.frozen
class MultiModalData:
    """Per modality, parallel lists of hashes, placeholder ranges and items, in stream order."""

    mm_hashes: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    mm_placeholders: Mapping[str, tuple[PlaceholderRange, ...]] = attrs.field(factory=dict)
    mm_items: Mapping[str, tuple[Any, ...]] = attrs.field(factory=dict)

    def __bool__(self) -> bool:
        return any(self.mm_hashes.values())

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.mm_hashes)

    def shifted(self, delta: int) -> MultiModalData:
        """Return a copy with every placeholder offset moved by ``delta``."""
        return MultiModalData(
            mm_hashes=dict(self.mm_hashes),
            mm_placeholders={
                m: tuple(PlaceholderRange(p.offset + delta, p.length) for p in ps)
                for m, ps in self.mm_placeholders.items()
            },
            mm_items=dict(self.mm_items),
        )


@attrs.frozen
class RenderedTokens:
    """A rendered prompt: ids, which message each id came from (-1 = scaffold), and its images.

    ``placeholder_ids`` are the ids the family writes only as image placeholders (stamped by the
    renderer), so the wire builders can refuse such ids that no sidecar range covers.
    ``placeholders_checked`` is True only on results a renderer checked itself; ``attrs.evolve`` and
    hand-built objects start unchecked, so a bridge from them scans the whole prefix again.
    """

    token_ids: tuple[int, ...] = attrs.field(converter=_tuple_of_ints)
    message_indices: tuple[int, ...] = attrs.field(converter=_tuple_of_ints)
    multi_modal_data: MultiModalData = attrs.field(factory=MultiModalData)
    placeholder_ids: frozenset[int] = attrs.field(default=frozenset(), converter=frozenset, eq=False)
    placeholders_checked: bool = attrs.field(default=False, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if len(self.token_ids) != len(self.message_indices):
            raise ValueError("token_ids and message_indices must have the same length")

    @classmethod
    def trusted(
        cls,
        token_ids: tuple[int, ...],
        message_indices: tuple[int, ...],
        multi_modal_data: MultiModalData,
        placeholder_ids: frozenset[int] = frozenset(),
        *,
        placeholders_checked: bool = False,
    ) -> RenderedTokens:
        """Build from tuples of Python ints without the per-id conversion.

        Renderers already hold exact ints (from the tokenizer or the caller's previous ids); skipping
        the Python-level loop keeps a bridge O(new tokens) instead of O(history).
        """
        if len(token_ids) != len(message_indices):
            raise ValueError("token_ids and message_indices must have the same length")
        obj = object.__new__(cls)
        object.__setattr__(obj, "token_ids", token_ids)
        object.__setattr__(obj, "message_indices", message_indices)
        object.__setattr__(obj, "multi_modal_data", multi_modal_data)
        object.__setattr__(obj, "placeholder_ids", frozenset(placeholder_ids))
        object.__setattr__(obj, "placeholders_checked", placeholders_checked)
        return obj

    def placeholder_spans(self) -> list[tuple[int, int]]:
        """Every sidecar range as ``(offset, end)``, all modalities."""
        return [(r.offset, r.end) for ranges in self.multi_modal_data.mm_placeholders.values() for r in ranges]

    def keyed_spans(self) -> list[tuple[int, int]]:
        """Ranges that start with their placeholder id: every modality but video, whose range opens with
        timestamp text (the renderer stamps the video pad id instead)."""
        return [
            (r.offset, r.end)
            for modality, ranges in self.multi_modal_data.mm_placeholders.items()
            if modality != "video"
            for r in ranges
        ]

    def check_placeholders(self, placeholder_ids: Iterable[int] = (), *, what: str = "prompt") -> None:
        """Raise ``UnbackedPlaceholderError`` when a placeholder id (``placeholder_ids``, the stamped ones
        or a keyed range's first id) lies outside every sidecar range."""
        declared = self.placeholder_ids.union(placeholder_ids)
        spans = self.placeholder_spans()
        if spans:  # with no range there is no range's first id to add
            declared = declared.union(placeholder_set(self.token_ids, self.keyed_spans()))
        check_placeholders(self.token_ids, spans, declared, what=what, keyed=False)

    def with_placeholder_ids(self, placeholder_ids: Iterable[int], *, checked: bool = False) -> RenderedTokens:
        """The same result stamped with (more) placeholder ids, ``checked`` or not; ids are shared, not copied."""
        ids = self.placeholder_ids.union(placeholder_ids)
        return RenderedTokens.trusted(
            self.token_ids, self.message_indices, self.multi_modal_data, ids, placeholders_checked=checked
        )


@attrs.frozen
class ToolCall:
    """One parsed or rendered tool call; ``arguments`` is a dict when it parsed as JSON."""

    name: str
    arguments: Any
    id: str | None = None


@attrs.frozen
class ParsedResponse:
    """A completion split at special-token boundaries."""

    content: str
    reasoning_content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    truncated: bool = False


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    # Optional envelope fields are left out rather than sent as null, as consumers expect.
    unstructure_item = conv.get_unstructure_hook(RawMMItem)
    conv.register_unstructure_hook(
        RawMMItem, lambda item: {k: v for k, v in unstructure_item(item).items() if v is not None}
    )
    return conv


#: The one converter used for every wire object; unknown keys are errors.
converter: cattrs.Converter = _make_converter()


def to_jsonable(obj: Any) -> Any:
    """Unstructure an attrs object (and anything nested) into JSON-ready values."""
    return converter.unstructure(obj)
