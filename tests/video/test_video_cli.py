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
