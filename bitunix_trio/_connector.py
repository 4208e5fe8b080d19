"""The one place that opens WebSockets, and maps trio-websocket's failures to ours.

A :class:`Connector` opens a client WebSocket whose background task runs in the nursery it
is given. The default uses :func:`trio_websocket.connect_websocket_url` with no
protocol-level keepalive (the exchange kills a socket whose first frame is a control ping;
liveness is checked with JSON pings). The simulated exchange offers one over memory streams
(``exchange.connector``), so tests under ``MockClock`` never touch a socket.

Timeouts are applied by the caller (:func:`connect`), because trio-websocket's
``connect_websocket_url`` has none and ``open_websocket``'s default is 60 s.
"""

from __future__ import annotations

import ssl
from typing import Protocol
from urllib.parse import urlsplit

import trio
import trio_websocket

from ._exceptions import ConfigurationError, ConnectError, ConnectionLost, ConnectTimeout

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT",
    "MAX_MESSAGE_SIZE",
    "Connector",
    "abort",
    "as_connect_error",
    "check_ws_url",
    "close_gracefully",
    "connect",
    "connection_lost",
    "default_connector",
    "map_connect_error",
    "tls_connector",
]

#: Seconds a clean close (close frame, then the peer's) may take before the socket is cut.
DEFAULT_CLOSE_TIMEOUT = 2.0
#: The largest message accepted (``depth_books`` frames are ~0.5 MB).
MAX_MESSAGE_SIZE = 8 * 2**20
#: Messages trio-websocket buffers between its reader task and ours.
MESSAGE_QUEUE_SIZE = 64


class Connector(Protocol):
    """Opens a client WebSocket to ``url``; its background task runs in ``nursery``."""

    async def __call__(
        self, nursery: trio.Nursery, url: str
    ) -> trio_websocket.WebSocketConnection: ...


async def default_connector(
    nursery: trio.Nursery, url: str, *, ssl_context: ssl.SSLContext | None = None
) -> trio_websocket.WebSocketConnection:
    """Open ``url`` with trio-websocket over TCP (TLS for ``wss:``, verified with
    ``ssl_context``, by default the system's trusted certificates).

    The transport is opened here rather than by ``connect_websocket_url``, so that it is
    closed when the handshake fails (trio-websocket leaves it open on a rejection).
    """
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("ws", "wss") or not host:
        raise ConfigurationError(f"not a WebSocket URL: {url!r}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    stream: trio.SocketStream | trio.SSLStream[trio.SocketStream]
    if secure:
        stream = await trio.open_ssl_over_tcp_stream(
            host,
            port,
            ssl_context=ssl.create_default_context() if ssl_context is None else ssl_context,
            https_compatible=True,
        )
    else:
        stream = await trio.open_tcp_stream(host, port)
    host_header = host if port in (80, 443) else f"{host}:{port}"
    try:
        return await trio_websocket.wrap_client_stream(
            nursery,
            stream,
            host_header,
            resource,
            message_queue_size=MESSAGE_QUEUE_SIZE,
            max_message_size=MAX_MESSAGE_SIZE,
        )
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise


def tls_connector(ssl_context: ssl.SSLContext) -> Connector:
    """The default connector, verifying TLS with ``ssl_context`` (a private CA, say)."""

    async def connector(nursery: trio.Nursery, url: str) -> trio_websocket.WebSocketConnection:
        return await default_connector(nursery, url, ssl_context=ssl_context)

    return connector


def check_ws_url(url: object, name: str) -> str:
    """Return ``url`` if it is a ``ws://`` or ``wss://`` URL; ConfigurationError otherwise."""
    if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
        raise ConfigurationError(f"{name} must be a ws:// or wss:// URL, got {url!r}")
    return url


def map_connect_error(exc: BaseException, url: str) -> ConnectError | None:
    """Our error for a failure while opening ``url``; None if ``exc`` is not one."""
    if isinstance(exc, ConnectError):
        return exc
    if isinstance(exc, trio_websocket.ConnectionRejected):
        return ConnectError(f"{url} rejected the WebSocket handshake (HTTP {exc.status_code})")
    if isinstance(exc, trio_websocket.ConnectionTimeout):
        return ConnectTimeout(f"timed out opening {url}")
    if isinstance(exc, trio_websocket.HandshakeError):
        return ConnectError(f"WebSocket handshake with {url} failed")
    if isinstance(exc, trio_websocket.ConnectionClosed):
        return ConnectError(f"{url} closed the connection during the handshake")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return ConnectError(f"TLS with {url} failed: {exc}")
    if isinstance(exc, OSError):
        return ConnectError(f"cannot connect to {url}: {exc.strerror or exc}")
    if isinstance(exc, trio.BrokenResourceError | trio.ClosedResourceError):
        return ConnectError(f"connection to {url} broke during the handshake")
    return None


async def connect(
    connector: Connector, nursery: trio.Nursery, url: str, *, deadline: float
) -> trio_websocket.WebSocketConnection:
    """Open ``url`` with ``connector`` by ``deadline`` (trio clock).

    Raises :class:`ConnectTimeout` or :class:`ConnectError` (``__cause__`` = the original).
    A rejection noticed by trio-websocket's own task surfaces from ``nursery`` instead; map
    it with :func:`map_connect_error`.
    """
    with trio.move_on_at(deadline) as scope:
        try:
            return await connector(nursery, url)
        except Exception as exc:
            mapped = as_connect_error(exc, url)
            if mapped is exc:
                raise
            raise mapped from exc
    assert scope.cancelled_caught
    raise ConnectTimeout(f"timed out opening {url}")


def as_connect_error(exc: Exception, url: str) -> Exception:
    """``exc`` mapped to our connect errors (``__cause__`` = ``exc``), or ``exc`` itself."""
    mapped = map_connect_error(exc, url)
    if mapped is None:
        return exc
    if mapped is not exc:
        mapped.__cause__ = exc
    return mapped


def connection_lost(exc: trio_websocket.ConnectionClosed) -> ConnectionLost:
    """Our error for a closed WebSocket (code 1006 when the peer vanished)."""
    reason = exc.reason
    if reason is None:
        return ConnectionLost(None)
    if reason.reason:
        return ConnectionLost(reason.code, f"WebSocket disconnected: {reason.reason}")
    return ConnectionLost(reason.code)


async def close_gracefully(ws: trio_websocket.WebSocketConnection, seconds: float) -> None:
    """Send a close frame, wait (at most ``seconds``) for the peer's, then close the
    transport; shielded from outer cancellation."""
    with trio.CancelScope(shield=True) as scope:
        scope.deadline = trio.current_time() + seconds
        try:
            await ws.aclose()
        finally:
            await _close_transport(ws)


async def abort(ws: trio_websocket.WebSocketConnection) -> None:
    """Cut the socket now, with no close handshake (for a connection declared dead)."""
    with trio.CancelScope(shield=True):
        await _close_transport(ws)


async def _close_transport(ws: trio_websocket.WebSocketConnection) -> None:
    # trio-websocket leaves its transport open after an abnormal closure (1006) or a close
    # it did not initiate; close it here so that no socket outlives its connection.
    stream = getattr(ws, "_stream", None)
    if isinstance(stream, trio.abc.AsyncResource):
        await trio.aclose_forcefully(stream)
