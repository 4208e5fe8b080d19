"""Hostile servers on 127.0.0.1: malformed WebSocket upgrade replies, resets and TLS
certificates the client must not accept. Each is a :class:`ConnectError` naming the cause,
raised at once from the first connect and retried on a reconnect."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio
import trustme

from bitunix_trio._core.channels import Ticker
from bitunix_trio._core.config import ReconnectPolicy
from bitunix_trio._core.errors import ConnectError, ConnectTimeout, TlsCertificateError
from bitunix_trio._core.events import ConnectionState
from bitunix_trio._rest.client import open_rest_client
from bitunix_trio._stream.connector import Connector
from bitunix_trio._stream.open import open_bitunix_stream
from bitunix_trio.testing import SimulatedExchange

pytestmark = pytest.mark.loopback

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_token(request: bytes) -> bytes:
    for line in request.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            return base64.b64encode(hashlib.sha1(value.strip() + GUID).digest())
    raise AssertionError("no Sec-WebSocket-Key in the upgrade request")


def upgrade_reply(*headers: bytes, status: bytes = b"HTTP/1.1 101 Switching Protocols") -> Any:
    def reply(request: bytes) -> bytes:
        lines = [status, *(h.replace(b"{accept}", accept_token(request)) for h in headers)]
        return b"\r\n".join(lines) + b"\r\n\r\n"

    return reply


UPGRADE = b"Upgrade: websocket"
CONNECTION = b"Connection: Upgrade"
ACCEPT = b"Sec-WebSocket-Accept: {accept}"

#: name -> (the reply to the upgrade request, or None to reset; what the error says)
HOSTILE: dict[str, tuple[Callable[[bytes], bytes] | None, str]] = {
    "bad-accept": (
        upgrade_reply(UPGRADE, CONNECTION, b"Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        # (trio-websocket's words, then websockets')
        "handshake .* failed: invalid reply "
        "\\((Bad accept token|invalid Sec-WebSocket-Accept header: A+=)\\)",
    ),
    "no-upgrade": (
        upgrade_reply(CONNECTION, ACCEPT),
        "handshake .* failed: invalid reply "
        "\\((Missing header, 'Upgrade: websocket'|missing Upgrade header)\\)",
    ),
    "garbage-status": (
        upgrade_reply(status=b"HELLO THERE"),
        "handshake .* failed: invalid reply",
    ),
    "unrequested-extension": (
        upgrade_reply(UPGRADE, CONNECTION, ACCEPT, b"Sec-WebSocket-Extensions: x-unknown"),
        "handshake .* failed: invalid reply \\(unrecognized extension x-unknown\\)",
    ),
    "reset": (None, "reset the connection during the handshake"),
    "closed": (lambda request: b"", "closed the connection during the handshake"),
}


async def read_request(stream: trio.abc.Stream) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some()
        if not chunk:
            break
        data += chunk
    return data


def reset(stream: trio.SocketStream) -> None:
    """Close with RST instead of FIN (SO_LINGER with a zero timeout)."""
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def misbehave(stream: trio.abc.Stream, socket_stream: trio.SocketStream, kind: str) -> None:
    reply, _ = HOSTILE[kind]
    request = await read_request(stream)
    if reply is None:
        reset(socket_stream)
    elif data := reply(request):
        await stream.send_all(data)
        await trio.sleep(60)  # (an answered request: the client must not wait for more)
    await trio.aclose_forcefully(socket_stream)


@asynccontextmanager
async def serve(handler: Callable[[trio.SocketStream], Awaitable[None]]) -> AsyncIterator[int]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1")
        )
        yield listeners[0].socket.getsockname()[1]
        nursery.cancel_scope.cancel()


def stream_options(port: int, scheme: str = "ws") -> dict[str, Any]:
    return {
        "public_url": f"{scheme}://127.0.0.1:{port}/public/",
        "rest_url": "http://127.0.0.1:9",  # never called: no fallback polling
        "fallback_grace": None,
        # Far longer than any test may take: a hostile reply must not wait for it.
        "reconnect": ReconnectPolicy(connect_timeout=600.0),
    }


# -- the first connect ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(HOSTILE))
async def test_malformed_upgrade_fails_the_first_connect(kind: str, transport: Connector) -> None:
    async def handler(stream: trio.SocketStream) -> None:
        await misbehave(stream, stream, kind)

    async with serve(handler) as port:
        with trio.fail_after(60), pytest.raises(ConnectError, match=HOSTILE[kind][1]) as info:
            async with open_bitunix_stream(**stream_options(port), connector=transport):
                pass
    assert not isinstance(info.value, ConnectTimeout)


# -- reconnects ------------------------------------------------------------------------------


@dataclass
class SwitchingProxy:
    """Forwards to the simulated exchange, or misbehaves for the next ``hostile`` connects."""

    target: int
    server_context: ssl.SSLContext | None = None
    bad_context: ssl.SSLContext | None = None
    hostile: list[str] = field(default_factory=list)
    served: list[str] = field(default_factory=list)
    live: list[trio.SocketStream] = field(default_factory=list)

    async def handle(self, socket_stream: trio.SocketStream) -> None:
        kind = self.hostile.pop(0) if self.hostile else "forward"
        self.served.append(kind)
        stream: trio.abc.Stream = socket_stream
        context = self.bad_context if kind == "bad-certificate" else self.server_context
        if context is not None:
            stream = trio.SSLStream(socket_stream, context, server_side=True)
            try:
                await stream.do_handshake()
            except trio.BrokenResourceError:
                return
        if kind == "forward":
            self.live.append(socket_stream)
            upstream = await trio.open_tcp_stream("127.0.0.1", self.target)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(pump, stream, upstream)
                nursery.start_soon(pump, upstream, stream)
        else:
            await misbehave(stream, socket_stream, kind)

    def drop_all(self) -> None:
        for socket_stream in self.live:
            reset(socket_stream)
            socket_stream.socket.close()
        self.live.clear()


async def pump(source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
    try:
        while data := await source.receive_some(65536):
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        await trio.aclose_forcefully(sink)


@pytest.mark.parametrize("kind", [*HOSTILE, "bad-certificate"])
async def test_hostile_reconnects_are_retried(
    sim: SimulatedExchange, kind: str, caplog: pytest.LogCaptureFixture, transport: Connector
) -> None:
    ws_port = urlsplit(sim.public_url).port
    assert ws_port is not None
    ca, other_ca = trustme.CA(), trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    bad_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    other_ca.issue_cert("127.0.0.1").configure_cert(bad_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    proxy = SwitchingProxy(ws_port, server_context, bad_context)

    async with serve(proxy.handle) as port:
        options = stream_options(port, "wss")
        options["reconnect"] = ReconnectPolicy(initial_delay=0.01, max_delay=0.05)
        with trio.fail_after(60):
            async with (
                open_bitunix_stream(
                    **options, ssl_context=client_context, connector=transport
                ) as stream,
                stream.subscribe(Ticker("BTCUSDT")) as tickers,
            ):
                await tickers.receive()
                async with stream.state_events() as changes:
                    proxy.hostile = [kind, kind, kind]
                    proxy.drop_all()
                    async for change in changes:
                        if change.new is ConnectionState.CONNECTED and not proxy.hostile:
                            break
                assert stream.state is ConnectionState.CONNECTED  # not failed
    assert proxy.served == ["forward", kind, kind, kind, "forward"]
    expected = HOSTILE[kind][1] if kind in HOSTILE else "TLS certificate .* not accepted"
    retried = [r.getMessage() for r in caplog.records if "reconnecting in" in r.getMessage()]
    assert sum(1 for r in retried if re.search(expected, r)) == 3, retried


# -- TLS certificates ------------------------------------------------------------------------


async def test_untrusted_certificate_fails_the_first_connect_at_once(
    transport: Connector,
) -> None:
    ca = trustme.CA()  # a CA nobody trusts: as good as self-signed
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)

    async def handler(stream: trio.SocketStream) -> None:
        tls = trio.SSLStream(stream, server_context, server_side=True)
        try:
            await tls.do_handshake()
            await read_request(tls)
        except trio.BrokenResourceError:
            pass
        await trio.aclose_forcefully(stream)

    async with serve(handler) as port:
        with trio.fail_after(60), pytest.raises(TlsCertificateError, match="certificate") as info:
            async with open_bitunix_stream(**stream_options(port, "wss"), connector=transport):
                pass
        assert "wss://127.0.0.1" in str(info.value)
        async with open_rest_client(None, f"https://127.0.0.1:{port}") as rest:
            with pytest.raises(TlsCertificateError, match="certificate"):
                await rest.get_tickers()
