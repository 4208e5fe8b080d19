"""Scripted faults of the simulated exchange: the switches both servers consult, and the
stream wrapper that lets the exchange cut a socket with no close frame.

The switches live in one :class:`FaultState` shared by the WebSocket server and the REST
app; the methods on :class:`~bitunix_trio.testing.SimulatedExchange` flip them. Everything
is deterministic: a fault applies from the moment it is switched on, in arrival order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import trio
import trio.testing

__all__ = ["GARBAGE_FRAMES", "MALFORMED_REST_BODIES", "AbortableStream", "FaultState"]

_T = TypeVar("_T")

#: What :meth:`SimulatedExchange.send_garbage` sends, in turn: non-JSON text, truncated
#: JSON, JSON of the wrong shape, and frames that look like pushes but are not.
GARBAGE_FRAMES: tuple[str, ...] = (
    "this is not json",
    '{"ch":"depth_book15","symbol":"BTCUSDT","ts":17',
    "[1,2,3]",
    '{"ch":"ticker","symbol":"BTCUSDT","ts":"soon","data":"nope"}',
    '{"op":"ping","pong":"x"}',
    "\x00\x01\x02",
    '{"ch":"order","data":{"orderId":null}}',
    "null",
)

#: What REST answers (HTTP 200, JSON content type) while ``malformed_rest`` is on, in turn:
#: JSON nested 100,000 deep, truncated JSON, a JSON value that is not an envelope, an envelope
#: whose ``code`` is not a number, data of the wrong shape, rows with numbers no order can
#: have, and bytes that are not UTF-8.
MALFORMED_REST_BODIES: tuple[bytes, ...] = (
    b'{"code":0,"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"code":0,"data":{"orderList":[{"orderId":"1","qty":',
    b"[1,2,3]",
    b'{"code":"zero","data":null,"msg":"ok"}',
    b'{"code":0,"data":"nope","msg":"Success"}',
    b'{"code":0,"msg":"Success","data":{"total":"1","orderList":[{"orderId":"1",'
    b'"symbol":"ETHUSDT","qty":"1e999999999","tradeQty":"-1","price":"NaN",'
    b'"side":"BUY","status":"FILLED","ctime":"99999999999999999999"}]}}',
    b'{"code":0,"data":\xff\xfe}',
)


@dataclass(slots=True)
class FaultState:
    """The fault switches; see the fault methods of ``SimulatedExchange`` for meanings."""

    #: Sockets stay open but the exchange sends nothing and answers nothing.
    silent: bool = False
    #: JSON pings get no reply (everything else is normal).
    no_pong: bool = False
    #: Every subscribe is answered with the over-300 refusal frame.
    refuse_subscriptions: bool = False
    #: The next this-many logins fail whatever their signature.
    reject_logins: int = 0
    #: Every REST call answers code 10006.
    throttle_rest: bool = False
    #: REST answers HTTP 503 with an HTML body (as a CDN in front of a dead origin does).
    rest_down: bool = False
    #: REST answers HTTP 200 with a body no client can use (``MALFORMED_REST_BODIES``, in
    #: turn, starting with JSON nested 100,000 deep).
    malformed_rest: bool = False
    #: New WebSocket handshakes are refused with HTTP 503.
    ws_down: bool = False
    #: Depth of nested ``offline()`` blocks; while > 0 the WebSocket side is down.
    offline_depth: int = 0
    #: Index of the next garbage frame (so repeated calls cycle through all of them).
    garbage_index: int = 0
    #: Index of the next malformed REST body (they cycle the same way).
    malformed_index: int = 0

    @property
    def refusing_websockets(self) -> bool:
        """Whether new WebSocket handshakes are refused right now."""
        return self.ws_down or self.offline_depth > 0

    def take_login_rejection(self) -> bool:
        """Consume one scripted login rejection, if any is pending."""
        if self.reject_logins > 0:
            self.reject_logins -= 1
            return True
        return False

    def next_garbage(self) -> str:
        """The next garbage frame in turn."""
        frame = GARBAGE_FRAMES[self.garbage_index % len(GARBAGE_FRAMES)]
        self.garbage_index += 1
        return frame

    def next_malformed_body(self) -> bytes:
        """The next malformed REST body in turn."""
        body = MALFORMED_REST_BODIES[self.malformed_index % len(MALFORMED_REST_BODIES)]
        self.malformed_index += 1
        return body

    def reset(self) -> None:
        """Switch every fault off."""
        self.silent = False
        self.no_pong = False
        self.refuse_subscriptions = False
        self.reject_logins = 0
        self.throttle_rest = False
        self.rest_down = False
        self.malformed_rest = False
        self.malformed_index = 0
        self.ws_down = False
        self.offline_depth = 0


class AbortableStream(trio.abc.HalfCloseableStream):
    """A stream wrapper the exchange can cut with no WebSocket close frame.

    :meth:`abort` closes the underlying transport at once (a TCP socket, or both halves of
    an in-memory stream), so a task blocked in :meth:`receive_some` wakes up with
    ``trio.ClosedResourceError`` and the peer sees the stream end: trio-websocket on the
    client side reports close code 1006 with no close frame received.
    """

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream
        self._aborted = False
        self._scopes: set[trio.CancelScope] = set()

    @property
    def aborted(self) -> bool:
        """Whether :meth:`abort` was called."""
        return self._aborted

    def abort(self) -> None:
        """Cut the transport now; idempotent; never sends anything."""
        if self._aborted:
            return
        self._aborted = True
        if not _close_now(self._stream):
            # Unknown transport: wake any blocked operation, which closes it on its way out.
            for scope in self._scopes:
                scope.cancel()

    async def _run(self, op: Callable[[], Awaitable[_T]]) -> _T:
        if self._aborted:
            raise trio.ClosedResourceError("aborted by the simulated exchange")
        scope = trio.CancelScope()
        self._scopes.add(scope)
        try:
            with scope:
                return await op()
        finally:
            self._scopes.discard(scope)
        # Only reached when abort() cancelled the operation of an unknown transport.
        await trio.aclose_forcefully(self._stream)
        raise trio.ClosedResourceError("aborted by the simulated exchange")

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` unless aborted."""
        await self._run(lambda: self._stream.send_all(data))

    async def wait_send_all_might_not_block(self) -> None:
        """Delegate to the wrapped stream."""
        await self._run(self._stream.wait_send_all_might_not_block)

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """Receive from the wrapped stream unless aborted."""
        return await self._run(lambda: self._stream.receive_some(max_bytes))

    async def send_eof(self) -> None:
        """Half-close when the wrapped stream supports it, else close."""
        if isinstance(self._stream, trio.abc.HalfCloseableStream):
            await self._stream.send_eof()
        else:
            await self._stream.aclose()

    async def aclose(self) -> None:
        """Close the wrapped stream (gracefully: what trio-websocket calls after a close)."""
        self._aborted = True
        await self._stream.aclose()


def _close_now(stream: object) -> bool:
    """Close a known transport synchronously; False when the type is unknown."""
    if isinstance(stream, trio.SocketStream):
        stream.socket.close()
        return True
    if isinstance(stream, trio.StapledStream):
        first = _close_now(stream.send_stream)
        second = _close_now(stream.receive_stream)
        return first and second
    if isinstance(stream, trio.testing.MemorySendStream | trio.testing.MemoryReceiveStream):
        stream.close()
        return True
    return False
