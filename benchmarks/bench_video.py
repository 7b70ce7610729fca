"""Video benchmark: a long 1080p video laid out from its header by mmrender vs transformers' processor on it.

Run from the repository root: ``python benchmarks/bench_video.py [--duration 600] [--content cheap|busy]``.
Generates (once, cached under ``--cache-dir``) an H.264 MP4 of 1920x1080 at 30 fps (x264 ``ultrafast``;
``cheap`` content is a gradient with a moving box, ~0.25 Mbit/s, ``busy`` ~10 Mbit/s), and the same at
``--small-duration`` seconds. Then,
each side in its own child process (so each peak RSS is that process's own, from ``os.wait4``):

* mmrender, Qwen3-VL-8B-Instruct, raw mode, local ``file`` store: the *layout* alone (``load_video`` +
  ``compute_video_layout``, what ``mmrender layout --video`` runs: open the file by path, demux, no
  decoding) and the full raw *render* of a one-video message (layout + sha256 + copying the file into the
  store; a fresh store per run);
* transformers' ``Qwen3VLProcessor.apply_chat_template(..., tokenize=True)`` on the same message, from the
  bundled configs, with its default video decoder torchcodec (exact seek mode; FFmpeg libraries from
  PyAV's wheel on ``LD_LIBRARY_PATH``, as the video tests run it), which decodes every sampled frame;
* a cold ``mmrender layout --video`` process, spawn to exit.

Token ids of mmrender's render and of the processor must be equal (for both videos) before any figure is
printed. Prints medians (wall and CPU time), the ratios against the ≥ 100× target, and both sides' peak
RSS at both durations next to the file's growth (the target is "flat memory"). Offline; the figures in
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
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from bench_startup import run_child  # noqa: E402  (a sibling script, not a package)

MODEL = "Qwen/Qwen3-VL-8B-Instruct"
WIDTH, HEIGHT, FPS = 1920, 1080, 30
SPEEDUP_TARGET = 100.0
PROMPT = "What happens in this video?"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mmrender-bench" / "video"


def message(video: str) -> list[dict]:
    return [{"role": "user", "content": [{"type": "video", "video": video}, {"type": "text", "text": PROMPT}]}]


def generate(path: Path, seconds: int, content: str) -> None:
    """Encode ``seconds`` of 1080p30 H.264 to ``path`` from 60 precomputed frames, cycled, so the encoder, not
    frame synthesis, sets the pace. ``cheap``: a gradient with a box moving across it (~0.25 Mbit/s);
    ``busy``: shifting colours and a checkerboard that flips every frame (~10 Mbit/s, a usual 1080p30 rate).
    Written beside, then renamed."""
    from fractions import Fraction

    import av
    import numpy as np

    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    base[..., 0], base[..., 1], base[..., 2] = x * 255 // (WIDTH - 1), y * 255 // (HEIGHT - 1), 96
    frames = []
    for k in range(60):
        image = base.copy()
        if content == "busy":
            image[..., 0] = (x // 4 + k * 8) % 256
            image[..., 1] = (y // 4) % 256
            image[..., 2] = ((x // 64 + y // 64 + k) % 2) * 200
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


def cached_video(cache: Path, seconds: int, content: str) -> Path:
    """The generated video of ``seconds`` (made in a child process, so its frames never lift this one's RSS)."""
    path = cache / f"h264-{WIDTH}x{HEIGHT}-{FPS}fps-{seconds}s-{content}-v1.mp4"
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, __file__, "--child", "generate", str(path), str(seconds), content]
        wall, cpu, _, _ = run_child(argv)
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
        layouts.append(timed(layout))
        renders.append(timed(render))
        assert render() == ids, "a raw render gave other ids than the first"
    return {"ids": ids, "grid": list(layout().grid), "layout": medians(layouts), "render": medians(renders)}


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds (every thread of the process: FFmpeg's and the hashing ones count) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def medians(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


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
    outputs: list = []

    def call() -> None:
        outputs[:] = [
            processor.apply_chat_template(
                message(video),
                tokenize=True,
                return_dict=True,
                add_generation_prompt=True,
                processor_kwargs={"return_metadata": True},
            )
        ]

    times = []
    for _ in range(runs):
        outputs.clear()  # the previous call's frames are freed before the next decodes
        times.append(timed(call))
    (out,) = outputs
    return {
        "ids": list(out["input_ids"][0]),
        "grid": out["video_grid_thw"][0].tolist(),
        "backend": out["video_metadata"][0].video_backend,
        "call": medians(times),
    }


def run_side(argv: list[str], env: dict[str, str] | None = None) -> tuple[dict, float]:
    """A child's JSON result and its peak RSS in MB."""
    _, _, rss, out = run_child([sys.executable, __file__, "--child", *argv], cwd=REPO, extra_env=env)
    return json.loads(out.strip().splitlines()[-1]), rss


def cold_cli_layout(video: Path) -> float:
    console = Path(sys.executable).parent / "mmrender"
    cli = [str(console)] if console.exists() else [sys.executable, "-m", "mmrender"]
    wall, _, _, _ = run_child([*cli, "layout", "--video", str(video), "-m", MODEL, "--json"], cwd=REPO)
    return wall


def child_main(kind: str, rest: list[str]) -> None:
    if kind == "generate":
        generate(Path(rest[0]), int(rest[1]), rest[2])
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
    parser.add_argument(
        "--content", choices=["cheap", "busy"], default="cheap", help="cheap: ~0.25 Mbit/s, busy: ~10 Mbit/s"
    )
    parser.add_argument("--cache-dir", type=Path, default=CACHE, help="where generated videos are kept")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], args.child[1:])
        return

    sys.path.insert(0, str(REPO / "tests" / "video"))
    from ffmpeg_libs import ffmpeg_library_dir

    load_before = os.getloadavg()
    videos = {
        seconds: cached_video(args.cache_dir, seconds, args.content) for seconds in (args.small_duration, args.duration)
    }
    results: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="mmrender-bench-video-") as tmp:
        libs = ffmpeg_library_dir(Path(tmp) / "libs")
        torchcodec_env = {"LD_LIBRARY_PATH": f"{libs}:{os.environ.get('LD_LIBRARY_PATH', '')}"}
        for seconds, video in videos.items():
            ours, our_rss = run_side(["mmrender", str(video), tmp, str(args.runs)])
            theirs, their_rss = run_side(["transformers", str(video), str(args.hf_runs)], torchcodec_env)
            if theirs["backend"] != "torchcodec":
                raise SystemExit(f"transformers decoded with {theirs['backend']!r}, not torchcodec")
            if ours["ids"] != theirs["ids"]:
                raise SystemExit(f"{video.name}: mmrender's token ids differ from transformers' processor's")
            print(f"{video.name}: token ids identical ({len(ours['ids'])} ids, grid {ours['grid']})", flush=True)
            results[seconds] = {
                "size": video.stat().st_size / 1e6,
                "layout": ours["layout"],
                "render": ours["render"],
                "cli": (statistics.median(cold_cli_layout(video) for _ in range(3)), None),
                "hf": theirs["call"],
                "our_rss": our_rss,
                "their_rss": their_rss,
            }
    load_after = os.getloadavg()
    report(results, args.small_duration, args.duration)
    print(f"load average: {load_before[0]:.1f} before, {load_after[0]:.1f} after, on {os.cpu_count()} cores")


def report(results: dict[int, dict], short_s: int, long_s: int) -> None:
    """Markdown tables: times (wall / CPU), the speed-up against the target, peak RSS at both durations."""
    rows = (
        ("mmrender layout (`load_video` + `compute_video_layout`)", "layout"),
        ("mmrender raw render, local store (layout + sha256 + store)", "render"),
        ("cold `mmrender layout --video` process", "cli"),
        ("transformers `Qwen3VLProcessor` (torchcodec)", "hf"),
    )
    print(f"| median wall / CPU | {short_s} s video | {long_s} s video |")
    print("|---|---:|---:|")
    for label, key in rows:
        cells = [f"{wall:.3f} s" + (f" / {cpu:.3f} s" if cpu is not None else "") for wall, cpu in
                 (results[short_s][key], results[long_s][key])]  # fmt: skip
        print(f"| {label} | {' | '.join(cells)} |")
    long, short = results[long_s], results[short_s]
    print(f"\n| transformers / mmrender, {long_s} s video | wall | CPU | target |")
    print("|---|---:|---:|---|")
    for label, key in (("layout", "layout"), ("raw render", "render")):
        wall, cpu = long["hf"][0] / long[key][0], long["hf"][1] / long[key][1]
        print(
            f"| {label} | {wall:.0f}× | {cpu:.0f}× | ≥ {SPEEDUP_TARGET:.0f}× — {_met(min(wall, cpu) >= SPEEDUP_TARGET)} |"
        )
    print(f"\n| peak RSS (own child process) | {short_s} s video | {long_s} s video | growth | file size growth |")
    print("|---|---:|---:|---:|---:|")
    for label, key in (("mmrender, layouts + raw renders", "our_rss"), ("transformers processor", "their_rss")):
        growth = long[key] - short[key]
        print(
            f"| {label} | {short[key]:.0f} MB | {long[key]:.0f} MB | {growth:+.0f} MB ({long[key] / short[key]:.2f}×) "
            f"| {long['size'] - short['size']:+.0f} MB ({short['size']:.1f} → {long['size']:.1f} MB) |"
        )


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    main()
