"""Dead hosts fail fast with a typed error naming the host, the port, what happened and the timeout.

Real sockets on 127.0.0.1 only (see ``dead_servers``); every wait is bounded by a watchdog, so a
regression to library defaults (aiohttp: 300 s, botocore: 60 s x retries) fails instead of hanging.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import mmrender
import pytest
from dead_servers import connect_hangs, dead_server
from mmrender import network
from mmrender.dispatch import open_store
from mmrender.errors import (
    AssetNotFoundError,
    ConfigError,
    ImageFetchError,
    ImageSourceError,
    NetworkError,
    StorageError,
    StoreNetworkError,
)
from mmrender.network import network_timeout
from mmrender.refs import RawMMRef, dump
from storage_helpers import image_message, png_bytes

#: A hang is anything slower than this; the timeouts under test are 1 s (S3: two attempts).
WATCHDOG = 30.0
#: Generous upper bound for "failed fast" with a 1 s timeout (library defaults take minutes).
FAST = 8.0

EXPECTED = {
    "silent": network.TIMED_OUT_READING,
    "resetting": network.RESET,
    "refused": network.REFUSED,
    "backlogged": network.TIMED_OUT_CONNECTING,
}


def failure_of(call: Callable[[], Any]) -> tuple[BaseException, float]:
    """Run ``call`` on a thread, return what it raised and how long it took (never wait past the watchdog)."""
    outcome: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # handed back to the test
            outcome.append(exc)

    start = time.monotonic()
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(WATCHDOG)
    elapsed = time.monotonic() - start
    assert not worker.is_alive(), f"still waiting after {WATCHDOG:g} s: the timeout was not applied"
    assert outcome, "expected a network failure, the call succeeded"
    return outcome[0], elapsed


def skip_unless_connect_hangs(kind: str, port: int) -> None:
    if kind == "backlogged" and not connect_hangs(port):
        pytest.skip("this kernel completes loopback connections past a full backlog: no connect timeout to test")


def assert_names_the_failure(err: BaseException, kind: str, port: int, timeout: float) -> None:
    assert isinstance(err, NetworkError), repr(err)
    assert (err.kind, err.host, err.port, err.timeout) == (kind, "127.0.0.1", port, timeout)
    text = str(err)
    assert f"127.0.0.1:{port}" in text and f"network timeout {timeout:g} s" in text, text
    assert "not found" not in text, text


@pytest.fixture
def allow_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMRENDER_FETCH_POLICY", "allow")
    monkeypatch.setenv(network.TIMEOUT_ENV, "1")


# -- http(s) image sources ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_http_image_from_a_dead_host_is_a_typed_fetch_error(kind: str, renderer_for: Any, allow_fetch: None) -> None:
    renderer = renderer_for("data:")
    with dead_server(kind) as port:
        skip_unless_connect_hangs(kind, port)
        url = f"http://127.0.0.1:{port}/cat.png"
        err, elapsed = failure_of(lambda: renderer.render([image_message(png_bytes(1), url)]))
    assert isinstance(err, ImageFetchError) and isinstance(err, ImageSourceError), repr(err)
    assert_names_the_failure(err, EXPECTED[kind], port, 1.0)
    assert (err.message_index, err.part_index, err.source) == (0, 2, url)
    assert elapsed < FAST


def test_a_server_that_closes_without_answering_is_a_dropped_connection(allow_fetch: None) -> None:
    from mmrender.dispatch import read_uri
    from mmrender.images import load_image

    with dead_server("closing") as port:
        err, elapsed = failure_of(lambda: load_image(f"http://127.0.0.1:{port}/cat.png", read_uri=read_uri))
    assert isinstance(err, ImageFetchError)
    assert err.kind in (network.CLOSED, network.RESET), str(err)
    assert_names_the_failure(err, err.kind, port, 1.0)
    assert elapsed < FAST


def test_refs_pointing_at_a_dead_host_fail_with_a_store_network_error(allow_fetch: None) -> None:
    with dead_server("silent") as port:
        ref = RawMMRef(
            family="storetest",
            fingerprint="9ed74be9eb6e236654b6b085548848cd",
            modality="image",
            mm_hash="0" * 32,
            payload={},
            raw_uri=f"http://127.0.0.1:{port}/{'0' * 64}",
        )
        err, _ = failure_of(lambda: mmrender.materialize(dump(ref)))
    assert isinstance(err, StoreNetworkError) and not isinstance(err, AssetNotFoundError), repr(err)
    assert_names_the_failure(err, network.TIMED_OUT_READING, port, 1.0)


def test_a_dns_failure_is_named_even_when_wrapped() -> None:
    """No test may query DNS, so this takes the resolver's real error for an empty host name, wrapped
    as fsspec's HTTP ``info`` wraps any failure (in a ``FileNotFoundError``)."""
    from mmrender_storage.network import network_error

    try:
        socket.getaddrinfo("", None)
    except socket.gaierror as dns:
        try:
            raise FileNotFoundError("http://nowhere.example/cat.png") from dns
        except FileNotFoundError as wrapped:
            err = network_error("reading http://nowhere.example/cat.png", wrapped, 3.0, "http://nowhere.example/x")
    assert err is not None and (err.kind, err.host, err.port) == (network.DNS_FAILURE, "nowhere.example", 80)
    assert "DNS lookup failed for nowhere.example; network timeout 3 s" in str(err)


# -- the timeout setting ------------------------------------------------------------------------


def test_timeout_setting_explicit_then_environment_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(network.TIMEOUT_ENV, raising=False)
    assert network_timeout() == network.DEFAULT_TIMEOUT
    monkeypatch.setenv(network.TIMEOUT_ENV, " 2.5 ")
    assert network_timeout() == 2.5
    assert network_timeout(7) == 7.0
    for bad in ("soon", "0", "-3", "nan", "inf"):
        monkeypatch.setenv(network.TIMEOUT_ENV, bad)
        with pytest.raises(ConfigError, match=rf"MMRENDER_TIMEOUT='{bad}' is not a positive number of seconds"):
            network_timeout()
    with pytest.raises(ConfigError, match="timeout=0"):
        network_timeout(0)


def test_a_bad_timeout_environment_value_is_reported_when_opening_a_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(network.TIMEOUT_ENV, "a minute")
    with pytest.raises(ConfigError, match="MMRENDER_TIMEOUT"):
        open_store("memory://timeouts-bad-env")


def test_an_explicit_store_timeout_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(network.TIMEOUT_ENV, "300")
    with dead_server("silent") as port:
        store = open_store("s3://bucket/t", endpoint_url=f"http://127.0.0.1:{port}", key="k", secret="s", timeout=1)
        err, elapsed = failure_of(lambda: store.get("0" * 64))
    assert_names_the_failure(err, network.TIMED_OUT_READING, port, 1.0)
    assert elapsed < FAST


# -- s3:// stores at a dead endpoint ------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_s3_store_at_a_dead_endpoint_fails_fast_naming_it(
    kind: str, renderer_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(network.TIMEOUT_ENV, "0.5")  # botocore tries twice: keep the test short
    with dead_server(kind) as port:
        skip_unless_connect_hangs(kind, port)
        store = open_store("s3://nobody/here", endpoint_url=f"http://127.0.0.1:{port}", key="k", secret="s")
        put_err, put_time = failure_of(lambda: renderer_for(store).render([image_message(png_bytes(2))]))
        get_err, get_time = failure_of(lambda: store.get("0" * 64))
    for err in (put_err, get_err):
        assert isinstance(err, StoreNetworkError) and isinstance(err, StorageError), repr(err)
        assert "store s3://nobody/here" in str(err)
        assert_names_the_failure(err, EXPECTED[kind], port, 0.5)
    assert "message 0, part 1: " in str(put_err)
    assert put_time < FAST and get_time < FAST


def test_s3_store_listing_at_a_refused_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(network.TIMEOUT_ENV, "1")
    with dead_server("refused") as port:
        store = open_store("s3://nobody/here", endpoint_url=f"http://127.0.0.1:{port}", key="k", secret="s")
        err, _ = failure_of(lambda: list(store.iter_assets()))
    assert isinstance(err, StoreNetworkError) and "store s3://nobody/here: listing" in str(err)
    assert_names_the_failure(err, network.REFUSED, port, 1.0)


def test_s3_store_keeps_options_the_caller_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(network.TIMEOUT_ENV, "1")
    store = open_store(
        "s3://bucket/kept",
        endpoint_url="http://127.0.0.1:9",
        key="k",
        secret="s",
        config_kwargs={"read_timeout": 42, "retries": {"max_attempts": 3}},
    )
    config = store.fs.config_kwargs  # what s3fs hands to botocore
    assert (config["read_timeout"], config["retries"], config["connect_timeout"]) == (42, {"max_attempts": 3}, 1.0)


# -- the command line ---------------------------------------------------------------------------


def run_cli(*args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """``mmrender ARGS`` as a user runs it, with ``MMRENDER_TIMEOUT=300`` so only ``--timeout`` can make it fast."""
    full_env = {**os.environ, network.TIMEOUT_ENV: "300", "MMRENDER_FETCH_POLICY": "allow", **env}
    full_env.pop("MMRENDER_PLUGINS", None)  # every installed plugin, as on a user's machine
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "mmrender", *args], capture_output=True, text=True, env=full_env, timeout=120
    )
    return proc, time.monotonic() - start


def test_cli_timeout_flag_makes_store_verify_fail_fast_with_one_line() -> None:
    with dead_server("silent") as port:
        proc, elapsed = run_cli(
            "store",
            "verify",
            "s3://nobody/here",
            "--timeout",
            "1",
            FSSPEC_S3_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            AWS_ACCESS_KEY_ID="k",
            AWS_SECRET_ACCESS_KEY="s",
        )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mmrender: error: store s3://nobody/here"), proc.stderr
    assert f"timed out waiting for 127.0.0.1:{port} to answer; network timeout 1 s" in lines[0]
    assert elapsed < 60  # a subprocess start plus two 1 s attempts; without the flag: 2 x 300 s


def test_cli_timeout_flag_applies_to_image_fetches() -> None:
    with dead_server("backlogged") as port:
        skip_unless_connect_hangs("backlogged", port)
        url = f"http://127.0.0.1:{port}/cat.png"
        proc, _ = run_cli("layout", "--timeout", "1", "-m", "Qwen/Qwen3-VL-8B-Instruct", url)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"cannot fetch image: timed out connecting to 127.0.0.1:{port}; network timeout 1 s" in lines[0]
    assert f"(source: {url})" in lines[0]


@pytest.mark.parametrize("bad", ["0", "soon"])
def test_cli_rejects_a_bad_timeout(bad: str) -> None:
    proc, _ = run_cli("store", "verify", "/nonexistent", "--timeout", bad)
    assert proc.returncode == 2
    assert f"--timeout={bad!r} is not a positive number of seconds" in proc.stderr
