"""One writer process of the concurrency tests: offload a slice of an overlapping image pool.

Usage: ``python offload_worker.py STORE_URL WORKER COUNT POOL`` — waits for a line on stdin (so
all workers start together), then puts ``COUNT`` images ``(WORKER * POOL // 8 + i) % POOL`` and
prints ``[[sha256, raw_uri, raw_image_id], …]`` as JSON.
"""

from __future__ import annotations

import io
import json
import sys

from PIL import Image


def pool_image(k: int) -> bytes:
    """Image ``k`` of the pool: distinct, deterministic, a few hundred bytes."""
    img = Image.new("RGB", (24, 16), (k % 251, (k * 7) % 253, (k * 13) % 255))
    img.putpixel((k % 24, (k // 24) % 16), (255 - k % 256, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def slice_of(worker: int, count: int, pool: int) -> list[int]:
    start = worker * pool // 8
    return [(start + i) % pool for i in range(count)]


def main() -> None:
    url, worker, count, pool = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    import mmrender
    from mmrender.images import load_image

    store = mmrender.open_store(url)
    images = [pool_image(k) for k in slice_of(worker, count, pool)]
    print("ready", flush=True)
    sys.stdin.readline()
    out = []
    for data in images:
        image = load_image(data)
        asset = store.put(image.data, mime=image.mime)
        out.append([asset.sha256, asset.raw_uri, asset.raw_image_id])
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
