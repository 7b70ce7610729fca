"""Loopback servers that misbehave on purpose, for the network-timeout tests (only 127.0.0.1, ever).

- ``silent``: accepts connections and never answers (a read timeout);
- ``resetting``: reads the request, then resets the connection (RST);
- ``closing``: reads the request, then closes cleanly without a reply (FIN);
- ``backlogged``: a listening socket whose accept queue is full and never drained, so new
  connections never complete (a connect timeout without any non-loopback address);
- ``refused``: a free port with nothing listening.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

from seaweed import free_ports

KINDS = ("silent", "resetting", "closing", "backlogged", "refused")


def _serve(on_connection: Callable[[socket.socket], None]) -> tuple[socket.socket, int, list[socket.socket]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def loop() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # the server socket was closed: the test is over
                return
            held.append(conn)
            on_connection(conn)

    threading.Thread(target=loop, daemon=True).start()
    return server, server.getsockname()[1], held


def _reset(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.settimeout(2)
        conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close() sends RST
    conn.close()


def _close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.settimeout(2)
        conn.recv(65536)
    conn.close()


def _backlogged() -> tuple[list[socket.socket], int]:
    """A port where connect() hangs: backlog 0, filled by connections nobody accepts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    sockets = [server]
    for _ in range(8):  # Linux queues backlog+1 connections; the rest stay in SYN_SENT
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        sockets.append(filler)
    time.sleep(0.2)
    return sockets, port


def connect_hangs(port: int, wait: float = 0.5) -> bool:
    """True if a fresh connection to ``port`` does not complete within ``wait`` seconds."""
    probe = socket.socket()
    probe.settimeout(wait)
    try:
        probe.connect(("127.0.0.1", port))
    except TimeoutError:
        return True
    except OSError:
        return False
    finally:
        probe.close()
    return False


@contextlib.contextmanager
def dead_server(kind: str) -> Iterator[int]:
    """Yield the port of a misbehaving loopback server of ``kind`` (see the module docstring)."""
    to_close: list[socket.socket] = []
    if kind == "refused":
        (port,) = free_ports(1)
    elif kind == "backlogged":
        to_close, port = _backlogged()
    else:
        handler = {"silent": lambda conn: None, "resetting": _reset, "closing": _close}[kind]
        server, port, held = _serve(handler)
        to_close = [server]
    try:
        yield port
    finally:
        for sock in to_close:
            sock.close()
        if kind not in ("refused", "backlogged"):
            for conn in held:
                with contextlib.suppress(OSError):
                    conn.close()
