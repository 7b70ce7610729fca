"""A local video file is read where it lies: the same ids, refs and stored bytes as its bytes give, and a
render's memory does not grow with the file (FFmpeg reads it from disk, sha256 and the store stream it)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import mmrender
import pytest
from mmrender.dispatch import open_store, read_uri
from mmrender.video_probe import VideoBytes, VideoFile, load_video

MODEL = "Qwen/Qwen3-VL-8B-Instruct"
#: Frames of the large video: 90 raw 1280x720 frames are ~119 MiB, demuxed whole.
BIG_FRAMES = 90


def _message(video: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "video", "video": video}, {"type": "text", "text": "What?"}]}]


@pytest.mark.parametrize("name", ["issue_320x240_24fps_48", "issue_vp9_320x180", "rotated_90"])
def test_a_local_file_is_probed_where_it_lies(name: str, clip_paths: dict[str, Path]) -> None:
    path = clip_paths[name]
    data = path.read_bytes()
    for source in (path, str(path), path.as_uri()):
        video = load_video(source, read_uri=read_uri)
        assert isinstance(video, VideoFile) and not hasattr(video, "data")
        assert video.size == len(data) and video.sha256 == hashlib.sha256(data).hexdigest()
        assert video.header == load_video(data).header
    assert isinstance(load_video(data), VideoBytes)


@pytest.mark.parametrize("name", ["issue_320x240_24fps_48", "issue_vp9_320x180", "rotated_90"])
def test_path_uri_bytes_and_data_uri_render_the_same_ids_refs_and_stored_bytes(
    name: str, clip_paths: dict[str, Path], tmp_path: Path
) -> None:
    path = clip_paths[name]
    data = path.read_bytes()
    sources = {
        "path": str(path),
        "file URI": path.as_uri(),
        "bytes": data,
        "data URI": "data:video/mp4;base64," + base64.b64encode(data).decode(),
    }
    outputs = {}
    for kind, source in sources.items():
        store = tmp_path / kind.replace(" ", "-")
        out = mmrender.get_renderer(MODEL, store=str(store)).render(_message(source))
        (item,) = out.multi_modal_data.mm_items["video"]
        assert list(out.multi_modal_data.mm_hashes["video"]) == [hashlib.sha256(data).hexdigest()[:32]], kind
        assert open_store(str(store)).get(item.raw_image_id) == data, kind
        assert sorted(p.name for p in store.iterdir()) == [item.raw_image_id], kind  # no temporaries left
        outputs[kind] = (list(out.token_ids), item.raw_image_id, dict(item.payload), item.layout_params)
    assert all(value == outputs["bytes"] for value in outputs.values()), outputs.keys()


def test_a_file_uri_named_by_a_sha256_is_verified(clip_paths: dict[str, Path], tmp_path: Path) -> None:
    """A store asset's ``file://`` URI is checked against its name, as the ``file`` backend checks what it reads."""
    data = clip_paths["issue_320x240_24fps_48"].read_bytes()
    forged = tmp_path / hashlib.sha256(b"other bytes").hexdigest()
    forged.write_bytes(data)
    with pytest.raises(mmrender.errors.VideoSourceError, match="content hashes to"):
        load_video(forged.as_uri(), read_uri=read_uri)
    genuine = tmp_path / hashlib.sha256(data).hexdigest()
    genuine.write_bytes(data)
    assert isinstance(load_video(genuine.as_uri(), read_uri=read_uri), VideoFile)


def test_a_video_path_rendered_to_s3_is_uploaded_from_its_file_and_materializes(
    clip_paths: dict[str, Path], s3_server: Any, s3_url: str
) -> None:
    from mmrender import materialize, refs
    from mmrender.types import RawMMRef

    path = clip_paths["issue_640x360_30fps_300"]
    store = open_store(s3_url, **s3_server.storage_options())
    out = mmrender.get_renderer(MODEL, store=store).render(_message(str(path)))
    (item,) = out.multi_modal_data.mm_items["video"]
    (mm_hash,) = out.multi_modal_data.mm_hashes["video"]
    assert item.raw_uri == f"{s3_url}/{hashlib.sha256(path.read_bytes()).hexdigest()}"
    got = materialize(refs.dump(RawMMRef.from_item(item, mm_hash)), store=store)
    assert got.video.data == path.read_bytes() and got.layout is not None
    assert got.frames().shape[1:] == (360, 640, 3)


def _raw_video(path: Path, frames: int) -> Path:
    """A raw-video Matroska file (1280x720 yuv420p noise): 1.4 MB a frame, written in a fraction of a second."""
    from fractions import Fraction

    import av
    import numpy as np

    width, height = 1280, 720
    planes = np.random.default_rng(0).integers(0, 255, (height * 3 // 2, width), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("rawvideo", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, 30)
            for packet in stream.encode(frame):
                container.mux(packet)
    return path


CHILD = """
import json, resource, sys
from pathlib import Path

import mmrender

small, big, store = sys.argv[1:4]
peak_mb = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct", store=store)
message = lambda video: [{"role": "user", "content": [{"type": "video", "video": video}]}]
renderer.render(message(small))  # warm-up: PyAV, FFmpeg, the layout engine, the tokenizer's first call
before = peak_mb()
first = renderer.render(message(big))  # hashed and copied into the store
again = renderer.render(message(big))  # hashed and compared with the stored asset
item = first.multi_modal_data.mm_items["video"][0]
print(json.dumps({
    "growth_mb": peak_mb() - before,
    "stored_mb": Path(store, item.raw_image_id).stat().st_size / 2**20,
    "same": list(first.token_ids) == list(again.token_ids),
}))
"""


def test_rendering_a_large_local_video_keeps_memory_flat(tmp_path: Path) -> None:
    """A real process renders a ~120 MB video twice (stored, then found stored): its peak RSS grows by far
    less than the file (reading it whole would add at least the file's size)."""
    small, big = _raw_video(tmp_path / "small.mkv", 4), _raw_video(tmp_path / "big.mkv", BIG_FRAMES)
    file_mb = big.stat().st_size / 2**20
    argv = [sys.executable, "-c", CHILD, str(small), str(big), str(tmp_path / "store")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert file_mb > 100 and result["stored_mb"] == file_mb and result["same"], result
    assert result["growth_mb"] < file_mb / 8, result
