"""Processed mode for videos: ``pixel_values_videos`` / ``video_grid_thw`` bit-identical to transformers'
``Qwen3VLVideoProcessor`` decoding the same file itself (torchcodec) or sampling the same frame list; and
``processed_inputs`` / ``collate`` carrying them from raw video refs, into a tiny Qwen3-VL's forward pass."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import mmrender
import numpy as np
import pytest
from frame_lists import fps, frames
from mmrender.types import ProcessedMMItem
from processed_cases import MODELS, PROCESSED_CASES, ProcessedCase

pytest.importorskip("torchvision")


def _digest(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()


def _video_part(case: ProcessedCase, clip_paths: dict[str, Path]) -> dict[str, Any]:
    if case.frames:
        return {"type": "video", "video": frames(case.frames), "fps": fps(case.frames)}
    return {"type": "video", "video": str(clip_paths[case.clip])}


def _messages(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [*parts, {"type": "text", "text": "What happens?"}]}]


@pytest.mark.parametrize("case", PROCESSED_CASES, ids=lambda c: c.id)
def test_processed_render_is_bit_identical_to_the_video_processor(
    case: ProcessedCase, tmp_path: Path, clip_paths: dict[str, Path], oracle: dict[str, Any]
) -> None:
    store = tmp_path / "store"
    renderer = mmrender.get_renderer(
        MODELS[case.family], store=str(store), multimodal_output="processed", **case.options
    )
    rendered = renderer.render(_messages(_video_part(case, clip_paths)), add_generation_prompt=True)
    (item,) = rendered.multi_modal_data.mm_items["video"]
    assert isinstance(item, ProcessedMMItem)
    expected = oracle["processed_by_id"][case.id]
    values = item.data["pixel_values_videos"]
    assert item.data["video_grid_thw"].tolist() == expected["grid"]
    assert [list(values.shape), str(values.dtype)] == [expected["shape"], expected["dtype"]]
    assert _digest(values) == expected["sha256"]
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))  # processed mode stores nothing
    raw = mmrender.get_renderer(MODELS[case.family], store=str(tmp_path / "raw"), **case.options)
    assert raw.render(_messages(_video_part(case, clip_paths)), add_generation_prompt=True).token_ids == (
        rendered.token_ids
    )


def _split(values: np.ndarray, grids: np.ndarray) -> list[np.ndarray]:
    sizes = [int(np.prod(grid)) for grid in grids]
    return np.split(values, np.cumsum(sizes)[:-1])


def test_processed_inputs_from_video_refs(
    tmp_path: Path, clip_paths: dict[str, Path], png_paths: dict[str, str], oracle: dict[str, Any]
) -> None:
    """Two videos (a clip and a frame list) and an image from raw refs: each video's rows are the processor's."""
    cases = {c.id: c for c in PROCESSED_CASES}
    first, second = cases["qwen3_vl-issue_vp9_320x180"], cases["qwen3_vl-frames-dense"]
    messages = _messages(
        _video_part(first, clip_paths), {"type": "image", "image": png_paths["red"]}, _video_part(second, clip_paths)
    )
    rendered = mmrender.get_renderer(MODELS["qwen3_vl"], store=str(tmp_path / "s")).render(messages)
    out = mmrender.processed_inputs(rendered, store=str(tmp_path / "s"))
    assert set(out) == {"pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw"}
    grids = out["video_grid_thw"]
    assert grids.tolist() == [
        *oracle["processed_by_id"][first.id]["grid"],
        *oracle["processed_by_id"][second.id]["grid"],
    ]
    chunks = _split(out["pixel_values_videos"], grids)
    assert [_digest(c) for c in chunks] == [oracle["processed_by_id"][c.id]["sha256"] for c in (first, second)]
    assert out["image_grid_thw"].tolist() == list(
        rendered.multi_modal_data.mm_items["image"][0].payload["image_grid_thw"]
    )


def _tiny_models() -> Any:
    source = Path(__file__).resolve().parents[1] / "trainer" / "tiny_models.py"
    spec = importlib.util.spec_from_file_location("mmrender_tests_tiny_models", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_qwen3_vl_forward_on_a_collated_batch_with_a_video(
    tmp_path: Path, clip_paths: dict[str, Path], png_paths: dict[str, str]
) -> None:
    """collate's video keys feed the model: its forward with our positions equals its own get_rope_index's."""
    import torch

    renderer = mmrender.get_renderer(MODELS["qwen3_vl"], store=str(tmp_path / "s"))
    ids = renderer.text_tokenizer.convert_tokens_to_ids
    model = _tiny_models().tiny_qwen3_vl(ids("<|image_pad|>"), ids("<|video_pad|>"), ids("<|vision_start|>"))
    video = [
        {"role": "user", "content": [{"type": "video", "video": str(clip_paths["issue_short_8fps_6"])}]},
        {"role": "assistant", "content": "A gradient slides."},
    ]
    mixed = [
        {
            "role": "user",
            "content": [
                {"type": "image", "image": png_paths["blue"]},
                {"type": "video", "video": frames("three_frames"), "fps": fps("three_frames")},
            ],
        },
        {"role": "assistant", "content": "Blue, then noise."},
    ]
    samples = [renderer.build_training_sample(video), renderer.build_training_sample(mixed)]
    batch = mmrender.collate(samples, return_tensors="pt")
    assert batch["video_grid_thw"].shape == (2, 3) and batch["image_grid_thw"].shape == (1, 3)
    assert int((batch["mm_token_type_ids"] == 2).sum()) == int(batch["video_grid_thw"].prod(-1).sum()) // 4
    with torch.no_grad():
        ours = model(**batch)
        theirs = model(**{k: v for k, v in batch.items() if k != "position_ids"})
    assert torch.isfinite(ours.loss)
    mask = batch["attention_mask"].bool()
    assert torch.allclose(ours.logits[mask], theirs.logits[mask], atol=1e-5)
