"""Every ref a renderer emits verifies on the consumer side, whatever layout parameters it used.

A ref laid out with non-default parameters (Qwen3-VL ``min_pixels``/``max_pixels``, a local
checkpoint's preprocessor config, a layout-hook override) carries them as ``layout_params``;
``materialize`` checks they hash to the ref's fingerprint and re-runs the layout with them.
Refs of the defaults stay byte-identical to the old wire format.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import attrs
import mmrender
import pytest
from mmrender import ConfigError, hookimpl, plugins
from mmrender.cli import main as cli_main
from mmrender.errors import AssetIntegrityError, RefFieldError, UnknownFamilyError, WireValidationError
from mmrender.refs import dump, layout_fingerprint, parse
from mmrender.types import RawMMRef, to_jsonable
from mmrender.wire import generate_request, validate_features
from mmrender_kimi_k25.layout import DEFAULT_PARAMS as KIMI_DEFAULTS
from mmrender_kimi_k25.layout import kimi_image_layout
from mmrender_kimi_k25.tokenizer import ASSETS as KIMI_ASSETS
from mmrender_qwen3_vl.layout import DEFAULT_PARAMS as QWEN_DEFAULTS
from mmrender_qwen3_vl.layout import qwen_layout
from PIL import Image
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize as transformers_smart_resize

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / "examples" / "images" / "street.jpg"
QWEN_VL = "Qwen/Qwen3-VL-8B-Instruct"
QWEN_35 = "Qwen/Qwen3.5-0.8B"
KIMI = "moonshotai/Kimi-K2.5"
SMALL_BUDGET = {"min_pixels": 4096, "max_pixels": 50_000}
STORES = ["file", "data:"]


def _store(kind: str, tmp_path: Path) -> str:
    return "data:" if kind == "data:" else str(tmp_path / "store")


def _messages() -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "image", "image": str(IMAGE)}, {"type": "text", "text": "?"}]}]


def _wire_refs(renderer: Any) -> list[str]:
    """The refs of one rendered image as a consumer receives them: ``kwargs_data`` of wire body A."""
    body = generate_request(renderer.render(_messages(), add_generation_prompt=True), sampling_params={})
    return [ref for refs in body["features"]["kwargs_data"].values() for ref in refs]


def _inspected(ref: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``mmrender ref inspect`` output, parsed back."""
    assert cli_main(["ref", "inspect", ref]) == 0
    return json.loads(capsys.readouterr().out)


def _body(ref: str) -> dict[str, Any]:
    text = ref.removeprefix("mmraw:v3:")
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _v3(body: dict[str, Any]) -> str:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return "mmraw:v3:" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _check_everywhere(ref: str, capsys: pytest.CaptureFixture[str]) -> mmrender.MaterializedImage:
    """The ref materialises as a string, as ``ref inspect`` JSON and as a parsed object, all alike."""
    image = mmrender.materialize(ref)
    assert mmrender.materialize(_inspected(ref, capsys)).layout == image.layout
    assert mmrender.materialize(parse(ref)).layout == image.layout
    assert image.layout is not None and dict(image.layout.payload) == dict(image.ref.payload)
    return image


def _transformers_grid(params: dict[str, int]) -> list[int]:
    """The oracle: transformers' own ``smart_resize`` on the image's displayed size."""
    width, height = Image.open(IMAGE).size
    factor = params["patch_size"] * params["merge_size"]
    h, w = transformers_smart_resize(height, width, factor, params["min_pixels"], params["max_pixels"])
    return [1, h // params["patch_size"], w // params["patch_size"]]


# -- renderer options ------------------------------------------------------------------------------


@pytest.mark.parametrize("store", STORES)
def test_qwen3_vl_pixel_budget_refs_verify(store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    renderer = mmrender.get_renderer(QWEN_VL, store=_store(store, tmp_path), **SMALL_BUDGET)
    (ref,) = _wire_refs(renderer)
    params = {**QWEN_DEFAULTS, **SMALL_BUDGET}
    assert _body(ref)["layout_params"] == params
    image = _check_everywhere(ref, capsys)
    assert image.layout is not None
    assert list(image.layout.grid) == _transformers_grid(params) != _transformers_grid(dict(QWEN_DEFAULTS))


def test_mm_items_envelope_carries_layout_params(tmp_path: Path) -> None:
    renderer = mmrender.get_renderer(QWEN_VL, store=str(tmp_path / "store"), **SMALL_BUDGET)
    mm = renderer.render(_messages()).multi_modal_data
    (item,) = mm.mm_items["image"]
    entry = to_jsonable(item)
    assert entry["layout_params"] == {**QWEN_DEFAULTS, **SMALL_BUDGET}
    assert mmrender.materialize(entry, mm_hash=mm.mm_hashes["image"][0]).layout is not None
    assert mmrender.materialize(item, mm_hash=mm.mm_hashes["image"][0]).layout is not None


@pytest.mark.parametrize("model", [QWEN_VL, QWEN_35, KIMI])
def test_default_refs_carry_no_layout_params(model: str, tmp_path: Path) -> None:
    """The wire format of default refs is unchanged: exactly the old keys, and the same fingerprint as before."""
    (ref,) = _wire_refs(mmrender.get_renderer(model, store=str(tmp_path / "store")))
    body = _body(ref)
    assert set(body) == {"family", "fingerprint", "modality", "mm_hash", "payload", "raw_uri"} | (
        {"raw_image_id"} if "raw_image_id" in body else set()
    )
    assert mmrender.materialize(ref).layout is not None


def test_explicit_default_budget_is_a_default_ref(tmp_path: Path) -> None:
    defaults = {k: QWEN_DEFAULTS[k] for k in ("min_pixels", "max_pixels")}
    renderer = mmrender.get_renderer(QWEN_VL, store=str(tmp_path / "store"), **defaults)
    (ref,) = _wire_refs(renderer)
    assert "layout_params" not in _body(ref)
    assert _body(ref)["fingerprint"] == "c2f096345b0d84e6bd2ee38b815cc329"  # the design brief's preimage


# -- local checkpoints ----------------------------------------------------------------------------


@pytest.mark.parametrize("store", STORES)
def test_kimi_local_media_config_refs_verify(store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Kimi has no size options; a checkpoint's own ``media_proc_cfg`` is how its layout changes."""
    checkpoint = tmp_path / "kimi"
    checkpoint.mkdir()
    shutil.copy(KIMI_ASSETS / "config.json", checkpoint / "config.json")
    media = json.loads((KIMI_ASSETS / "media_proc_cfg.DERIVED.json").read_text())["media_proc_cfg"]
    small = {**media, "in_patch_limit": 1024}
    (checkpoint / "preprocessor_config.json").write_text(json.dumps({"media_proc_cfg": small}), encoding="utf-8")
    (ref,) = _wire_refs(mmrender.get_renderer(str(checkpoint), store=_store(store, tmp_path)))
    assert _body(ref)["layout_params"] == {**KIMI_DEFAULTS, "in_patch_limit": 1024}
    image = _check_everywhere(ref, capsys)
    size = (image.image.width, image.image.height)
    assert image.layout == kimi_image_layout(*size, {**KIMI_DEFAULTS, "in_patch_limit": 1024})
    assert image.layout.num_tokens < kimi_image_layout(*size).num_tokens


def test_qwen3_vl_local_preprocessor_refs_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = tmp_path / "qwen"
    shutil.copytree(ROOT / "families/qwen3_vl/src/mmrender_qwen3_vl/assets/Qwen3-VL-8B-Instruct", checkpoint)
    config = json.loads((checkpoint / "preprocessor_config.json").read_text())
    config["size"] = {"shortest_edge": 8192, "longest_edge": 100_000}
    (checkpoint / "preprocessor_config.json").write_text(json.dumps(config), encoding="utf-8")
    (checkpoint / "config.json").write_text(json.dumps({"model_type": "qwen3_vl"}), encoding="utf-8")
    (ref,) = _wire_refs(mmrender.get_renderer(str(checkpoint), store=str(tmp_path / "store")))
    params = {**QWEN_DEFAULTS, "min_pixels": 8192, "max_pixels": 100_000}
    image = _check_everywhere(ref, capsys)
    assert image.layout is not None and list(image.layout.grid) == _transformers_grid(params)


# -- layout-hook overrides -------------------------------------------------------------------------


class _EngineOverride:
    """A layout hook that re-parameterises the family's own engine (and says so through ``params``)."""

    def __init__(self, family: str, compute: Any, params: dict[str, int]) -> None:
        self.family, self.compute, self.params = family, compute, params

    @hookimpl(tryfirst=True)
    def mmrender_image_layout(self, renderer: Any, width: int, height: int) -> Any:
        layout = renderer.compute_layout(width, height)
        return self.compute(width, height, self.params) if layout.family == self.family else None


class _OpaqueOverride:
    """A layout hook that does its own math and reports no params: verifiable by hash only."""

    @hookimpl(tryfirst=True)
    def mmrender_image_layout(self, renderer: Any, width: int, height: int) -> Any:
        layout = renderer.compute_layout(width, height)
        return attrs.evolve(layout, fingerprint="e" * 32, params=None)


@pytest.fixture
def override() -> Any:
    """Register a hook object for one test, unregistering it afterwards."""
    registered: list[Any] = []

    def register(plugin: Any, name: str) -> None:
        plugins.register_plugin(plugin, name=name)
        registered.append(plugin)

    yield register
    for plugin in registered:
        plugins.unregister_plugin(plugin)


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize(
    ("model", "family", "compute", "params"),
    [
        (QWEN_VL, "qwen_vl", qwen_layout, {**QWEN_DEFAULTS, "min_pixels": 4096, "max_pixels": 60_000}),
        (QWEN_35, "qwen_vl", qwen_layout, {**QWEN_DEFAULTS, "min_pixels": 2048, "max_pixels": 30_000}),
        (KIMI, "kimi_k25", kimi_image_layout, {**KIMI_DEFAULTS, "in_patch_limit": 512}),
    ],
)
def test_layout_hook_override_refs_verify(
    model: str,
    family: str,
    compute: Any,
    params: dict[str, int],
    store: str,
    override: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    override(_EngineOverride(family, compute, params), "engine-override")
    (ref,) = _wire_refs(mmrender.get_renderer(model, store=_store(store, tmp_path)))
    assert _body(ref)["layout_params"] == params
    image = _check_everywhere(ref, capsys)
    assert image.layout == compute(image.image.width, image.image.height, params)
    if family == "qwen_vl":
        assert image.layout is not None and list(image.layout.grid) == _transformers_grid(params)


def test_opaque_layout_override_explains_what_is_missing(override: Any, tmp_path: Path) -> None:
    override(_OpaqueOverride(), "opaque-override")
    (ref,) = _wire_refs(mmrender.get_renderer(QWEN_VL, store=str(tmp_path / "store")))
    assert "layout_params" not in _body(ref)
    with pytest.raises(UnknownFamilyError, match="no layout_params") as info:
        mmrender.materialize(ref)
    assert "verify_layout=False" in str(info.value)
    assert mmrender.materialize(ref, verify_layout=False).image.data == IMAGE.read_bytes()


def test_override_whose_params_are_not_its_fingerprint_is_refused_at_render(override: Any, tmp_path: Path) -> None:
    class Lying:
        @hookimpl(tryfirst=True)
        def mmrender_image_layout(self, renderer: Any, width: int, height: int) -> Any:
            layout = qwen_layout(width, height, {**QWEN_DEFAULTS, "min_pixels": 4096})
            return attrs.evolve(layout, params={**QWEN_DEFAULTS, "min_pixels": 8192})

    override(Lying(), "lying-override")
    with pytest.raises(ConfigError, match="not its fingerprint"):
        mmrender.get_renderer(QWEN_VL, store=str(tmp_path / "store")).render(_messages())


def test_params_equal_in_python_but_not_in_json_are_not_confused(override: Any, tmp_path: Path) -> None:
    """``16 == 16.0`` in Python, but they hash to different fingerprints: a float claim is refused."""
    params = {**QWEN_DEFAULTS, "min_pixels": 4096}
    honest = _EngineOverride("qwen_vl", qwen_layout, params)
    override(honest, "honest-override")
    renderer = mmrender.get_renderer(QWEN_VL, store=str(tmp_path / "store"))
    assert "layout_params" in _body(_wire_refs(renderer)[0])
    plugins.unregister_plugin(honest)

    class FloatClaim:
        @hookimpl(tryfirst=True)
        def mmrender_image_layout(self, renderer: Any, width: int, height: int) -> Any:
            return attrs.evolve(qwen_layout(width, height, params), params={**params, "patch_size": 16.0})

    override(FloatClaim(), "float-override")
    with pytest.raises(ConfigError, match="not its fingerprint"):
        renderer.render(_messages())


# -- tampering and bad parameters ------------------------------------------------------------------


@pytest.fixture
def budget_ref(tmp_path: Path) -> str:
    (ref,) = _wire_refs(mmrender.get_renderer(QWEN_VL, store=str(tmp_path / "store"), **SMALL_BUDGET))
    return ref


def test_tampered_layout_params_are_refused(budget_ref: str) -> None:
    body = _body(budget_ref)
    body["layout_params"]["max_pixels"] = 16777216
    tampered = _v3(body)
    with pytest.raises(RefFieldError, match="tampered") as info:
        parse(tampered)
    assert info.value.field == "layout_params"
    with pytest.raises(RefFieldError, match="tampered"):
        mmrender.materialize(body)
    forged = attrs.evolve(parse(budget_ref), layout_params=body["layout_params"])  # built, never parsed
    with pytest.raises(RefFieldError, match="tampered"):
        mmrender.materialize(forged)
    features = {"mm_hashes": {"image": [body["mm_hash"]]}, "mm_placeholders": {"image": []}}
    with pytest.raises(WireValidationError):
        validate_features([1], {**features, "kwargs_data": {"image": [tampered]}})


def test_refingerprinted_params_must_still_match_the_payload(budget_ref: str) -> None:
    """Fixing the fingerprint after changing params is consistent, but the payload then lies."""
    body = _body(budget_ref)
    body["layout_params"]["max_pixels"] = 16777216
    body["fingerprint"] = layout_fingerprint("qwen_vl", body["layout_params"])
    with pytest.raises(AssetIntegrityError, match="does not match the layout"):
        mmrender.materialize(_v3(body))


def test_stripping_layout_params_leaves_an_unverifiable_ref(budget_ref: str) -> None:
    body = _body(budget_ref)
    del body["layout_params"]
    with pytest.raises(UnknownFamilyError, match="no layout_params"):
        mmrender.materialize(_v3(body))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"shortest_edge": 4096}, "keys"),
        ({"patch_size": None}, "positive int"),
        ({"patch_size": True}, "positive int"),
        ({"patch_size": 16.0}, "positive int"),
        ({"patch_size": "16"}, "positive int"),
        ({"patch_size": 0}, "positive int"),
        ({"merge_size": -2}, "positive int"),
        ({"min_pixels": 60_000, "max_pixels": 50_000}, "exceeds"),
        ({"min_pixels": 10**400, "max_pixels": 10**401}, "cannot lay out"),
        ({"patch_size": [16]}, "positive int"),
        ({"patch_size": {"a": 1}}, "positive int"),
    ],
)
def test_bad_layout_params_are_typed_errors(budget_ref: str, change: dict[str, Any], match: str) -> None:
    """Values a forger can hash correctly still reach the engine only after validation, never as a crash."""
    body = _body(budget_ref)
    body["layout_params"] = {**body["layout_params"], **change}
    body["fingerprint"] = layout_fingerprint("qwen_vl", body["layout_params"])
    with pytest.raises(RefFieldError, match=match) as info:
        mmrender.materialize(_v3(body))
    assert info.value.field == "layout_params"


@pytest.mark.parametrize("bad", [[], "x", {}, 7])
def test_layout_params_must_be_a_json_object(budget_ref: str, bad: Any) -> None:
    body = {**_body(budget_ref), "layout_params": bad}
    with pytest.raises(RefFieldError, match="layout_params"):
        parse(_v3(body))


def test_kimi_params_are_validated_too(tmp_path: Path) -> None:
    renderer = mmrender.get_renderer(KIMI, store=str(tmp_path / "store"))
    (ref,) = _wire_refs(renderer)
    body = _body(ref)
    body["layout_params"] = {**KIMI_DEFAULTS, "patch_size": "14"}
    body["fingerprint"] = layout_fingerprint("kimi_k25", body["layout_params"])
    with pytest.raises(RefFieldError, match="positive int"):
        mmrender.materialize(_v3(body))


def test_dumped_ref_round_trips_layout_params(budget_ref: str) -> None:
    ref = parse(budget_ref)
    assert isinstance(ref, RawMMRef) and ref.layout_params == {**QWEN_DEFAULTS, **SMALL_BUDGET}
    assert dump(ref) == budget_ref
