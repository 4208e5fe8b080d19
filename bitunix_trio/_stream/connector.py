"""The connector seam: how the stream opens a WebSocket, and the one connection type it uses.

The stream never touches a WebSocket library. It opens connections with a :class:`Connector`
and uses them only through :class:`WebSocketConnection` (receive, send, close, abort), whose
failures are our own errors: :class:`~bitunix_trio.ConnectionLost` (with the close code and
reason) once open, the :class:`~bitunix_trio.ConnectError` family while opening.

Two connectors ship: :func:`trio_websocket_connector` (the default, trio-websocket, in this
module) and :func:`~bitunix_trio._stream.websockets_connector.websockets_connector`
(websockets' Trio implementation, the ``fast`` extra). Neither sends protocol-level pings
(the exchange kills a socket whose first frame is a control ping; liveness is checked with
JSON pings), neither offers compression (the exchange negotiates none), both accept messages up to
:data:`MAX_MESSAGE_SIZE` and verify TLS with the given ``ssl_context``. The simulated exchange
offers one over memory streams (``exchange.connector``), so tests under ``MockClock`` never
touch a socket.

Timeouts are applied by the caller (:func:`connect`), so a connector needs none of its own.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import urlsplit

import trio
import trio_websocket
import wsproto.utilities

from bitunix_trio._core.errors import (
    ConfigurationError,
    ConnectError,
    ConnectionLost,
    ConnectTimeout,
    TlsCertificateError,
)
from bitunix_trio._core.text import printable

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT",
    "MAX_MESSAGE_SIZE",
    "MESSAGE_QUEUE_SIZE",
    "RECEIVE_BUFFER_SIZE",
    "Connector",
    "NetworkConnector",
    "TrioWebSocketConnection",
    "WebSocketConnection",
    "abort",
    "as_connect_error",
    "broken_transport",
    "check_ws_url",
    "close_gracefully",
    "connect",
    "connection_lost",
    "default_connector",
    "lost_with",
    "map_connect_error",
    "open_transport",
    "tls_connector",
    "trio_websocket_connector",
    "trio_websocket_over",
]

#: Seconds a clean close (close frame, then the peer's) may take before the socket is cut.
DEFAULT_CLOSE_TIMEOUT = 2.0
#: The largest message accepted (``depth_books`` frames are ~0.5 MB).
MAX_MESSAGE_SIZE = 8 * 2**20
#: Messages a transport may buffer between its own reader task and ours.
MESSAGE_QUEUE_SIZE = 64
#: Bytes trio-websocket asks the socket for at once (its default, 4 KiB, is five or six
#: books: a read, and its pass of Trio's scheduler, for every few messages).
RECEIVE_BUFFER_SIZE = 64 * 2**10


class WebSocketConnection(Protocol):
    """An open client WebSocket, as the stream uses it (whatever library speaks WebSocket).

    A :class:`Connector` returns one. Its methods raise only our errors:
    :class:`~bitunix_trio.ConnectionLost` once the connection has ended, with the close code
    (``1006`` when the peer vanished without a close frame) and the peer's reason.
    """

    async def receive(self) -> str | bytes:
        """The next message (``str`` for a text frame, ``bytes`` for a binary one);
        :class:`~bitunix_trio.ConnectionLost` once the connection has ended.

        A connection may also offer ``receive_nowait() -> str | bytes | None``: the next
        message if the transport has already received it whole, else None (never an
        error: the next ``receive()`` reports how the connection ended). The stream uses
        it, when present, to handle a burst of messages in one step."""
        ...

    async def send(self, message: str) -> None:
        """Send ``message`` as a text frame; :class:`~bitunix_trio.ConnectionLost` if the
        connection has ended."""
        ...

    async def aclose(self) -> None:
        """Close cleanly: send a close frame, wait for the peer's, then close the transport.

        The caller bounds the wait with a cancel scope; the transport is closed however
        this ends."""
        ...

    async def abort(self) -> None:
        """Close the transport now, with no close handshake (idempotent)."""
        ...


class Connector(Protocol):
    """Opens a client WebSocket to ``url``; its background tasks (if any) run in
    ``nursery``. Failures while opening are our :class:`~bitunix_trio.ConnectError` (or
    an ``OSError``, ``ssl.SSLError``..., mapped to one by the stream)."""

    async def __call__(self, nursery: trio.Nursery, url: str) -> WebSocketConnection: ...


class _EagerSend:
    """trio-websocket's end of its message queue, handing a message over without a
    schedule point while the queue has room.

    trio-websocket's reader task puts each message it parses into a Trio memory channel
    with ``await send()``, which lets every other task run first: one pass of Trio's
    scheduler per message. Through this, the messages parsed from one read of the socket
    are queued in one step (a full queue still waits, so the reader still stops reading
    the socket when the stream's reader falls behind) and the stream's reader takes them
    in one step too (``receive_nowait``).
    """

    __slots__ = ("_channel",)

    def __init__(self, channel: trio.MemorySendChannel[str | bytes]) -> None:
        self._channel = channel

    async def send(self, message: str | bytes) -> None:
        try:
            self._channel.send_nowait(message)
        except trio.WouldBlock:
            await self._channel.send(message)
        else:
            await trio.lowlevel.checkpoint_if_cancelled()

    async def aclose(self) -> None:
        await self._channel.aclose()

    def close(self) -> None:
        self._channel.close()

    async def __aenter__(self) -> _EagerSend:
        # trio-websocket's reader holds its end in ``async with`` (entered before this
        # wrapper is put in place today; a release that enters it later still works)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class TrioWebSocketConnection:
    """A trio-websocket connection as a :class:`WebSocketConnection`.

    ``transport`` is the stream under it: trio-websocket leaves its transport open after an
    abnormal closure (1006) or a close it did not initiate, so it is closed here.
    """

    __slots__ = ("_queue", "_transport", "_ws")

    def __init__(
        self, ws: trio_websocket.WebSocketConnection, transport: trio.abc.AsyncResource
    ) -> None:
        self._ws = ws
        self._transport = transport
        # trio-websocket's queue of received messages (a Trio memory channel): filled
        # without a schedule point per message (see _EagerSend), read without waiting by
        # receive_nowait. Should a release rename them, this is only slower.
        queue = getattr(ws, "_recv_channel", None)
        self._queue = queue if isinstance(queue, trio.MemoryReceiveChannel) else None
        sender = getattr(ws, "_send_channel", None)
        if isinstance(sender, trio.MemorySendChannel):
            ws._send_channel = _EagerSend(sender)  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<TrioWebSocketConnection {self._transport!r}>"

    async def receive(self) -> str | bytes:
        try:
            return await self._ws.get_message()
        except trio_websocket.ConnectionClosed as exc:
            lost = connection_lost(exc)
        raise lost

    def receive_nowait(self) -> str | bytes | None:
        """The next message if trio-websocket has already received it, else None."""
        queue = self._queue
        if queue is None:
            return None
        try:
            message: str | bytes = queue.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
            return None
        return message

    async def send(self, message: str) -> None:
        try:
            await self._ws.send_message(message)
            return
        except trio_websocket.ConnectionClosed as exc:
            lost = connection_lost(exc)
        raise lost

    async def aclose(self) -> None:
        try:
            await self._ws.aclose()
        finally:
            await self.abort()

    async def abort(self) -> None:
        await trio.aclose_forcefully(self._transport)


async def open_transport(
    url: str, ssl_context: ssl.SSLContext | None
) -> tuple[trio.SocketStream | trio.SSLStream[trio.SocketStream], str, str]:
    """Open TCP (and TLS, handshake done, for ``wss:``) to ``url``'s host.

    Returns the stream, the ``Host`` header and the resource (path and query). TLS is
    verified with ``ssl_context``, by default the system's trusted certificates. The
    caller closes the stream if what follows fails.
    """
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("ws", "wss") or not host:
        raise ConfigurationError(f"not a WebSocket URL: {url!r}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if port in (80, 443) else f"{host}:{port}"
    if not secure:
        return await trio.open_tcp_stream(host, port), host_header, resource
    stream = await trio.open_ssl_over_tcp_stream(
        host,
        port,
        ssl_context=ssl.create_default_context() if ssl_context is None else ssl_context,
        https_compatible=True,
    )
    try:
        # The TLS handshake here, so that a certificate failure is raised as one (inside a
        # WebSocket library it would only close the connection, unexplained).
        await stream.do_handshake()
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return stream, host_header, resource


async def trio_websocket_connector(
    nursery: trio.Nursery, url: str, *, ssl_context: ssl.SSLContext | None = None
) -> WebSocketConnection:
    """Open ``url`` with trio-websocket over TCP (TLS for ``wss:``, verified with
    ``ssl_context``, by default the system's trusted certificates): the default connector.

    trio-websocket (over wsproto) is the stream's default transport: mature, pure Python,
    and what every test of the library runs on. No protocol-level pings, no compression,
    messages up to 8 MiB.
    """
    stream, _, _ = await open_transport(url, ssl_context)
    return await trio_websocket_over(nursery, stream, url)


async def trio_websocket_over(
    nursery: trio.Nursery, stream: trio.abc.Stream, url: str
) -> WebSocketConnection:
    """The WebSocket handshake for ``url`` over ``stream`` (open, TLS done), with
    trio-websocket; ``stream`` is closed if it fails."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    host_header = host if port is None or port in (80, 443) else f"{host}:{port}"
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    watched = _WatchedStream(stream)
    try:
        guard = _HandshakeGuard(nursery, watched, url)
        ws = await trio_websocket.wrap_client_stream(
            guard,  # type: ignore[arg-type]  # (only its start_soon is used)
            watched,  # type: ignore[arg-type]  # (any trio Stream works)
            host_header,
            resource,
            message_queue_size=MESSAGE_QUEUE_SIZE,
            max_message_size=MAX_MESSAGE_SIZE,
            receive_buffer_size=RECEIVE_BUFFER_SIZE,
        )
        guard.opened = True
        return TrioWebSocketConnection(ws, stream)
    except BaseException:
        # Closed here: trio-websocket leaves the transport open on a rejection.
        await trio.aclose_forcefully(stream)
        raise


#: The connector ``open_bitunix_stream`` uses unless told otherwise.
default_connector = trio_websocket_connector


class _WatchedStream(trio.abc.Stream):
    """A transport that remembers why it broke (trio-websocket swallows the reason)."""

    __slots__ = ("failure", "inner")

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.failure: BaseException | None = None

    def __repr__(self) -> str:
        return repr(self.inner)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        try:
            await self.inner.send_all(data)
        except trio.BrokenResourceError as exc:
            self.failure = self.failure or exc
            raise

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        try:
            return await self.inner.receive_some(max_bytes)
        except trio.BrokenResourceError as exc:
            self.failure = self.failure or exc
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()


class _HandshakeGuard:
    """Runs trio-websocket's reader task in the real nursery; until the handshake is done,
    its failures are connect errors.

    trio-websocket answers a malformed upgrade reply (a wrong ``Sec-WebSocket-Accept``, no
    ``Upgrade`` header, a garbage status line, an extension not asked for) by raising
    ``h11.LocalProtocolError`` from its reader, and a connection reset or closed during the
    handshake by ending its reader quietly, leaving the handshake to wait forever. Here the
    first becomes a :class:`ConnectError` naming the handshake, the second one naming the
    reset (or the close), both at once.
    """

    def __init__(self, nursery: trio.Nursery, stream: _WatchedStream, url: str) -> None:
        self.nursery = nursery
        self.stream = stream
        self.url = url
        self.opened = False

    def start_soon(self, fn: Callable[[], Awaitable[object]], *args: object) -> None:
        self.nursery.start_soon(self._run, fn, *args)

    async def _run(self, fn: Callable[..., Awaitable[object]], *args: object) -> None:
        try:
            await fn(*args)
        except Exception as exc:
            if self.opened:
                raise
            raise _handshake_failed(exc, self.url) from exc
        if not self.opened:
            failure = self.stream.failure
            error = broken_transport(failure, self.url) if failure is not None else None
            if error is None:
                error = ConnectError(f"{self.url} closed the connection during the handshake")
            raise error from failure


def _handshake_failed(exc: Exception, url: str) -> ConnectError:
    mapped = map_connect_error(exc, url)
    if mapped is not None:
        return mapped
    # trio-websocket raises h11's complaint about the rejection it then tries to send; what
    # was wrong with the reply is the wsproto error being handled at the time.
    reason: BaseException = exc
    context = exc.__context__
    while context is not None:
        if isinstance(context, wsproto.utilities.RemoteProtocolError):
            reason = context
            break
        context = context.__context__
    detail = str(reason) or type(reason).__name__
    return ConnectError(f"WebSocket handshake with {url} failed: invalid reply ({detail})")


def _root(exc: BaseException) -> BaseException:
    """The innermost cause of ``exc`` (trio wraps socket and TLS errors)."""
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    return exc


def broken_transport(exc: BaseException, url: str) -> ConnectError | None:
    """Our error for a transport that broke while opening ``url`` (None: not known)."""
    root = _root(exc)
    if isinstance(root, ssl.SSLCertVerificationError):
        detail = root.verify_message or root.reason or str(root)
        return TlsCertificateError(f"TLS certificate of {url} not accepted: {detail}")
    if isinstance(root, ssl.SSLError):
        return ConnectError(f"TLS handshake with {url} failed: {root.reason or root}")
    if isinstance(root, ConnectionResetError):
        return ConnectError(f"{url} reset the connection during the handshake")
    if isinstance(root, OSError):
        return ConnectError(f"connection to {url} failed: {root.strerror or root}")
    return None


class NetworkConnector(Protocol):
    """A connector that opens real sockets and verifies TLS with an ``ssl_context``."""

    async def __call__(
        self, nursery: trio.Nursery, url: str, *, ssl_context: ssl.SSLContext | None = None
    ) -> WebSocketConnection: ...


def tls_connector(
    ssl_context: ssl.SSLContext, base: NetworkConnector = trio_websocket_connector
) -> Connector:
    """``base`` (by default trio-websocket), verifying TLS with ``ssl_context``."""

    async def connector(nursery: trio.Nursery, url: str) -> WebSocketConnection:
        return await base(nursery, url, ssl_context=ssl_context)

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
    if isinstance(exc, ssl.SSLError | ssl.CertificateError | ConnectionResetError):
        return broken_transport(exc, url)
    if isinstance(exc, OSError):
        return ConnectError(f"cannot connect to {url}: {exc.strerror or exc}")
    if isinstance(exc, trio.BrokenResourceError | trio.ClosedResourceError):
        known = broken_transport(exc, url)
        return known or ConnectError(f"connection to {url} broke during the handshake")
    return None


async def connect(
    connector: Connector, nursery: trio.Nursery, url: str, *, deadline: float
) -> WebSocketConnection:
    """Open ``url`` with ``connector`` by ``deadline`` (trio clock).

    Raises :class:`ConnectTimeout` or :class:`ConnectError` (``__cause__`` = the original).
    A failure noticed by a transport's own task surfaces from ``nursery`` instead; map it
    with :func:`map_connect_error`.
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
    """Our error for a closed trio-websocket connection (code 1006 when the peer vanished)."""
    reason = exc.reason
    if reason is None:
        return ConnectionLost(None)
    return lost_with(reason.code, reason.reason)


def lost_with(code: int | None, reason: str | None) -> ConnectionLost:
    """Our error for a connection that ended with close ``code`` and ``reason``."""
    if reason:
        return ConnectionLost(code, f"WebSocket disconnected: {printable(reason)}")
    return ConnectionLost(code)


async def close_gracefully(ws: WebSocketConnection, seconds: float) -> None:
    """Send a close frame, wait (at most ``seconds``) for the peer's, then close the
    transport; shielded from outer cancellation."""
    with trio.CancelScope(shield=True) as scope:
        scope.deadline = trio.current_time() + seconds
        try:
            await ws.aclose()
        finally:
            await ws.abort()


async def abort(ws: WebSocketConnection) -> None:
    """Cut the socket now, with no close handshake (for a connection declared dead)."""
    with trio.CancelScope(shield=True):
        await ws.abort()
