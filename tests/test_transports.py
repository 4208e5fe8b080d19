"""Both transports (trio-websocket, websockets) under the stream, in memory under MockClock:
the frames on the wire are the stream's JSON text frames only (no protocol-level pings in
any number of minutes), a close is clean, and a drop or a close frame reaches the stream as
the same ConnectionLost."""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable

import pytest
import trio
import trio.testing
from conftest import open_sim_stream

import bitunix_trio as bt
from bitunix_trio._core.channels import Ticker
from bitunix_trio._core.config import HeartbeatConfig
from bitunix_trio._core.errors import ConfigurationError, ConnectionLost
from bitunix_trio._core.events import ConnectionState
from bitunix_trio._stream.connector import (
    Connector,
    WebSocketConnection,
    _EagerSend,
    trio_websocket_over,
)
from bitunix_trio._stream.websockets_connector import websockets_over
from bitunix_trio.testing import SimulatedExchange

Over = Callable[[trio.Nursery, trio.abc.Stream, str], Awaitable[WebSocketConnection]]
OVER: dict[str, Over] = {"trio-websocket": trio_websocket_over, "websockets": websockets_over}

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class Sniffer(trio.abc.Stream):
    """The server end of a memory stream, noting the opcode of every frame the client
    sends (after its HTTP upgrade request)."""

    def __init__(self, inner: trio.abc.Stream, opcodes: list[int]) -> None:
        self.inner = inner
        self.opcodes = opcodes
        self.buffer = b""
        self.upgraded = False

    def _parse(self) -> None:
        if not self.upgraded:
            _, found, rest = self.buffer.partition(b"\r\n\r\n")
            if not found:
                return
            self.upgraded, self.buffer = True, rest
        while len(self.buffer) >= 2:
            first, second = self.buffer[0], self.buffer[1]
            size, offset = second & 0x7F, 2
            if size == 126:
                (size,), offset = struct.unpack_from(">H", self.buffer, 2), 4
            elif size == 127:
                (size,), offset = struct.unpack_from(">Q", self.buffer, 2), 10
            offset += 4 if second & 0x80 else 0
            if len(self.buffer) < offset + size:
                return
            self.opcodes.append(first & 0x0F)
            self.buffer = self.buffer[offset + size :]

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self.inner.receive_some(max_bytes)
        self.buffer += data
        self._parse()
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.inner.aclose()


def memory_connector(exchange: SimulatedExchange, over: Over, opcodes: list[int]) -> Connector:
    """``over`` (a transport's handshake) on a memory stream to ``exchange``."""

    async def connector(nursery: trio.Nursery, url: str) -> WebSocketConnection:
        client_end, server_end = trio.testing.memory_stream_pair()
        exchange._nursery.start_soon(exchange._ws.serve_stream, Sniffer(server_end, opcodes))
        return await over(nursery, client_end, url)

    return connector


@pytest.fixture(params=list(OVER))
def over(request: pytest.FixtureRequest) -> Over:
    return OVER[request.param]


async def test_only_json_text_frames_for_minutes(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange, over: Over
) -> None:
    opcodes: list[int] = []
    heartbeat = HeartbeatConfig(interval=15.0, timeout=5.0, stale_after=60.0)
    async with (
        open_sim_stream(
            memory_sim,
            seed=1,
            connector=memory_connector(memory_sim, over, opcodes),
            heartbeat=heartbeat,
        ) as stream,
        stream.subscribe(Ticker("BTCUSDT")) as tickers,
    ):
        await tickers.receive()
        await trio.sleep(600)  # many times any library's default keepalive interval
        assert stream.state is ConnectionState.CONNECTED
        assert stream.statistics().reconnects == 0
    pings = [f for f in memory_sim.recorder.frames if '"op":"ping"' in f.text]
    assert len(pings) >= 600 / 15
    # Text frames (subscribe, JSON pings), then the close frame: never a control ping.
    assert set(opcodes[:-1]) == {TEXT}
    assert opcodes[-1] == CLOSE
    assert sum(1 for code in opcodes if code == TEXT) == len(memory_sim.recorder.frames)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("drop", "public#0: WebSocket disconnected (close code 1006)"),
        ("close", "public#0: WebSocket disconnected: maintenance (close code 1011)"),
    ],
)
async def test_a_lost_connection_is_the_same_error(
    autojump_clock: trio.testing.MockClock,
    memory_sim: SimulatedExchange,
    over: Over,
    fault: str,
    reason: str,
) -> None:
    opcodes: list[int] = []
    connector = memory_connector(memory_sim, over, opcodes)
    async with (
        open_sim_stream(memory_sim, seed=1, connector=connector) as stream,
        stream.state_events() as changes,
        stream.subscribe(Ticker("BTCUSDT")) as tickers,
    ):
        await tickers.receive()
        if fault == "drop":
            memory_sim.drop_all()
        else:
            memory_sim.close_all(1011, "maintenance")
        async for change in changes:
            if change.connection is None and change.new is ConnectionState.RECONNECTING:
                assert change.reason == reason
                break
        async for change in changes:
            if change.connection is None and change.new is ConnectionState.CONNECTED:
                break
        await tickers.receive()


async def drain(ws: WebSocketConnection) -> None:
    while True:
        await ws.receive()


async def test_connection_lost_from_receive_and_send(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange, over: Over
) -> None:
    async with trio.open_nursery() as nursery:
        ws = await memory_connector(memory_sim, over, [])(nursery, memory_sim.public_url)
        assert '"connect"' in str(await ws.receive())
        memory_sim.close_all(4000, "bye")
        with pytest.raises(ConnectionLost) as info:
            await drain(ws)
        assert (info.value.close_code, str(info.value)) == (
            4000,
            "WebSocket disconnected: bye (close code 4000)",
        )
        with pytest.raises(ConnectionLost):
            await ws.send('{"op":"ping","ping":1}')
        await ws.abort()
        await ws.abort()  # idempotent


async def test_websockets_connector_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "websockets.trio", None)
    async with trio.open_nursery() as nursery:
        with pytest.raises(ConfigurationError, match=r"bitunix-trio\[fast\]"):
            await bt.websockets_connector(nursery, "ws://127.0.0.1:9/public/")


def server_frame(payload: bytes, *, opcode: int = TEXT, fin: bool = True) -> bytes:
    """One unmasked frame as a server sends it (payloads under 126 bytes)."""
    return bytes(((0x80 if fin else 0) | opcode, len(payload))) + payload


async def open_raw(
    nursery: trio.Nursery, over: Over
) -> tuple[WebSocketConnection, trio.abc.Stream]:
    """A client connection of ``over`` and the server's raw end (after the upgrade)."""
    import trio_websocket

    client_end, server_end = trio.testing.memory_stream_pair()

    async def accept() -> None:
        request = await trio_websocket.wrap_server_stream(nursery, server_end)
        await request.accept()

    nursery.start_soon(accept)
    ws = await over(nursery, client_end, "ws://127.0.0.1/public/")
    return ws, server_end


async def test_messages_already_received_are_taken_without_waiting(
    autojump_clock: trio.testing.MockClock, over: Over
) -> None:
    async with trio.open_nursery() as nursery:
        ws, server = await open_raw(nursery, over)
        nowait = getattr(ws, "receive_nowait", None)
        assert nowait is not None
        assert nowait() is None  # nothing yet
        burst = server_frame(b'{"a":1}') + server_frame(b'{"b":2}')
        burst += server_frame(b'{"c":', fin=False) + server_frame(b"3}", opcode=0, fin=False)
        burst += server_frame(b"", opcode=0) + server_frame(b'{"d":4}')
        await server.send_all(burst)
        await trio.testing.wait_all_tasks_blocked()
        got = [nowait(), nowait()]
        assert got == ['{"a":1}', '{"b":2}']
        # A fragmented message may be left to receive(), which assembles it; the order holds.
        while len(got) < 4:
            message = nowait()
            got.append(await ws.receive() if message is None else message)
        assert got[2:] == ['{"c":3}', '{"d":4}']
        assert nowait() is None
        await server.send_all(server_frame(b"\xff\xfe"))  # not UTF-8: the connection fails
        await trio.testing.wait_all_tasks_blocked()
        assert nowait() is None
        with pytest.raises(ConnectionLost):
            await ws.receive()
        assert nowait() is None
        await ws.abort()
        nursery.cancel_scope.cancel()


class Firehose:
    """A connection that, once a ticker came, always has another one ready."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self.last: str | bytes | None = None
        self.taken = 0

    async def receive(self) -> str | bytes:
        message = await self.ws.receive()
        if '"ch":"ticker"' in str(message):
            self.last = message
        return message

    def receive_nowait(self) -> str | bytes | None:
        self.taken += self.last is not None
        return self.last

    async def send(self, message: str) -> None:
        await self.ws.send(message)

    async def aclose(self) -> None:
        await self.ws.aclose()

    async def abort(self) -> None:
        await self.ws.abort()


async def test_an_endless_burst_does_not_starve_the_consumers(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    hoses: list[Firehose] = []

    async def connector(nursery: trio.Nursery, url: str) -> WebSocketConnection:
        hoses.append(Firehose(await memory_sim.connector(nursery, url)))
        return hoses[-1]

    async with (
        open_sim_stream(memory_sim, seed=1, connector=connector) as stream,
        stream.subscribe(Ticker("BTCUSDT"), buffer=10_000, overflow="error") as tickers,
    ):
        for _ in range(1000):
            await tickers.receive()
        # The reader took at most a bounded run of messages in each step: the consumer
        # got its turn long before the connection ran dry (it never does).
        assert hoses[0].taken < 1100


async def test_the_eager_queue_end_is_what_trio_websocket_expects_of_its_channel() -> None:
    # trio-websocket's reader sends into its end, holds it in ``async with`` and closes it
    send, receive = trio.open_memory_channel[str | bytes](2)
    eager = _EagerSend(send)
    async with eager as held:
        await held.send("one")
        await held.send("two")
        assert receive.receive_nowait() == "one"
    assert receive.receive_nowait() == "two"
    with pytest.raises(trio.EndOfChannel):
        receive.receive_nowait()
