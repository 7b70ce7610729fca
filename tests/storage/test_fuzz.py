"""Fuzzing: the ref parser, the message/part normaliser and the image/data-URI readers.

Property: whatever the input, only documented errors (``MMRenderError`` subclasses) escape, and
what parses is valid (refs re-serialise to the same ref; conversations hold typed parts).

Two profiles. CI (default): a few thousand examples in total, derandomised so CI is repeatable.
Long (not per commit): ``MMRENDER_FUZZ=long pytest tests/storage/test_fuzz.py -m fuzz_long``
runs ≥ 100k examples per target with fresh randomness; ``MMRENDER_FUZZ_EXAMPLES=N`` overrides.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmrender.conversation import ROLES, Conversation, ImagePart, TextPart, normalize_conversation
from mmrender.errors import ImageSourceError, MMRenderError
from mmrender.images import decode_data_uri, probe
from mmrender.refs import dump, parse
from mmrender.types import RawMMRef
from PIL import Image

LONG_EXAMPLES = int(os.environ.get("MMRENDER_FUZZ_EXAMPLES", "0") or 0) or 100_000


def profile(ci_examples: int, long_examples: int = LONG_EXAMPLES) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Decorators for the CI and the long run of one property."""
    common: dict[str, Any] = {
        "deadline": None,
        "database": None,  # never write .hypothesis/ into the repo
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    }
    ci = settings(max_examples=ci_examples, derandomize=True, **common)
    long = settings(max_examples=long_examples, **common)
    return ci, long


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
hex32 = st.text("0123456789abcdef", min_size=32, max_size=32)
safe = st.text("abcXYZ019_.-", min_size=1, max_size=12)
safe_id = safe.filter(lambda s: s not in (".", ".."))
ref_keys = ["family", "fingerprint", "modality", "mm_hash", "payload", "raw_image_id", "raw_uri", "run_id"]
field_values = st.one_of(json_values, hex32, safe, st.just("image"), st.dictionaries(st.text(max_size=5), json_values))
ref_bodies = st.dictionaries(st.sampled_from([*ref_keys, "extra"]), field_values, max_size=9)
valid_refs = st.builds(
    RawMMRef,
    family=safe,
    fingerprint=hex32,
    modality=safe,
    mm_hash=hex32,
    payload=st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    raw_image_id=st.none() | safe_id,
    raw_uri=st.text(min_size=1, max_size=30),
    run_id=st.none() | safe_id,
)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    text = draw(base)
    for _ in range(draw(st.integers(0, 4))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        op = draw(st.sampled_from(["delete", "replace", "insert", "truncate"]))
        char = draw(st.characters())
        text = {
            "delete": text[:i] + text[i + 1 :],
            "replace": text[:i] + char + text[i + 1 :],
            "insert": text[:i] + char + text[i:],
            "truncate": text[:i],
        }[op]
    return text


ref_texts = st.one_of(
    st.text(),
    st.text().map(lambda t: "mmraw:" + t),
    st.binary().map(lambda b: "mmraw:v3:" + b64url(b)),
    json_values.map(lambda v: "mmraw:v3:" + b64url(json.dumps(v).encode())),
    ref_bodies.map(lambda d: "mmraw:v3:" + b64url(json.dumps(d).encode())),
    st.lists(st.text(alphabet=st.characters(blacklist_characters=":"), max_size=12), min_size=0, max_size=11).map(
        lambda parts: "mmraw:v2:" + ":".join(parts)
    ),
    st.tuples(safe, safe, hex32, safe, hex32, safe, json_values).map(
        lambda t: f"mmraw:v2:{t[0]}:{t[1]}:{t[2]}:{t[3]}:{t[4]}:{t[5]}:{b64url(json.dumps(t[6]).encode())}"
    ),
    mutated(valid_refs.map(lambda r: dump(r))),
)


def check_ref_text(text: str) -> None:
    try:
        ref = parse(text)
    except MMRenderError:
        return
    assert isinstance(ref, RawMMRef)
    again = dump(ref)
    assert dump(parse(again)) == again


def check_valid_ref_round_trip(ref: RawMMRef) -> None:
    assert parse(dump(ref)) == ref


part_strategy = st.one_of(
    st.text(max_size=10),
    json_values,
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "image", "image_url", "input_text", "input_image", "video"]) | json_values},
        optional={
            "text": json_values,
            "image": json_values,
            "url": json_values,
            "path": json_values,
            "image_url": json_values | st.fixed_dictionaries({}, optional={"url": json_values}),
        },
    ),
)
tool_call = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "id": json_values,
            "function": json_values
            | st.fixed_dictionaries({}, optional={"name": json_values | st.text(), "arguments": json_values}),
            "name": json_values,
        },
    ),
)
message_strategy = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"role": st.sampled_from([*ROLES, "developer", ""]) | json_values},
        optional={
            "content": st.none() | st.text() | st.lists(part_strategy, max_size=5) | json_values,
            "tool_calls": st.lists(tool_call, max_size=3) | json_values,
            "reasoning_content": json_values,
            "tool_call_id": json_values,
            "name": json_values,
        },
    ),
)
conversations = st.tuples(
    st.lists(message_strategy, max_size=6) | json_values,
    st.none() | st.lists(json_values, max_size=3) | json_values,
    st.booleans(),
    st.integers(-3, 100),
)


def check_conversation(args: tuple[Any, Any, bool, int]) -> None:
    messages, tools, add_generation_prompt, start = args
    try:
        conv = normalize_conversation(
            messages, tools=tools, add_generation_prompt=add_generation_prompt, start_index=start
        )
    except MMRenderError:
        return
    assert isinstance(conv, Conversation)
    for i, message in enumerate(conv.messages):
        # core accepts any non-empty string role (each family decides what its template does with it)
        assert message.index == start + i and isinstance(message.role, str) and message.role
        for part in message.parts:
            assert isinstance(part, TextPart | ImagePart)
            if isinstance(part, ImagePart):
                assert part.message_index == message.index


def _seed_images() -> list[bytes]:
    out = []
    for fmt in ("PNG", "JPEG", "GIF", "WEBP", "BMP"):
        buf = io.BytesIO()
        Image.new("RGB", (17, 9), (1, 2, 3)).save(buf, format=fmt)
        out.append(buf.getvalue())
    return out


SEEDS = _seed_images()


@st.composite
def damaged_images(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut] if draw(st.booleans()) else data)


image_inputs = st.one_of(st.binary(max_size=200), damaged_images())


def check_probe(data: bytes) -> None:
    try:
        image = probe(data, "fuzz")
    except ImageSourceError:
        return
    assert image.width > 0 and image.height > 0


data_uris = st.one_of(
    st.text(max_size=60).map(lambda t: "data:" + t),
    st.tuples(
        st.sampled_from(["image/png", "text/plain", "", "IMAGE/JPEG"]),
        st.sampled_from([";base64", ""]),
        st.text(max_size=40),
    ).map(lambda t: f"data:{t[0]}{t[1]},{t[2]}"),
    st.binary(max_size=60).map(lambda b: "data:image/png;base64," + base64.b64encode(b).decode()),
)


def check_data_uri(uri: str) -> None:
    try:
        decode_data_uri(uri)
    except ImageSourceError:
        return


CI_REF, LONG_REF = profile(1000)
CI_ROUND, LONG_ROUND = profile(300)
CI_CONV, LONG_CONV = profile(600)
CI_IMG, LONG_IMG = profile(400, max(LONG_EXAMPLES // 4, 1))
CI_URI, LONG_URI = profile(300, max(LONG_EXAMPLES // 4, 1))

test_ref_parser_ci = CI_REF(given(ref_texts)(check_ref_text))
test_ref_round_trip_ci = CI_ROUND(given(valid_refs)(check_valid_ref_round_trip))
test_normaliser_ci = CI_CONV(given(conversations)(check_conversation))
test_probe_ci = CI_IMG(given(image_inputs)(check_probe))
test_data_uri_ci = CI_URI(given(data_uris)(check_data_uri))

test_ref_parser_long = pytest.mark.fuzz_long(LONG_REF(given(ref_texts)(check_ref_text)))
test_ref_round_trip_long = pytest.mark.fuzz_long(LONG_ROUND(given(valid_refs)(check_valid_ref_round_trip)))
test_normaliser_long = pytest.mark.fuzz_long(LONG_CONV(given(conversations)(check_conversation)))
test_probe_long = pytest.mark.fuzz_long(LONG_IMG(given(image_inputs)(check_probe)))
test_data_uri_long = pytest.mark.fuzz_long(LONG_URI(given(data_uris)(check_data_uri)))
