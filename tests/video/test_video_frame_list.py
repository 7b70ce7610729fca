"""Videos given as lists of PIL frames with an ``fps``: token-exact against transformers' processor given the
same frames and ``VideoMetadata``, stored as one frame archive whose ref gives back exactly the sampled frames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import mmrender
import numpy as np
import pytest
from frame_cases import FRAME_RENDER_CASES
from frame_lists import fps, frames, with_frames
from mmrender import refs
from mmrender.errors import AssetIntegrityError, ConversationError, VideoSourceError
from mmrender.materialize import materialize
from mmrender.types import RawMMRef
from render_cases import RenderCase, resolved
from test_qwen_video_render_parity import _rope_index


def _renderer(case: RenderCase, store: Path, **options: Any) -> Any:
    model = "Qwen/Qwen3.5-0.8B" if case.family == "qwen3_5" else "Qwen/Qwen3-VL-8B-Instruct"
    return mmrender.get_renderer(model, store=str(store), **case.options, **options)


def _render(case: RenderCase, store: Path, png_paths: dict[str, str]) -> tuple[Any, Any]:
    renderer = _renderer(case, store)
    messages = with_frames(resolved(case.messages, {}, png_paths))
    return renderer, renderer.render(messages, add_generation_prompt=True, add_vision_id=case.add_vision_id)


@pytest.mark.parametrize("case", FRAME_RENDER_CASES, ids=lambda c: c.id)
def test_frame_list_render_matches_processor(
    case: RenderCase, tmp_path: Path, png_paths: dict[str, str], oracle: dict[str, Any]
) -> None:
    _, rendered = _render(case, tmp_path, png_paths)
    assert list(rendered.token_ids) == oracle["renders_by_id"][case.id]["input_ids"]
    grids = [item.payload["video_grid_thw"][0] for item in rendered.multi_modal_data.mm_items["video"]]
    assert grids == oracle["renders_by_id"][case.id]["video_grid_thw"]


@pytest.mark.parametrize("case_id", ["frames-qwen3_vl-vid-legacy", "frames-qwen3_5-novid-current"])
def test_frame_list_training_types_and_positions(
    case_id: str, tmp_path: Path, png_paths: dict[str, str], oracle: dict[str, Any]
) -> None:
    from mmrender.samples import sample_from_rendered

    case = next(c for c in FRAME_RENDER_CASES if c.id == case_id)
    renderer, rendered = _render(case, tmp_path, png_paths)
    expected = oracle["renders_by_id"][case.id]
    sample = sample_from_rendered(renderer, rendered, [0] * len(rendered.token_ids))
    assert list(sample.mm_token_type_ids) == expected["mm_token_type_ids"]
    positions, _delta = _rope_index(
        expected["input_ids"], expected["mm_token_type_ids"], expected["image_grid_thw"], expected["video_grid_thw"]
    )
    assert [list(row) for row in sample.position_ids] == positions


def _single(store: Path, name: str = "dense_30_at_10fps", **options: Any) -> tuple[RawMMRef, Any]:
    renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct", store=str(store), **options)
    part = {"type": "video", "video": frames(name), "fps": fps(name)}
    rendered = renderer.render([{"role": "user", "content": [part, {"type": "text", "text": "?"}]}])
    data = rendered.multi_modal_data
    return RawMMRef.from_item(data.mm_items["video"][0], data.mm_hashes["video"][0]), rendered


@pytest.mark.parametrize("name", ["dense_30_at_10fps", "three_frames", "portrait_12_at_29_97"])
def test_ref_gives_back_exactly_the_sampled_frames(name: str, tmp_path: Path) -> None:
    ref, _ = _single(tmp_path / "store", name, video_num_frames=4)  # three_frames: index 1 sampled twice
    ref = refs.parse(refs.dump(ref))
    got = materialize(ref, store=str(tmp_path / "store"))
    originals = frames(name)
    expected = np.stack([np.asarray(originals[i]) for i in ref.payload["frame_indices"]])
    assert list(got.layout.frame_indices) == ref.payload["frame_indices"]
    assert got.frames().dtype == np.uint8
    assert np.array_equal(got.frames(), expected)


def test_same_frames_give_the_same_hash_and_only_sampled_frames_are_stored(tmp_path: Path) -> None:
    first, _ = _single(tmp_path / "a")
    second, _ = _single(tmp_path / "b")
    assert first.mm_hash == second.mm_hash and first.raw_image_id == second.raw_image_id
    import zipfile

    from mmrender.materialize import fetch_bytes

    data = fetch_bytes(first, str(tmp_path / "a"))
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as archive:
        names = archive.namelist()
    assert len(names) == 1 + len(first.payload["frame_indices"])  # manifest + the 6 sampled of 30 frames


def test_forged_payload_and_swapped_bytes_are_refused(tmp_path: Path) -> None:
    ref, _ = _single(tmp_path / "store")
    forged = attrs.evolve(ref, payload={**ref.payload, "frame_indices": [0, 1, 2, 3, 4, 5]})
    with pytest.raises(AssetIntegrityError, match="does not match the layout"):
        materialize(forged, store=str(tmp_path / "store"))
    other, _ = _single(tmp_path / "store", "sparse_5_at_1fps")
    swapped = attrs.evolve(ref, raw_image_id=other.raw_image_id, raw_uri=other.raw_uri)
    with pytest.raises(AssetIntegrityError):
        materialize(swapped, store=str(tmp_path / "store"))


def test_a_tampered_archive_under_a_matching_hash_is_refused(tmp_path: Path) -> None:
    """Bytes that hash right but whose manifest lies about the frames still fail: a frame of another size."""
    import io
    import zipfile

    from mmrender.materialize_video import MaterializedVideo, decode_frames
    from mmrender.video_frames import FRAMES_CONTAINER, archive_header
    from mmrender.video_probe import VideoBytes

    ref, _ = _single(tmp_path / "store")
    from mmrender.materialize import fetch_bytes

    data = fetch_bytes(ref, str(tmp_path / "store"))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith(".png") and info.filename == src.namelist()[1]:
                small = io.BytesIO()
                frames("three_frames")[0].save(small, format="PNG")
                body = small.getvalue()
            dst.writestr(info, body)
    header = archive_header(out.getvalue(), "forged")
    assert header.container == FRAMES_CONTAINER
    video = VideoBytes(data=out.getvalue(), header=header, origin="forged")
    with pytest.raises(VideoSourceError, match="the manifest says 100x70"):
        decode_frames(video, ref.payload["frame_indices"])
    assert MaterializedVideo  # the public type materialize returns for these refs


def _part(video: Any, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "s"},
        {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "video", "video": video, **extra}]},
    ]


@pytest.mark.parametrize(
    ("video", "extra", "message"),
    [
        ([], {"fps": 2.0}, "has no frames"),
        ("mixed", {"fps": 2.0}, "frame 2 is 96x64, frame 0 is 100x70"),
        ("non-image", {"fps": 2.0}, "frame 1 is a ndarray, not a PIL image"),
        ("ok", {}, "needs a positive 'fps'"),
        ("ok", {"fps": 0}, "needs a positive 'fps'"),
        ("ok", {"fps": -1.5}, "needs a positive 'fps'"),
        ("ok", {"fps": float("nan")}, "needs a positive 'fps'"),
        ("ok", {"fps": True}, "needs a positive 'fps'"),
        ("ok", {"fps": "2"}, "needs a positive 'fps'"),
    ],
)
def test_bad_frame_lists_are_typed_one_line_errors_naming_the_part(
    video: Any, extra: dict[str, Any], message: str, tmp_path: Path
) -> None:
    good = frames("dense_30_at_10fps")
    video = (
        {
            "mixed": [good[0], good[1], frames("sparse_5_at_1fps")[0]],
            "non-image": [good[0], np.asarray(good[1])],
            "ok": good,
        }.get(video, video)
        if isinstance(video, str)
        else video
    )
    store = tmp_path / "store"
    renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct", store=str(store))
    with pytest.raises(ConversationError, match=message) as err:
        renderer.render(_part(video, **extra))
    text = str(err.value)
    assert "\n" not in text and "message 1" in text and "part 1" in text
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))


def test_frame_list_in_a_family_without_video_is_refused(tmp_path: Path) -> None:
    renderer = mmrender.get_renderer("moonshotai/Kimi-K2.5", store=str(tmp_path))
    with pytest.raises(ConversationError, match="does not render videos"):
        renderer.render(_part(frames("three_frames"), fps=2.0))


def test_count_tokens_stores_nothing_and_equals_the_render(tmp_path: Path, clip_paths: dict[str, Path]) -> None:
    """Counting lays a frame list (and a file) out without packing, hashing or storing it."""
    store = tmp_path / "store"
    renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct", store=str(store))
    messages = _part(frames("dense_30_at_10fps"), fps=10.0)
    messages[1]["content"].append({"type": "video", "video": str(clip_paths["issue_short_8fps_6"])})
    count = renderer.count_tokens(messages, add_generation_prompt=True)
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))
    assert count == len(renderer.render(messages, add_generation_prompt=True).token_ids)


@pytest.mark.parametrize("given_as", ["bytes", "path", "file URI"])
def test_a_stored_frame_archive_renders_again_only_with_its_own_sampling(tmp_path: Path, given_as: str) -> None:
    """The archive read back as a video source (its bytes, or the store's file by path or URI) gives the same
    ids and hash; other sampling is refused by name, because the frames it would need were never stored."""
    from mmrender.materialize import fetch_bytes

    ref, rendered = _single(tmp_path / "store")
    stored = tmp_path / "store" / str(ref.raw_image_id)
    sources = {"bytes": fetch_bytes(ref, str(tmp_path / "store")), "path": str(stored), "file URI": stored.as_uri()}
    archive = sources[given_as]
    renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct", store=str(tmp_path / "store"))
    again = renderer.render(
        [{"role": "user", "content": [{"type": "video", "video": archive}, {"type": "text", "text": "?"}]}]
    )
    assert again.token_ids == rendered.token_ids
    assert again.multi_modal_data.mm_hashes == rendered.multi_modal_data.mm_hashes
    other = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct", store=str(tmp_path / "other"), video_num_frames=12)
    with pytest.raises(VideoSourceError, match=r"frame archive stores frames .* only") as err:
        other.render(
            [{"role": "user", "content": [{"type": "text", "text": "?"}, {"type": "video", "video": archive}]}]
        )
    assert "part 1" in str(err.value)
    assert not (tmp_path / "other").exists() or not any(p.is_file() for p in (tmp_path / "other").rglob("*"))
