"""Video fixtures: clips encoded once per session, and the oracle (torchcodec + transformers) run once in a
subprocess whose ``LD_LIBRARY_PATH`` points at FFmpeg libraries (the ones PyAV's wheel carries)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ffmpeg_libs import ffmpeg_library_dir as bundled_ffmpeg_library_dir
from frame_cases import FRAME_RENDER_CASES
from processed_cases import PROCESSED_CASES
from render_cases import RENDER_CASES, resolved
from video_cases import CASES, FRAME_CLIPS
from video_clips import CLIPS, encode

ASSETS = Path(__file__).resolve().parents[2] / "families/qwen3_vl/src/mmrender_qwen3_vl/assets/Qwen3-VL-8B-Instruct"
THINKING = ASSETS.parent / "Qwen3-VL-8B-Thinking"


@pytest.fixture(scope="session")
def clip_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("clips")
    return {clip.name: encode(clip, directory) for clip in CLIPS}


@pytest.fixture(scope="session")
def png_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two small PNGs for the renders that mix images and videos."""
    from PIL import Image

    directory = tmp_path_factory.mktemp("pngs")
    paths = {}
    for name, colour, size in (("red", (200, 30, 30), (64, 48)), ("blue", (20, 40, 220), (100, 130))):
        path = directory / f"{name}.png"
        Image.new("RGB", size, colour).save(path)
        paths[name] = str(path)
    return paths


def qwen35_oracle_files(work: Path) -> dict[str, str]:
    """Qwen3.5-0.8B's bundled template and configs, and its tokenizer saved as one ``tokenizer.json``."""
    from mmrender_qwen3_5.templates import ASSETS as QWEN35
    from mmrender_qwen3_5.tokenizer import bundled_tokenizer

    tokenizer_file = work / "qwen35-tokenizer.json"
    bundled_tokenizer("small").backend_tokenizer.save(str(tokenizer_file))
    return {
        "tokenizer_file": str(tokenizer_file),
        "template": (QWEN35 / "Qwen3.5-0.8B" / "chat_template.jinja").read_text(encoding="utf-8"),
        "preprocessor": str(QWEN35 / "Qwen3.5-0.8B" / "preprocessor_config.json"),
        "video_preprocessor": str(QWEN35 / "Qwen3.5-0.8B" / "video_preprocessor_config.json"),
    }


def ffmpeg_library_dir(target: Path) -> Path:
    """:func:`ffmpeg_libs.ffmpeg_library_dir`, skipping where PyAV's wheel carries no FFmpeg libraries."""
    try:
        return bundled_ffmpeg_library_dir(target)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def oracle(
    tmp_path_factory: pytest.TempPathFactory, clip_paths: dict[str, Path], png_paths: dict[str, str]
) -> dict[str, Any]:
    """torchcodec metadata of every clip, the processor's output for every case (frame-list renders too),
    torchcodec frames, and the sha256 of the video processor's pixels for every processed-mode case."""
    work = tmp_path_factory.mktemp("oracle")
    libs = ffmpeg_library_dir(work / "libs")
    job = {
        "assets": str(ASSETS),
        "clips": {name: str(path) for name, path in clip_paths.items()},
        "cases": [
            {
                "id": c.id,
                "clip": c.clip,
                "kwargs": c.kwargs,
                "pixels": c.clip in FRAME_CLIPS and c.id.endswith("-default"),
            }
            for c in CASES
        ],
    }
    clips = {name: str(path) for name, path in clip_paths.items()}
    job["thinking_template"] = json.loads((THINKING / "chat_template.json").read_text())["chat_template"]
    job["renders"] = [
        {
            "id": c.id,
            "messages": resolved(c.messages, clips, png_paths),
            "processor_kwargs": c.processor_kwargs,
            "add_vision_id": c.add_vision_id,
            "legacy": c.legacy,
            "thinking": c.thinking,
            "family": c.family,
        }
        for c in (*RENDER_CASES, *FRAME_RENDER_CASES)
    ]
    job["processed"] = [
        {"id": c.id, "family": c.family, "clip": c.clip, "frames": c.frames, "kwargs": c.kwargs}
        for c in PROCESSED_CASES
    ]
    job["qwen35"] = qwen35_oracle_files(work)
    (work / "job.json").write_text(json.dumps(job))
    env = {**os.environ, "LD_LIBRARY_PATH": f"{libs}:{os.environ.get('LD_LIBRARY_PATH', '')}", "HF_HUB_OFFLINE": "1"}
    script = Path(__file__).resolve().parent / "oracle_script.py"
    run = subprocess.run(
        [sys.executable, str(script), str(work / "job.json"), str(work / "result.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    result = json.loads((work / "result.json").read_text())
    result["dir"] = str(work)
    result["by_id"] = {entry["id"]: entry for entry in result["processor"]}
    result["renders_by_id"] = {entry["id"]: entry for entry in result["renders"]}
    result["processed_by_id"] = {entry["id"]: entry for entry in result["processed"]}
    return result
