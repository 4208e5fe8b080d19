"""A connector over websockets' Trio implementation (the ``fast`` extra).

websockets parses frames faster than trio-websocket (its frame reader is written for speed
and unmasks in C), so a firehose costs less per message. Its failures are mapped here to
ours, as :mod:`bitunix_trio._stream.connector` does for trio-websocket: a refused or
malformed handshake, a reset or a close while opening is a
:class:`~bitunix_trio.ConnectError` naming the cause, an unverifiable certificate a
:class:`~bitunix_trio.TlsCertificateError`, and the end of an open connection
:class:`~bitunix_trio.ConnectionLost` with its close code and reason.

As with the default: no keepalive pings (``ping_interval=None``; the stream checks liveness
with JSON pings), no compression offered (the exchange negotiates none), messages up to
:data:`~bitunix_trio._stream.connector.MAX_MESSAGE_SIZE`, TLS verified with the given context.
"""

from __future__ import annotations

import functools
import ssl
from collections import deque
from typing import TYPE_CHECKING, Any

import trio

from bitunix_trio._core.errors import ConfigurationError, ConnectError, ConnectionLost

from .connector import (
    MAX_MESSAGE_SIZE,
    MESSAGE_QUEUE_SIZE,
    WebSocketConnection,
    broken_transport,
    lost_with,
    open_transport,
)

if TYPE_CHECKING:
    from websockets.exceptions import ConnectionClosed, InvalidHandshake
    from websockets.trio.client import ClientConnection

__all__ = ["WebsocketsConnection", "websockets_connector", "websockets_over"]

_MISSING = (
    "websockets_connector needs the websockets package (version 17.0.1 or later): "
    "pip install 'bitunix-trio[fast]'"
)


async def websockets_connector(
    nursery: trio.Nursery, url: str, *, ssl_context: ssl.SSLContext | None = None
) -> WebSocketConnection:
    """Open ``url`` with websockets' Trio implementation, over TCP (TLS for ``wss:``,
    verified with ``ssl_context``, by default the system's trusted certificates).

    Pass it as ``open_bitunix_stream(connector=bitunix_trio.websockets_connector)``; the
    stream's ``ssl_context=`` reaches it. It needs the ``fast`` extra
    (``pip install 'bitunix-trio[fast]'``); without the websockets package it raises
    :class:`~bitunix_trio.ConfigurationError`. Behaves as the default connector: no
    protocol-level pings, no compression, messages up to 8 MiB, the same errors.
    """
    try:
        import websockets.trio  # noqa: F401
    except ImportError:
        raise ConfigurationError(_MISSING) from None
    stream, _, _ = await open_transport(url, ssl_context)
    return await websockets_over(nursery, stream, url)


async def websockets_over(
    nursery: trio.Nursery, stream: trio.abc.Stream, url: str
) -> WebSocketConnection:
    """The WebSocket handshake for ``url`` over ``stream`` (open, TLS done), with
    websockets; ``stream`` is closed if it fails."""
    from websockets.client import ClientProtocol
    from websockets.exceptions import InvalidHandshake
    from websockets.uri import parse_uri

    try:
        protocol = ClientProtocol(parse_uri(url), max_size=MAX_MESSAGE_SIZE)
        connection = _client_class()(
            nursery,
            stream,
            protocol,
            ping_interval=None,
            ping_timeout=None,
            close_timeout=None,  # (the stream bounds a close with its close_timeout)
            max_queue=MESSAGE_QUEUE_SIZE,
        )
        try:
            await connection.handshake()
        except InvalidHandshake as exc:
            failure = _handshake_failed(exc, connection, url)
        else:
            return WebsocketsConnection(connection)
        raise failure
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise


@functools.cache
def _client_class() -> type[ClientConnection]:
    from websockets.trio.client import ClientConnection

    class Client(ClientConnection):
        """Ends the opening handshake as soon as the reply is known to be bad.

        websockets answers a reply that is not HTTP by half-closing and waiting for the
        server to close; a server that never does would hold the connect until its
        timeout. The sans-I/O protocol has already set ``handshake_exc`` then.
        """

        async def send_data(self) -> None:
            await super().send_data()
            if self.response is None and self.protocol.handshake_exc is not None:
                self.response_rcvd.set()

    return Client


def _handshake_failed(
    exc: InvalidHandshake, connection: ClientConnection, url: str
) -> ConnectError:
    from websockets.exceptions import InvalidMessage, InvalidStatus, NegotiationError

    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        error = ConnectError(f"{url} rejected the WebSocket handshake (HTTP {status})")
    elif isinstance(exc, InvalidMessage):
        # No reply could be read: the transport broke (the reason is kept on the
        # connection), the peer closed it, or what came was not HTTP.
        broke = connection.connection_exc
        known = broken_transport(broke, url) if broke is not None else None
        if known is not None:
            error = known
        elif isinstance(exc.__cause__, EOFError):
            error = ConnectError(f"{url} closed the connection during the handshake")
        else:
            detail = str(exc.__cause__ or exc)
            error = ConnectError(f"WebSocket handshake with {url} failed: invalid reply ({detail})")
    else:
        detail = str(exc)
        response = connection.response
        offered = response.headers.get("Sec-WebSocket-Extensions") if response else None
        if isinstance(exc, NegotiationError) and offered:
            detail = f"unrecognized extension {offered}"
        error = ConnectError(f"WebSocket handshake with {url} failed: invalid reply ({detail})")
    error.__cause__ = exc
    return error


def connection_lost(exc: ConnectionClosed) -> ConnectionLost:
    """Our error for a closed websockets connection: the peer's close code and reason,
    else the code we closed with when we failed the connection (1009 for a message too
    big, say), else 1006 (the peer vanished)."""
    if exc.rcvd is not None:
        return lost_with(exc.rcvd.code, exc.rcvd.reason)
    if exc.sent is not None and exc.sent.code != 1000:
        return lost_with(exc.sent.code, exc.sent.reason)
    return ConnectionLost(1006)


def _frame_queue(assembler: Any) -> deque[Any] | None:
    """The frames websockets has received and not yet handed out, oldest first (the buffer
    of its Trio memory channel, which websockets itself reaches into); None if this
    release keeps them elsewhere (receive_nowait then never has a message)."""
    try:
        queued = assembler.send_frames._state.data
        assembler.recv_frames.receive_nowait  # noqa: B018 - present?
        assembler.maybe_resume  # noqa: B018
        assembler.get_in_progress  # noqa: B018
    except AttributeError:
        return None
    return queued if isinstance(queued, deque) else None


class WebsocketsConnection:
    """A websockets (Trio) client connection as a
    :class:`~bitunix_trio._stream.connector.WebSocketConnection`."""

    __slots__ = ("_assembler", "_closed", "_queued", "_recv", "_text", "_ws")

    def __init__(self, ws: ClientConnection) -> None:
        from websockets.exceptions import ConnectionClosed
        from websockets.frames import Opcode

        self._ws = ws
        self._recv = ws.recv
        self._closed = ConnectionClosed
        self._text = Opcode.TEXT
        self._assembler = assembler = ws.recv_messages
        self._queued = _frame_queue(assembler)

    def __repr__(self) -> str:
        return f"<WebsocketsConnection {self._ws.stream!r}>"

    async def receive(self) -> str | bytes:
        try:
            return await self._recv()
        except self._closed as exc:
            lost = connection_lost(exc)
        raise lost

    def receive_nowait(self) -> str | bytes | None:
        """The next message if websockets has already received it whole (one frame, valid
        UTF-8 for text), else None (``receive()`` then waits, assembles fragments and
        fails the connection on bad UTF-8, as websockets does)."""
        queued = self._queued
        if not queued:
            return None
        frame = queued[0]
        assembler = self._assembler
        if not frame.fin or assembler.get_in_progress:
            return None
        try:
            message = frame.data.decode() if frame.opcode is self._text else bytes(frame.data)
        except UnicodeDecodeError:
            return None
        try:
            assembler.recv_frames.receive_nowait()  # the frame just read
        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
            return None
        assembler.maybe_resume()
        return message

    async def send(self, message: str) -> None:
        try:
            await self._ws.send(message)
            return
        except self._closed as exc:
            lost = connection_lost(exc)
        raise lost

    async def aclose(self) -> None:
        try:
            await self._ws.aclose()
        finally:
            await self.abort()

    async def abort(self) -> None:
        await trio.aclose_forcefully(self._ws.stream)
