"""Bad refs on the consumer side: traversal, tampering, unknown versions/families, truncation."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import attrs
import mmrender
import pytest
from mmrender.dispatch import open_store
from mmrender.errors import (
    AssetIntegrityError,
    AssetNotFoundError,
    RefError,
    RefFieldError,
    RefFormatError,
    UnknownFamilyError,
    UnknownRefVersionError,
    UnsafeLocatorError,
)
from mmrender.refs import dump, parse
from mmrender.types import RawMMRef
from storage_helpers import image_message, png_bytes


@pytest.fixture
def stored(renderer_for: Any, tmp_path: Path) -> tuple[RawMMRef, Any, bytes]:
    """A real ref rendered into a local store, the store, and the image bytes."""
    store = open_store(str(tmp_path / "store"))
    data = png_bytes(42)
    out = renderer_for(store).render([image_message(data)])
    mm = out.multi_modal_data
    return RawMMRef.from_item(mm.mm_items["image"][0], mm.mm_hashes["image"][0]), store, data


def with_(ref: RawMMRef, **changes: Any) -> RawMMRef:
    return attrs.evolve(ref, **changes)


def v3(body: dict[str, Any]) -> str:
    return "mmraw:v3:" + base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()


def test_good_ref_materializes_with_and_without_store(stored: tuple[RawMMRef, Any, bytes]) -> None:
    ref, store, data = stored
    assert mmrender.materialize(dump(ref)).image.data == data
    assert mmrender.materialize(ref, store=store).image.data == data
    assert mmrender.materialize(with_(ref, raw_uri=None), store=store).image.data == data


@pytest.mark.parametrize("bad_id", ["..", ".", "../../etc/passwd", "a/b", "..%2F..%2Fetc", ""])
def test_traversal_in_raw_image_id_is_rejected_by_the_parser(stored: tuple[RawMMRef, Any, bytes], bad_id: str) -> None:
    ref, _, _ = stored
    body = {**json.loads(base64.urlsafe_b64decode(dump(ref)[9:] + "==")), "raw_image_id": bad_id}
    with pytest.raises(RefFieldError, match="raw_image_id"):
        parse(v3(body))


@pytest.mark.parametrize("bad_id", ["..", "a.b", "passwd", "0" * 63, "g" * 64, "../" + "0" * 64])
def test_traversal_in_raw_image_id_is_rejected_by_the_store(stored: tuple[RawMMRef, Any, bytes], bad_id: str) -> None:
    ref, store, _ = stored
    with pytest.raises(UnsafeLocatorError):
        mmrender.materialize(with_(ref, raw_image_id=bad_id, raw_uri=None), store=store)


def test_file_refs_leaving_the_store_root_are_refused(stored: tuple[RawMMRef, Any, bytes], tmp_path: Path) -> None:
    ref, store, data = stored
    sha = ref.raw_image_id
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / sha).write_bytes(data)  # a perfectly valid copy, but not in the store
    (store.root / "sub").mkdir()
    (store.root / "sub" / sha).write_bytes(data)
    link = store.root / ("f" * 64)
    link.symlink_to(outside / sha)
    for uri in (
        "file:///etc/passwd",
        (outside / sha).as_uri(),
        f"{store.root.as_uri()}/../outside/{sha}",
        f"{store.root.as_uri()}/sub/{sha}",
        link.as_uri(),
        f"file://evil.example/{sha}",
        f"s3://bucket/{sha}",
    ):
        with pytest.raises(UnsafeLocatorError):
            mmrender.materialize(with_(ref, raw_image_id=None, raw_uri=uri), store=store)


def test_tampered_asset_fails_verification(stored: tuple[RawMMRef, Any, bytes]) -> None:
    ref, store, data = stored
    path = store.root / ref.raw_image_id
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(AssetIntegrityError):
        mmrender.materialize(ref, store=store)
    with pytest.raises(AssetIntegrityError):
        mmrender.materialize(dump(ref))  # through raw_uri, no store


def test_ref_whose_hash_does_not_match_its_asset(stored: tuple[RawMMRef, Any, bytes]) -> None:
    ref, store, _ = stored
    with pytest.raises(AssetIntegrityError, match="tampered or wrong asset"):
        mmrender.materialize(with_(ref, mm_hash="0" * 32), store=store)


def test_ref_whose_payload_does_not_match_its_image(stored: tuple[RawMMRef, Any, bytes]) -> None:
    ref, store, _ = stored
    with pytest.raises(AssetIntegrityError, match="does not match the layout"):
        mmrender.materialize(with_(ref, payload={"grid_hw": [9, 9]}), store=store)


def test_missing_asset(stored: tuple[RawMMRef, Any, bytes]) -> None:
    ref, store, _ = stored
    (store.root / ref.raw_image_id).unlink()
    with pytest.raises(AssetNotFoundError):
        mmrender.materialize(ref, store=store)


def test_unknown_family_and_fingerprint(stored: tuple[RawMMRef, Any, bytes]) -> None:
    ref, store, _ = stored
    with pytest.raises(UnknownFamilyError, match="nosuchfamily"):
        mmrender.materialize(with_(ref, family="nosuchfamily"), store=store)
    with pytest.raises(UnknownFamilyError, match="fingerprint"):
        mmrender.materialize(with_(ref, fingerprint="f" * 32), store=store)


@pytest.mark.parametrize("text", ["mmraw:v9:abc", "mmraw:v1:x:y", "mmraw:", "mmraw:v3x", "mmraw:V3:abc"])
def test_unknown_ref_versions(text: str) -> None:
    with pytest.raises(RefError) as info:
        parse(text)
    assert isinstance(info.value, UnknownRefVersionError | RefFormatError)


def test_every_truncation_of_a_v3_ref_is_a_ref_error(stored: tuple[RawMMRef, Any, bytes]) -> None:
    text = dump(stored[0])
    for cut in range(len(text)):
        with pytest.raises(RefError):
            parse(text[:cut])


def test_every_truncation_of_a_v2_ref_is_a_ref_error() -> None:
    payload = base64.urlsafe_b64encode(b'{"grid_hw":[1,1]}').rstrip(b"=").decode()
    text = f"mmraw:v2:run1:storetest:{'a' * 32}:image:{'b' * 32}:{'c' * 64}:{payload}"
    parse(text)
    for cut in range(len(text)):
        with pytest.raises(RefError):
            parse(text[:cut])


def test_deeply_nested_ref_body_is_a_ref_error() -> None:
    body = '{"payload":' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(RefError):
        parse("mmraw:v3:" + base64.urlsafe_b64encode(body.encode()).decode())


def test_non_standard_json_constants_are_refused() -> None:
    body = '{"family":"qwen_vl","fingerprint":"' + "a" * 32 + '","modality":"image","mm_hash":"' + "b" * 32
    body += '","payload":{"x":NaN},"raw_image_id":"' + "c" * 64 + '"}'
    with pytest.raises(RefError, match="NaN"):
        parse("mmraw:v3:" + base64.urlsafe_b64encode(body.encode()).decode().rstrip("="))


def test_inline_refs_need_no_store(renderer_for: Any) -> None:
    data = png_bytes(43)
    out = renderer_for("data:").render([image_message(data)])
    mm = out.multi_modal_data
    item = mm.mm_items["image"][0]
    assert item.raw_uri.startswith("data:image/png;base64,") and item.raw_image_id is None
    ref = RawMMRef.from_item(item, mm.mm_hashes["image"][0])
    assert mmrender.materialize(dump(ref)).image.data == data
    assert mmrender.materialize(ref, store=open_store("memory://elsewhere/x")).image.data == data
    forged = with_(ref, raw_uri="data:image/png;base64," + base64.b64encode(png_bytes(44)).decode())
    with pytest.raises(AssetIntegrityError):
        mmrender.materialize(forged)


def test_dump_refuses_non_finite_payload_values() -> None:
    ref = RawMMRef(
        family="qwen_vl",
        fingerprint="a" * 32,
        modality="image",
        mm_hash="b" * 32,
        payload={"x": float("inf")},
        raw_image_id="c" * 64,
    )
    with pytest.raises(RefError, match="payload"):
        dump(ref)


# -- the JSON forms: an mm_items entry (from a dataset line) and `mmrender ref inspect` output ----


def test_materialize_accepts_the_json_form_of_an_mm_items_entry(renderer_for: Any, tmp_path: Path) -> None:
    from mmrender.types import to_jsonable

    store = open_store(str(tmp_path / "store"))
    data = png_bytes(7)
    mm = renderer_for(store).render([image_message(data)]).multi_modal_data
    entry = json.loads(json.dumps(to_jsonable(mm)))["mm_items"]["image"][0]
    assert mmrender.materialize(entry, mm_hash=mm.mm_hashes["image"][0]).image.data == data
    with pytest.raises(RefError, match="needs its mm_hash"):
        mmrender.materialize(entry)


def test_materialize_accepts_ref_inspect_output(stored: tuple[RawMMRef, Any, bytes]) -> None:
    import subprocess
    import sys

    ref, _, data = stored
    proc = subprocess.run(
        [sys.executable, "-m", "mmrender", "ref", "inspect", dump(ref)], capture_output=True, text=True, check=True
    )
    inspected = json.loads(proc.stdout)
    assert mmrender.materialize(inspected).image.data == data
    with pytest.raises(RefFieldError, match="mm_hash"):
        mmrender.materialize(inspected, mm_hash="0" * 32)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({}, "not a ref in JSON form"),
        ({"family": "qwen_vl", "surprise": 1}, "not a ref in JSON form"),
        ({"kind": "prime_raw_mm_item"}, "not an mm_items entry in JSON form"),
    ],
)
def test_materialize_rejects_dicts_of_neither_form(bad: dict[str, Any], match: str) -> None:
    with pytest.raises(RefFormatError, match=match):
        mmrender.materialize(bad, mm_hash="0" * 32)


def test_materialize_validates_dict_fields(stored: tuple[RawMMRef, Any, bytes]) -> None:
    from mmrender.types import to_jsonable

    ref, _, _ = stored
    with pytest.raises(RefFieldError, match="mm_hash"):
        mmrender.materialize({**to_jsonable(ref), "mm_hash": "XYZ"})
