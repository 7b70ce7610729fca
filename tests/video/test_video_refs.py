"""Raw video refs end to end: stored content-addressed, parsed back, layout re-checked, frames decoded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from mmrender import refs
from mmrender.dispatch import open_store
from mmrender.errors import AssetIntegrityError, RefFieldError
from mmrender.materialize import materialize
from mmrender.materialize_video import materialize_video
from mmrender.types import RawMMRef
from mmrender.video import store_video
from mmrender.video_probe import load_video
from mmrender_qwen3_vl.video_layout import VIDEO_ENGINE, qwen_video_layout
from video_cases import FRAME_CLIPS

ASSETS = Path(__file__).resolve().parents[2] / "families/qwen3_vl/src/mmrender_qwen3_vl/assets/Qwen3-VL-8B-Instruct"


def _ref(path: Path, store_root: Path) -> RawMMRef:
    video = load_video(path)
    mm_hash, item = store_video(open_store(str(store_root)), video, qwen_video_layout(video.header))
    return refs.parse(refs.dump(RawMMRef.from_item(item, mm_hash)))


@pytest.mark.parametrize("name", FRAME_CLIPS)
def test_frames_equal_torchcodec_bit_for_bit(
    name: str, clip_paths: dict[str, Path], oracle: dict[str, Any], tmp_path: Path
) -> None:
    ref = _ref(clip_paths[name], tmp_path / "store")
    got = materialize_video(ref, store=str(tmp_path / "store"), engine=VIDEO_ENGINE)
    assert list(got.frame_indices) == oracle["by_id"][f"{name}-default"]["indices"]
    expected = np.load(Path(oracle["dir"]) / f"frames-{name}.npy").transpose(0, 2, 3, 1)  # torchcodec is NCHW
    frames = got.frames()
    assert frames.shape == expected.shape
    assert np.array_equal(frames, expected)


@pytest.mark.parametrize("name", FRAME_CLIPS)
def test_processed_mode_is_bit_identical(
    name: str, clip_paths: dict[str, Path], oracle: dict[str, Any], tmp_path: Path
) -> None:
    """Our frames fed to transformers' video processor give the processor's own pixel_values_videos."""
    from transformers import AutoVideoProcessor
    from transformers.video_utils import VideoMetadata

    ref = _ref(clip_paths[name], tmp_path / "store")
    got = materialize_video(ref, store=str(tmp_path / "store"), engine=VIDEO_ENGINE)
    header = got.video.header
    metadata = VideoMetadata(
        total_num_frames=header.num_frames,
        fps=header.average_fps,
        width=header.width,
        height=header.height,
        duration=header.duration,
        frames_indices=list(got.frame_indices),
    )
    processor = AutoVideoProcessor.from_pretrained(ASSETS)
    out = processor(
        videos=[got.frames()],
        video_metadata=[metadata],
        do_sample_frames=False,
        cap_pixels_per_frame=False,
        return_tensors="pt",
    )
    expected = np.load(Path(oracle["dir"]) / f"pixels-{name}-default.npy")
    assert out["video_grid_thw"].tolist()[0] == list(got.layout.grid)
    assert np.array_equal(out["pixel_values_videos"].numpy(), expected)


def test_ref_carries_indices_timestamps_grid_and_params(
    clip_paths: dict[str, Path], oracle: dict[str, Any], tmp_path: Path
) -> None:
    ref = _ref(clip_paths["issue_320x240_24fps_48"], tmp_path / "store")
    expected = oracle["by_id"]["issue_320x240_24fps_48-default"]
    assert ref.modality == "video"
    assert set(ref.payload) == {"video_grid_thw", "frame_indices", "timestamps"}
    assert ref.payload["frame_indices"] == expected["indices"]
    assert ref.payload["video_grid_thw"] == [expected["grid"]]
    assert len(ref.payload["timestamps"]) == expected["grid"][0]
    assert ref.layout_params is not None and refs.layout_fingerprint(ref.family, ref.layout_params) == ref.fingerprint


def test_tampered_frame_list_is_refused(clip_paths: dict[str, Path], tmp_path: Path) -> None:
    ref = _ref(clip_paths["issue_320x240_24fps_48"], tmp_path / "store")
    forged = attrs.evolve(ref, payload={**ref.payload, "frame_indices": [0, 1, 2, 3]})
    with pytest.raises(AssetIntegrityError, match="does not match the layout"):
        materialize_video(forged, store=str(tmp_path / "store"), engine=VIDEO_ENGINE)


def test_tampered_params_are_refused(clip_paths: dict[str, Path], tmp_path: Path) -> None:
    ref = _ref(clip_paths["issue_320x240_24fps_48"], tmp_path / "store")
    forged = attrs.evolve(ref, layout_params={**ref.layout_params, "fps": 4.0})
    with pytest.raises(RefFieldError, match="layout fingerprint"):
        materialize_video(forged, store=str(tmp_path / "store"), engine=VIDEO_ENGINE)


def test_other_bytes_under_the_hash_are_refused(clip_paths: dict[str, Path], tmp_path: Path) -> None:
    ref = _ref(clip_paths["issue_320x240_24fps_48"], tmp_path / "store")
    other = _ref(clip_paths["ntsc_29_97"], tmp_path / "store")
    swapped = attrs.evolve(ref, raw_image_id=other.raw_image_id, raw_uri=other.raw_uri)
    with pytest.raises(AssetIntegrityError):
        materialize_video(swapped, store=str(tmp_path / "store"), engine=VIDEO_ENGINE)


def test_materialize_routes_video_refs(clip_paths: dict[str, Path], tmp_path: Path) -> None:
    """``materialize`` hands a video ref to the video path and verifies it with the engine a family spec
    declares (``video_layout``); a video family no installed spec declares is refused by name."""
    import attrs
    from mmrender.errors import UnknownFamilyError

    ref = _ref(clip_paths["issue_320x240_24fps_48"], tmp_path / "store")
    got = materialize(refs.dump(ref), store=str(tmp_path / "store"), verify_layout=False)
    assert got.frames().shape == (4, 240, 320, 3)
    verified = materialize(refs.dump(ref), store=str(tmp_path / "store"))
    assert list(verified.layout.grid) == ref.payload["video_grid_thw"][0]
    with pytest.raises(UnknownFamilyError, match="video ref family"):
        other = attrs.evolve(
            ref, family="nope_video", fingerprint=refs.layout_fingerprint("nope_video", ref.layout_params)
        )
        materialize(refs.dump(other), store=str(tmp_path / "store"))
