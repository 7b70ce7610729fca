"""One process of the kit's multi-process store check: ``python -m mmrender.testing.store_worker``.

It reads one JSON line (``role``, ``url``, ``options``, ``blobs``: file paths, ``locators``), opens the
store by URL, prints ``ready`` and waits for a ``go`` line so every process starts together.
A *writer* puts every blob (in its own order), reads each back and prints its StoredAssets; a
*reader* polls the locators until a ``stop`` line, and prints what it saw that a whole-or-nothing
store never shows: a partial or corrupt read, or any error but AssetNotFoundError.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def write(store: Any, blobs: list[bytes], order: list[int]) -> dict[str, Any]:
    assets: dict[int, list[Any]] = {}
    errors = []
    for k in order:
        try:
            asset = store.put(blobs[k], mime="image/png")
            assets[k] = [asset.sha256, asset.raw_uri, asset.raw_image_id]
            for locator in (asset.raw_uri, asset.raw_image_id):
                if locator is not None and store.get(locator) != blobs[k]:
                    errors.append(f"blob {k}: get({locator[:80]!r}) right after put returned other bytes")
        except Exception as exc:
            errors.append(f"blob {k}: {_describe(exc)}")
    return {"assets": [assets.get(k) for k in range(len(blobs))], "errors": errors}


def read(store: Any, blobs: list[bytes], locators: list[str | None], stop: threading.Event) -> dict[str, Any]:
    from mmrender.errors import AssetNotFoundError

    anomalies: list[str] = []
    whole = 0
    while not stop.is_set():
        for k, locator in enumerate(locators):
            if locator is None:
                continue
            try:
                data = store.get(locator)
            except AssetNotFoundError:
                continue
            except Exception as exc:
                anomalies.append(f"blob {k}: {_describe(exc)}")
                continue
            if data == blobs[k]:
                whole += 1
            else:
                anomalies.append(f"blob {k}: read {len(data)} bytes, not the {len(blobs[k])} stored")
        time.sleep(0.001)
    return {"anomalies": anomalies[:20], "whole_reads": whole}


def main() -> None:
    config = json.loads(sys.stdin.readline())
    import mmrender

    store = mmrender.open_store(config["url"], **config.get("options", {}))
    blobs = [Path(p).read_bytes() for p in config["blobs"]]
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    if config["role"] == "writer":
        result = write(store, blobs, config["order"])
    else:
        stop = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
        result = read(store, blobs, config["locators"], stop)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(1)
