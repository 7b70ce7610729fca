"""processed_inputs: refs -> verified bytes -> the family's processor, bit-identical to the processor on the originals."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import attrs
import mmrender
import numpy as np
import pytest
from mmrender.errors import AssetIntegrityError, ConfigError, RefError
from mmrender.types import RawMMItem, to_jsonable
from mmrender_kimi_k25.layout import DEFAULT_MEDIA_PROC_CFG
from mmrender_qwen3_5.renderer import PREPROCESSOR_CONFIG as QWEN35_PREPROCESSOR
from mmrender_qwen3_vl.layout import DEFAULT_PREPROCESSOR as QWEN3_VL_PREPROCESSOR

from .conftest import IMAGE_SPECS, QWEN3_VL, image_message, kimi_oracle, load_original, qwen_oracle

pytest.importorskip("torchvision")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _oracle_arrays(processor, paths: list[Path]) -> dict[str, np.ndarray]:
    out = processor(images=[load_original(p) for p in paths], return_tensors="np")
    return {k: np.asarray(v) for k, v in out.items()}


def _assert_bit_identical(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> None:
    for key in ("pixel_values", "image_grid_thw"):
        assert ours[key].dtype == theirs[key].dtype, key
        assert ours[key].shape == theirs[key].shape, key
        assert np.array_equal(ours[key], theirs[key]), f"{key} differs from the processor's"


@pytest.fixture(scope="module")
def all_paths(image_paths: dict[str, Path]) -> list[Path]:
    assert len(image_paths) >= 20 and len({spec[2] for spec in IMAGE_SPECS.values()}) >= 5
    return list(image_paths.values())


def test_local_store_bit_identical_to_processor(tmp_path: Path, all_paths: list[Path]) -> None:
    store = tmp_path / "store"
    rendered = mmrender.get_renderer(QWEN3_VL, store=str(store)).render(image_message(all_paths))
    assert len(rendered.multi_modal_data.mm_items["image"]) == len(all_paths)
    theirs = _oracle_arrays(qwen_oracle(QWEN3_VL_PREPROCESSOR.parent), all_paths)
    _assert_bit_identical(mmrender.processed_inputs(rendered, store=str(store)), theirs)
    _assert_bit_identical(mmrender.processed_inputs(rendered), theirs)  # raw_uri read as is
    # the JSON form a dataset line carries back
    _assert_bit_identical(mmrender.processed_inputs(to_jsonable(rendered.multi_modal_data), store=str(store)), theirs)


def test_data_uri_refs_bit_identical(all_paths: list[Path]) -> None:
    rendered = mmrender.get_renderer(QWEN3_VL, store="data:").render(image_message(all_paths))
    assert all(item.raw_uri.startswith("data:") for item in rendered.multi_modal_data.mm_items["image"])
    theirs = _oracle_arrays(qwen_oracle(QWEN3_VL_PREPROCESSOR.parent), all_paths)
    _assert_bit_identical(mmrender.processed_inputs(rendered.multi_modal_data), theirs)


def test_stream_order_across_messages_and_repeats(tmp_path: Path, image_paths: dict[str, Path]) -> None:
    """Images come out in prompt order, a repeated image twice, whatever order the sidecar lists."""
    order = ["png_rgb", "jpeg_exif6", "png_rgb", "webp_wide"]
    messages = [
        {
            "role": "user",
            "content": [{"type": "image", "image": str(image_paths[order[0]])}, {"type": "text", "text": "a"}],
        },
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "image", "image": str(image_paths[n])} for n in order[1:]]},
    ]
    rendered = mmrender.get_renderer(QWEN3_VL, store=str(tmp_path / "s")).render(messages)
    theirs = _oracle_arrays(qwen_oracle(QWEN3_VL_PREPROCESSOR.parent), [image_paths[n] for n in order])
    _assert_bit_identical(mmrender.processed_inputs(rendered), theirs)


def test_qwen3_5_uses_its_processor(tmp_path: Path, image_paths: dict[str, Path]) -> None:
    paths = [image_paths[n] for n in ("jpeg_odd", "png_tiny", "gif_animated", "jpeg_exif8")]
    rendered = mmrender.get_renderer("Qwen/Qwen3.5-0.8B", store=str(tmp_path / "s")).render(image_message(paths))
    _assert_bit_identical(
        mmrender.processed_inputs(rendered), _oracle_arrays(qwen_oracle(QWEN35_PREPROCESSOR.parent), paths)
    )


def test_kimi_runs_its_processor(tmp_path: Path, image_paths: dict[str, Path]) -> None:
    paths = [image_paths[n] for n in ("jpeg_big", "png_tall", "webp_rgba", "bmp_tiny", "jpeg_exif6")]
    rendered = mmrender.get_renderer("moonshotai/Kimi-K2.5", store=str(tmp_path / "s")).render(image_message(paths))
    ours = mmrender.processed_inputs(rendered)
    _assert_bit_identical(ours, _oracle_arrays(kimi_oracle(DEFAULT_MEDIA_PROC_CFG), paths))
    assert np.array_equal(ours["grid_thws"], ours["image_grid_thw"])  # vLLM's key beside transformers'


def test_text_only_sample_has_no_pixels(tmp_path: Path) -> None:
    rendered = mmrender.get_renderer(QWEN3_VL, store=str(tmp_path / "s")).render([{"role": "user", "content": "hi"}])
    assert mmrender.processed_inputs(rendered) == {}


# -- integrity ------------------------------------------------------------------------------------------
def _local_path(uri: str) -> Path:
    return Path(url2pathname(urlsplit(uri).path)) if uri.startswith("file:") else Path(uri)


def test_tampered_asset_in_store(tmp_path: Path, image_paths: dict[str, Path]) -> None:
    store = tmp_path / "store"
    paths = [image_paths["jpeg_640"], image_paths["png_rgb"]]
    rendered = mmrender.get_renderer(QWEN3_VL, store=str(store)).render(image_message(paths))
    victim = _local_path(rendered.multi_modal_data.mm_items["image"][1].raw_uri)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the pixel data: the header still parses
    victim.write_bytes(bytes(data))
    with pytest.raises(AssetIntegrityError):
        mmrender.processed_inputs(rendered, store=str(store))
    with pytest.raises(AssetIntegrityError):
        mmrender.processed_inputs(rendered)


def test_swapped_data_uri_is_refused(image_paths: dict[str, Path]) -> None:
    rendered = mmrender.get_renderer(QWEN3_VL, store="data:").render(image_message([image_paths["jpeg_640"]]))
    item = rendered.multi_modal_data.mm_items["image"][0]
    other = "data:image/png;base64," + base64.b64encode(image_paths["png_rgb"].read_bytes()).decode()
    forged = attrs.evolve(rendered.multi_modal_data, mm_items={"image": (attrs.evolve(item, raw_uri=other),)})
    with pytest.raises(AssetIntegrityError):
        mmrender.processed_inputs(forged)


def test_forged_payload_is_refused(image_paths: dict[str, Path]) -> None:
    """The bytes are genuine but the ref claims another grid: the layout re-check from the header catches it."""
    rendered = mmrender.get_renderer(QWEN3_VL, store="data:").render(image_message([image_paths["jpeg_640"]]))
    item: RawMMItem = rendered.multi_modal_data.mm_items["image"][0]
    ((t, h, w),) = item.payload["image_grid_thw"]
    forged_item = attrs.evolve(item, payload={"image_grid_thw": [[t, h + 2, w]]})
    forged = attrs.evolve(rendered.multi_modal_data, mm_items={"image": (forged_item,)})
    with pytest.raises(AssetIntegrityError, match="does not match the layout"):
        mmrender.processed_inputs(forged)


def test_bad_inputs_are_typed(image_paths: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="TrainingSample, RenderedTokens or MultiModalData"):
        mmrender.processed_inputs([1, 2, 3])
    rendered = mmrender.get_renderer(QWEN3_VL, store="data:").render(image_message([image_paths["jpeg_640"]]))
    broken = attrs.evolve(rendered.multi_modal_data, mm_placeholders={"image": ()})
    with pytest.raises(RefError, match="parallel"):
        mmrender.processed_inputs(broken)


def test_family_without_a_processor_is_named(tmp_path: Path, image_paths: dict[str, Path]) -> None:
    """The out-of-tree toy family registers a layout engine but no ``process``: the error says so."""
    import importlib.util

    from mmrender.errors import UnknownFamilyError

    source = Path(__file__).resolve().parents[1] / "plugins_src/throwaway_family/src/mmrender_throwaway/__init__.py"
    spec = importlib.util.spec_from_file_location("mmrender_throwaway_trainer_test", source)
    assert spec is not None and spec.loader is not None
    toy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(toy)
    mmrender.register_plugin(toy, name="toy-trainer-test")
    try:
        rendered = mmrender.get_renderer(toy.MODEL_ID, store=str(tmp_path / "s")).render(
            image_message([image_paths["png_rgb"]])
        )
        with pytest.raises(UnknownFamilyError, match="provides an image processor"):
            mmrender.processed_inputs(rendered)
    finally:
        mmrender.unregister_plugin("toy-trainer-test")
