"""Raw image ref codecs, pure: the ``mmraw:v3`` encoder, the v3/v2 parsers, field rules and the layout fingerprint.

Choosing a codec by prefix asks the plugin registries, so that lives one layer up in :mod:`mmrender.refs`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from .errors import RefFieldError, RefFormatError
from .types import RawMMRef

SAFE_FIELD_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
HEX32_RE = re.compile(r"^[0-9a-f]{32}$")
V3_PREFIX = "mmraw:v3:"
V2_PREFIX = "mmraw:v2:"
#: The prefix new refs are written with, by whichever codec is registered for it.
WRITE_PREFIX = V3_PREFIX
_V3_KEYS = {
    "family",
    "fingerprint",
    "layout_params",
    "modality",
    "mm_hash",
    "payload",
    "raw_image_id",
    "raw_uri",
    "run_id",
}
_V3_REQUIRED = {"family", "fingerprint", "modality", "mm_hash", "payload"}


class RefCodec(Protocol):
    """A ref wire format: ``prefix`` selects it for parsing; ``dump`` writes it.

    :func:`mmrender.refs.dump` asks the ``mmrender_serialize_ref`` hook first and, when no plugin
    answers, the codec registered for :data:`WRITE_PREFIX`; a parse-only codec (v2) raises
    NotImplementedError from ``dump``.
    """

    prefix: str

    def dump(self, ref: RawMMRef) -> str: ...

    def parse(self, text: str) -> RawMMRef: ...


def compact_json(value: Any) -> str:
    """Sorted keys, no spaces, standard JSON only (NaN/Infinity have no portable encoding)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def layout_fingerprint(family: str, params: Mapping[str, Any]) -> str:
    """First 32 hex of sha256 over ``image-layout:v1:<family>:`` + sorted ``key=json(value)`` pairs."""
    pairs = ":".join(f"{k}={compact_json(params[k])}" for k in sorted(params))
    return hashlib.sha256(f"image-layout:v1:{family}:{pairs}".encode()).hexdigest()[:32]


def mm_hash_of(data: bytes) -> str:
    """First 32 hex of the sha256 of an image's raw encoded bytes."""
    return hashlib.sha256(data).hexdigest()[:32]


def _b64url_decode(text: str, field: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text):
        raise RefFieldError(field, "is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise RefFieldError(field, f"does not decode as base64url: {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _strict_json(raw: bytes) -> Any:
    """Standard JSON only: NaN/Infinity are refused, and deep nesting surfaces as an error, not a crash."""
    return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def validate(ref: RawMMRef) -> RawMMRef:
    """Check every field against the wire rules; return the ref unchanged."""
    for name in ("family", "modality"):
        value = getattr(ref, name)
        if not isinstance(value, str) or not SAFE_FIELD_RE.fullmatch(value):
            raise RefFieldError(name, f"{value!r} does not match {SAFE_FIELD_RE.pattern}")
    for name in ("fingerprint", "mm_hash"):
        value = getattr(ref, name)
        if not isinstance(value, str) or not HEX32_RE.fullmatch(value):
            raise RefFieldError(name, f"{value!r} is not 32 lowercase hex digits")
    for name in ("run_id", "raw_image_id"):
        value = getattr(ref, name)
        if value is not None and (
            not isinstance(value, str) or not SAFE_FIELD_RE.fullmatch(value) or value in (".", "..")
        ):
            raise RefFieldError(name, f"{value!r} does not match {SAFE_FIELD_RE.pattern}")
    if ref.raw_uri is not None and (not isinstance(ref.raw_uri, str) or not ref.raw_uri):
        raise RefFieldError("raw_uri", "must be a non-empty string")
    if ref.raw_image_id is None and ref.raw_uri is None:
        raise RefFieldError("raw_image_id", "a ref needs raw_image_id or raw_uri to locate its bytes")
    if not isinstance(ref.payload, Mapping):
        raise RefFieldError("payload", "must be a JSON object")
    if ref.layout_params is not None:
        check_layout_params(ref.family, ref.fingerprint, ref.layout_params)
    return ref


def check_layout_params(family: str, fingerprint: str, params: Any) -> None:
    """``params`` must be a JSON object whose layout fingerprint is ``fingerprint``: a changed value
    without a matching fingerprint is a tampered ref, refused before any layout runs."""
    if not isinstance(params, Mapping) or not params or not all(isinstance(k, str) for k in params):
        raise RefFieldError("layout_params", "must be a non-empty JSON object")
    try:
        actual = layout_fingerprint(family, params)
    except (TypeError, ValueError) as exc:
        raise RefFieldError("layout_params", f"is not JSON-serialisable: {exc}") from exc
    if actual != fingerprint:
        raise RefFieldError(
            "layout_params",
            f"their layout fingerprint is {actual}, not the ref's {fingerprint} "
            "(tampered, or edited without fixing the fingerprint)",
        )


@attrs.frozen
class V3Codec:
    """``mmraw:v3:`` + unpadded base64url of compact sorted-key JSON."""

    prefix: str = V3_PREFIX

    def dump(self, ref: RawMMRef) -> str:
        validate(ref)
        body: dict[str, Any] = {
            "family": ref.family,
            "fingerprint": ref.fingerprint,
            "modality": ref.modality,
            "mm_hash": ref.mm_hash,
            "payload": dict(ref.payload),
        }
        for name in ("raw_image_id", "raw_uri", "run_id"):
            if getattr(ref, name) is not None:
                body[name] = getattr(ref, name)
        if ref.layout_params is not None:
            body["layout_params"] = dict(ref.layout_params)
        try:
            text = compact_json(body)
        except (TypeError, ValueError) as exc:
            raise RefFieldError("payload", f"is not JSON-serialisable: {exc}") from exc
        return V3_PREFIX + _b64url_encode(text.encode("utf-8"))

    def parse(self, text: str) -> RawMMRef:
        raw = _b64url_decode(text[len(V3_PREFIX) :], "body")
        try:
            body = _strict_json(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
            raise RefFormatError(f"mmraw:v3 body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise RefFormatError("mmraw:v3 body must be a JSON object")
        extra = set(body) - _V3_KEYS
        if extra:
            raise RefFieldError(sorted(extra)[0], "is not a known mmraw:v3 field")
        missing = _V3_REQUIRED - set(body)
        if missing:
            raise RefFieldError(sorted(missing)[0], "is missing")
        return validate(RawMMRef(**body))


@attrs.frozen
class V2Codec:
    """Parse-only legacy form: nine colon-separated parts, base64url payload last."""

    prefix: str = V2_PREFIX

    def dump(self, ref: RawMMRef) -> str:
        raise NotImplementedError("mmraw:v2 is parsed for compatibility but never emitted")

    def parse(self, text: str) -> RawMMRef:
        parts = text.split(":")
        if len(parts) != 9:
            raise RefFormatError(f"mmraw:v2 ref must have exactly 9 colon-separated parts, got {len(parts)}")
        _, _, run_id, family, fingerprint, modality, mm_hash, raw_image_id, payload_b64 = parts
        names = ("run_id", "family", "fingerprint", "modality", "mm_hash", "raw_image_id")
        for name, value in zip(names, parts[2:8], strict=True):
            if not SAFE_FIELD_RE.fullmatch(value):
                raise RefFieldError(name, f"{value!r} does not match {SAFE_FIELD_RE.pattern}")
        try:
            payload = _strict_json(_b64url_decode(payload_b64, "payload"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
            raise RefFieldError("payload", f"is not JSON: {exc}") from exc
        return validate(
            RawMMRef(
                family=family,
                fingerprint=fingerprint,
                modality=modality,
                mm_hash=mm_hash,
                payload=payload,
                raw_image_id=raw_image_id,
                run_id=run_id,
            )
        )
