"""kimi_layout (size only, torch-free) against transformers' Kimi_K25ImageProcessor run on real images.

Oracle: transformers 5.24 ``Kimi_K25ImageProcessor`` (torch + torchvision), configured from the
same media_proc_cfg, on solid white PIL images of each size. We compare the grid, the patch
count (``pixel_values`` shape), the media-token count, and the resized size, which is read back
from the pixels: resized area is white (+1 after normalisation), padding is zeros (-1).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from mmrender_kimi_k25.navit_resize import KimiMediaConfig, default_config, kimi_layout
from mmrender_kimi_k25.tokenizer import DEFAULT_VOCAB_FILE, PAT_STR, default_tokenizer
from PIL import Image
from tokenizers import Tokenizer
from transformers import Kimi_K25ImageProcessor, Kimi_K25Processor, PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import TikTokenConverter
from transformers.models.kimi_k25.video_processing_kimi_k25 import Kimi_K25VideoProcessor

CFG = default_config()
SIDE = CFG.patch_limit_on_one_side * CFG.patch_size  # 7168
GOLDENS = Path(__file__).parent / "data" / "goldens.image_grid.DERIVED.json"


def _sizes() -> list[tuple[int, int]]:
    sizes = [(1, 1), (1, 2), (2, 1), (13, 13), (14, 14), (15, 15), (27, 27), (28, 28), (29, 29), (1, 28), (28, 1),
             (14, 1), (640, 480), (480, 640), (224, 224), (1920, 1080), (333, 777), (100, 50)]  # fmt: skip
    for k in (1, 2, 3, 5, 17, 36, 46, 128, 255, 256):
        for v in (14 * k - 1, 14 * k, 14 * k + 1, 28 * k - 1, 28 * k + 1):
            sizes.append((v, 100 + k))
            sizes.append((57 + k, v))
    for v in (SIDE - 1, SIDE, SIDE + 1, SIDE + 14, 2 * SIDE):  # per-side limit
        sizes += [(v, 1), (v, 100), (1, v), (300, v)]
    # in_patch_limit: 128 x 128 = 256 x 64 = 512 x 32 = 16384 patches, and one patch more per side
    for w, h in ((1792, 1792), (3584, 896), (7168, 448)):
        sizes += [(w, h), (w + 13, h), (w + 14, h), (w, h + 14), (w - 1, h), (w + 14, h + 14)]
    sizes += [(1, 100_000), (100_000, 1), (3, 10_000), (10_000, 3), (20_000, 28), (50_000, 50), (7168, 2),
              (4000, 3000), (8192, 1024), (4500, 4500), (12_000, 900), (2, 5000)]  # fmt: skip
    rng = random.Random(1126)
    for _ in range(80):
        sizes.append((rng.randint(1, 1500), rng.randint(1, 1500)))
    for _ in range(10):  # large images dominate the runtime, so only a few
        sizes.append((rng.randint(1500, 4500), rng.randint(200, 4500)))
    for _ in range(15):
        long, short = int(10 ** rng.uniform(3, 4.3)), rng.randint(1, 60)
        sizes.append((long, short) if rng.random() < 0.5 else (short, long))
    return list(dict.fromkeys(sizes))


SIZES = _sizes()
BATCH = 24


@pytest.fixture(scope="module")
def processor() -> Kimi_K25ImageProcessor:
    return Kimi_K25ImageProcessor(
        max_patches=CFG.in_patch_limit,
        size={"max_height": CFG.patch_limit_on_one_side, "max_width": CFG.patch_limit_on_one_side},
        patch_size=CFG.patch_size,
        merge_size=CFG.merge_kernel_size,
    )


def test_config_is_the_derived_media_proc_cfg() -> None:
    assert KimiMediaConfig(patch_size=14, merge_kernel_size=2, in_patch_limit=16384, patch_limit_on_one_side=512) == CFG


def test_brief_example() -> None:
    layout = kimi_layout(640, 480)
    assert (layout.grid_thws, layout.num_media_tokens) == ([1, 36, 46], 414)
    assert (layout.resized, layout.padded) == ((640, 480), (644, 504))


def test_derived_goldens() -> None:
    for case in json.loads(GOLDENS.read_text())["cases"]:
        layout = kimi_layout(case["width"], case["height"])
        assert layout.grid_thws == case["grid_thw"]
        assert layout.num_media_tokens == case["num_tokens"]
        assert layout.resized == (case["new_width"], case["new_height"])
        assert layout.padded == (case["new_width"] + case["pad_width"], case["new_height"] + case["pad_height"])


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "10"])
def test_rejects_bad_sizes(bad: object) -> None:
    with pytest.raises(ValueError):
        kimi_layout(bad, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        kimi_layout(10, bad)  # type: ignore[arg-type]


def test_parity_with_live_processor(processor: Kimi_K25ImageProcessor) -> None:
    """Images go to the processor in batches (one call costs ~75 ms of overhead); each is checked alone."""
    assert len(SIZES) >= 200
    p = CFG.patch_size
    for start in range(0, len(SIZES), BATCH):
        batch = SIZES[start : start + BATCH]
        out = processor(images=[Image.new("RGB", (w, h), (255, 255, 255)) for w, h in batch], return_tensors="pt")
        grids = out["image_grid_thw"].tolist()
        assert len(grids) == len(batch)
        offset = 0
        for (w, h), grid in zip(batch, grids, strict=True):
            ours = kimi_layout(w, h, CFG)
            _, gh, gw = grid
            assert grid == ours.grid_thws, (w, h)
            patches = out["pixel_values"][offset : offset + gh * gw]
            offset += gh * gw
            assert tuple(patches.shape) == (gh * gw, 3, p, p), (w, h)
            assert ours.num_media_tokens == gh * gw // CFG.merge_kernel_size**2
            assert ours.num_media_tokens * 4 == processor.get_number_of_image_patches(h, w)
            pixels = patches.reshape(gh, gw, 3, p, p).permute(2, 0, 3, 1, 4).reshape(3, gh * p, gw * p)
            new_w, new_h = ours.resized
            assert ours.padded == (gw * p, gh * p)
            assert float(pixels[:, :new_h, :new_w].min()) > 0.9, (w, h, "resized area")
            for pad in (pixels[:, new_h:, :], pixels[:, :new_h, new_w:]):  # below, and right of, the image
                assert pad.numel() == 0 or float(pad.min()) == float(pad.max()) == -1.0, (w, h, "padding")
        assert offset == out["pixel_values"].shape[0]


@pytest.fixture(scope="module")
def hf_processor(processor: Kimi_K25ImageProcessor) -> Kimi_K25Processor:
    """A full transformers Kimi processor with an HF tokenizer converted from the official vocabulary."""
    names = sorted(default_tokenizer().special_tokens, key=default_tokenizer().special_tokens.__getitem__)
    converted: Tokenizer = TikTokenConverter(vocab_file=str(DEFAULT_VOCAB_FILE), pattern=PAT_STR).converted()
    converted.add_special_tokens(names)
    fast = PreTrainedTokenizerFast(tokenizer_object=converted, bos_token="[BOS]", eos_token="[EOS]")
    return Kimi_K25Processor(image_processor=processor, tokenizer=fast, video_processor=Kimi_K25VideoProcessor())


def test_transformers_processor_expands_each_media_pad(hf_processor: Kimi_K25Processor) -> None:
    """transformers' processor writes num_media_tokens pads per image; vLLM does the same in-engine."""
    block = "<|media_begin|>image<|media_content|><|media_pad|><|media_end|>\n"
    text = f"<|im_user|>user<|im_middle|>{block}{block}Compare.<|im_end|>"
    images = [Image.new("RGB", (640, 480)), Image.new("RGB", (4000, 3000))]
    out = hf_processor(text=[text], images=images, return_tensors="pt")
    assert sorted(out.keys()) == ["attention_mask", "image_grid_thw", "input_ids", "pixel_values"]
    layouts = [kimi_layout(*im.size) for im in images]
    assert out["image_grid_thw"].tolist() == [lay.grid_thws for lay in layouts]
    pad = default_tokenizer().convert_tokens_to_ids("<|media_pad|>")
    ids = out["input_ids"][0].tolist()
    assert ids.count(pad) == sum(lay.num_media_tokens for lay in layouts) == 414 + 4200
    unexpanded = default_tokenizer().encode(text, allow_special=True)
    assert len(ids) == len(unexpanded) - 2 + 414 + 4200
    assert tuple(out["pixel_values"].shape) == (4 * (414 + 4200), 3, 14, 14)
