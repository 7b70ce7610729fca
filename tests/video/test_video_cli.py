"""``mmrender layout --video``: the processor's sampled frames and grid, read from the container alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def test_layout_video_json_matches_processor(clip_paths: dict[str, Path], oracle: dict[str, Any]) -> None:
    clip = "issue_640x360_30fps_300"
    env = {**os.environ, "MMRENDER_STORE": "data:"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmrender",
            "layout",
            "-m",
            "Qwen/Qwen3-VL-8B-Instruct",
            "--video",
            "--json",
            str(clip_paths[clip]),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    expected = oracle["by_id"][f"{clip}-default"]
    assert row["frame_indices"] == expected["indices"] and row["grid"] == expected["grid"]


def test_dataset_videos_named_relative_to_the_dataset(clip_paths: dict[str, Path], tmp_path: Path) -> None:
    """A dataset is relocatable: relative video paths (``video`` and ``video_url``) resolve against its folder."""
    import mmrender

    clip = clip_paths["issue_640x360_30fps_300"]
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / clip.name).write_bytes(clip.read_bytes())
    parts = [
        {"type": "video", "video": f"clips/{clip.name}"},
        {"type": "video_url", "video_url": {"url": f"clips/{clip.name}"}},
    ]
    records = [
        {"id": i, "messages": [{"role": "user", "content": [part, {"type": "text", "text": "?"}]}]}
        for i, part in enumerate(parts)
    ]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmrender",
            "lengths",
            str(tmp_path / "data.jsonl"),
            "-m",
            "Qwen/Qwen3-VL-8B-Instruct",
            "-q",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    absolute = [{"role": "user", "content": [{"type": "video", "video": str(clip)}, {"type": "text", "text": "?"}]}]
    expected = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct", store="data:").count_tokens(absolute)
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [
        {"id": 0, "num_tokens": expected},
        {"id": 1, "num_tokens": expected},
    ]


def test_the_render_summary_counts_videos_apart_from_images(clip_paths: dict[str, Path], tmp_path: Path) -> None:
    clip = clip_paths["issue_640x360_30fps_300"]
    record = {"messages": [{"role": "user", "content": [{"type": "video", "video": str(clip)}]}]}
    (tmp_path / "data.jsonl").write_text(json.dumps(record) + "\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmrender",
            "render",
            "data.jsonl",
            "-m",
            "Qwen/Qwen3-VL-8B-Instruct",
            "-o",
            "out.jsonl",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "MMRENDER_STORE": str(tmp_path / "store")},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert ", 0 image(s), 1 video(s) in " in proc.stderr.splitlines()[-1]
