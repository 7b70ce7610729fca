"""Request bodies for the consumers: prime-rl style ``/inference/v1/generate`` (wire A)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import RefError, WireValidationError
from .placeholders import check_placeholders
from .refs import dump
from .refs import parse as parse_ref
from .types import MultiModalData, RawMMItem, RawMMRef, RenderedTokens


def _features(data: MultiModalData, run_id: str | None) -> dict[str, dict[str, list[Any]]]:
    hashes: dict[str, list[str]] = {}
    places: dict[str, list[dict[str, int]]] = {}
    kwargs: dict[str, list[str]] = {}
    present = [sorted(m for m, v in d.items() if v) for d in (data.mm_hashes, data.mm_placeholders, data.mm_items)]
    if not present[0] == present[1] == present[2]:  # else placeholders without hashes would be dropped silently
        raise WireValidationError(f"modality keys differ across mm_hashes, mm_placeholders, mm_items: {present}")
    for modality, mm_hashes in data.mm_hashes.items():
        items = data.mm_items.get(modality, ())
        ranges = data.mm_placeholders.get(modality, ())
        if not (len(mm_hashes) == len(items) == len(ranges)):
            raise WireValidationError(
                f"modality {modality!r}: {len(mm_hashes)} hashes, {len(ranges)} placeholders, {len(items)} items"
            )
        for mm_hash, rng, item in zip(mm_hashes, ranges, items, strict=True):
            if not isinstance(item, RawMMItem):
                raise WireValidationError(
                    f"modality {modality!r}: item for {mm_hash} is {type(item).__name__}, wire A needs raw refs "
                    f"(render with multimodal_output='raw')"
                )
            key = item.vllm_modality or modality
            hashes.setdefault(key, []).append(mm_hash)
            places.setdefault(key, []).append({"offset": rng.offset, "length": rng.length})
            kwargs.setdefault(key, []).append(dump(RawMMRef.from_item(item, mm_hash, run_id)))
    return {"mm_hashes": hashes, "mm_placeholders": places, "kwargs_data": kwargs}


def _check_ref(modality: str, index: int, text: Any, mm_hashes: Sequence[Any]) -> None:
    """``kwargs_data`` entries must parse with the installed ref codecs and name their own ``mm_hash``."""
    try:
        ref = parse_ref(text)
    except RefError as exc:
        raise WireValidationError(f"modality {modality!r} item {index}: kwargs_data is not a valid ref: {exc}") from exc
    if index < len(mm_hashes) and ref.mm_hash != mm_hashes[index]:
        raise WireValidationError(
            f"modality {modality!r} item {index}: the ref names mm_hash {ref.mm_hash}, mm_hashes says {mm_hashes[index]}"
        )


def validate_features(
    token_ids: Sequence[int],
    features: Mapping[str, Mapping[str, Sequence[Any]]],
    *,
    placeholder_ids: Iterable[int] = (),
) -> None:
    """Apply vLLM's checks (same modality keys, parallel lengths, sorted, non-overlapping, in range),
    parse every ref, and refuse placeholder ids (``placeholder_ids`` and each range's first id) outside
    every range."""
    _validate(token_ids, features, placeholder_ids, parse_refs=True)


def _validate(
    token_ids: Sequence[int],
    features: Mapping[str, Mapping[str, Sequence[Any]]],
    placeholder_ids: Iterable[int],
    *,
    parse_refs: bool,
) -> None:
    """``validate_features``; ``parse_refs=False`` for refs just dumped from validated items (an inline
    ``data:`` ref is the whole image, so parsing it again would cost more than the rest of the body)."""
    keys = [set(features[name]) for name in ("mm_hashes", "mm_placeholders", "kwargs_data")]
    if not keys[0] == keys[1] == keys[2]:
        raise WireValidationError(f"modality keys differ across features: {[sorted(k) for k in keys]}")
    spans = []
    for modality in keys[0]:
        n = {len(features[name][modality]) for name in ("mm_hashes", "mm_placeholders", "kwargs_data")}
        if len(n) != 1:
            raise WireValidationError(f"modality {modality!r}: feature lists have different lengths")
        for i, p in enumerate(features["mm_placeholders"][modality]):
            ref = features["kwargs_data"][modality][i]
            if ref is None:
                raise WireValidationError(f"modality {modality!r} item {i}: a ref is None (never send a cached slot)")
            if parse_refs:
                _check_ref(modality, i, ref, features["mm_hashes"][modality])
            if p["length"] <= 0 or p["offset"] < 0 or p["offset"] + p["length"] > len(token_ids):
                raise WireValidationError(f"modality {modality!r} item {i}: placeholder {p} outside token_ids")
            spans.append((p["offset"], p["offset"] + p["length"], modality, i))
        offsets = [p["offset"] for p in features["mm_placeholders"][modality]]
        if offsets != sorted(offsets):
            raise WireValidationError(f"modality {modality!r}: placeholders are not sorted")
    spans.sort()
    for (_, end, m1, i1), (start, _, m2, i2) in itertools.pairwise(spans):
        if start < end:
            raise WireValidationError(f"placeholders overlap: {m1}[{i1}] and {m2}[{i2}]")
    check_placeholders(token_ids, [(start, end) for start, end, _, _ in spans], placeholder_ids, what="token_ids")


def generate_request(
    rendered: RenderedTokens,
    *,
    sampling_params: Mapping[str, Any] | None = None,
    model: str | None = None,
    run_id: str | None = None,
    placeholder_ids: Iterable[int] = (),
) -> dict[str, Any]:
    """The body of ``POST /inference/v1/generate``: every image carries its full ref, every turn.

    Placeholder ids (``rendered.placeholder_ids``, ``placeholder_ids`` and each range's first id)
    outside every sidecar range raise ``UnbackedPlaceholderError``: pads without features.
    """
    features = _features(rendered.multi_modal_data, run_id)
    token_ids = list(rendered.token_ids)
    _validate(token_ids, features, rendered.placeholder_ids.union(placeholder_ids), parse_refs=False)
    body: dict[str, Any] = {"token_ids": token_ids, "sampling_params": dict(sampling_params or {})}
    if model is not None:
        body["model"] = model
    if features["mm_hashes"]:
        body["features"] = features
    return body


def unexpanded_ids(rendered: RenderedTokens) -> list[int]:
    """Collapse each placeholder run to its first id: the prompt a stock server expands itself."""
    ranges = sorted(
        (rng for ranges in rendered.multi_modal_data.mm_placeholders.values() for rng in ranges),
        key=lambda r: r.offset,
    )
    ids, cursor = [], 0
    for rng in ranges:
        ids.extend(rendered.token_ids[cursor : rng.offset + 1])
        cursor = rng.offset + rng.length
    ids.extend(rendered.token_ids[cursor:])
    return ids


def vllm_prompt_request(
    rendered: RenderedTokens,
    *,
    model: str,
    sampling_params: Mapping[str, Any] | None = None,
    placeholder_ids: Iterable[int] = (),
) -> dict[str, Any]:
    """Wire B, stock vLLM: unexpanded ids + ``content_parts`` (url, uuid = mm_hash) + ``return_token_ids``.

    The server expands the placeholders itself; compare its returned prompt ids with
    ``rendered.token_ids`` to prove both sides agree. Placeholder ids outside every sidecar range
    raise ``UnbackedPlaceholderError``, as for wire A.
    """
    rendered.check_placeholders(placeholder_ids, what="token_ids")
    data = rendered.multi_modal_data
    parts: list[tuple[int, dict[str, str]]] = []
    for modality, items in data.mm_items.items():
        for mm_hash, rng, item in zip(data.mm_hashes[modality], data.mm_placeholders[modality], items, strict=True):
            if not isinstance(item, RawMMItem) or item.raw_uri is None:
                raise WireValidationError(f"modality {modality!r}: item {mm_hash} has no raw_uri to send as a URL")
            parts.append((rng.offset, {"type": "image_url", "url": item.raw_uri, "uuid": mm_hash}))
    parts.sort(key=lambda p: p[0])
    return {
        "model": model,
        "prompt": unexpanded_ids(rendered),
        "content_parts": [p for _, p in parts],
        "return_token_ids": True,
        **dict(sampling_params or {}),
    }
