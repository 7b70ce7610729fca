"""Wire A (prime-rl refs) and wire B (raw media ``content_parts``) bodies: shape, one entry per image, vLLM's rules.

RenderedTokens are built by hand so these tests need no family and no tokenizer.
"""

from __future__ import annotations

import copy

import pytest
from mmrender import (
    MultiModalData,
    PlaceholderRange,
    ProcessedMMItem,
    RawMMItem,
    RawMMRef,
    RenderedTokens,
    WireValidationError,
    refs,
)
from mmrender.errors import UnbackedPlaceholderError
from mmrender.wire import generate_request, unexpanded_ids, validate_features, vllm_prompt_request

FP = "0123456789abcdef0123456789abcdef"
H1, H2, H3 = "1" * 32, "2" * 32, "3" * 32


def _item(n: int, *, vllm_modality: str | None = None, modality: str = "image", **locator) -> RawMMItem:
    locator = locator or {"raw_image_id": f"{n:064x}", "raw_uri": f"file:///assets/{n:064x}"}
    return RawMMItem(
        modality=modality,
        family="qwen_vl",
        layout_fingerprint=FP,
        payload={"image_grid_thw": [[1, 2, 2 * n]]},
        vllm_modality=vllm_modality,
        **locator,
    )


def _rendered(n_tokens: int, modality_items: dict[str, list[tuple[str, tuple[int, int], object]]]) -> RenderedTokens:
    data = MultiModalData(
        mm_hashes={m: tuple(h for h, _, _ in xs) for m, xs in modality_items.items()},
        mm_placeholders={m: tuple(PlaceholderRange(*r) for _, r, _ in xs) for m, xs in modality_items.items()},
        mm_items={m: tuple(i for _, _, i in xs) for m, xs in modality_items.items()},
    )
    return RenderedTokens(list(range(n_tokens)), [-1] * n_tokens, data)


def _two_images() -> RenderedTokens:
    return _rendered(20, {"image": [(H1, (2, 4), _item(1)), (H2, (10, 6), _item(2))]})


def test_generate_request_shape():
    rendered = _two_images()
    body = generate_request(rendered, sampling_params={"temperature": 0.5, "max_tokens": 8}, model="m")
    assert set(body) == {"token_ids", "sampling_params", "model", "features"}
    assert body["token_ids"] == list(range(20))
    assert body["sampling_params"] == {"temperature": 0.5, "max_tokens": 8}
    assert body["model"] == "m"
    features = body["features"]
    assert set(features) == {"mm_hashes", "mm_placeholders", "kwargs_data"}
    assert features["mm_hashes"] == {"image": [H1, H2]}
    assert features["mm_placeholders"] == {"image": [{"offset": 2, "length": 4}, {"offset": 10, "length": 6}]}
    assert len(features["kwargs_data"]["image"]) == 2
    for text, mm_hash, item in zip(features["kwargs_data"]["image"], [H1, H2], [_item(1), _item(2)], strict=True):
        assert isinstance(text, str) and text.startswith("mmraw:v3:")
        ref = refs.parse(text)
        assert ref == RawMMRef.from_item(item, mm_hash)
        assert (ref.family, ref.fingerprint, ref.payload, ref.raw_image_id, ref.raw_uri) == (
            item.family,
            item.layout_fingerprint,
            item.payload,
            item.raw_image_id,
            item.raw_uri,
        )


def test_generate_request_is_json_ready_and_does_not_alias_input():
    import json

    rendered = _two_images()
    params = {"temperature": 1.0}
    body = generate_request(rendered, sampling_params=params)
    assert json.loads(json.dumps(body)) == body
    body["sampling_params"]["temperature"] = 0.0
    assert params == {"temperature": 1.0}
    assert "model" not in body


def test_run_id_goes_into_every_ref():
    body = generate_request(_two_images(), run_id="run-42")
    assert [refs.parse(t).run_id for t in body["features"]["kwargs_data"]["image"]] == ["run-42", "run-42"]


def test_text_only_request_has_no_features():
    body = generate_request(RenderedTokens([5, 6, 7], [0, 0, 0]))
    assert body == {"token_ids": [5, 6, 7], "sampling_params": {}}


def test_vllm_modality_is_the_key():
    rendered = _rendered(
        30,
        {
            "image": [
                (H1, (3, 1), _item(1, vllm_modality="vision_chunk")),
                (H2, (9, 1), _item(2, vllm_modality="vision_chunk")),
            ]
        },
    )
    features = generate_request(rendered)["features"]
    for name in ("mm_hashes", "mm_placeholders", "kwargs_data"):
        assert set(features[name]) == {"vision_chunk"}
    assert features["mm_hashes"]["vision_chunk"] == [H1, H2]
    assert [refs.parse(t).modality for t in features["kwargs_data"]["vision_chunk"]] == ["image", "image"]


def test_two_modalities_sharing_a_vllm_modality_come_out_in_stream_order():
    """Kimi-style: images and videos both sent as ``vision_chunk``; vLLM wants one sorted list per key."""
    rendered = _rendered(
        40,
        {
            "image": [
                (H1, (3, 1), _item(1, vllm_modality="vision_chunk")),
                (H3, (20, 1), _item(3, vllm_modality="vision_chunk")),
            ],
            "video": [(H2, (9, 4), _item(2, modality="video", vllm_modality="vision_chunk"))],
        },
    )
    features = generate_request(rendered)["features"]
    assert features["mm_hashes"]["vision_chunk"] == [H1, H2, H3]
    assert [p["offset"] for p in features["mm_placeholders"]["vision_chunk"]] == [3, 9, 20]
    assert [refs.parse(t).mm_hash for t in features["kwargs_data"]["vision_chunk"]] == [H1, H2, H3]


def test_inline_locator_survives():
    item = _item(1, raw_uri="data:image/png;base64,iVBORw0KGgo=")
    body = generate_request(_rendered(8, {"image": [(H1, (1, 2), item)]}))
    ref = refs.parse(body["features"]["kwargs_data"]["image"][0])
    assert ref.raw_uri == "data:image/png;base64,iVBORw0KGgo=" and ref.raw_image_id is None


def test_same_image_twice_gets_two_full_refs():
    """Never a cached ``None`` slot: every occurrence carries its full ref."""
    rendered = _rendered(20, {"image": [(H1, (1, 3), _item(1)), (H1, (10, 3), _item(1))]})
    kwargs = generate_request(rendered)["features"]["kwargs_data"]["image"]
    assert len(kwargs) == 2 and all(k is not None and refs.parse(k).mm_hash == H1 for k in kwargs)


# -- validation (what vLLM would reject) ---------------------------------------------------------


def test_rejects_differing_modality_keys_in_sidecar():
    data = MultiModalData(
        mm_hashes={"image": (H1,)},
        mm_placeholders={"video": (PlaceholderRange(0, 1),)},
        mm_items={"image": (_item(1),)},
    )
    with pytest.raises(WireValidationError):
        generate_request(RenderedTokens([1, 2], [0, 0], data))


def test_rejects_placeholders_without_hashes():
    data = MultiModalData(mm_placeholders={"image": (PlaceholderRange(0, 1),)}, mm_items={"image": (_item(1),)})
    with pytest.raises(WireValidationError, match="modality"):
        generate_request(RenderedTokens([1, 2], [0, 0], data))


def _features() -> dict:
    return copy.deepcopy(generate_request(_two_images())["features"])


def test_validate_features_accepts_a_good_request():
    validate_features(list(range(20)), _features())


def test_validate_rejects_differing_modality_keys():
    features = _features()
    features["kwargs_data"]["video"] = features["kwargs_data"].pop("image")
    with pytest.raises(WireValidationError, match="modality keys differ"):
        validate_features(list(range(20)), features)


@pytest.mark.parametrize("name", ["mm_hashes", "mm_placeholders", "kwargs_data"])
def test_validate_rejects_unequal_list_lengths(name):
    features = _features()
    features[name]["image"].pop()
    with pytest.raises(WireValidationError, match="different lengths"):
        validate_features(list(range(20)), features)


def test_sidecar_with_unequal_lengths_is_rejected():
    data = MultiModalData(
        mm_hashes={"image": (H1, H2)},
        mm_placeholders={"image": (PlaceholderRange(0, 1),)},
        mm_items={"image": (_item(1), _item(2))},
    )
    with pytest.raises(WireValidationError, match="2 hashes, 1 placeholders"):
        generate_request(RenderedTokens([1, 2], [0, 0], data))


def test_rejects_unsorted_placeholders():
    rendered = _rendered(20, {"image": [(H1, (10, 2), _item(1)), (H2, (2, 2), _item(2))]})
    with pytest.raises(WireValidationError, match="not sorted"):
        generate_request(rendered)


@pytest.mark.parametrize(("first", "second"), [((2, 5), (6, 3)), ((2, 5), (2, 5)), ((2, 10), (4, 1))])
def test_rejects_overlapping_placeholders(first, second):
    rendered = _rendered(20, {"image": [(H1, first, _item(1)), (H2, second, _item(2))]})
    with pytest.raises(WireValidationError, match="overlap"):
        generate_request(rendered)


def test_rejects_overlap_across_modalities():
    rendered = _rendered(20, {"image": [(H1, (2, 5), _item(1))], "video": [(H2, (4, 2), _item(2, modality="video"))]})
    with pytest.raises(WireValidationError, match="overlap"):
        generate_request(rendered)


def test_adjacent_placeholders_are_fine():
    rendered = _rendered(20, {"image": [(H1, (2, 5), _item(1)), (H2, (7, 5), _item(2))]})
    assert generate_request(rendered)["features"]["mm_placeholders"]["image"][1] == {"offset": 7, "length": 5}


@pytest.mark.parametrize("rng", [(18, 3), (20, 1), (-1, 2), (5, 0)])
def test_rejects_placeholders_out_of_range(rng):
    rendered = _rendered(20, {"image": [(H1, rng, _item(1))]})
    with pytest.raises(WireValidationError, match="outside token_ids"):
        generate_request(rendered)


def test_placeholder_ending_at_the_last_token_is_fine():
    generate_request(_rendered(20, {"image": [(H1, (17, 3), _item(1))]}))


def test_rejects_none_ref():
    features = _features()
    features["kwargs_data"]["image"][1] = None
    with pytest.raises(WireValidationError, match="None"):
        validate_features(list(range(20)), features)


def test_rejects_none_item():
    rendered = _rendered(20, {"image": [(H1, (2, 2), _item(1)), (H2, (8, 2), None)]})
    with pytest.raises(WireValidationError, match="NoneType"):
        generate_request(rendered)


def test_rejects_processed_items():
    item = ProcessedMMItem({"pixel_values": [[0.0] * 4], "image_grid_thw": [[1, 2, 2]]})
    rendered = _rendered(20, {"image": [(H1, (2, 1), item)]})
    with pytest.raises(WireValidationError, match="raw"):
        generate_request(rendered)


# -- wire B (stock vLLM /inference/v1/generate: expanded ids + raw content_parts) ---------------


def test_vllm_prompt_request_sends_expanded_ids_and_flat_parts():
    rendered = _rendered(20, {"image": [(H1, (2, 4), _item(1)), (H2, (10, 6), _item(2))]})
    body = vllm_prompt_request(rendered, model="m", sampling_params={"max_tokens": 3})
    assert set(body) == {"token_ids", "sampling_params", "model", "content_parts", "return_token_ids"}
    assert body["token_ids"] == list(range(20))  # expanded: vLLM detects the runs as already expanded
    assert body["content_parts"] == [
        {"type": "image_url", "url": _item(1).raw_uri, "uuid": H1},
        {"type": "image_url", "url": _item(2).raw_uri, "uuid": H2},
    ]
    assert body["sampling_params"] == {"max_tokens": 3}
    assert body["return_token_ids"] is True and body["model"] == "m"


def test_vllm_prompt_request_model_is_optional_and_text_only_has_no_parts():
    body = vllm_prompt_request(RenderedTokens([5, 6, 7], [0, 0, 0]))
    assert body == {"token_ids": [5, 6, 7], "sampling_params": {}, "return_token_ids": True}


def test_unexpanded_ids_collapse_placeholder_runs():
    rendered = _rendered(20, {"image": [(H1, (2, 4), _item(1)), (H2, (10, 6), _item(2))]})
    assert unexpanded_ids(rendered) == [0, 1, 2, 6, 7, 8, 9, 10, 16, 17, 18, 19]


def test_vllm_prompt_request_orders_parts_by_position_across_modalities():
    rendered = _rendered(20, {"video": [(H2, (12, 2), _item(2, modality="video"))], "image": [(H1, (3, 2), _item(1))]})
    parts = vllm_prompt_request(rendered, model="m")["content_parts"]
    assert [(p["type"], p["uuid"]) for p in parts] == [("image_url", H1), ("video_url", H2)]


def test_vllm_prompt_request_kimi_items_stay_image_url():
    """vLLM maps ``image_url`` parts onto ``vision_chunk`` for models that declare only that modality."""
    rendered = _rendered(30, {"image": [(H1, (3, 1), _item(1, vllm_modality="vision_chunk"))]})
    assert vllm_prompt_request(rendered)["content_parts"][0]["type"] == "image_url"


def test_vllm_prompt_request_needs_a_url():
    rendered = _rendered(20, {"image": [(H1, (2, 4), _item(1, raw_image_id="a" * 64))]})
    with pytest.raises(WireValidationError, match=r"item 0 \(1{32}\) has only a raw_image_id, no raw_uri"):
        vllm_prompt_request(rendered, model="m")


@pytest.mark.parametrize("uri", ["data:image/png;base64,iVBORw0KGgo=", "https://x.test/a.png", "file:///a/b.png"])
def test_vllm_prompt_request_sends_urls_vllm_fetches(uri):
    rendered = _rendered(20, {"image": [(H1, (2, 4), _item(1, raw_uri=uri))]})
    assert vllm_prompt_request(rendered)["content_parts"][0]["url"] == uri


@pytest.mark.parametrize("uri", ["s3://bucket/a.png", "memory://x/a", "/abs/path.png"])
def test_vllm_prompt_request_refuses_urls_vllm_cannot_fetch(uri):
    rendered = _rendered(20, {"image": [(H1, (2, 4), _item(1, raw_uri=uri))]})
    with pytest.raises(WireValidationError, match="vLLM cannot fetch"):
        vllm_prompt_request(rendered)
    if "://" in uri:
        scheme = uri.split(":", 1)[0]
        assert vllm_prompt_request(rendered, url_schemes={scheme})["content_parts"][0]["url"] == uri


def test_vllm_prompt_request_refuses_processed_items_and_bad_ranges():
    item = ProcessedMMItem({"pixel_values": [[0.0] * 4], "image_grid_thw": [[1, 2, 2]]})
    with pytest.raises(WireValidationError, match="raw items"):
        vllm_prompt_request(_rendered(20, {"image": [(H1, (2, 1), item)]}))
    with pytest.raises(WireValidationError, match="overlap"):
        vllm_prompt_request(_rendered(20, {"image": [(H1, (2, 5), _item(1)), (H2, (4, 2), _item(2))]}))
    with pytest.raises(WireValidationError, match="outside token_ids"):
        vllm_prompt_request(_rendered(20, {"image": [(H1, (18, 3), _item(1))]}))


# -- refs in kwargs_data and placeholder ids outside every range ------------------------------


@pytest.mark.parametrize("bad", ["not-a-ref", "mmraw:v9:x", "mmraw:v3:!!", 7])
def test_validate_rejects_kwargs_data_that_is_not_a_ref(bad):
    features = _features()
    features["kwargs_data"]["image"][1] = bad
    with pytest.raises(WireValidationError, match=r"modality 'image' item 1: kwargs_data is not a valid ref"):
        validate_features(list(range(20)), features)


def test_validate_rejects_a_ref_for_another_image():
    features = _features()
    features["kwargs_data"]["image"].reverse()  # each ref now names the other image's mm_hash
    with pytest.raises(WireValidationError, match=r"item 0: the ref names mm_hash 2{32}"):
        validate_features(list(range(20)), features)


def _padded(ids: list[int], ranges: list[tuple[int, int]]) -> RenderedTokens:
    items = [(h, r, _item(n + 1)) for n, (h, r) in enumerate(zip((H1, H2, H3), ranges, strict=False))]
    return RenderedTokens(ids, [-1] * len(ids), _rendered(len(ids), {"image": items}).multi_modal_data)


def test_a_pad_outside_every_range_is_refused_by_both_wires():
    # 9 is the pad: ranges cover positions 2-3, the pad at position 7 has no image
    ids = [1, 1, 9, 9, 1, 1, 1, 9, 1]
    rendered = _padded(ids, [(2, 2)])
    with pytest.raises(UnbackedPlaceholderError, match="position 7") as err:
        generate_request(rendered)
    assert (err.value.position, err.value.token_id) == (7, 9)
    with pytest.raises(UnbackedPlaceholderError, match="position 7"):
        vllm_prompt_request(rendered, model="m")
    features = generate_request(_padded([1, 1, 9, 9, 1], [(2, 2)]))["features"]
    with pytest.raises(UnbackedPlaceholderError, match="position 7"):
        validate_features(ids, features)


def test_declared_placeholder_ids_are_checked_without_any_range():
    ids = [1, 1, 9, 9, 1]
    assert generate_request(RenderedTokens(ids, [-1] * 5))  # nothing says 9 is a pad
    with pytest.raises(UnbackedPlaceholderError, match="2 image-placeholder id"):
        generate_request(RenderedTokens(ids, [-1] * 5), placeholder_ids={9})
    with pytest.raises(UnbackedPlaceholderError):
        generate_request(RenderedTokens(ids, [-1] * 5, placeholder_ids={9}))
    with pytest.raises(UnbackedPlaceholderError):
        validate_features(ids, {"mm_hashes": {}, "mm_placeholders": {}, "kwargs_data": {}}, placeholder_ids={9})


def test_pads_all_inside_their_ranges_pass():
    ids = [1, 9, 9, 1, 9, 1]
    body = generate_request(_padded(ids, [(1, 2), (4, 1)]), placeholder_ids={9})
    assert [p["offset"] for p in body["features"]["mm_placeholders"]["image"]] == [1, 4]
