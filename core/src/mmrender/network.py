"""One network timeout for every remote read and store, and the wording of network failures.

Library defaults wait minutes for a host that never answers (aiohttp: 300 s, botocore: 60 s per
attempt times its retries), so a dead URL or endpoint looks like a hang. mmrender instead waits
``$MMRENDER_TIMEOUT`` seconds (default :data:`DEFAULT_TIMEOUT`) to connect and for each read;
backends turn the setting into their library's options and their library's exceptions into the
failure kinds below.
"""

from __future__ import annotations

import math
import os

from .errors import ConfigError

TIMEOUT_ENV = "MMRENDER_TIMEOUT"
#: Seconds to wait for a connection, and for each answer on it, when nothing else is set.
DEFAULT_TIMEOUT = 20.0

# Failure kinds a backend reports (the words that appear in the error message).
TIMED_OUT_CONNECTING = "timed out connecting"
TIMED_OUT_READING = "timed out reading"
TIMED_OUT = "timed out"
REFUSED = "connection refused"
RESET = "connection reset"
CLOSED = "connection closed"
DNS_FAILURE = "DNS lookup failed"
UNREACHABLE = "cannot connect"


def parse_timeout(value: float | int | str, where: str = TIMEOUT_ENV) -> float:
    """A positive, finite number of seconds, or a :class:`ConfigError` naming ``where`` it came from."""
    try:
        seconds = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"{where}={value!r} is not a positive number of seconds (e.g. {where}=10)")
    return seconds


def network_timeout(explicit: float | int | str | None = None) -> float:
    """The effective timeout: ``explicit`` if given, else ``$MMRENDER_TIMEOUT``, else :data:`DEFAULT_TIMEOUT`."""
    if explicit is not None:
        return parse_timeout(explicit, "timeout")
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    return parse_timeout(raw) if raw else DEFAULT_TIMEOUT


def host_port(host: str, port: int | None) -> str:
    """``host:port`` (IPv6 literals bracketed), or the bare host when the port is unknown."""
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port else shown


def describe_failure(kind: str, host: str, port: int | None, timeout: float, detail: str = "") -> str:
    """One sentence naming the failure, the host and port, and the timeout in force."""
    where = host_port(host, port) if host else "the remote host"
    sentence = {
        TIMED_OUT_CONNECTING: f"timed out connecting to {where}",
        TIMED_OUT_READING: f"timed out waiting for {where} to answer",
        TIMED_OUT: f"timed out talking to {where}",
        REFUSED: f"connection refused by {where} (nothing listening on that port?)",
        RESET: f"connection to {where} was reset",
        CLOSED: f"{where} closed the connection without answering",
        DNS_FAILURE: f"DNS lookup failed for {host or where}",
    }.get(kind, f"{kind} to {where}")
    if detail:
        sentence += f" ({detail})"
    return f"{sentence}; network timeout {timeout:g} s (set {TIMEOUT_ENV} or --timeout)"
