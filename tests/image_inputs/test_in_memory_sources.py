"""PIL images, numpy arrays and base64 strings: the model sees exactly the caller's pixels, as transformers would.

An unmodified PIL image opened from a file keeps that file's bytes (same hash as the path, EXIF
kept); any other PIL image or array is stored as a lossless PNG. The oracle is transformers' own
processor fed by ``load_image`` (or the array itself, which its processors accept).
"""

from __future__ import annotations

import base64
import hashlib

import numpy as np
import pytest
from mmrender import materialize
from mmrender.errors import ConversationError, ImageSourceError
from PIL import Image, ImageOps

from .conftest import MODELS, first_item, grid_of, image_part, oracle_outputs, oriented_bytes, pattern, renderer

FAMILIES = sorted(MODELS)


def _render(family, source, **options):
    return renderer(family, **options).render([{"role": "user", "content": [image_part(source)]}])


def _hash(rendered) -> str:
    return rendered.multi_modal_data.mm_hashes["image"][0]


@pytest.fixture(scope="module")
def phone_jpeg(write) -> str:
    """A JPEG stored landscape with orientation 6, like a phone photo."""
    return write("phone.jpg", oriented_bytes(160, 120, 6, "JPEG"))


@pytest.mark.parametrize("loaded", [False, True], ids=["lazy", "loaded"])
def test_unmodified_file_backed_pil_keeps_the_file_bytes(phone_jpeg, loaded):
    with Image.open(phone_jpeg) as im:
        if loaded:
            im.load()
        for family in FAMILIES:
            by_pil, by_path = _render(family, im), _render(family, phone_jpeg)
            assert _hash(by_pil) == _hash(by_path)
            with open(phone_jpeg, "rb") as f:
                assert _hash(by_pil) == hashlib.sha256(f.read()).hexdigest()[:32]
            assert grid_of(family, first_item(by_pil)) == oracle_outputs(family, im)["image_grid_thw"].tolist()
            got = first_item(_render(family, im, multimodal_output="processed"))
            np.testing.assert_array_equal(got.data["pixel_values"], oracle_outputs(family, im)["pixel_values"])


def _edited(path: str) -> Image.Image:
    im = Image.open(path)
    im.load()
    im.putpixel((0, 0), (255, 0, 255))  # edited in place: still has its filename and format
    return im


def _in_memory_images(path: str) -> dict[str, Image.Image]:
    with Image.open(path) as im:
        copy = im.copy()  # no file behind it, but the EXIF orientation travels in info
    rgba = pattern(90, 70).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((90, 70)))
    return {
        "edited-file": _edited(path),
        "copy-with-exif": copy,
        "rgba": rgba,
        "palette": pattern(90, 70).convert("P", palette=Image.Palette.ADAPTIVE, colors=200),
        "grey": pattern(90, 70).convert("L"),
        "cmyk": pattern(90, 70).convert("CMYK"),
    }


@pytest.mark.parametrize("kind", ["edited-file", "copy-with-exif", "rgba", "palette", "grey", "cmyk"])
def test_other_pil_images_are_stored_losslessly(phone_jpeg, kind):
    image = _in_memory_images(phone_jpeg)[kind]
    upright = ImageOps.exif_transpose(image).convert("RGB")
    for family in FAMILIES:
        rendered = _render(family, image)
        got = materialize(first_item(rendered), mm_hash=_hash(rendered))
        assert got.image.format == "PNG"
        assert got.pixels().tobytes() == upright.tobytes() and got.pixels().size == upright.size
        assert grid_of(family, first_item(rendered)) == oracle_outputs(family, image)["image_grid_thw"].tolist()
        processed = first_item(_render(family, image, multimodal_output="processed"))
        np.testing.assert_array_equal(processed.data["pixel_values"], oracle_outputs(family, image)["pixel_values"])
    if kind == "edited-file":
        assert _hash(_render("qwen3_vl", image)) != _hash(_render("qwen3_vl", phone_jpeg))


@pytest.mark.parametrize("layout", ["HWC", "CHW"])
def test_numpy_arrays_match_transformers(layout):
    hwc = np.array(pattern(83, 57))  # writable, as torch.from_numpy in the oracle wants
    array = hwc if layout == "HWC" else np.ascontiguousarray(hwc.transpose(2, 0, 1))
    for family in FAMILIES:
        rendered = _render(family, array)
        got = materialize(first_item(rendered), mm_hash=_hash(rendered))
        assert np.array_equal(np.asarray(got.pixels()), hwc)
        want = oracle_outputs(family, array)
        assert grid_of(family, first_item(rendered)) == want["image_grid_thw"].tolist()
        processed = first_item(_render(family, array, multimodal_output="processed"))
        np.testing.assert_array_equal(processed.data["pixel_values"], want["pixel_values"])


@pytest.mark.parametrize("array", [np.zeros((8, 9), np.uint8), np.zeros((8, 9, 4), np.uint8), np.zeros((8, 9, 3))])
def test_unusable_arrays_are_refused_by_name(array):
    with pytest.raises(ImageSourceError, match="numpy image array"):
        _render("qwen3_vl", array)


@pytest.mark.parametrize("family", FAMILIES)
def test_base64_parts_and_bare_base64_render_like_the_path(family, phone_jpeg):
    with open(phone_jpeg, "rb") as f:
        encoded = base64.b64encode(f.read()).decode()
    by_path = _render(family, phone_jpeg)
    for content in (
        [{"type": "image", "base64": encoded}],
        [{"type": "image", "base64": "data:image/jpeg;base64," + encoded}],
        [image_part(encoded)],
        [{"type": "image_url", "image_url": {"url": encoded}}],
    ):
        got = renderer(family).render([{"role": "user", "content": content}])
        assert got.token_ids == by_path.token_ids, content[0]
        assert got.multi_modal_data.mm_hashes == by_path.multi_modal_data.mm_hashes


def test_bare_strings_that_are_not_images_are_still_missing_files():
    with pytest.raises(ImageSourceError, match="image file not found"):
        _render("qwen3_vl", "photos/holiday_2024_0001.jpeg")
    not_an_image = base64.b64encode(b"just some text, not a picture").decode()
    with pytest.raises(ImageSourceError, match="image file not found"):
        _render("qwen3_vl", not_an_image)


def test_undecodable_base64_parts_are_refused_by_name():
    with pytest.raises(ImageSourceError, match="base64 does not decode"):
        renderer("qwen3_vl").render([{"role": "user", "content": [{"type": "image", "base64": "!!!"}]}])
    with pytest.raises(ConversationError, match="'base64' must be a string"):
        renderer("qwen3_vl").render([{"role": "user", "content": [{"type": "image", "base64": b"abc"}]}])
