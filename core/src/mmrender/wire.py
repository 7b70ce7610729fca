"""Request bodies for ``POST /inference/v1/generate``: prime-rl style refs (wire A) and stock vLLM raw media (wire B)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from .errors import RefError, ServerEchoMismatchError, WireValidationError
from .generate_checks import Spans, check_body, check_features, validate_generate_request
from .placeholders import check_placeholders
from .refs import dump
from .refs import parse as parse_ref
from .types import MultiModalData, PlaceholderRange, RawMMItem, RawMMRef, RenderedTokens

__all__ = [
    "VLLM_URL_SCHEMES",
    "check_server_echo",
    "generate_request",
    "unexpanded_ids",
    "validate_features",
    "validate_generate_request",
    "vllm_prompt_request",
]

#: URL schemes vLLM's media connector fetches itself (``file`` only under ``--allowed-local-media-path``).
VLLM_URL_SCHEMES = frozenset({"data", "http", "https", "file"})

#: One sidecar entry, grouped under the modality name vLLM uses: ``(modality, mm_hash, range, item)``.
_Entry = tuple[str, str, PlaceholderRange, Any]


def _by_vllm_modality(data: MultiModalData) -> dict[str, list[_Entry]]:
    """The sidecar's entries under vLLM's modality names (``vllm_modality`` when set), in stream order.

    Two sidecar modalities may map to one vLLM modality (Kimi's images and videos both become
    ``vision_chunk``); vLLM wants each modality's placeholders sorted, so entries are ordered by offset.
    """
    present = [sorted(m for m, v in d.items() if v) for d in (data.mm_hashes, data.mm_placeholders, data.mm_items)]
    if not present[0] == present[1] == present[2]:  # else placeholders without hashes would be dropped silently
        raise WireValidationError(f"modality keys differ across mm_hashes, mm_placeholders, mm_items: {present}")
    grouped: dict[str, list[_Entry]] = {}
    for modality, mm_hashes in data.mm_hashes.items():
        items = data.mm_items.get(modality, ())
        ranges = data.mm_placeholders.get(modality, ())
        if not (len(mm_hashes) == len(items) == len(ranges)):
            raise WireValidationError(
                f"modality {modality!r}: {len(mm_hashes)} hashes, {len(ranges)} placeholders, {len(items)} items"
            )
        offsets = [rng.offset for rng in ranges]
        if offsets != sorted(offsets):  # a sidecar is in stream order; merging below must not hide that
            raise WireValidationError(f"modality {modality!r}: placeholders are not sorted: {offsets}")
        for mm_hash, rng, item in zip(mm_hashes, ranges, items, strict=True):
            key = getattr(item, "vllm_modality", None) or modality
            grouped.setdefault(key, []).append((modality, mm_hash, rng, item))
    for entries in grouped.values():
        entries.sort(key=lambda entry: entry[2].offset)  # stable: only interleaves the merged modalities
    return grouped


def _placeholders(grouped: Mapping[str, Sequence[_Entry]]) -> dict[str, list[dict[str, int]]]:
    return {key: [{"offset": r.offset, "length": r.length} for _, _, r, _ in es] for key, es in grouped.items()}


def _features(data: MultiModalData, run_id: str | None) -> dict[str, dict[str, list[Any]]]:
    grouped = _by_vllm_modality(data)
    for entries in grouped.values():
        for modality, mm_hash, _, item in entries:
            if not isinstance(item, RawMMItem):
                raise WireValidationError(
                    f"modality {modality!r}: item for {mm_hash} is {type(item).__name__}, wire A needs raw refs "
                    f"(render with multimodal_output='raw')"
                )
    return {
        "mm_hashes": {key: [h for _, h, _, _ in es] for key, es in grouped.items()},
        "mm_placeholders": _placeholders(grouped),
        "kwargs_data": {
            key: [dump(RawMMRef.from_item(item, h, run_id)) for _, h, _, item in es] for key, es in grouped.items()
        },
    }


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
    _check_refs(token_ids, features, check_features(token_ids, features), placeholder_ids, parse_refs=True)


def _check_refs(
    token_ids: Sequence[int],
    features: Mapping[str, Any] | None,
    spans: Spans,
    placeholder_ids: Iterable[int],
    *,
    parse_refs: bool,
) -> None:
    """Wire A's rules on top of vLLM's: a full ref for every item, and no placeholder id outside every range.

    ``parse_refs=False`` for refs just dumped from validated items (an inline ``data:`` ref is the
    whole image, so parsing it again would cost more than the rest of the body).
    """
    if features is not None:
        kwargs = features.get("kwargs_data")
        if kwargs is None:
            raise WireValidationError(
                "features.kwargs_data is null: wire A sends every image's ref (never a cache hit)"
            )
        for modality, refs in kwargs.items():
            for i, ref in enumerate(refs):
                if ref is None:
                    raise WireValidationError(
                        f"modality {modality!r} item {i}: a ref is None (never send a cached slot)"
                    )
                if parse_refs:
                    _check_ref(modality, i, ref, features["mm_hashes"][modality])
    # a video range opens with timestamp text, so only other ranges name a placeholder by their first id
    keyed = {token_ids[start] for start, end, modality, _ in spans if modality != "video" and start < end}
    declared = keyed.union(placeholder_ids)
    check_placeholders(token_ids, [(start, end) for start, end, _, _ in spans], declared, what="token_ids", keyed=False)


def generate_request(
    rendered: RenderedTokens,
    *,
    sampling_params: Mapping[str, Any] | None = None,
    model: str | None = None,
    run_id: str | None = None,
    placeholder_ids: Iterable[int] = (),
) -> dict[str, Any]:
    """Wire A, the body of ``POST /inference/v1/generate``: every image carries its full ref, every turn.

    Placeholder ids (``rendered.placeholder_ids``, ``placeholder_ids`` and each range's first id)
    outside every sidecar range raise ``UnbackedPlaceholderError``: pads without features.
    """
    features = _features(rendered.multi_modal_data, run_id)
    token_ids = list(rendered.token_ids)
    body: dict[str, Any] = {"token_ids": token_ids, "sampling_params": dict(sampling_params or {})}
    if model is not None:
        body["model"] = model
    if features["mm_hashes"]:
        body["features"] = features
    spans = check_body(body)
    _check_refs(
        token_ids, body.get("features"), spans, rendered.placeholder_ids.union(placeholder_ids), parse_refs=False
    )
    return body


def unexpanded_ids(rendered: RenderedTokens) -> list[int]:
    """Collapse each placeholder run to its first id: the prompt a chat-style server expands itself."""
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


def _content_part(modality: str, index: int, mm_hash: str, item: Any, url_schemes: frozenset[str]) -> dict[str, str]:
    """One flat raw-media part (vLLM PR 51478): ``{"type": "<modality>_url", "url": raw_uri, "uuid": mm_hash}``."""
    where = f"modality {modality!r} item {index} ({mm_hash})"
    if not isinstance(item, RawMMItem):
        raise WireValidationError(f"{where} is {type(item).__name__}: wire B needs raw items (multimodal_output='raw')")
    if item.raw_uri is None:
        raise WireValidationError(
            f"{where} has only a raw_image_id, no raw_uri: wire B sends a URL the server fetches "
            f"(render with a store whose raw_uri the server can read, or an inline data: store)"
        )
    scheme = urlsplit(item.raw_uri).scheme.lower()
    if scheme not in url_schemes:
        raise WireValidationError(
            f"{where}: vLLM cannot fetch a {scheme or 'scheme-less'}:// raw_uri (it fetches {sorted(url_schemes)}); "
            f"use an inline data: store or one served over http(s), or widen url_schemes for a custom media connector"
        )
    return {"type": f"{item.modality}_url", "url": item.raw_uri, "uuid": mm_hash}


def vllm_prompt_request(
    rendered: RenderedTokens,
    *,
    sampling_params: Mapping[str, Any] | None = None,
    model: str | None = None,
    placeholder_ids: Iterable[int] = (),
    url_schemes: Iterable[str] = VLLM_URL_SCHEMES,
) -> dict[str, Any]:
    """Wire B, stock vLLM ≥ 0.33 ``/inference/v1/generate`` with raw media (PR 51478).

    The expanded ``token_ids`` (vLLM detects them as expanded), one flat ``content_parts`` entry per
    image in token order (``url`` = ``raw_uri``, ``uuid`` = ``mm_hash``) and ``return_token_ids`` so
    :func:`check_server_echo` can prove the server expanded them as we did. Placeholder ids outside
    every sidecar range raise ``UnbackedPlaceholderError``, as for wire A.
    """
    schemes = frozenset(s.lower() for s in url_schemes)
    grouped = _by_vllm_modality(rendered.multi_modal_data)
    token_ids = list(rendered.token_ids)
    spans = check_features(
        token_ids,
        {
            "mm_hashes": {k: [h for _, h, _, _ in es] for k, es in grouped.items()},
            "mm_placeholders": _placeholders(grouped),
        },
    )
    rendered.check_placeholders(placeholder_ids, what="token_ids")
    entries = {(key, i): entry for key, es in grouped.items() for i, entry in enumerate(es)}
    parts = []
    for _, _, key, i in spans:  # token order across modalities
        modality, mm_hash, _, item = entries[key, i]
        parts.append(_content_part(modality, i, mm_hash, item, schemes))
    body: dict[str, Any] = {"token_ids": token_ids, "sampling_params": dict(sampling_params or {})}
    if model is not None:
        body["model"] = model
    if parts:
        body["content_parts"] = parts
    body["return_token_ids"] = True
    validate_generate_request(body)
    return body


def check_server_echo(rendered: RenderedTokens, response: Mapping[str, Any]) -> None:
    """Compare a ``return_token_ids`` response's ``prompt_token_ids`` and ``mm_placeholders`` with ours.

    ``response`` is the decoded JSON of a ``/inference/v1/generate`` response (or a stream's first
    chunk). Raises ``ServerEchoMismatchError`` naming the first differing token position (both ids)
    or the first differing placeholder (vLLM modality, index, ours vs theirs).
    """
    if not isinstance(response, Mapping):
        raise WireValidationError(f"a generate response is a JSON object, got {type(response).__name__}")
    theirs = response.get("prompt_token_ids")
    if theirs is None:
        raise ServerEchoMismatchError(
            "the response has no prompt_token_ids: send return_token_ids: true (vLLM ≥ 0.33 /inference/v1/generate)",
            field="prompt_token_ids",
            ours=len(rendered.token_ids),
            theirs=None,
        )
    if not isinstance(theirs, Sequence) or isinstance(theirs, str | bytes):
        raise ServerEchoMismatchError(
            f"the response's prompt_token_ids is {type(theirs).__name__}, not a list of ids",
            field="prompt_token_ids",
            ours=len(rendered.token_ids),
            theirs=theirs,
        )
    _compare_ids(list(rendered.token_ids), list(theirs))
    ours = _placeholders(_by_vllm_modality(rendered.multi_modal_data))
    echoed = response.get("mm_placeholders")
    if echoed is None and ours:
        raise ServerEchoMismatchError(
            "the response has no mm_placeholders though the prompt has images: send return_token_ids: true",
            field="mm_placeholders",
            ours=ours,
            theirs=None,
        )
    if not isinstance(echoed or {}, Mapping):
        raise ServerEchoMismatchError(
            f"the response's mm_placeholders is {type(echoed).__name__}, not an object",
            field="mm_placeholders",
            ours=ours,
            theirs=echoed,
        )
    _compare_placeholders(ours, {k: list(v) for k, v in (echoed or {}).items() if v})


def _compare_ids(ours: list[int], theirs: list[int]) -> None:
    if ours == theirs:
        return
    position = next(
        (i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), min(len(ours), len(theirs))
    )
    mine = ours[position] if position < len(ours) else None
    other = theirs[position] if position < len(theirs) else None
    raise ServerEchoMismatchError(
        f"prompt_token_ids differ first at position {position}: ours {mine}, the server's {other} "
        f"({len(ours)} ids vs {len(theirs)})",
        field="prompt_token_ids",
        position=position,
        ours=mine,
        theirs=other,
    )


def _compare_placeholders(ours: Mapping[str, list[dict[str, int]]], theirs: Mapping[str, list[Any]]) -> None:
    for modality in sorted(set(ours) | set(theirs)):
        mine, other = ours.get(modality, []), theirs.get(modality, [])
        for index in range(max(len(mine), len(other))):
            a = mine[index] if index < len(mine) else None
            b = other[index] if index < len(other) else None
            if isinstance(b, Mapping):
                b = {"offset": b.get("offset"), "length": b.get("length")}
            if a != b:
                raise ServerEchoMismatchError(
                    f"mm_placeholders differ first at {modality!r} item {index}: ours {a}, the server's {b}",
                    field="mm_placeholders",
                    modality=modality,
                    index=index,
                    ours=a,
                    theirs=b,
                )
