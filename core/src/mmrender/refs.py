"""Ref dispatch: write a ref through the serialise hook or the registered codec, parse one by its prefix.

The codecs themselves are pure (:mod:`mmrender.ref_codecs`, re-exported here); this module is the
part that asks the plugin registries, so it sits in the dispatch layer.
"""

from __future__ import annotations

from .errors import RefFormatError, UnknownRefVersionError
from .plugins import hook, registries
from .ref_codecs import (
    HEX32_RE,
    SAFE_FIELD_RE,
    V2_PREFIX,
    V3_PREFIX,
    WRITE_PREFIX,
    RefCodec,
    V2Codec,
    V3Codec,
    check_layout_params,
    compact_json,
    layout_fingerprint,
    mm_hash_of,
    validate,
)
from .types import RawMMRef

__all__ = [
    "HEX32_RE",
    "SAFE_FIELD_RE",
    "V2_PREFIX",
    "V3_PREFIX",
    "WRITE_PREFIX",
    "RawMMRef",
    "RefCodec",
    "V2Codec",
    "V3Codec",
    "check_layout_params",
    "compact_json",
    "dump",
    "layout_fingerprint",
    "mm_hash_of",
    "parse",
    "validate",
]


def dump(ref: RawMMRef) -> str:
    """The ``mmrender_serialize_ref`` hook's answer, else the codec registered for :data:`WRITE_PREFIX`."""
    text = hook().mmrender_serialize_ref(ref=ref)
    if text is not None:
        return text
    entry = registries().codecs.get(WRITE_PREFIX)
    if entry is None:  # pragma: no cover - core registers it
        raise RefFormatError(f"no ref codec is registered for {WRITE_PREFIX!r}, so no ref can be written")
    return entry.item.dump(ref)


def parse(text: str) -> RawMMRef:
    """Parse any ref whose prefix a registered codec claims (v3 and v2 built in)."""
    if not isinstance(text, str):
        raise RefFormatError(f"a ref must be a string, got {type(text).__name__}")
    if not text.startswith("mmraw:"):
        raise RefFormatError(f"not an mmraw ref: {text[:40]!r}")
    codecs = registries().codecs
    for prefix in sorted(codecs, key=len, reverse=True):
        if text.startswith(prefix):
            codec, plugin = codecs[prefix]
            ref = codec.parse(text)
            if not isinstance(ref, RawMMRef):  # a codec bug must not surface later as an untyped AttributeError
                raise RefFormatError(
                    f"ref codec {type(codec).__name__} (prefix {prefix!r}, plugin {plugin!r}) returned "
                    f"{type(ref).__name__} from parse, not a RawMMRef"
                )
            return ref
    version = text.split(":")[1] if text.count(":") >= 1 else "?"
    raise UnknownRefVersionError(f"unknown ref version {version!r} (known: {', '.join(sorted(codecs))})")
