"""The fsspec backend against ``memory://`` and a real S3 server (SeaweedFS on loopback, via s3fs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mmrender
import pytest
from fsspec.registry import known_implementations
from mmrender.dispatch import open_store, read_uri
from mmrender.errors import (
    AssetIntegrityError,
    AssetNotFoundError,
    MissingBackendError,
    StorageError,
    UnsafeLocatorError,
)
from mmrender.plugins import registries
from mmrender.refs import dump, parse
from mmrender.storage import sha256_hex
from mmrender.types import RawMMRef
from mmrender_storage.remote import RemoteStore
from storage_helpers import HERE, image_message, png_bytes


def _s3fs_of(store: Any) -> Any:
    assert isinstance(store, RemoteStore)
    return store.fs


def _count_puts(store: RemoteStore) -> list[str]:
    """Observe the real PutObject calls s3fs sends (a botocore event hook, not a mock)."""
    calls: list[str] = []
    fs = _s3fs_of(store)
    fs.connect()  # make sure the client exists
    fs.s3.meta.events.register("before-parameter-build.s3.PutObject", lambda params, **_: calls.append(params["Key"]))
    return calls


# -- scheme registration ------------------------------------------------------------------------


def test_registers_every_fsspec_protocol_except_the_ones_other_backends_own() -> None:
    backends = registries().backends
    expected = set(known_implementations) - {"file", "local", "data"}
    fsspec_schemes = {s for s, (_, owner) in backends.items() if backends[s][0].__class__.__name__ == "FsspecBackend"}
    assert fsspec_schemes == expected
    assert {"s3", "gs", "memory", "abfs"} <= fsspec_schemes
    assert backends["file"][0].__class__.__name__ == "FileBackend"
    assert backends["data"][0].__class__.__name__ == "DataBackend"


def test_scheme_list_can_be_narrowed_by_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMRENDER_FSSPEC_SCHEMES", "s3, memory")
    mmrender.plugins.reset()
    backends = registries().backends
    assert {"s3", "memory"} <= set(backends)
    assert "gs" not in backends and "http" not in backends
    with pytest.raises(MissingBackendError, match="'gs'"):
        open_store("gs://bucket/x")


def test_missing_implementation_names_what_to_install() -> None:
    with pytest.raises(MissingBackendError, match="gcsfs"):
        open_store("gs://bucket/prefix")


def test_missing_s3_extra_says_pip_install_the_extra(tmp_path: Path) -> None:
    """s3fs absent (blocked in a fresh interpreter) → the error names ``mmrender-storage[s3]``."""
    code = (
        "import sys; sys.modules['s3fs'] = None\n"
        "import mmrender\n"
        "try:\n"
        "    mmrender.open_store('s3://bucket/run')\n"
        "except mmrender.StorageError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    env = {**os.environ, "MMRENDER_PLUGINS": "mmrender-storage"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("MissingBackendError")
    assert "pip install 'mmrender-storage[s3]'" in out.stdout


def test_chained_urls_are_not_stores() -> None:
    with pytest.raises(StorageError, match="chained"):
        open_store("simplecache::memory://bucket/x")


def test_bad_storage_option_is_a_storage_error(s3_url: str) -> None:
    with pytest.raises(StorageError, match="unexpected keyword"):
        open_store(s3_url, no_such_option=1).put(b"x")


# -- memory:// ----------------------------------------------------------------------------------


def test_memory_store_round_trip_and_locators() -> None:
    store = open_store("memory://mmr-tests/run-1")
    data = png_bytes(1)
    asset = store.put(data, mime="image/png")
    assert asset.sha256 == sha256_hex(data) == asset.raw_image_id
    assert asset.raw_uri == f"memory:///mmr-tests/run-1/{asset.sha256}"
    assert store.get(asset.raw_uri) == store.get(asset.sha256) == data
    assert read_uri(asset.raw_uri) == data
    assert list(store.iter_assets()) == [asset.sha256]
    assert store.put(data) == asset


def test_memory_store_refuses_locators_outside_its_root() -> None:
    store = open_store("memory://mmr-tests/run-2")
    asset = store.put(b"abc")
    sha = asset.sha256
    for bad in (
        f"memory:///mmr-tests/other/{sha}",
        f"memory:///mmr-tests/run-2/../other/{sha}",
        f"memory:///mmr-tests/run-2/sub/{sha}",
        f"s3://mmr-tests/run-2/{sha}",
        "memory:///mmr-tests/run-2/../../etc/passwd",
        "../" + sha,
    ):
        with pytest.raises(UnsafeLocatorError):
            store.get(bad)


def test_memory_store_detects_tampering() -> None:
    store = open_store("memory://mmr-tests/run-3")
    asset = store.put(b"original bytes")
    store.fs.pipe_file(f"{store.root}/{asset.sha256}", b"tampered bytes")
    with pytest.raises(AssetIntegrityError):
        store.get(asset.sha256)
    with pytest.raises(AssetIntegrityError):
        read_uri(asset.raw_uri)


def test_read_cache_is_bounded_and_serves_only_verified_bytes() -> None:
    store = open_store("memory://mmr-tests/cache", read_cache_bytes=250)
    blobs = [bytes([i]) * 100 for i in range(5)]
    assets = [store.put(b) for b in blobs]
    for a, b in zip(assets, blobs, strict=True):
        assert store.get(a.sha256) == b
        assert store.cache.size <= 250
    # The two most recent reads are cached: delete their objects and they are still served.
    store.fs.rm_file(f"{store.root}/{assets[-1].sha256}")
    assert store.get(assets[-1].sha256) == blobs[-1]
    store.fs.rm_file(f"{store.root}/{assets[0].sha256}")
    with pytest.raises(AssetNotFoundError):
        store.get(assets[0].sha256)


def test_local_like_protocols_write_via_temp_and_move(tmp_path: Path) -> None:
    """For protocols without atomic PUT (here fsspec's local filesystem) bytes land via tmp + mv."""
    import fsspec

    store = RemoteStore(fsspec.filesystem("file"), str(tmp_path / "remote-root"))
    assert not store.atomic
    moves: list[tuple[str, str]] = []
    original_mv = store.fs.mv
    store.fs.mv = lambda a, b, **kw: (moves.append((a, b)), original_mv(a, b, **kw))[1]  # observe only
    asset = store.put(b"local-like")
    assert len(moves) == 1 and Path(moves[0][0]).name.startswith(".tmp-") and moves[0][1].endswith(asset.sha256)
    assert sorted(p.name for p in (tmp_path / "remote-root").iterdir()) == [asset.sha256]
    assert store.get(asset.sha256) == b"local-like"
    assert list(store.iter_temporaries()) == []


# -- S3 (SeaweedFS) ------------------------------------------------------------------------------


def test_s3_store_round_trip(s3_url: str, s3_options: dict[str, Any]) -> None:
    store = open_store(s3_url, **s3_options)
    data = png_bytes(2)
    asset = store.put(data, mime="image/png")
    assert asset.raw_image_id == asset.sha256 == sha256_hex(data)
    assert asset.raw_uri == f"{s3_url}/{asset.sha256}"
    assert store.get(asset.raw_uri) == store.get(asset.raw_image_id) == data
    assert list(store.iter_assets()) == [asset.sha256]
    fs = _s3fs_of(store)
    fs.invalidate_cache()
    assert fs.info(f"{store.root}/{asset.sha256}")["ContentType"] == "image/png"


def test_s3_second_write_of_same_bytes_does_no_upload(s3_url: str, s3_options: dict[str, Any]) -> None:
    store = open_store(s3_url, **s3_options)
    puts = _count_puts(store)
    first = store.put(b"same bytes")
    assert len(puts) == 1
    for _ in range(3):
        assert store.put(b"same bytes") == first
    assert len(puts) == 1
    store.put(b"other bytes")
    assert len(puts) == 2


def test_s3_damaged_object_of_wrong_size_is_rewritten(s3_url: str, s3_options: dict[str, Any]) -> None:
    store = open_store(s3_url, **s3_options)
    data = png_bytes(3)
    sha = sha256_hex(data)
    _s3fs_of(store).pipe_file(f"{store.root}/{sha}", data[: len(data) // 2])  # as if a partial object existed
    with pytest.raises(AssetIntegrityError):
        store.get(sha)
    store.put(data)
    assert store.get(sha) == data


def test_s3_damaged_object_of_the_same_size_is_rewritten(s3_url: str, s3_options: dict[str, Any]) -> None:
    store = open_store(s3_url, **s3_options)
    data = png_bytes(4)
    sha = sha256_hex(data)
    damaged = data[:-1] + bytes([data[-1] ^ 1])  # flipped bits, same size: the ETag (MD5) differs
    _s3fs_of(store).pipe_file(f"{store.root}/{sha}", damaged)
    with pytest.raises(AssetIntegrityError):
        store.get(sha)
    puts = _count_puts(store)
    store.put(data)
    assert len(puts) == 1
    assert store.get(sha) == data


def test_s3_tampered_object_fails_verification(s3_url: str, s3_options: dict[str, Any]) -> None:
    store = open_store(s3_url, **s3_options)
    asset = store.put(b"genuine content!")
    _s3fs_of(store).pipe_file(f"{store.root}/{asset.sha256}", b"forged content!!")  # same size
    with pytest.raises(AssetIntegrityError, match="hashes to"):
        store.get(asset.raw_uri)


def test_s3_missing_asset_is_typed(s3_url: str, s3_options: dict[str, Any]) -> None:
    store = open_store(s3_url, **s3_options)
    with pytest.raises(AssetNotFoundError):
        store.get("0" * 64)


def test_s3_wrong_credentials_are_a_storage_error(s3_url: str, s3_options: dict[str, Any]) -> None:
    store = open_store(s3_url, **{**s3_options, "secret": "wrong"})
    with pytest.raises(StorageError, match=r"writing asset"):
        store.put(b"x")


def test_render_with_s3_store_emits_shared_root_locators_and_refs_materialize(
    s3_url: str, s3_options: dict[str, Any], renderer_for: Any
) -> None:
    store = open_store(s3_url, **s3_options)
    images = [png_bytes(10), png_bytes(11)]
    out = renderer_for(store).render([image_message(*images)])
    items = out.multi_modal_data.mm_items["image"]
    hashes = out.multi_modal_data.mm_hashes["image"]
    for item, data, mm_hash in zip(items, images, hashes, strict=True):
        sha = sha256_hex(data)
        assert item.raw_image_id == sha
        assert item.raw_uri == f"{s3_url}/{sha}"
        ref = parse(dump(RawMMRef.from_item(item, mm_hash)))
        got = mmrender.materialize(ref, store=store)
        assert got.image.data == data and got.layout is not None


def test_refs_resolve_in_a_fresh_process_configured_only_by_env(
    s3_url: str, s3_options: dict[str, Any], s3_server: Any, renderer_for: Any
) -> None:
    """A consumer on another host: only the ref string and fsspec env config (FSSPEC_S3_*)."""
    out = renderer_for(open_store(s3_url, **s3_options)).render([image_message(png_bytes(20))])
    item = out.multi_modal_data.mm_items["image"][0]
    ref = dump(RawMMRef.from_item(item, out.multi_modal_data.mm_hashes["image"][0]))
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[2])\n"
        "import mmrender, storetest_family\n"
        "mmrender.register_plugin(storetest_family, name='storetest')\n"
        "m = mmrender.materialize(sys.argv[1])\n"
        "print(json.dumps([m.image.width, m.image.height, m.ref.raw_uri]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FSSPEC_"))}
    env.update(s3_server.env(), MMRENDER_PLUGINS="mmrender-storage")
    result = subprocess.run(
        [sys.executable, "-c", code, ref, str(HERE)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [40, 30, item.raw_uri]


def test_store_url_from_aws_endpoint_env_in_a_fresh_process(s3_url: str, s3_server: Any) -> None:
    """``AWS_ENDPOINT_URL`` + ``AWS_ACCESS_KEY_ID``/``SECRET`` are honoured (botocore's own config)."""
    from seaweed import ACCESS_KEY, SECRET_KEY

    code = (
        "import sys, mmrender\n"
        "s = mmrender.open_store(sys.argv[1])\n"
        "a = s.put(b'via aws env')\n"
        "print(s.get(a.raw_uri).decode())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FSSPEC_"))}
    env.update(
        AWS_ENDPOINT_URL=s3_server.endpoint,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        MMRENDER_PLUGINS="mmrender-storage",
    )
    result = subprocess.run([sys.executable, "-c", code, s3_url], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "via aws env"


def test_materialize_confined_to_a_store_refuses_other_buckets(
    s3_url: str, s3_options: dict[str, Any], tmp_path: Path
) -> None:
    store = open_store(s3_url, **s3_options)
    asset = store.put(png_bytes(30))
    ref = RawMMRef(
        family="storetest",
        fingerprint="9ed74be9eb6e236654b6b085548848cd",
        modality="image",
        mm_hash=asset.sha256[:32],
        payload={"grid_hw": [1, 1]},
        raw_uri=asset.raw_uri.replace(store.root.split("/")[0], "another-bucket", 1),
    )
    with pytest.raises(UnsafeLocatorError):
        mmrender.materialize(ref, store=store)
    local = open_store(str(tmp_path / "local"))
    with pytest.raises(UnsafeLocatorError):
        mmrender.materialize(RawMMRef(**{**_fields(ref), "raw_uri": asset.raw_uri}), store=local)


def _fields(ref: RawMMRef) -> dict[str, Any]:
    import attrs

    return attrs.asdict(ref, recurse=False)
