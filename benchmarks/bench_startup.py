"""Startup benchmark: what a fresh process pays before and during its first raw renders.

Run from the repository root: ``python benchmarks/bench_startup.py [--runs N] [--records 3000]``. Measures,
each in new processes (page cache warm, interpreter cold):

* ``mmrender --help`` wall time (the console script next to this interpreter);
* a first raw render of one image from a cold process, per family: the child's whole wall time from
  spawn to exit, and inside it the time to ``import mmrender``, build the renderer and render;
* peak RSS (``ru_maxrss`` of the child, from ``os.wait4``) and wall time of ``mmrender render`` on a
  generated dataset of conversations with images like ``examples/`` (photo-like JPEGs and PNG charts).

A first render that imports torch, torchvision, sympy or transformers stops the script (raw mode needs none).

Prints medians next to the targets of docs/performance.md; the numbers there come from this script.
Offline: bundled tokenizers, local ``file`` store in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

MODELS = ["Qwen/Qwen3-VL-8B-Instruct", "Qwen/Qwen3.5-0.8B", "moonshotai/Kimi-K2.5"]
HELP_TARGET_S = 0.3
FIRST_RENDER_TARGET_S = 1.5
RSS_TARGET_MB = 250

FIRST_RENDER = """
import sys, time
t0 = time.perf_counter()
import mmrender
t1 = time.perf_counter()
renderer = mmrender.get_renderer(sys.argv[1], store=sys.argv[2])
t2 = time.perf_counter()
messages = [{"role": "user", "content": [
    {"type": "image", "image": sys.argv[3]},
    {"type": "text", "text": "What is in this picture?"},
]}]
rendered = renderer.render(messages, add_generation_prompt=True)
t3 = time.perf_counter()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision", "sympy", "transformers"))
print(f"{t1 - t0} {t2 - t1} {t3 - t2} {len(rendered.token_ids)} {len(heavy)}")
"""

WORDS = [
    "the",
    "a",
    "picture",
    "shows",
    "street",
    "chart",
    "receipt",
    "total",
    "colour",
    "light",
    "shadow",
    "small",
    "large",
    "left",
    "right",
    "top",
]


def _photo(path: Path, rng: random.Random) -> None:
    """A photo-like JPEG: a gradient with random shapes (not solid colour, so it compresses like a photo)."""
    w, h = rng.randint(200, 1600), rng.randint(200, 1200)
    image = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(w), rng.randrange(h)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x, y, x + rng.randint(10, w // 2 + 10), y + rng.randint(10, h // 2 + 10)), fill=colour)
    image.save(path, "JPEG", quality=85)


def _chart(path: Path, rng: random.Random) -> None:
    w, h = rng.randint(300, 900), rng.randint(200, 700)
    image = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(image)
    bars = rng.randint(3, 9)
    for i in range(bars):
        top = rng.randint(10, h - 10)
        draw.rectangle((i * w // bars + 4, top, (i + 1) * w // bars - 4, h - 1), fill=(40, 90 + 15 * i, 200))
    image.save(path, "PNG")


def make_dataset(root: Path, records: int, unique_images: int, seed: int = 20261130) -> Path:
    """``records`` conversations in ``root/data.jsonl`` over ``unique_images`` generated image files."""
    rng = random.Random(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(unique_images):
        name = f"images/{i:05d}.{'png' if i % 4 == 3 else 'jpg'}"
        (_chart if name.endswith(".png") else _photo)(root / name, rng)
        names.append(name)

    def text(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    lines = []
    for i in range(records):
        kind = i % 4
        images = [{"type": "image", "image": rng.choice(names)} for _ in range(1 + (kind == 1))]
        user = {"role": "user", "content": [*images, {"type": "text", "text": text(rng.randint(5, 40))}]}
        messages: list[dict] = [user]
        if kind == 1:
            messages.insert(0, {"role": "system", "content": "You are a careful visual analyst."})
        if kind == 2:
            messages += [{"role": "assistant", "content": text(30)}, {"role": "user", "content": text(10)}]
        if kind == 3:
            messages = [{"role": "user", "content": text(60)}]  # text-only records are part of real datasets
        lines.append(json.dumps({"id": f"rec-{i}", "messages": messages, "add_generation_prompt": True}))
    data = root / "data.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data


def run_child(
    argv: list[str], cwd: Path | None = None, extra_env: dict[str, str] | None = None, stderr: list[str] | None = None
) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + sys), peak RSS in MB and stdout of one child (``os.wait4`` reaps it,
    so the figures are that process's own); its stderr is appended to ``stderr`` when given. CPU time is
    what to read on a busy machine: wall time there mostly measures waiting for a core."""
    # A relative PYTHONPATH entry would point elsewhere in a child with another cwd (silently measuring another install).
    env = {**os.environ, **(extra_env or {})}
    # As an installed package runs: compiled modules cached (a sandbox's PYTHONDONTWRITEBYTECODE=1 would
    # have every child compile mmrender's sources again, ~30 ms of start-up no user pays).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, cwd=cwd, env=env)
        out = proc.stdout.read().decode() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        text = errors.read().decode()
        if proc.returncode:
            raise SystemExit(f"{argv} failed ({proc.returncode}):\n{text}")
        if stderr is not None:
            stderr.append(text)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="cold processes per timing (median reported)")
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--unique-images", type=int, default=600)
    parser.add_argument("--models", nargs="+", default=MODELS)
    args = parser.parse_args()

    console = Path(sys.executable).parent / "mmrender"
    cli = [str(console)] if console.exists() else [sys.executable, "-m", "mmrender"]
    rows: list[tuple[str, str, str, str, str]] = []
    load_before = os.getloadavg()[0]

    helps = [run_child([*cli, "--help"]) for _ in range(args.runs)]
    wall, cpu = (statistics.median(h[i] for h in helps) for i in range(2))
    rows.append(
        ("`mmrender --help`", f"{wall:.3f} s", f"{cpu:.3f} s", f"≤ {HELP_TARGET_S} s", verdict(wall, HELP_TARGET_S))
    )

    with tempfile.TemporaryDirectory(prefix="mmrender-bench-startup-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        data = make_dataset(root, args.records, args.unique_images)
        print(f"dataset: {args.records} records, {args.unique_images} images, {time.perf_counter() - t0:.1f} s to make")
        image = root / "images" / "00000.jpg"

        for model in args.models:
            runs = []
            for run in range(args.runs):
                store = root / f"store-first-{run}"
                wall, cpu, _, out = run_child([sys.executable, "-c", FIRST_RENDER, model, str(store), str(image)])
                imp, build, render, _ids, heavy = out.split()
                if int(heavy):
                    raise SystemExit(f"{model}: a raw render imported torch/torchvision/sympy/transformers")
                runs.append((wall, cpu, float(imp), float(build), float(render)))
            wall, cpu, imp, build, render = (statistics.median(r[i] for r in runs) for i in range(5))
            detail = f"wall: import {imp:.2f} + renderer {build:.2f} + render {render:.3f} s"
            target = f"≤ {FIRST_RENDER_TARGET_S} s"
            label = f"first raw render, {model} ({detail})"
            rows.append((label, f"{wall:.2f} s", f"{cpu:.2f} s", target, verdict(wall, FIRST_RENDER_TARGET_S)))

        for model in args.models:
            out = root / f"out-{model.replace('/', '_')}.jsonl"
            argv = [*cli, "render", str(data), "-m", model, "-o", str(out), "--store", str(root / "store"), "-q"]
            wall, cpu, rss, _ = run_child(argv, cwd=root)
            count = sum(1 for _ in out.open(encoding="utf-8"))
            if count != args.records:
                raise SystemExit(f"{model}: {count} output lines for {args.records} records")
            label = f"peak RSS, `mmrender render` of {args.records} records, {model}"
            rows.append((label, f"{rss:.0f} MB", f"{cpu:.1f} s", f"≤ {RSS_TARGET_MB} MB", verdict(rss, RSS_TARGET_MB)))

    print(f"load average: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores")
    print("| measurement | value (median) | CPU time | target | |")
    print("|---|---:|---:|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
