"""Stores that declare ``background_puts`` are written on worker threads while the renderer hashes on.

What must hold: every asset is stored before ``render`` returns, a failed put is reported with the
message and part of its image (after every other put has finished), S3 uploads of one render really
overlap, and a forked child process can render too.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

import mmrender
import pytest
from mmrender.dispatch import open_store
from mmrender.errors import StorageError
from mmrender.refs import dump
from mmrender.storage import Store, StoredAsset, sha256_hex
from mmrender.types import RawMMRef
from storage_helpers import image_message, png_bytes


class SlowDictStore(Store):
    """An in-memory store whose puts take a while and can be told to fail for chosen content."""

    background_puts = True

    def __init__(self, delay: float = 0.02, fail_for: frozenset[str] = frozenset()) -> None:
        self.url = "slowdict://test"
        self.delay = delay
        self.fail_for = fail_for
        self.assets: dict[str, bytes] = {}
        self.finished: list[str] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def put(self, data: bytes, *, mime: str | None = None, sha256: str | None = None) -> StoredAsset:
        sha = sha256 or sha256_hex(data)
        with self._lock:
            self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        with self._lock:
            self.finished.append(sha)
        if sha in self.fail_for:
            raise StorageError(f"store {self.url}: refusing asset {sha}")
        with self._lock:
            self.assets[sha] = data
        return StoredAsset(sha256=sha, raw_uri=f"{self.url}/{sha}", raw_image_id=sha)

    def get(self, locator: str) -> bytes:
        return self.assets[locator.rpartition("/")[2]]


def test_render_returns_only_after_every_background_put_finished(renderer_for: Any) -> None:
    store = SlowDictStore()
    images = [png_bytes(i) for i in range(6)]
    out = renderer_for(store).render([image_message(*images)])
    assert sorted(store.finished) == sorted(sha256_hex(d) for d in images)
    assert all(t.startswith("mmrender-worker") for t in store.threads)  # not the caller's thread
    items = out.multi_modal_data.mm_items["image"]
    assert [item.raw_image_id for item in items] == [sha256_hex(d) for d in images]  # stream order kept


def test_failed_background_put_names_message_and_part_and_waits_for_the_rest(renderer_for: Any) -> None:
    images = [png_bytes(100 + i) for i in range(5)]
    store = SlowDictStore(fail_for=frozenset({sha256_hex(images[2])}))
    messages = [{"role": "user", "content": "first"}, image_message(*images)]
    with pytest.raises(StorageError) as info:
        renderer_for(store).render(messages)
    # image_message puts a text part first, so the third image is part 3 of message 1
    assert str(info.value).startswith("message 1, part 3: ")
    assert sha256_hex(images[2]) in str(info.value)
    assert len(store.finished) == len(images)  # nothing was still being written when the error surfaced


def test_a_store_without_background_puts_is_written_in_the_callers_thread(renderer_for: Any) -> None:
    store = SlowDictStore(delay=0)
    store.background_puts = False
    renderer_for(store).render([image_message(png_bytes(1), png_bytes(2))])
    assert store.threads == {threading.current_thread().name}


def test_s3_uploads_of_one_render_overlap_and_all_land(renderer_for: Any, s3_url: str, s3_options: Any) -> None:
    store = open_store(s3_url, **s3_options)
    assert store.background_puts  # s3fs is an async filesystem: safe from any thread
    images = [png_bytes(500 + i, (256, 192), noise=True) for i in range(8)]  # ~150 kB each
    in_flight, peak, lock = [0], [0], threading.Lock()

    def before(**_: Any) -> None:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])

    def after(**_: Any) -> None:
        with lock:
            in_flight[0] -= 1

    store.fs.connect()
    events = store.fs.s3.meta.events
    events.register("before-call.s3.PutObject", before)
    events.register("after-call.s3.PutObject", after)
    out = renderer_for(store).render([image_message(*images)])
    assert peak[0] > 1, "uploads of one render ran one at a time"
    assert set(store.iter_assets()) == {sha256_hex(d) for d in images}
    for item, data in zip(out.multi_modal_data.mm_items["image"], images, strict=True):
        ref = dump(RawMMRef.from_item(item, sha256_hex(data)[:32]))
        assert mmrender.materialize(ref, store=store).image.data == data


def _render_in_child(store_dir: str, seed: int, queue: Any) -> None:
    import storetest_family

    mmrender.register_plugin(storetest_family, name="storetest-child")
    renderer = mmrender.get_renderer(storetest_family.MODEL, store=SlowDictStore(delay=0.001))
    out = renderer.render([image_message(png_bytes(seed), png_bytes(seed + 1))])
    queue.put(len(out.multi_modal_data.mm_items["image"]))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
def test_forked_child_renders_with_background_puts(renderer_for: Any, tmp_path: Path) -> None:
    renderer_for(SlowDictStore(delay=0.001)).render([image_message(png_bytes(7), png_bytes(8))])  # pool is up
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_render_in_child, args=(str(tmp_path), 40, queue))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung on the inherited worker pool")
    assert child.exitcode == 0
    assert queue.get(timeout=5) == 2


def test_images_are_prepared_in_a_bounded_window_and_errors_come_in_stream_order(
    renderer_for: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import mmrender.renderer as renderer_module

    loads: list[int] = []
    real_load = renderer_module.load_image
    monkeypatch.setattr(
        renderer_module, "load_image", lambda source, **kw: (loads.append(1), real_load(source, **kw))[1]
    )

    class WindowStore(SlowDictStore):
        ahead: list[int] = []  # noqa: RUF012

        def put(self, data: bytes, **kw: Any) -> StoredAsset:
            self.ahead.append(len(loads) - len(self.finished))
            return super().put(data, **kw)

    store = WindowStore(delay=0)
    store.background_puts = False
    images = [png_bytes(300 + i) for i in range(10)]
    renderer_for(store).render([image_message(*images)])
    assert len(loads) == 10 and max(store.ahead) == renderer_module.PIPELINE_DEPTH

    bad = tmp_path / "not-an-image.png"
    bad.write_bytes(b"plain text, not a PNG")
    sources = [png_bytes(1), str(bad), png_bytes(2), str(tmp_path / "missing.png")]
    with pytest.raises(mmrender.errors.ImageSourceError) as info:
        renderer_for(SlowDictStore(delay=0)).render([image_message(*sources)])
    assert "message 0, part 2" in str(info.value) and "not a recognised image" in str(info.value)


def test_a_family_that_overrides_prepare_image_still_sees_every_image(renderer_for: Any) -> None:
    """``prepare_images`` must not bypass a family's own ``prepare_image`` (it falls back to it per image)."""
    renderer = renderer_for(SlowDictStore(delay=0))
    seen: list[int] = []

    class Customised(type(renderer)):  # type: ignore[misc]
        def prepare_image(self, part: Any) -> Any:
            seen.append(part.part_index)
            return super().prepare_image(part)

    renderer.__class__ = Customised
    out = renderer.render([image_message(png_bytes(61), png_bytes(62), png_bytes(63))])
    assert seen == [1, 2, 3]
    assert len(out.multi_modal_data.mm_items["image"]) == 3
