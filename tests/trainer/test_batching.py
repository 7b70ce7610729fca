"""collate and pack: shapes, padding and labels, and a tiny Qwen3-VL's forward pass on the result.

The oracle is transformers: the model's own ``get_rope_index`` on the padded batch, its forward pass
without ``position_ids`` (it then computes them itself), and per-sample forward passes for packing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import mmrender
import numpy as np
import pytest
from mmrender.errors import SampleTooLongError, TrainingInputError
from mmrender.samples import TrainingSample

from .conftest import QWEN3_VL
from .tiny_models import reference_sample, tiny_qwen3_5, tiny_qwen3_vl

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return mmrender.get_renderer(QWEN3_VL, store=str(tmp_path_factory.mktemp("store")))


@pytest.fixture(scope="module")
def model(renderer: Any) -> Any:
    ids = renderer.text_tokenizer.convert_tokens_to_ids
    return tiny_qwen3_vl(ids("<|image_pad|>"), ids("<|video_pad|>"), ids("<|vision_start|>"))


def _conversations(p: dict[str, Path]) -> list[list[dict[str, Any]]]:
    img = lambda name: {"type": "image", "image": str(p[name])}  # noqa: E731
    return [
        [
            {"role": "user", "content": [img("jpeg_640"), {"type": "text", "text": "What is this?"}]},
            {"role": "assistant", "content": "Noise, mostly."},
        ],
        [{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "Hi!"}],
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [img("png_tall"), img("webp_wide"), {"type": "text", "text": "Compare."}]},
            {"role": "assistant", "content": "The first is tall, the second wide."},
            {"role": "user", "content": [img("jpeg_exif6"), {"type": "text", "text": "And this one?"}]},
            {"role": "assistant", "content": "Rotated."},
        ],
    ]


@pytest.fixture(scope="module")
def samples(renderer: Any, model: Any, image_paths: dict[str, Path]) -> list[TrainingSample]:
    """``build_training_sample``'s samples, whose ids, token types and positions equal the oracle's."""
    built = [renderer.build_training_sample(conv) for conv in _conversations(image_paths)]
    for sample, conv in zip(built, _conversations(image_paths), strict=True):
        oracle = reference_sample(renderer, conv, model)
        assert (sample.token_ids, sample.mm_token_type_ids) == (oracle.token_ids, oracle.mm_token_type_ids)
        assert (sample.position_ids, sample.rope_delta) == (oracle.position_ids, oracle.rope_delta)
        assert any(sample.loss_mask) and not all(sample.loss_mask)
    return built


def _grids(samples: list[TrainingSample]) -> list[list[int]]:
    items = [item for s in samples for item in s.multi_modal_data.mm_items.get("image", ())]
    return [row for item in items for row in item.payload["image_grid_thw"]]


# -- collate -------------------------------------------------------------------------------------------
def test_collate_shapes_padding_and_labels(samples: list[TrainingSample]) -> None:
    batch = mmrender.collate(samples, pad_to_multiple_of=64)
    lengths = [len(s) for s in samples]
    b, width = batch["input_ids"].shape
    assert b == len(samples) and width % 64 == 0 and max(lengths) <= width < max(lengths) + 64
    assert batch["position_ids"].shape == (3, b, width)
    for key in ("attention_mask", "labels", "mm_token_type_ids"):
        assert batch[key].shape == (b, width), key
    for row, sample in enumerate(samples):
        n = len(sample)
        assert batch["input_ids"][row, :n].tolist() == list(sample.token_ids)
        assert batch["attention_mask"][row].tolist() == [1] * n + [0] * (width - n)
        want = [t if m else -100 for t, m in zip(sample.token_ids, sample.loss_mask, strict=True)]
        assert batch["labels"][row].tolist() == want + [-100] * (width - n)
        assert batch["mm_token_type_ids"][row].tolist() == list(sample.mm_token_type_ids) + [0] * (width - n)
        assert batch["position_ids"][:, row, :n].tolist() == [list(r) for r in sample.position_ids]
    assert batch["image_grid_thw"].tolist() == _grids(samples)
    assert batch["pixel_values"].shape[0] == int(np.prod(batch["image_grid_thw"], axis=1).sum())


def test_collate_positions_are_the_models_own(samples: list[TrainingSample], model: Any) -> None:
    batch = mmrender.collate(samples, pad_to_multiple_of=8, return_tensors="pt")
    positions, deltas = model.model.get_rope_index(
        batch["input_ids"],
        mm_token_type_ids=batch["mm_token_type_ids"],
        image_grid_thw=batch["image_grid_thw"],
        attention_mask=batch["attention_mask"],
    )
    assert torch.equal(batch["position_ids"], positions)
    assert deltas.reshape(-1).tolist() == [s.rope_delta for s in samples]


def test_tiny_qwen3_vl_forward_on_collate(samples: list[TrainingSample], model: Any) -> None:
    batch = mmrender.collate(samples, return_tensors="pt")
    with torch.no_grad():
        ours = model(**batch)
        model.model.rope_deltas = None
        theirs = model(**{k: v for k, v in batch.items() if k != "position_ids"})
    assert torch.isfinite(ours.loss)
    assert torch.equal(ours.logits, theirs.logits)  # the model's own positions give the same pass
    assert ours.logits.shape[:2] == batch["input_ids"].shape


def test_collate_numpy_default_and_bad_arguments(samples: list[TrainingSample]) -> None:
    batch = mmrender.collate(samples[:2])
    assert all(isinstance(v, np.ndarray) for v in batch.values())
    with pytest.raises(TrainingInputError, match="pad_to_multiple_of"):
        mmrender.collate(samples, pad_to_multiple_of=0)
    with pytest.raises(TrainingInputError, match="return_tensors"):
        mmrender.collate(samples, return_tensors="tf")
    with pytest.raises(TrainingInputError, match="at least one"):
        mmrender.collate([])
    with pytest.raises(TrainingInputError, match="sample 1 is for"):
        mmrender.collate([samples[0], attrs.evolve(samples[1], model="Qwen/Qwen3-VL-2B-Instruct")])
    with pytest.raises(TrainingInputError, match="sample 0 is a list"):
        mmrender.collate([[1, 2]])


def test_collate_json_round_trip(samples: list[TrainingSample]) -> None:
    from mmrender.types import to_jsonable

    batch = mmrender.collate(samples)
    again = mmrender.collate([to_jsonable(s) for s in samples])
    assert batch.keys() == again.keys()
    assert all(np.array_equal(batch[k], again[k]) for k in batch)


def test_text_only_batch_has_no_pixels(samples: list[TrainingSample], model: Any) -> None:
    batch = mmrender.collate([samples[1]], return_tensors="pt")
    assert "pixel_values" not in batch and "image_grid_thw" not in batch
    with torch.no_grad():
        assert torch.isfinite(model(**batch).loss)


# -- pack ----------------------------------------------------------------------------------------------
def test_pack_layout(samples: list[TrainingSample]) -> None:
    total = sum(len(s) for s in samples)
    packed = mmrender.pack(samples, max_tokens=total)
    assert packed["input_ids"].shape == (1, total) and "attention_mask" not in packed
    assert packed["position_ids"].shape == (4, 1, total)
    starts = np.cumsum([0] + [len(s) for s in samples])
    assert packed["cu_seqlens"].tolist() == starts.tolist() and packed["cu_seqlens"].dtype == np.int32
    for sample, start in zip(samples, starts, strict=False):
        span = slice(start, start + len(sample))
        assert packed["input_ids"][0, span].tolist() == list(sample.token_ids)
        assert packed["position_ids"][0, 0, span].tolist() == list(range(len(sample)))
        assert packed["position_ids"][1:, 0, span].tolist() == [list(r) for r in sample.position_ids]
    assert packed["image_grid_thw"].tolist() == _grids(samples)


def test_packed_forward_equals_separate_forwards(samples: list[TrainingSample], model: Any) -> None:
    """The text row tells transformers' mask where each sample starts: packed logits equal per-sample ones.

    transformers reads packing from the text row only without a cache (``use_cache=False``, as in training).
    """
    packed = mmrender.pack(samples, max_tokens=4096, return_tensors="pt")
    with torch.no_grad():
        logits = model(use_cache=False, **{k: v for k, v in packed.items() if k != "cu_seqlens"}).logits[0]
        bounds = packed["cu_seqlens"].tolist()
        for i, sample in enumerate(samples):
            alone = mmrender.collate([sample], return_tensors="pt")
            model.model.rope_deltas = None
            want = model(**{k: v for k, v in alone.items() if k != "attention_mask"}).logits[0]
            torch.testing.assert_close(logits[bounds[i] : bounds[i + 1]], want, rtol=1e-4, atol=1e-5)


def test_pack_limits(samples: list[TrainingSample]) -> None:
    longest = max(len(s) for s in samples)
    with pytest.raises(SampleTooLongError) as info:
        mmrender.pack(samples, max_tokens=longest - 1)
    assert info.value.length == longest and info.value.max_tokens == longest - 1
    with pytest.raises(TrainingInputError, match="pack_groups"):
        mmrender.pack(samples, max_tokens=longest)
    with pytest.raises(TrainingInputError, match="positive int"):
        mmrender.pack(samples, max_tokens=0)


def test_pack_groups_first_fit_in_order(samples: list[TrainingSample]) -> None:
    assert mmrender.pack_groups([5, 4, 3, 2], 7) == [[0, 3], [1, 2]]
    assert mmrender.pack_groups([7, 7], 7) == [[0], [1]]
    with pytest.raises(SampleTooLongError):
        mmrender.pack_groups([3, 8], 7)
    lengths = [len(s) for s in samples]
    limit = max(lengths)
    groups = mmrender.pack_groups(samples, limit)
    assert sorted(i for g in groups for i in g) == list(range(len(samples)))
    for group in groups:
        mmrender.pack([samples[i] for i in group], max_tokens=limit)  # every group packs


def test_kimi_collate_and_pack_use_1d_positions(tmp_path: Path, image_paths: dict[str, Path]) -> None:
    """A 1-D family: ``B × L`` positions in a batch, ``1 × L`` restarting per sample in a packed row."""
    kimi = mmrender.get_renderer("moonshotai/Kimi-K2.5", store=str(tmp_path / "s"))
    convs = _conversations(image_paths)
    built = [kimi.build_training_sample(conv) for conv in convs[:2]]
    assert all(len(s.position_ids) == 1 for s in built)
    batch = mmrender.collate(built)
    width = max(len(s) for s in built)
    assert batch["position_ids"].shape == (2, width)
    for row, sample in enumerate(built):
        assert batch["position_ids"][row, : len(sample)].tolist() == list(sample.position_ids[0])
    assert batch["grid_thws"].tolist() == [
        r for s in built for i in s.multi_modal_data.mm_items.get("image", ()) for r in i.payload["grid_thws"]
    ]
    packed = mmrender.pack(built, max_tokens=sum(len(s) for s in built))
    assert packed["position_ids"].shape == (1, sum(len(s) for s in built))
    assert packed["position_ids"][0].tolist() == [p for s in built for p in s.position_ids[0]]


@pytest.mark.filterwarnings("ignore:.*falling back to its reference PyTorch implementation")
def test_tiny_qwen3_5_forward_on_collate(tmp_path: Path, image_paths: dict[str, Path]) -> None:
    renderer = mmrender.get_renderer("Qwen/Qwen3.5-0.8B", store=str(tmp_path / "s"))
    model = tiny_qwen3_5(renderer.text_tokenizer.convert_tokens_to_ids)
    built = [renderer.build_training_sample(conv) for conv in _conversations(image_paths)]
    batch = mmrender.collate(built, return_tensors="pt")
    positions, deltas = model.model.get_rope_index(
        batch["input_ids"],
        mm_token_type_ids=batch["mm_token_type_ids"],
        image_grid_thw=batch["image_grid_thw"],
        attention_mask=batch["attention_mask"],
    )
    assert torch.equal(batch["position_ids"], positions)
    assert deltas.reshape(-1).tolist() == [s.rope_delta for s in built]
    with torch.no_grad():
        ours = model(**batch)
        model.model.rope_deltas = None
        theirs = model(**{k: v for k, v in batch.items() if k != "position_ids"})
    assert torch.isfinite(ours.loss) and torch.equal(ours.logits, theirs.logits)
