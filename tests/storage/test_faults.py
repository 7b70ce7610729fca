"""The S3 server dies in the middle of a batch render: a clear StorageError, no partial object, a clean rerun."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import mmrender
import pytest
from mmrender.dispatch import open_store
from mmrender.errors import StorageError
from mmrender.refs import dump
from mmrender.storage import sha256_hex
from mmrender.types import RawMMRef
from seaweed import SeaweedServer
from storage_helpers import image_message, png_bytes

BATCH = 120
KILL_AFTER_PUTS = 15


@pytest.fixture
def own_server(tmp_path: Path) -> Any:
    """A server of this test's own: it gets killed and restarted."""
    server = SeaweedServer(tmp_path / "seaweed")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def assert_every_object_whole(store: Any, settle: float = 30.0) -> set[str]:
    """List the prefix and verify each object against its name: nothing partial is visible.

    After a SIGKILL, SeaweedFS answers GETs of old objects with ``InternalError`` for a few
    seconds while its volume server reloads; such transport errors are retried until ``settle``
    runs out, but any object that reads must hash to its name at once.
    """
    fs = store.fs
    fs.invalidate_cache()
    keys = fs.find(store.root)
    names = {k.rpartition("/")[2] for k in keys}
    assert names == set(store.iter_assets())  # only asset names, no temporaries
    pending = set(names)
    deadline = time.monotonic() + settle
    while pending:
        for sha in sorted(pending):
            try:
                data = store.read_unverified(sha)
            except StorageError:
                if time.monotonic() > deadline:
                    raise
                continue
            assert sha256_hex(data) == sha, f"partial or corrupt object {sha} is visible"
            pending.discard(sha)
        if pending:
            time.sleep(0.25)
    return names


def test_server_killed_mid_batch_then_rerun(own_server: SeaweedServer, renderer_for: Any) -> None:
    url = f"s3://{own_server.bucket}/fault-run"
    store = open_store(url, **own_server.storage_options())
    renderer = renderer_for(store)
    images = [png_bytes(1000 + i, (192, 160), noise=True) for i in range(BATCH)]  # ~90 kB each
    batch = [[image_message(data)] for data in images]

    puts: list[str] = []
    store.fs.connect()
    store.fs.s3.meta.events.register("before-parameter-build.s3.PutObject", lambda params, **_: puts.append("p"))
    killed_at: list[float] = []

    def killer() -> None:
        while len(puts) < KILL_AFTER_PUTS:
            time.sleep(0.001)
        own_server.stop(kill=True)  # SIGKILL: a crash, mid-request if one is in flight
        killed_at.append(time.monotonic())

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    done = 0
    with pytest.raises(StorageError) as info:
        for messages in batch:
            renderer.render(messages)
            done += 1
    failed_at = time.monotonic()
    thread.join(timeout=30)
    assert killed_at, "the server was never killed"
    assert failed_at - killed_at[0] < 30, "the failure took too long (hang?)"
    assert url in str(info.value) and "writing asset" in str(info.value)
    assert KILL_AFTER_PUTS - 1 <= done < BATCH
    print(f"killed after {len(puts)} puts; {done} renders done; failed {failed_at - killed_at[0]:.2f}s later")

    own_server.start()  # same ports, same data directory
    before = assert_every_object_whole(store)
    assert len(before) >= done  # everything that rendered before the crash is there
    assert not store.fs.call_s3("list_multipart_uploads", Bucket=own_server.bucket).get("Uploads")

    refs = []
    for messages in batch:  # the rerun completes
        out = renderer.render(messages)
        item = out.multi_modal_data.mm_items["image"][0]
        refs.append(dump(RawMMRef.from_item(item, out.multi_modal_data.mm_hashes["image"][0])))
    after = assert_every_object_whole(store)
    assert after == {sha256_hex(d) for d in images}
    for ref, data in zip(refs[:: BATCH // 6], images[:: BATCH // 6], strict=True):
        assert mmrender.materialize(ref, store=store).image.data == data


def test_unreachable_endpoint_fails_fast_with_a_storage_error(renderer_for: Any) -> None:
    from seaweed import free_ports

    (port,) = free_ports(1)
    store = open_store(
        "s3://nobody/here",
        endpoint_url=f"http://127.0.0.1:{port}",
        key="k",
        secret="s",
        config_kwargs={"connect_timeout": 1, "read_timeout": 2, "retries": {"max_attempts": 1}},
    )
    start = time.monotonic()
    with pytest.raises(StorageError, match="s3://nobody/here"):
        renderer_for(store).render([image_message(png_bytes(1))])
    assert time.monotonic() - start < 20
