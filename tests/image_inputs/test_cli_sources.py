"""Dataset files may carry images as base64 (bare or under ``base64``): the CLI must not resolve them as paths."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import MODELS, oriented_bytes


def test_render_job_reads_base64_images_not_relative_paths(tmp_path: Path) -> None:
    data = oriented_bytes(40, 30, 6, "PNG")
    encoded = base64.b64encode(data).decode()
    row = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image", "image": encoded}, {"type": "image", "base64": encoded}],
            }
        ]
    }
    dataset, out = tmp_path / "rows.jsonl", tmp_path / "out.jsonl"
    dataset.write_text(json.dumps(row) + "\n")
    env = {**os.environ, "MMRENDER_STORE": str(tmp_path / "store")}
    proc = subprocess.run(
        [sys.executable, "-m", "mmrender", "render", str(dataset), "-m", MODELS["qwen3_vl"], "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().count(hashlib.sha256(data).hexdigest()[:32]) >= 2
