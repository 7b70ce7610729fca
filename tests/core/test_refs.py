"""Raw image refs: the exact v3 wire form, v2 parsing, the brief's fingerprint, malformed inputs.

Expected wire bytes are built here from the brief's rules (base64/json/hashlib from the
standard library), never from mmrender's own encoder.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from mmrender import RawMMRef, RefError, refs
from mmrender.errors import RefFieldError, RefFormatError, UnknownRefVersionError

QWEN_PREIMAGE = (
    "image-layout:v1:qwen_vl:max_pixels=16777216:merge_size=2:min_pixels=65536:patch_size=16:temporal_patch_size=2"
)
QWEN_FINGERPRINT = "c2f096345b0d84e6bd2ee38b815cc329"  # from the brief
QWEN_PARAMS = {"patch_size": 16, "merge_size": 2, "temporal_patch_size": 2, "min_pixels": 65536, "max_pixels": 16777216}
V3_KEYS = {"family", "fingerprint", "modality", "mm_hash", "payload", "raw_image_id", "raw_uri", "run_id"}

IMAGE_BYTES = b"\x89PNG\r\n\x1a\n not really a png, but bytes are bytes"
MM_HASH = hashlib.sha256(IMAGE_BYTES).hexdigest()[:32]
ASSET = hashlib.sha256(IMAGE_BYTES).hexdigest()


def _ref(**changes) -> RawMMRef:
    fields = dict(
        family="qwen_vl",
        fingerprint=QWEN_FINGERPRINT,
        modality="image",
        mm_hash=MM_HASH,
        payload={"image_grid_thw": [[1, 30, 40]]},
        raw_image_id=ASSET,
        raw_uri=f"file:///data/assets/{ASSET}",
        run_id="run-7.a_b",
    )
    fields.update(changes)
    return RawMMRef(**fields)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode_body(text: str) -> bytes:
    assert text.startswith("mmraw:v3:")
    body = text[len("mmraw:v3:") :]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", body), "v3 body must be unpadded base64url"
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _v3(body: object) -> str:
    return "mmraw:v3:" + _b64url(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def _v2(
    run_id="run1",
    family="qwen_vl",
    fingerprint=QWEN_FINGERPRINT,
    modality="image",
    mm_hash=MM_HASH,
    raw_image_id=ASSET,
    payload: object = None,
) -> str:
    payload = {"image_grid_thw": [[1, 30, 40]]} if payload is None else payload
    encoded = payload if isinstance(payload, str) else _b64url(json.dumps(payload).encode())
    return f"mmraw:v2:{run_id}:{family}:{fingerprint}:{modality}:{mm_hash}:{raw_image_id}:{encoded}"


# -- fingerprint and hash ------------------------------------------------------------------------


def test_fingerprint_of_the_qwen_default_preimage():
    assert hashlib.sha256(QWEN_PREIMAGE.encode()).hexdigest()[:32] == QWEN_FINGERPRINT
    assert refs.layout_fingerprint("qwen_vl", QWEN_PARAMS) == QWEN_FINGERPRINT


def test_fingerprint_sorts_keys_and_uses_compact_json_values():
    params = {"b": [1, 2], "a": {"y": 1, "x": "s"}}
    preimage = 'image-layout:v1:fam:a={"x":"s","y":1}:b=[1,2]'
    assert refs.layout_fingerprint("fam", params) == hashlib.sha256(preimage.encode()).hexdigest()[:32]
    assert refs.layout_fingerprint("fam", {"a": 1}) != refs.layout_fingerprint("fam2", {"a": 1})


def test_mm_hash_is_first_32_hex_of_sha256():
    assert refs.mm_hash_of(IMAGE_BYTES) == hashlib.sha256(IMAGE_BYTES).hexdigest()[:32] == MM_HASH
    assert len(MM_HASH) == 32


# -- v3 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        _ref(),
        _ref(raw_uri=None, run_id=None),
        _ref(raw_image_id=None),
        _ref(raw_uri="data:image/png;base64,iVBORw0KGgo=", raw_image_id=None, run_id=None),
        _ref(payload={"grid_thws": [[1, 36, 46]], "num_media_tokens": 414}, family="kimi_k25", modality="image"),
        _ref(payload={"note": "ünïcode ✓", "nested": {"z": [1.5, None, True]}}),
    ],
)
def test_v3_round_trip(ref):
    text = refs.dump(ref)
    assert refs.parse(text) == ref
    assert refs.dump(refs.parse(text)) == text


def test_v3_exact_wire_form():
    ref = _ref()
    text = refs.dump(ref)
    raw = _decode_body(text)
    body = json.loads(raw)
    assert set(body) == V3_KEYS
    assert body == {
        "family": "qwen_vl",
        "fingerprint": QWEN_FINGERPRINT,
        "modality": "image",
        "mm_hash": MM_HASH,
        "payload": {"image_grid_thw": [[1, 30, 40]]},
        "raw_image_id": ASSET,
        "raw_uri": f"file:///data/assets/{ASSET}",
        "run_id": "run-7.a_b",
    }
    assert raw == json.dumps(body, sort_keys=True, separators=(",", ":")).encode()  # compact, sorted keys
    assert text == _v3(body)


def test_v3_omits_absent_optional_keys():
    body = json.loads(_decode_body(refs.dump(_ref(raw_uri=None, run_id=None))))
    assert set(body) == {"family", "fingerprint", "modality", "mm_hash", "payload", "raw_image_id"}


def test_v3_parses_a_hand_built_string():
    body = {
        "family": "qwen_vl",
        "fingerprint": QWEN_FINGERPRINT,
        "modality": "image",
        "mm_hash": MM_HASH,
        "payload": {"image_grid_thw": [[1, 2, 4]]},
        "raw_uri": "s3://bucket/x/" + ASSET,
    }
    ref = refs.parse(_v3(body))
    assert ref == RawMMRef(
        family="qwen_vl",
        fingerprint=QWEN_FINGERPRINT,
        modality="image",
        mm_hash=MM_HASH,
        payload={"image_grid_thw": [[1, 2, 4]]},
        raw_uri="s3://bucket/x/" + ASSET,
    )


def test_v3_accepts_padded_body():
    body = {
        "family": "f",
        "fingerprint": QWEN_FINGERPRINT,
        "modality": "image",
        "mm_hash": MM_HASH,
        "payload": {},
        "raw_image_id": "a",
    }
    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    padded = base64.urlsafe_b64encode(raw).decode()
    assert refs.parse("mmraw:v3:" + padded).raw_image_id == "a"


# -- v2 ------------------------------------------------------------------------------------------


def test_v2_parses_hand_built_string():
    ref = refs.parse(_v2())
    assert ref == RawMMRef(
        family="qwen_vl",
        fingerprint=QWEN_FINGERPRINT,
        modality="image",
        mm_hash=MM_HASH,
        payload={"image_grid_thw": [[1, 30, 40]]},
        raw_image_id=ASSET,
        run_id="run1",
    )


def test_v2_field_charset_allows_dots_dashes_underscores():
    ref = refs.parse(_v2(run_id="A-b_c.9", raw_image_id="img_01.png", family="kimi_k25"))
    assert (ref.run_id, ref.raw_image_id, ref.family) == ("A-b_c.9", "img_01.png", "kimi_k25")


def test_v2_payload_may_be_padded_base64url():
    encoded = base64.urlsafe_b64encode(json.dumps({"k": [1]}).encode()).decode()
    assert refs.parse(_v2(payload=encoded)).payload == {"k": [1]}


def test_v2_is_never_emitted():
    with pytest.raises(NotImplementedError):
        refs.V2Codec().dump(_ref())


# -- malformed inputs ----------------------------------------------------------------------------


@pytest.mark.parametrize("parts", [8, 10, 3])
def test_v2_wrong_part_count(parts):
    good = _v2().split(":")
    text = ":".join([*good, "extra", "more"][:parts])
    with pytest.raises(RefFormatError, match="9"):
        refs.parse(text)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("run_id", {"run_id": "run/1"}),
        ("run_id", {"run_id": ""}),
        ("family", {"family": "qwen vl"}),
        ("fingerprint", {"fingerprint": "c2f0963!"}),
        ("modality", {"modality": "im@ge"}),
        ("mm_hash", {"mm_hash": "ab+cd"}),
        ("raw_image_id", {"raw_image_id": "../etc"}),
        ("raw_image_id", {"raw_image_id": ".."}),
    ],
)
def test_v2_bad_characters_name_the_field(field, kwargs):
    with pytest.raises(RefFieldError) as info:
        refs.parse(_v2(**kwargs))
    assert info.value.field == field and field in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mm_hash", "g" * 32),  # not hex
        ("mm_hash", "A" * 32),  # uppercase hex
        ("mm_hash", "a" * 31),  # too short
        ("mm_hash", "a" * 64),  # full sha256 is not the mm_hash
        ("fingerprint", QWEN_FINGERPRINT.upper()),
        ("fingerprint", "z" * 32),
    ],
)
def test_hex_fields_are_32_lowercase_hex(field, value):
    with pytest.raises(RefFieldError) as info:
        refs.parse(_v2(**{field: value}))
    assert info.value.field == field
    body = json.loads(_decode_body(refs.dump(_ref())))
    body[field] = value
    with pytest.raises(RefFieldError) as info:
        refs.parse(_v3(body))
    assert info.value.field == field
    with pytest.raises(RefFieldError, match=field):
        refs.dump(_ref(**{field: value}))


@pytest.mark.parametrize("payload", ["!!!notbase64", "YWJj", _b64url(b"[1, 2]"), _b64url(b"\xff\xfe")])
def test_v2_payload_must_be_a_base64url_json_object(payload):
    with pytest.raises(RefFieldError) as info:
        refs.parse(_v2(payload=payload))
    assert info.value.field == "payload"


def test_v3_missing_locator():
    body = json.loads(_decode_body(refs.dump(_ref())))
    del body["raw_image_id"], body["raw_uri"]
    with pytest.raises(RefFieldError, match="raw_image_id or raw_uri"):
        refs.parse(_v3(body))
    with pytest.raises(RefFieldError, match="raw_image_id or raw_uri"):
        refs.dump(_ref(raw_image_id=None, raw_uri=None))


@pytest.mark.parametrize("missing", ["family", "fingerprint", "modality", "mm_hash", "payload"])
def test_v3_missing_required_key(missing):
    body = json.loads(_decode_body(refs.dump(_ref())))
    del body[missing]
    with pytest.raises(RefFieldError) as info:
        refs.parse(_v3(body))
    assert info.value.field == missing


def test_v3_extra_key():
    body = json.loads(_decode_body(refs.dump(_ref())))
    body["pixel_values"] = [1, 2]
    with pytest.raises(RefFieldError) as info:
        refs.parse(_v3(body))
    assert info.value.field == "pixel_values"


@pytest.mark.parametrize("body", [[1, 2], "a string", 42, None])
def test_v3_non_object_body(body):
    with pytest.raises(RefFormatError, match="object"):
        refs.parse(_v3(body))


def test_v3_non_object_payload():
    body = json.loads(_decode_body(refs.dump(_ref())))
    body["payload"] = [[1, 30, 40]]
    with pytest.raises(RefFieldError) as info:
        refs.parse(_v3(body))
    assert info.value.field == "payload"


@pytest.mark.parametrize("field", ["family", "modality", "run_id", "raw_image_id"])
def test_v3_bad_characters(field):
    body = json.loads(_decode_body(refs.dump(_ref())))
    body[field] = "bad value:with/slash"
    with pytest.raises(RefFieldError) as info:
        refs.parse(_v3(body))
    assert info.value.field == field


@pytest.mark.parametrize("field", ["family", "raw_uri", "run_id"])
def test_v3_wrong_types(field):
    body = json.loads(_decode_body(refs.dump(_ref())))
    body[field] = 7
    with pytest.raises(RefFieldError) as info:
        refs.parse(_v3(body))
    assert info.value.field == field


@pytest.mark.parametrize(
    "text", ["mmraw:v3:not base64!", "mmraw:v3:abc$", "mmraw:v3:" + _b64url(b"{not json"), "mmraw:v3:A"]
)
def test_v3_bad_base64_or_json(text):
    with pytest.raises(RefError):
        refs.parse(text)


def test_v3_bad_base64_names_the_body():
    with pytest.raises(RefFieldError) as info:
        refs.parse("mmraw:v3:not base64!")
    assert info.value.field == "body"


def test_unknown_version():
    with pytest.raises(UnknownRefVersionError, match="v9"):
        refs.parse("mmraw:v9:" + _b64url(b"{}"))


@pytest.mark.parametrize("text", ["", "hello", "MMRAW:v3:abc", "mmraw", " mmraw:v3:abc", "data:image/png;base64,AA"])
def test_not_an_mmraw_string(text):
    with pytest.raises(RefFormatError):
        refs.parse(text)


@pytest.mark.parametrize("value", [None, 12, b"mmraw:v3:abc"])
def test_non_string_input(value):
    with pytest.raises(RefFormatError, match="string"):
        refs.parse(value)


def test_all_ref_errors_are_value_errors():
    assert issubclass(RefError, ValueError)
    for cls in (RefFieldError, RefFormatError, UnknownRefVersionError):
        assert issubclass(cls, RefError)
