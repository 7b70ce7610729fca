"""A loopback HTTP/1.1 image server that answers byte ranges (``http.server`` does not), or ignores them,
or fails in the ways web servers do, and records every request with the body bytes it sent.

Why: header reads of ``http(s)://`` images must be checked against the real aiohttp client and a
real socket, bytes counted where they are sent (tests and ``benchmarks/bench_s3_lengths.py --http``).
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: How the server answers, by the first segment of the URL path (``/<mode>/<name>``).
MODES = ("ranges", "ignore", "ends-only", "close", "stall")
STALL_SECONDS = 2.0


class ImageServer(ThreadingHTTPServer):
    """A loopback HTTP/1.1 server of in-memory files that records every request and the body bytes it sent."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.files: dict[str, bytes] = {}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        #: A crude network for benchmarks: seconds before each answer, and bytes per second of each body (0: no limit).
        self.delay = 0.0
        self.rate = 0.0

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up on an answer it did not need is not an error worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def url(self, mode: str, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{mode}/{name}"

    def sent(self) -> int:
        return sum(r["sent"] for r in self.requests)


class RangeHandler(BaseHTTPRequestHandler):
    """Answers a single ``Range`` (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) as RFC 9110 says (``206``,
    ``416``), or by its mode: ``ignore`` sends every file whole with ``200``; ``ends-only`` honours
    only ranges from the start or the end; ``close`` stops half-way through every body and hangs up;
    ``stall`` waits :data:`STALL_SECONDS` before answering."""

    protocol_version = "HTTP/1.1"
    #: Headers and body go out in two writes: without this, Nagle's algorithm holds a small body back
    #: until the client's delayed ACK (40 ms on Linux), which no real web server does.
    disable_nagle_algorithm = True
    server: ImageServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        mode, _, name = self.path.lstrip("/").partition("/")
        self.record = {"mode": mode, "name": name, "range": self.headers.get("Range"), "status": None, "sent": 0}
        with self.server.lock:
            self.server.requests.append(self.record)
        try:
            self._answer(mode, self.server.files.get(name))
        except (BrokenPipeError, ConnectionResetError):  # the client dropped an answer it did not need
            self.close_connection = True

    def _answer(self, mode: str, data: bytes | None) -> None:
        time.sleep(STALL_SECONDS if mode == "stall" else self.server.delay)
        if data is None or mode not in MODES:
            return self._send(404, b"not found")
        asked = self.headers.get("Range")
        span = _span(asked, len(data)) if asked else None
        if mode == "ignore" or span is None or (mode == "ends-only" and not re.fullmatch(r"bytes=(0-\d*|-\d+)", asked)):
            return self._send(200, data)
        if span == "unsatisfiable":
            return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
        start, end = span
        body = data[start : end + 1]
        self._send(206, body, {"Content-Range": f"bytes {start}-{end}/{len(data)}"})

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.record["status"] = status
        self.send_response(status)
        for key, value in {**(headers or {}), "Content-Length": str(len(body))}.items():
            self.send_header(key, value)
        self.end_headers()
        if self.record["mode"] == "close":
            body = body[: len(body) // 2]
            self.close_connection = True
        step = max(int(self.server.rate / 100), 1) if self.server.rate else len(body) or 1
        for start in range(0, len(body), step):
            chunk = body[start : start + step]
            if self.server.rate:
                time.sleep(len(chunk) / self.server.rate)
            self.wfile.write(chunk)
            self.record["sent"] += len(chunk)


def _span(asked: str, size: int) -> tuple[int, int] | str | None:
    """The inclusive byte span a single-range header asks of ``size`` bytes; None if it is not one."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", asked.strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    return "unsatisfiable" if start >= size or start > end else (start, end)


@contextlib.contextmanager
def serving(files: Mapping[str, bytes]) -> Iterator[ImageServer]:
    """An :class:`ImageServer` of ``files`` answering on its own thread until the block ends."""
    httpd = ImageServer()
    httpd.files.update(files)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
