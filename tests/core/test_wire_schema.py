"""Both wires' bodies against vLLM 0.33's ``GenerateRequest``: its JSON Schema and the validators it cannot carry.

The schema is vLLM's own export (``tests/fixtures/vllm``, see its PROVENANCE); each post-field rule of
``validate_generate_request`` is shown failing on a body that breaks only that rule.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mmrender import MultiModalData, PlaceholderRange, RawMMItem, RenderedTokens, WireValidationError
from mmrender.wire import generate_request, validate_generate_request, vllm_prompt_request

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "vllm" / "generate_request.schema.json"
FP = "0123456789abcdef0123456789abcdef"
H1, H2 = "1" * 32, "2" * 32


@pytest.fixture(scope="module")
def schema() -> Draft202012Validator:
    document = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document)


def assert_accepted(schema: Draft202012Validator, body: dict[str, Any]) -> None:
    """What vLLM would run on the JSON it receives: the schema, then the model validators."""
    wire = json.loads(json.dumps(body))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in schema.iter_errors(wire)]
    assert not errors, errors
    validate_generate_request(wire)


def _item(n: int, **kw: Any) -> RawMMItem:
    kw.setdefault("raw_uri", f"file:///assets/{n:064x}")
    return RawMMItem(modality="image", family="qwen_vl", layout_fingerprint=FP, payload={"g": [[1, 2, 2 * n]]}, **kw)


def _rendered(vllm_modality: str | None = None) -> RenderedTokens:
    items = (_item(1, vllm_modality=vllm_modality), _item(2, vllm_modality=vllm_modality))
    data = MultiModalData(
        mm_hashes={"image": (H1, H2)},
        mm_placeholders={"image": (PlaceholderRange(2, 4), PlaceholderRange(10, 6))},
        mm_items={"image": items},
    )
    return RenderedTokens(list(range(1, 21)), [-1] * 20, data)


@pytest.mark.parametrize("vllm_modality", [None, "vision_chunk"])
@pytest.mark.parametrize("build", [generate_request, vllm_prompt_request], ids=["wire_a", "wire_b"])
def test_both_wires_are_valid_generate_requests(schema, build, vllm_modality):
    assert_accepted(schema, build(_rendered(vllm_modality), sampling_params={"max_tokens": 8, "temperature": 0.7}))
    assert_accepted(schema, build(_rendered(vllm_modality), model="m"))
    assert_accepted(schema, build(RenderedTokens([7, 8], [0, 0])))


def test_the_schema_catches_the_old_wire_b_body(schema):
    """The pre-fix body (``prompt`` instead of ``token_ids``, sampling fields at the top) is not a GenerateRequest."""
    old = {"model": "m", "prompt": [1, 2], "content_parts": [], "return_token_ids": True, "max_tokens": 8}
    assert {e.validator for e in schema.iter_errors(old)} == {"required"}


def _wire_a() -> dict[str, Any]:
    return copy.deepcopy(generate_request(_rendered(), sampling_params={"max_tokens": 8}))


def _wire_b() -> dict[str, Any]:
    return copy.deepcopy(vllm_prompt_request(_rendered(), sampling_params={"max_tokens": 8}))


# -- each post-field validator, broken alone: the schema still accepts the body, the validator does not ----


def _breaks_only_the_validator(schema: Draft202012Validator, body: dict[str, Any], match: str) -> None:
    assert not list(schema.iter_errors(json.loads(json.dumps(body)))), "the schema alone should accept this body"
    with pytest.raises(WireValidationError, match=match):
        validate_generate_request(body)


def test_features_and_content_parts_are_mutually_exclusive(schema):
    body = _wire_a()
    body["content_parts"] = _wire_b()["content_parts"]
    _breaks_only_the_validator(schema, body, "mutually exclusive")
    body["content_parts"] = []  # vLLM tests truthiness: an empty list beside features passes
    validate_generate_request(body)


def test_metadata_only_items_need_ec_transfer_params(schema):
    body = _wire_a()
    body["features"]["mm_metadata"] = {"image": ["meta-1", None]}
    body["features"]["kwargs_data"]["image"][0] = None
    _breaks_only_the_validator(schema, body, r"item 0: metadata-only item .* needs ec_transfer_params")
    body["ec_transfer_params"] = {"peer": "x"}
    validate_generate_request(body)


def test_metadata_only_counts_every_item_when_kwargs_data_is_null(schema):
    body = _wire_a()
    body["features"]["mm_metadata"] = {"image": [None, "meta-2"]}
    body["features"]["kwargs_data"] = None
    _breaks_only_the_validator(schema, body, "item 1: metadata-only")


def test_kwargs_data_null_is_a_cache_hit_vllm_accepts(schema):
    body = _wire_a()
    body["features"]["kwargs_data"] = None
    assert_accepted(schema, body)


@pytest.mark.parametrize("name", ["mm_placeholders", "kwargs_data", "mm_metadata"])
def test_features_modality_keys_must_agree(schema, name):
    body = _wire_a()
    features = body["features"]
    if name == "mm_metadata":
        features["mm_metadata"] = {"video": [None, None]}
    else:
        features[name]["video"] = features[name].pop("image")
    _breaks_only_the_validator(schema, body, "modality keys differ")


@pytest.mark.parametrize("name", ["mm_hashes", "mm_placeholders", "kwargs_data", "mm_metadata"])
def test_features_lists_must_be_parallel(schema, name):
    body = _wire_a()
    features = body["features"]
    if name == "mm_metadata":
        features["mm_metadata"] = {"image": [None]}
    else:
        features[name]["image"].pop()
    _breaks_only_the_validator(schema, body, "different lengths")


def test_placeholders_must_be_sorted(schema):
    body = _wire_a()
    for name in ("mm_hashes", "mm_placeholders", "kwargs_data"):
        body["features"][name]["image"].reverse()
    _breaks_only_the_validator(schema, body, "not sorted")


def test_placeholders_must_not_overlap(schema):
    body = _wire_a()
    body["features"]["mm_placeholders"]["image"][1] = {"offset": 4, "length": 3}
    _breaks_only_the_validator(schema, body, "overlap")


def test_placeholders_must_end_inside_token_ids(schema):
    body = _wire_a()
    body["features"]["mm_placeholders"]["image"][1] = {"offset": 18, "length": 3}
    _breaks_only_the_validator(schema, body, "outside token_ids")


def test_negative_token_ids_are_refused(schema):
    body = _wire_b()
    body["token_ids"][3] = -1
    _breaks_only_the_validator(schema, body, r"token_ids\[3\] is -1")


def test_text_output_needs_detokenize(schema):
    body = _wire_b()
    body["output_mode"] = "text"
    body["sampling_params"]["detokenize"] = False
    _breaks_only_the_validator(schema, body, "detokenize")


# -- what the schema already refuses is refused with a typed error too (hand-built bodies) ---------------


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"token_ids": []}, "empty"),
        ({"token_ids": [1, "2"]}, r"token_ids\[1\]"),
        ({"token_ids": None}, "list of ints"),
        ({"sampling_params": None}, "sampling_params"),
        ({"features": {"mm_hashes": {"image": [H1]}}}, "features.mm_placeholders"),
        ({"features": {"mm_hashes": {"image": [H1]}, "mm_placeholders": {"image": [{"offset": 1}]}}}, "int offset"),
    ],
)
def test_malformed_bodies_get_typed_errors(schema, change, match):
    body = {**_wire_b(), **change}
    body.pop("content_parts")
    assert list(schema.iter_errors(json.loads(json.dumps(body))))  # vLLM's schema refuses these as well
    with pytest.raises(WireValidationError, match=match):
        validate_generate_request(body)
