"""vLLM 0.33's ``GenerateRequest`` rules that its JSON Schema cannot carry (its model validators), as typed errors.

The schema (``tests/fixtures/vllm/generate_request.schema.json``) checks field types; these are the
checks pydantic runs after it, so a body passing both is one the server accepts.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import WireValidationError

#: ``(start, end, modality, index)`` of every placeholder range of a ``features`` object, sorted.
Spans = list[tuple[int, int, str, int]]


def validate_generate_request(body: Mapping[str, Any]) -> None:
    """Apply vLLM's post-field validators to a ``POST /inference/v1/generate`` body (wire A or B).

    ``features`` and ``content_parts`` exclude each other; metadata-only items need
    ``ec_transfer_params``; ``features`` passes ``MultiModalFeatures``' checks; ``token_ids`` are
    non-negative ints; an ``output_mode`` other than ``tokens`` needs ``sampling_params.detokenize``.
    """
    check_body(body)


def check_body(body: Mapping[str, Any]) -> Spans:
    """``validate_generate_request``, returning the placeholder spans of ``features`` (empty without)."""
    if not isinstance(body, Mapping):
        raise WireValidationError(f"a generate body is a JSON object, got {type(body).__name__}")
    token_ids = _token_ids(body.get("token_ids"))
    sampling = body.get("sampling_params")
    if not isinstance(sampling, Mapping):
        raise WireValidationError(f"sampling_params is required and must be an object, got {type(sampling).__name__}")
    mode = body.get("output_mode", "tokens")
    if mode != "tokens" and sampling.get("detokenize", True) is False:
        raise WireValidationError(f"output_mode={mode!r} needs sampling_params.detokenize to be true")
    parts, features = body.get("content_parts"), body.get("features")
    if parts and features is not None:
        raise WireValidationError("content_parts and features are mutually exclusive: send one wire's body, not both")
    if features is None:
        return []
    spans = check_features(token_ids, features)
    _check_metadata_only(features, body.get("ec_transfer_params"))
    return spans


def _token_ids(token_ids: Any) -> Sequence[int]:
    """vLLM's ``token_ids``: a non-empty list of non-negative ints (the sign check is a field validator)."""
    if not isinstance(token_ids, Sequence) or isinstance(token_ids, str | bytes):
        raise WireValidationError(f"token_ids must be a list of ints, got {type(token_ids).__name__}")
    if not token_ids:
        raise WireValidationError("token_ids is empty: vLLM needs at least one prompt token")
    if not set(map(type, token_ids)) <= {int}:
        i = next(i for i, t in enumerate(token_ids) if type(t) is not int)
        raise WireValidationError(f"token_ids[{i}] is {token_ids[i]!r}, not an int")
    if min(token_ids) < 0:
        i = next(i for i, t in enumerate(token_ids) if t < 0)
        raise WireValidationError(f"token_ids[{i}] is {token_ids[i]}: vLLM refuses negative token ids")
    return token_ids


def _per_modality(features: Mapping[str, Any], name: str, *, required: bool) -> Mapping[str, Sequence[Any]] | None:
    value = features.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(v, Sequence) and not isinstance(v, str | bytes) for v in value.values()
    ):
        raise WireValidationError(f"features.{name} must map each modality to a list, got {value!r:.80}")
    return value


def _range(p: Any, modality: str, index: int, n_tokens: int) -> tuple[int, int]:
    """One ``PlaceholderRangeInfo`` as ``(offset, end)``; empty or out-of-range ones are refused."""
    if not isinstance(p, Mapping) or type(p.get("offset")) is not int or type(p.get("length")) is not int:
        raise WireValidationError(f"modality {modality!r} item {index}: placeholder {p!r} needs int offset and length")
    offset, length = p["offset"], p["length"]
    if length <= 0 or offset < 0 or offset + length > n_tokens:
        raise WireValidationError(
            f"modality {modality!r} item {index}: placeholder {dict(p)} is empty or outside token_ids ({n_tokens} ids)"
        )
    return offset, offset + length


def check_features(token_ids: Sequence[int], features: Any) -> Spans:
    """``MultiModalFeatures``' checks plus the bounds check of ``GenerateRequest``; returns the sorted spans.

    The same modality keys in ``mm_hashes``, ``mm_placeholders`` and (when not null) ``kwargs_data`` /
    ``mm_metadata``; parallel lists; placeholders non-empty, inside ``token_ids``, sorted per modality
    and non-overlapping across all modalities. ``kwargs_data: null`` (every item a cache hit) passes.
    """
    if not isinstance(features, Mapping):
        raise WireValidationError(f"features must be an object, got {type(features).__name__}")
    lists = {name: _per_modality(features, name, required=True) for name in ("mm_hashes", "mm_placeholders")}
    for name in ("kwargs_data", "mm_metadata"):
        value = _per_modality(features, name, required=False)
        if value is not None:
            lists[name] = value
    keys = {name: sorted(value) for name, value in lists.items()}
    if len({tuple(k) for k in keys.values()}) != 1:
        raise WireValidationError(f"modality keys differ across features: {keys}")
    spans: Spans = []
    for modality in keys["mm_hashes"]:
        lengths = {name: len(value[modality]) for name, value in lists.items()}
        if len(set(lengths.values())) != 1:
            raise WireValidationError(f"modality {modality!r}: feature lists have different lengths {lengths}")
        ranges = [_range(p, modality, i, len(token_ids)) for i, p in enumerate(lists["mm_placeholders"][modality])]
        if ranges != sorted(ranges):
            raise WireValidationError(f"modality {modality!r}: placeholders are not sorted")
        spans.extend((start, end, modality, i) for i, (start, end) in enumerate(ranges))
    spans.sort()
    for (_, end, m1, i1), (start, _, m2, i2) in itertools.pairwise(spans):
        if start < end:
            raise WireValidationError(f"placeholders overlap: {m1}[{i1}] and {m2}[{i2}]")
    return spans


def _check_metadata_only(features: Mapping[str, Any], ec_transfer_params: Any) -> None:
    """An item with ``mm_metadata`` but no ``kwargs_data`` gets its embeddings only through the EC connector."""
    metadata = features.get("mm_metadata")
    if not metadata or ec_transfer_params:
        return
    kwargs = features.get("kwargs_data") or {}
    for modality, items in metadata.items():
        for i, (meta, data) in enumerate(zip(items, kwargs.get(modality, [None] * len(items)), strict=True)):
            if meta is not None and data is None:
                raise WireValidationError(
                    f"modality {modality!r} item {i}: metadata-only item (mm_metadata set, kwargs_data null) "
                    f"needs ec_transfer_params"
                )
