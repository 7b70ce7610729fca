"""Video benchmark: a long 1080p video laid out from its header by mmrender vs transformers' processor on it.

Run from the repository root: ``python benchmarks/bench_video.py [--duration 600] [--runs 7] [--hf-runs 3]``.
Generates (once, cached under ``--cache-dir``) an H.264 MP4 of 1920x1080 at 30 fps with cheap content (a
static gradient and a moving box, x264 ``ultrafast``), and the same at ``--small-duration`` seconds. Then,
each side in its own child process (so each peak RSS is that process's own, from ``os.wait4``):

* mmrender, Qwen3-VL-8B-Instruct, raw mode, local ``file`` store: the *layout* alone (``load_video`` +
  ``compute_video_layout``, what ``mmrender layout --video`` runs: read the file, demux, no decoding) and
  the full raw *render* of a one-video message (layout + sha256 + storing the file; a fresh store per run);
* transformers' ``Qwen3VLProcessor.apply_chat_template(..., tokenize=True)`` on the same message, from the
  bundled configs, with its default video decoder torchcodec (exact seek mode; FFmpeg libraries from
  PyAV's wheel on ``LD_LIBRARY_PATH``, as the video tests run it), which decodes every sampled frame;
* a cold ``mmrender layout --video`` process, spawn to exit.

Token ids of mmrender's render and of the processor must be equal (for both videos) before any figure is
printed. Prints medians, the ratio against the ≥ 100× target and both sides' peak RSS at both durations
(mmrender's should stay flat; the target is the issue's "flat memory"). Offline; the figures in
docs/performance.md come from this script.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from bench_startup import run_child  # noqa: E402  (a sibling script, not a package)

MODEL = "Qwen/Qwen3-VL-8B-Instruct"
WIDTH, HEIGHT, FPS = 1920, 1080, 30
SPEEDUP_TARGET = 100.0
#: "Flat memory": mmrender's peak RSS on the long video may exceed the short one's by at most this factor.
FLAT_RSS_TARGET = 1.10
PROMPT = "What happens in this video?"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mmrender-bench" / "video"


def message(video: str) -> list[dict]:
    return [{"role": "user", "content": [{"type": "video", "video": video}, {"type": "text", "text": PROMPT}]}]


def generate(path: Path, seconds: int) -> None:
    """Encode ``seconds`` of 1080p30 H.264 to ``path``: 60 precomputed frames (a gradient with a box moving
    across it) cycled, so the encoder, not frame synthesis, sets the pace. Written beside, then renamed."""
    from fractions import Fraction

    import av
    import numpy as np

    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    base[..., 0], base[..., 1], base[..., 2] = x * 255 // (WIDTH - 1), y * 255 // (HEIGHT - 1), 96
    frames = []
    for k in range(60):
        image = base.copy()
        left = k * (WIDTH - 240) // 59
        image[400:640, left : left + 240] = (240, 240, 40)
        frames.append(av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p"))
    partial = path.with_suffix(".partial.mp4")
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(seconds * FPS):
            frame = frames[index % len(frames)]
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial.replace(path)


def cached_video(cache: Path, seconds: int) -> Path:
    """The generated video of ``seconds`` (made in a child process, so its frames never lift this one's RSS)."""
    path = cache / f"h264-{WIDTH}x{HEIGHT}-{FPS}fps-{seconds}s-v1.mp4"
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        wall, cpu, _, _ = run_child([sys.executable, __file__, "--child", "generate", str(path), str(seconds)])
        print(f"generated {path.name}: {wall:.0f} s wall, {cpu:.0f} s CPU")
    return path


def child_mmrender(video: str, work: str, runs: int) -> dict:
    """Layout-only and full raw render timings (medians) and the render's token ids."""
    os.environ.setdefault("MMRENDER_PLUGINS", "mmrender-qwen3-vl,mmrender-storage")
    import mmrender
    from mmrender.video_probe import load_video

    store = Path(work) / "store"
    renderer = mmrender.get_renderer(MODEL, store=str(store))

    def layout() -> object:
        return renderer.compute_video_layout(load_video(video, read_uri=renderer.plugins.read_uri).header)

    def render() -> list[int]:
        return list(renderer.render(message(video), add_generation_prompt=True).token_ids)

    layout()  # warm-up: imports PyAV, builds the layout engine
    ids = render()
    layouts, renders = [], []
    for _ in range(runs):
        shutil.rmtree(store, ignore_errors=True)  # every render stores the video anew
        start = time.perf_counter()
        layout()
        layouts.append(time.perf_counter() - start)
        start = time.perf_counter()
        again = render()
        renders.append(time.perf_counter() - start)
        assert again == ids, "a raw render gave other ids than the first"
    grid = list(layout().grid)
    return {"ids": ids, "layout": statistics.median(layouts), "render": statistics.median(renders), "grid": grid}


def child_transformers(video: str, runs: int) -> dict:
    """transformers' processor on the message (torchcodec decodes the sampled frames): median and token ids."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import mmrender_qwen3_vl
    from transformers import AutoProcessor
    from transformers.utils.import_utils import is_torchcodec_usable

    if not is_torchcodec_usable(decode="video"):
        raise SystemExit("torchcodec cannot load here (FFmpeg libraries?): transformers would fall back to torchvision")
    folder = Path(mmrender_qwen3_vl.__file__).parent / "assets" / "Qwen3-VL-8B-Instruct"
    processor = AutoProcessor.from_pretrained(str(folder), local_files_only=True)
    times, ids, grid, backend = [], [], [], ""
    for _ in range(runs):
        start = time.perf_counter()
        out = processor.apply_chat_template(
            message(video),
            tokenize=True,
            return_dict=True,
            add_generation_prompt=True,
            processor_kwargs={"return_metadata": True},
        )
        times.append(time.perf_counter() - start)
        ids, grid = list(out["input_ids"][0]), out["video_grid_thw"][0].tolist()
        backend = out["video_metadata"][0].video_backend
        del out
    return {"ids": ids, "seconds": statistics.median(times), "grid": grid, "backend": backend}


def run_side(argv: list[str], env: dict[str, str] | None = None) -> tuple[dict, float, float]:
    """A child's JSON result, its peak RSS in MB and its CPU seconds."""
    _, cpu, rss, out = run_child([sys.executable, __file__, "--child", *argv], cwd=REPO, extra_env=env)
    return json.loads(out.strip().splitlines()[-1]), rss, cpu


def cold_cli_layout(video: Path) -> float:
    console = Path(sys.executable).parent / "mmrender"
    cli = [str(console)] if console.exists() else [sys.executable, "-m", "mmrender"]
    wall, _, _, _ = run_child([*cli, "layout", "--video", str(video), "-m", MODEL, "--json"], cwd=REPO)
    return wall


def child_main(kind: str, rest: list[str]) -> None:
    if kind == "generate":
        generate(Path(rest[0]), int(rest[1]))
        print("{}")
    elif kind == "mmrender":
        print(json.dumps(child_mmrender(rest[0], rest[1], int(rest[2]))))
    elif kind == "transformers":
        print(json.dumps(child_transformers(rest[0], int(rest[1]))))
    else:
        raise SystemExit(f"unknown child {kind!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=600, help="seconds of the long video (default 10 min)")
    parser.add_argument("--small-duration", type=int, default=60, help="seconds of the video memory is compared with")
    parser.add_argument("--runs", type=int, default=7, help="timed mmrender layouts and renders (median)")
    parser.add_argument("--hf-runs", type=int, default=3, help="timed transformers processor calls (median)")
    parser.add_argument("--cache-dir", type=Path, default=CACHE, help="where generated videos are kept")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], args.child[1:])
        return

    sys.path.insert(0, str(REPO / "tests" / "video"))
    from ffmpeg_libs import ffmpeg_library_dir

    load_before = os.getloadavg()
    videos = {seconds: cached_video(args.cache_dir, seconds) for seconds in (args.small_duration, args.duration)}
    results: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="mmrender-bench-video-") as tmp:
        libs = ffmpeg_library_dir(Path(tmp) / "libs")
        torchcodec_env = {"LD_LIBRARY_PATH": f"{libs}:{os.environ.get('LD_LIBRARY_PATH', '')}"}
        for seconds, video in videos.items():
            ours, our_rss, our_cpu = run_side(["mmrender", str(video), tmp, str(args.runs)])
            theirs, their_rss, their_cpu = run_side(["transformers", str(video), str(args.hf_runs)], torchcodec_env)
            if theirs["backend"] != "torchcodec":
                raise SystemExit(f"transformers decoded with {theirs['backend']!r}, not torchcodec")
            if ours["ids"] != theirs["ids"]:
                raise SystemExit(f"{video.name}: mmrender's token ids differ from transformers' processor's")
            cli = statistics.median(cold_cli_layout(video) for _ in range(3))
            results[seconds] = {
                "size_mb": video.stat().st_size / 1e6,
                "ids": len(ours["ids"]),
                "grid": ours["grid"],
                "layout": ours["layout"],
                "render": ours["render"],
                "cli": cli,
                "hf": theirs["seconds"],
                "our_rss": our_rss,
                "their_rss": their_rss,
                "our_cpu": our_cpu,
                "their_cpu": their_cpu,
            }
            print(f"{video.name}: token ids identical ({len(ours['ids'])} ids, grid {ours['grid']})", flush=True)
    load_after = os.getloadavg()

    print(f"load average: {load_before[0]:.1f} before, {load_after[0]:.1f} after, on {os.cpu_count()} cores")
    print("| video | size | mmrender layout | mmrender raw render | cold `mmrender layout --video` | transformers |")
    print("|---|---:|---:|---:|---:|---:|")
    for seconds, r in results.items():
        print(
            f"| {seconds} s 1080p30 | {r['size_mb']:.1f} MB | {r['layout'] * 1e3:.1f} ms | {r['render'] * 1e3:.1f} ms "
            f"| {r['cli']:.2f} s | {r['hf']:.2f} s |"
        )
    long, short = results[args.duration], results[args.small_duration]
    print("| ratio (long video) | value | target | |")
    print("|---|---:|---|---|")
    for name, value in (("layout", long["hf"] / long["layout"]), ("raw render", long["hf"] / long["render"])):
        print(
            f"| transformers / mmrender {name} | {value:.0f}× | ≥ {SPEEDUP_TARGET:.0f}× | {_met(value >= SPEEDUP_TARGET)} |"
        )
    print("| peak RSS (child process) | short video | long video | growth | target |")
    print("|---|---:|---:|---:|---|")
    for name, key in (("mmrender (layouts + raw renders)", "our_rss"), ("transformers processor", "their_rss")):
        growth = long[key] / short[key]
        target = f"≤ {FLAT_RSS_TARGET:.2f}× — {_met(growth <= FLAT_RSS_TARGET)}" if key == "our_rss" else ""
        print(f"| {name} | {short[key]:.0f} MB | {long[key]:.0f} MB | {growth:.2f}× | {target} |")


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    main()
