"""The simulated exchange's WebSocket side, frame by frame, with a raw trio-websocket client.

Timing tests run over the in-memory flavour under ``MockClock(autojump_threshold=0)`` and
assert exact virtual times: the exchange opens at t=0 (exchange time ``start_ms``, the wall
clock then), market ticks fall at t = 0.31 k.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket
from conftest import RawWs, expect_silence, make_signed, recv, send, until_closed
from trio.testing import MockClock

from bitunix_trio._core import frames as _frames
from bitunix_trio._core import signing as _signing
from bitunix_trio._core.credentials import Credentials
from bitunix_trio.testing import ExchangeEngine, FaultState, Recorder, SimulatedExchange
from bitunix_trio.testing._servers.ws import SimClock, WsServer, WsSettings

TICK = 0.31


async def collect(
    ws: trio_websocket.WebSocketConnection, until: float
) -> list[tuple[float, dict[str, Any]]]:
    """Every frame received until Trio time ``until``, with its arrival time."""
    frames: list[tuple[float, dict[str, Any]]] = []
    with trio.move_on_at(until):
        while True:
            frame = await recv(ws)
            frames.append((trio.current_time(), frame))
    return frames


def sub(*keys: tuple[str, str | None]) -> dict[str, Any]:
    args = [{"ch": ch} if sym is None else {"symbol": sym, "ch": ch} for ch, sym in keys]
    return {"op": "subscribe", "args": args}


GREETING = {"op": "connect", "data": {"result": True}}
TICKERS = ("ticker", "tickers")


# -- loopback ------------------------------------------------------------------------------


@pytest.mark.loopback
@pytest.mark.parametrize("path", ["/public/", "/private/", "/public", "/private"])
async def test_greeting_on_both_paths(sim: SimulatedExchange, raw_ws: RawWs, path: str) -> None:
    base = sim.public_url.removesuffix("/public/")
    async with raw_ws(sim, base + path) as ws:
        assert await ws.get_message() == '{"op":"connect","data":{"result":true}}'
        assert sim.connection_count == 1
        assert sim.connections[0].path == path


@pytest.mark.loopback
async def test_unknown_path_is_rejected(sim: SimulatedExchange, raw_ws: RawWs) -> None:
    base = sim.public_url.removesuffix("/public/")
    with pytest.raises(trio_websocket.ConnectionRejected) as info:
        async with raw_ws(sim, base + "/ws"):
            pass  # pragma: no cover
    assert info.value.status_code == 404


@pytest.mark.loopback
async def test_loopback_pushes(sim: SimulatedExchange, raw_ws: RawWs) -> None:
    async with raw_ws(sim, sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, sub(("depth_book5", "ethusdt")))
        frame = await recv(ws)
        assert frame["ch"] == "depth_book5"
        assert frame["symbol"] == "ETHUSDT"
        assert len(frame["data"]["b"]) == len(frame["data"]["a"]) == 5
        assert sim.recorder.ws_messages(path="/public/") == [sub(("depth_book5", "ethusdt"))]


# -- control frames ------------------------------------------------------------------------


async def test_ping_reply_shape(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    await trio.sleep(5.5)
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await trio.sleep(3)
        await send(ws, {"op": "ping", "ping": 1732519687})
        opened = (memory_sim.start_ms + 5500) // 1000
        assert await recv(ws) == {"op": "ping", "pong": 1732519687, "ping": opened}
        assert trio.current_time() == 8.5
        # The server's "ping" is the second the socket opened: constant per connection.
        await trio.sleep(10)
        await send(ws, {"op": "ping", "ping": 1})
        assert await recv(ws) == {"op": "ping", "pong": 1, "ping": opened}
    # ... on the wall clock: the exchange's clock starts at the real time.
    assert abs(opened - time.time()) < 60


async def test_no_ack_then_pushes_on_the_tick(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await trio.sleep_until(1.0)  # ticks at 0.93, 1.24, 1.55, ...
        streams = [
            ("depth_book15", "BTCUSDT"),
            ("depth_book1", "btcusdt"),
            ("ticker", "BTCUSDT"),
            ("price", "BTCUSDT"),
            ("market_kline_1min", "BTCUSDT"),
            ("mark_kline_15min", "BTCUSDT"),
            ("tickers", "BTCUSDT"),
            ("trade", "BTCUSDT"),
        ]
        await send(ws, sub(*streams))
        frames = await collect(ws, 2.0)
    # No acknowledgement: the first frame is a push, 0.24 s after the subscribe.
    assert "op" not in frames[0][1]
    times = sorted({t for t, _ in frames})
    assert times == pytest.approx([1.24, 1.55, 1.86])
    by_tick: dict[float, list[dict[str, Any]]] = {}
    for t, frame in frames:
        by_tick.setdefault(round(t, 2), []).append(frame)
    for k, (tick_time, tick_frames) in enumerate(sorted(by_tick.items()), start=4):
        assert tick_time == pytest.approx(k * TICK)
        channels = [f["ch"] for f in tick_frames]
        # Every stream at the same instant, unchanged frames re-sent; trades only if any;
        # the tickers every 4 to 5 ticks only (the next ones at k = 8).
        expected = [ch for ch, _ in streams if ch != "trade" and (k == 4 or ch not in TICKERS)]
        assert [c for c in channels if c != "trade"] == expected
        for frame in tick_frames:
            assert frame["ts"] == memory_sim.start_ms + k * 310
            assert frame.get("symbol", "BTCUSDT") == "BTCUSDT"
            decoded = _frames.decode(json.dumps(frame))
            assert isinstance(decoded, _frames.Push), decoded
    first = {f["ch"]: f for f in by_tick[round(4 * TICK, 2)]}
    book = first["depth_book15"]["data"]
    assert set(book) == {"b", "a"}
    assert len(book["b"]) == len(book["a"]) == 15
    bids = [float(p) for p, _ in book["b"]]
    asks = [float(p) for p, _ in book["a"]]
    assert bids == sorted(bids, reverse=True)
    assert asks == sorted(asks)
    assert bids[0] < asks[0]
    assert all(isinstance(x, str) for level in book["b"] + book["a"] for x in level)
    assert set(first["ticker"]["data"]) == {"s", "o", "la", "h", "l", "b", "q", "r"}
    assert set(first["price"]["data"]) == {"ip", "mp", "fr", "ft", "nft"}
    assert set(first["market_kline_1min"]["data"]) == {"o", "c", "h", "l", "b", "q"}
    assert "symbol" not in first["tickers"]
    assert isinstance(first["tickers"]["data"], list)
    assert first["tickers"]["data"][0]["s"] == "BTCUSDT"
    for frame in (f for _, f in frames if f["ch"] == "trade"):
        assert frame["data"]
        for trade in frame["data"]:
            assert set(trade) == {"t", "p", "v", "s"}
            assert trade["s"] in ("buy", "sell")


async def test_unsubscribe_reply(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, sub(("ticker", "BTCUSDT"), ("price", "BTCUSDT")))
        assert (await recv(ws))["ch"] == "ticker"
        assert (await recv(ws))["ch"] == "price"
        assert trio.current_time() == pytest.approx(TICK)
        await trio.sleep(0.1)
        await send(ws, {"op": "unsubscribe", "args": [{"symbol": "BTCUSDT", "ch": "ticker"}]})
        assert await recv(ws) == {
            "op": "unsubscribe",
            "ts": memory_sim.start_ms + 410,
            "data": "success",
        }
        frames = await collect(ws, 2.0)
    assert frames
    assert {f["ch"] for _, f in frames} == {"price"}


async def test_over_300_streams_refused(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    refusal = {
        "op": "subscribe",
        "data": {"msg": "subscribe channel > 300", "nonce": "", "result": False},
    }
    fakes = [("ticker", f"FAKE{i:03d}USDT") for i in range(320)]
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, sub(("depth_book1", "BTCUSDT"), *fakes[:299]))
        await send(ws, sub(("depth_book1", "ETHUSDT"), *fakes[299:308]))
        assert await recv(ws) == refusal
        assert memory_sim.connections[0].streams[0] == ("depth_book1", "BTCUSDT")
        assert len(memory_sim.connections[0].streams) == 300
        frames = await collect(ws, 1.5)
    # The first 300 keep streaming; stream 301+ never do.
    assert [f["symbol"] for _, f in frames] == ["BTCUSDT"] * 4


async def test_over_300_in_one_frame(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    keys = [("ticker", f"FAKE{i:03d}USDT") for i in range(299)]
    keys += [("price", "SOLUSDT"), ("price", "XRPUSDT")]
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, sub(*keys))
        assert (await recv(ws))["op"] == "subscribe"
        frames = await collect(ws, 1.0)
    assert {f["symbol"] for _, f in frames} == {"SOLUSDT"}


async def test_silence_for_bad_input(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, sub(("nosuchchannel", "BTCUSDT")))
        await send(ws, {"op": "dance"})
        await ws.send_message("this is not json {")
        await send(ws, {"op": "subscribe", "args": "BTCUSDT"})
        await send(ws, ["op", "ping"])
        await expect_silence(ws, 3)
        await send(ws, {"op": "ping", "ping": 7})
        assert (await recv(ws))["pong"] == 7
        assert memory_sim.connection_count == 1
        assert memory_sim.connections[0].streams == ()


async def test_unknown_symbol_gets_one_empty_frame(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(
            ws,
            sub(
                ("depth_book15", "NOPEUSDT"),
                ("ticker", "NOPEUSDT"),
                ("depth_book5", "NEWUSDT"),  # PREVIEW instrument
                ("depth_book1", None),
                ("trade", "nopeusdt"),
            ),
        )
        first = [await recv(ws) for _ in range(3)]
        assert trio.current_time() == pytest.approx(TICK)
        await expect_silence(ws, 5)
    ts = memory_sim.start_ms + 310
    assert first == [
        {"ch": "depth_book15", "symbol": "NOPEUSDT", "ts": ts, "data": _empty(15)},
        {"ch": "depth_book5", "symbol": "NEWUSDT", "ts": ts, "data": _empty(5)},
        {"ch": "depth_book1", "ts": ts, "data": _empty(1)},
    ]


def _empty(levels: int) -> dict[str, Any]:
    return {"b": [["", ""]] * levels, "a": [["", ""]] * levels}


async def test_duplicates_and_lowercase(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, sub(("ticker", "solusdt"), ("ticker", "SOLUSDT")))
        await send(ws, sub(("ticker", "SolUsdt")))
        frames = await collect(ws, 3.0)
    assert [(round(t, 2), f["symbol"]) for t, f in frames] == [
        (0.31, "SOLUSDT"),
        (1.55, "SOLUSDT"),
    ]
    assert frames[0][1]["data"]["s"] == "SOLUSDT"


# -- login and private pushes --------------------------------------------------------------


def login_frame(creds: Credentials, timestamp: int, nonce: str = "n" * 32) -> dict[str, Any]:
    return {
        "op": "login",
        "args": [_signing.ws_login_args(creds, nonce=nonce, timestamp=timestamp)],
    }


@pytest.mark.parametrize("unit", [1, 1000])
async def test_login_success(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs, unit: int
) -> None:
    async with raw_ws(memory_sim, memory_sim.private_url) as ws:
        assert await recv(ws) == GREETING
        timestamp = int(memory_sim.wall_clock() * unit)
        await send(ws, login_frame(memory_sim.credentials, timestamp))
        assert await recv(ws) == {"op": "login", "data": {"result": True}}
        assert memory_sim.connections[0].authenticated


async def test_login_failures(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    creds = memory_sim.credentials
    wrong_secret = Credentials(creds.api_key, "not-the-secret")
    unknown_key = Credentials("unknown-key", creds.secret_key)
    async with raw_ws(memory_sim, memory_sim.private_url) as ws:
        assert await recv(ws) == GREETING
        for bad in (wrong_secret, unknown_key):
            await send(ws, login_frame(bad, int(memory_sim.wall_clock())))
            reply = await recv(ws)
            assert reply["op"] == "login"
            assert reply["data"]["result"] is False
            assert reply["data"]["msg"]
            await trio.sleep(1)
        # The socket stays open and a correct login still works.
        await send(ws, login_frame(creds, int(memory_sim.wall_clock())))
        assert await recv(ws) == {"op": "login", "data": {"result": True}}


async def test_login_ignored_on_public(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, login_frame(memory_sim.credentials, int(memory_sim.wall_clock())))
        await expect_silence(ws, 2)


async def test_private_pushes_after_login_without_subscribe(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    send_signed = make_signed(memory_sim)
    async with (
        raw_ws(memory_sim, memory_sim.private_url) as ws,
        raw_ws(memory_sim, memory_sim.private_url) as anonymous,
        memory_sim.rest_client() as client,
    ):
        assert await recv(ws) == GREETING
        assert await recv(anonymous) == GREETING
        await send(ws, login_frame(memory_sim.credentials, int(memory_sim.wall_clock())))
        assert (await recv(ws))["data"]["result"] is True
        # A private subscribe is accepted silently.
        await send(ws, sub(("order", None), ("position", None), ("balance", None)))
        await expect_silence(ws, 1)
        response = await send_signed(
            client,
            "POST",
            "/api/v1/futures/trade/place_order",
            body={
                "symbol": "BTCUSDT",
                "side": "BUY",
                "orderType": "LIMIT",
                "qty": "0.01",
                "price": "80000",
                "clientId": "c-1",
            },
        )
        assert response.json()["code"] == 0
        order_id = response.json()["data"]["orderId"]
        sent_at = trio.current_time()
        pushes = await collect(ws, sent_at + 0.5)
        await expect_silence(anonymous, 0.5)
    assert pushes
    assert all(t == sent_at for t, _ in pushes)
    channels = [f["ch"] for _, f in pushes]
    assert "order" in channels
    order = next(f for _, f in pushes if f["ch"] == "order")
    assert set(order) == {"ch", "ts", "data"}
    assert order["data"]["orderId"] == order_id
    assert order["data"]["clientId"] == "c-1"
    assert order["data"]["event"] == "CREATE"
    for _, frame in pushes:
        assert isinstance(_frames.decode(json.dumps(frame)), _frames.Push)


# -- connection limits ---------------------------------------------------------------------


async def test_idle_socket_dropped_at_60s(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, sub(("price", "BTCUSDT")))  # data flowing does not keep it alive
        reason = await until_closed(ws)
        assert trio.current_time() == 60.0
    assert reason.code == 1006  # no close frame
    record = memory_sim.recorder.connections[0]
    assert (record.end, record.closed) == ("aborted", 60.0)


async def test_ping_keeps_socket_alive(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await trio.sleep(45)
        await send(ws, {"op": "ping", "ping": 45})
        assert (await recv(ws))["pong"] == 45
        reason = await until_closed(ws)
        assert trio.current_time() == 105.0
    assert reason.code == 1006


async def test_more_than_5_messages_per_second(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await trio.sleep(1)
        for i in range(5):
            await send(ws, {"op": "ping", "ping": i})
        assert [(await recv(ws))["pong"] for _ in range(5)] == [0, 1, 2, 3, 4]
        await trio.sleep(1)  # t=2.0: the five at t=1.0 are out of the window
        for i in range(5):
            await send(ws, {"op": "ping", "ping": 10 + i})
            await trio.sleep(0.1)
        assert memory_sim.connection_count == 1
        await send(ws, {"op": "ping", "ping": 99})  # sixth within 1 s (t=2.5)
        reason = await until_closed(ws)
        assert trio.current_time() == pytest.approx(2.5)
    assert reason.code == 1006
    assert memory_sim.recorder.connections[0].end == "aborted"


async def test_slow_client_dropped(autojump_clock: MockClock) -> None:
    # A lockstep stream has no buffer: a client that stops reading blocks the server's
    # sender, the socket's queue (2 ticks here) fills and the exchange drops it.
    engine = ExchangeEngine(seed=0)
    recorder = Recorder()
    clock = SimClock(engine.now_ms, engine.tick_ms)
    settings = WsSettings(send_queue_ticks=2, idle_timeout=None)
    server = WsServer(engine, clock, FaultState(), recorder, settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run_ticker)
        client_end, server_end = trio.testing.lockstep_stream_pair()
        nursery.start_soon(server.serve_stream, server_end)
        stream: Any = client_end
        ws = await trio_websocket.wrap_client_stream(nursery, stream, "sim", "/public/")
        await send(ws, sub(("depth_book15", "BTCUSDT")))
        while server.connections():
            await server.wait_changed()
        nursery.cancel_scope.cancel()
    record = recorder.connections[0]
    assert (record.end, record.reason) == ("aborted", "client too slow")
    # The greeting fills the client's one-message queue; the 0.31 push is read off the
    # stream by the client's reader, which then blocks; the 0.62 push blocks the server's
    # sender; 0.93 and 1.24 wait in the socket's queue; at 1.55 it is full.
    assert record.closed == pytest.approx(1.55)
