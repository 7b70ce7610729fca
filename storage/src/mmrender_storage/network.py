"""The network timeout as fsspec options, and fsspec/aiohttp/botocore exceptions as typed network errors.

HTTP reads go through aiohttp and S3 through aiobotocore (itself on aiohttp), so a dead host shows
up as any of a dozen exception classes, often wrapped (botocore around aiohttp, fsspec's
``FSTimeoutError`` around both, fsspec's HTTP ``info`` even around a ``FileNotFoundError``). This
module finds the real cause so the error says what happened, where, and after how long.
"""

from __future__ import annotations

import errno
import functools
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from mmrender import network
from mmrender.errors import StoreNetworkError

HTTP_PROTOCOLS = frozenset({"http", "https"})
S3_PROTOCOLS = frozenset({"s3", "s3a"})
#: botocore attempts per request (the first try plus one retry of a transient failure).
S3_ATTEMPTS = 2
#: s3fs's own retry loop around botocore's: one pass, so waits stay ``S3_ATTEMPTS`` x the timeout.
S3FS_RETRIES = 1
_DEFAULT_PORTS = {"http": 80, "https": 443, "s3": 443, "ftp": 21}


def timeout_options(protocol: str, options: dict[str, Any], timeout: float) -> dict[str, Any]:
    """``options`` plus the library settings that make ``protocol`` give up after ``timeout`` seconds.

    Settings the caller passed win; nested dicts are copied, never changed in place.
    """
    out = dict(options)
    if protocol in HTTP_PROTOCOLS:
        try:
            import aiohttp
        except ImportError:  # fsspec's http needs aiohttp: opening the filesystem names what to install
            return out
        client_kwargs = dict(out.get("client_kwargs") or {})
        # No total limit: a large image that keeps arriving is fine; a silent socket is not.
        client_kwargs.setdefault(
            "timeout", aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
        )
        out["client_kwargs"] = client_kwargs
    elif protocol in S3_PROTOCOLS:
        config = dict(out.get("config_kwargs") or {})
        config.setdefault("connect_timeout", timeout)
        config.setdefault("read_timeout", timeout)
        config.setdefault("retries", {"mode": "standard", "total_max_attempts": S3_ATTEMPTS})
        out["config_kwargs"] = config
    elif protocol == "ftp":
        out.setdefault("timeout", timeout)
    return out


def bound_retries(fs: Any) -> None:
    """Stop s3fs retrying on top of botocore (5 x botocore's attempts x the timeout by default)."""
    if S3_PROTOCOLS & set((fs.protocol,) if isinstance(fs.protocol, str) else fs.protocol):
        fs.retries = S3FS_RETRIES


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps (causes, contexts, aiohttp's ``os_error``), outermost first."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 32:
        cur = todo.pop(0)
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        todo.extend(e for e in (getattr(cur, "os_error", None), cur.__cause__, cur.__context__) if e is not None)


def _named(module: str, *names: str) -> tuple[type[BaseException], ...]:
    """Exception classes of an optional library (absent library or older version: none)."""
    try:
        mod = __import__(module, fromlist=list(names))
    except ImportError:
        return ()
    return tuple(cls for name in names if isinstance(cls := getattr(mod, name, None), type))


@functools.cache
def _specific_kinds() -> tuple[tuple[tuple[type[BaseException], ...], str], ...]:
    """Exception classes that say exactly what happened, checked in this order."""
    return (
        (_named("aiohttp", "ConnectionTimeoutError"), network.TIMED_OUT_CONNECTING),
        (_named("botocore.exceptions", "ConnectTimeoutError"), network.TIMED_OUT_CONNECTING),
        (_named("aiohttp", "SocketTimeoutError"), network.TIMED_OUT_READING),
        (_named("botocore.exceptions", "ReadTimeoutError"), network.TIMED_OUT_READING),
        ((*_named("aiohttp", "ClientConnectorDNSError"), socket.gaierror), network.DNS_FAILURE),
        ((ConnectionRefusedError,), network.REFUSED),
        ((ConnectionResetError, ConnectionAbortedError, BrokenPipeError), network.RESET),
        (_named("aiohttp", "ServerDisconnectedError"), network.CLOSED),
        (_named("botocore.exceptions", "ConnectionClosedError"), network.CLOSED),
    )


_ERRNO_KINDS = {errno.ECONNREFUSED: network.REFUSED, errno.ECONNRESET: network.RESET}


def failure_kind(exc: BaseException) -> str | None:
    """The network failure behind ``exc`` (a kind from :mod:`mmrender.network`), or None if it is not one."""
    chain = list(_chain(exc))
    for classes, kind in _specific_kinds():
        if classes and any(isinstance(e, classes) for e in chain):
            return kind
    for e in chain:
        if isinstance(e, OSError) and e.errno in _ERRNO_KINDS:
            return _ERRNO_KINDS[e.errno]
    if any(isinstance(e, TimeoutError) or type(e).__name__ == "FSTimeoutError" for e in chain):
        return network.TIMED_OUT
    unreachable = _named("aiohttp", "ClientConnectorError") + _named("botocore.exceptions", "EndpointConnectionError")
    if unreachable and any(isinstance(e, unreachable) for e in chain):
        return network.UNREACHABLE
    return None


def _address(exc: BaseException, fallback_url: str | None) -> tuple[str, int | None]:
    """Host and port from the exception (aiohttp's connection key, botocore's endpoint) or the URL."""
    for e in _chain(exc):
        host = getattr(e, "host", None)
        if isinstance(host, str) and host:
            port = getattr(e, "port", None)
            return host, port if isinstance(port, int) else None
        endpoint = (getattr(e, "kwargs", None) or {}).get("endpoint_url") if hasattr(e, "kwargs") else None
        if isinstance(endpoint, str) and endpoint:
            fallback_url = endpoint
            break
    if not fallback_url:
        return "", None
    parts = urlsplit(fallback_url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname or "", port or _DEFAULT_PORTS.get(parts.scheme)


def network_error(what: str, exc: BaseException, timeout: float, url: str | None) -> StoreNetworkError | None:
    """A :class:`StoreNetworkError` for ``what`` if ``exc`` is a network failure, else None."""
    kind = failure_kind(exc)
    if kind is None:
        return None
    host, port = _address(exc, url)
    detail = f"{type(exc).__name__}: {exc}" if kind == network.UNREACHABLE else ""
    reason = network.describe_failure(kind, host, port, timeout, detail)
    return StoreNetworkError(f"{what}: {reason}", kind=kind, host=host, port=port, timeout=timeout, reason=reason)
