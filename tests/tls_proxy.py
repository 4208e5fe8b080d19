"""A TLS-terminating proxy on 127.0.0.1 with a certificate from a throw-away CA (trustme),
in front of a plain-text server (the simulated exchange), for tests of certificate checks."""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio
import trustme


@dataclass
class TlsProxy:
    port: int
    ca: trustme.CA
    handshakes_failed: int = 0

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts the proxy's private CA."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


async def _pump(source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
    try:
        while data := await source.receive_some(65536):
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        await trio.aclose_forcefully(sink)


@asynccontextmanager
async def open_tls_proxy(
    target_port: int, *, names: tuple[str, ...] = ("127.0.0.1",)
) -> AsyncIterator[TlsProxy]:
    """Serve TLS on an OS-chosen port of 127.0.0.1, forwarding to ``target_port``."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(server_context)
    proxy = TlsProxy(0, ca)

    async def handle(stream: trio.SSLStream[trio.SocketStream]) -> None:
        try:
            await stream.do_handshake()
        except trio.BrokenResourceError:
            proxy.handshakes_failed += 1
            return
        upstream = await trio.open_tcp_stream("127.0.0.1", target_port)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pump, stream, upstream)
            nursery.start_soon(_pump, upstream, stream)

    async with trio.open_nursery() as nursery:
        serve = functools.partial(
            trio.serve_ssl_over_tcp, handle, 0, server_context, host="127.0.0.1"
        )
        listeners = await nursery.start(serve)
        proxy.port = listeners[0].transport_listener.socket.getsockname()[1]
        yield proxy
        nursery.cancel_scope.cancel()
