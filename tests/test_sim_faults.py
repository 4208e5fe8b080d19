"""Scripted faults of the simulated exchange do what they say; the market is seeded.

In-memory tests run under ``MockClock(autojump_threshold=0)``; the loopback ones check that
a dropped TCP socket really ends without a close frame.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import trio
import trio_websocket
from conftest import RawWs, expect_silence, make_signed, recv, send, until_closed
from trio.testing import MockClock

from bitunix_trio._core import signing as _signing
from bitunix_trio.testing import GARBAGE_FRAMES, SimulatedExchange, open_simulated_exchange

GREETING = {"op": "connect", "data": {"result": True}}
ACCOUNT = "/api/v1/futures/account"
PLACE = "/api/v1/futures/trade/place_order"


def subscribe(ch: str, symbol: str = "BTCUSDT") -> dict[str, Any]:
    return {"op": "subscribe", "args": [{"symbol": symbol, "ch": ch}]}


def login(exchange: SimulatedExchange, timestamp: int | None = None) -> dict[str, Any]:
    if timestamp is None:
        timestamp = int(exchange.wall_clock())
    nonce = _signing.new_nonce()
    args = _signing.ws_login_args(exchange.credentials, nonce=nonce, timestamp=timestamp)
    return {"op": "login", "args": [args]}


# -- WebSocket faults ----------------------------------------------------------------------


async def test_drop_all(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with (
        raw_ws(memory_sim, memory_sim.public_url) as public,
        raw_ws(memory_sim, memory_sim.private_url) as private,
    ):
        assert await recv(public) == GREETING
        assert await recv(private) == GREETING
        await trio.sleep(2)
        memory_sim.drop_all()
        assert (await until_closed(public)).code == 1006
        assert (await until_closed(private)).code == 1006
        assert trio.current_time() == 2.0
    await memory_sim.wait_for_connections(0)
    assert [(c.end, c.closed) for c in memory_sim.recorder.connections] == [("aborted", 2.0)] * 2
    # Clients may come back.
    async with raw_ws(memory_sim, memory_sim.public_url) as again:
        assert await recv(again) == GREETING


@pytest.mark.loopback
async def test_drop_all_over_tcp_sends_no_close_frame(
    sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(sim, sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, subscribe("ticker"))
        assert (await recv(ws))["ch"] == "ticker"
        sim.drop_all()
        reason = await until_closed(ws)
    assert reason.code == 1006  # abnormal closure: the TCP stream ended, no close frame
    assert reason.reason is None


@pytest.mark.loopback
async def test_close_all_over_tcp(sim: SimulatedExchange, raw_ws: RawWs) -> None:
    async with raw_ws(sim, sim.public_url) as ws:
        assert await recv(ws) == GREETING
        sim.close_all(4000, "maintenance")
        reason = await until_closed(ws)
    assert (reason.code, reason.reason) == (4000, "maintenance")


async def test_close_all(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        memory_sim.close_all()
        reason = await until_closed(ws)
    assert (reason.code, reason.reason) == (1011, None)
    assert memory_sim.recorder.connections[0].end == "closed"


async def test_go_silent(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, subscribe("price"))
        assert (await recv(ws))["ch"] == "price"
        memory_sim.go_silent()
        await send(ws, {"op": "ping", "ping": 1})
        await send(ws, {"op": "unsubscribe", "args": [{"symbol": "ETHUSDT", "ch": "price"}]})
        await expect_silence(ws, 30)
        assert memory_sim.connection_count == 1  # open, just silent
        memory_sim.go_silent(False)
        await send(ws, {"op": "ping", "ping": 2})
        replies = [await recv(ws) for _ in range(2)]
    assert {"op": "ping", "pong": 2, "ping": memory_sim.start_ms // 1000} in replies


async def test_stop_answering_pings(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        memory_sim.stop_answering_pings()
        await send(ws, {"op": "ping", "ping": 1})
        await send(ws, subscribe("ticker"))
        frames = [await recv(ws) for _ in range(3)]
        assert [f.get("ch") for f in frames] == ["ticker"] * 3  # pushes go on, no pong
        memory_sim.stop_answering_pings(False)
        await send(ws, {"op": "unsubscribe", "args": [{"symbol": "BTCUSDT", "ch": "ticker"}]})
        assert (await recv(ws))["op"] == "unsubscribe"
        await send(ws, {"op": "ping", "ping": 2})
        assert (await recv(ws))["pong"] == 2


async def test_reject_next_logins(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    memory_sim.reject_next_logins(2)
    async with raw_ws(memory_sim, memory_sim.private_url) as ws:
        assert await recv(ws) == GREETING
        results = []
        for _ in range(3):
            await send(ws, login(memory_sim))
            results.append((await recv(ws))["data"]["result"])
            await trio.sleep(1)
    assert results == [False, False, True]


async def test_refuse_subscriptions(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    memory_sim.refuse_subscriptions()
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, subscribe("ticker"))
        assert await recv(ws) == {
            "op": "subscribe",
            "data": {"msg": "subscribe channel > 300", "nonce": "", "result": False},
        }
        await expect_silence(ws, 2)
        memory_sim.refuse_subscriptions(False)
        await send(ws, subscribe("ticker"))
        assert (await recv(ws))["ch"] == "ticker"


async def test_send_garbage(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        memory_sim.send_garbage(3)
        assert [await ws.get_message() for _ in range(3)] == list(GARBAGE_FRAMES[:3])
        memory_sim.send_garbage(len(GARBAGE_FRAMES))  # cycles on through all of them
        received = [await ws.get_message() for _ in GARBAGE_FRAMES]
        assert received == list(GARBAGE_FRAMES[3:] + GARBAGE_FRAMES[:3])
        await send(ws, {"op": "ping", "ping": 5})
        assert (await recv(ws))["pong"] == 5


async def test_ws_down(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        memory_sim.ws_down()
        assert (await until_closed(ws)).code == 1006
    with pytest.raises(trio_websocket.ConnectionRejected) as info:
        async with raw_ws(memory_sim, memory_sim.public_url):
            pass  # pragma: no cover
    assert info.value.status_code == 503
    memory_sim.ws_down(False)
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING


@pytest.mark.loopback
async def test_ws_down_over_tcp(sim: SimulatedExchange, raw_ws: RawWs) -> None:
    sim.ws_down()
    with pytest.raises(trio_websocket.ConnectionRejected) as info:
        async with raw_ws(sim, sim.private_url):
            pass  # pragma: no cover
    assert info.value.status_code == 503
    sim.ws_down(False)
    async with raw_ws(sim, sim.private_url) as ws:
        assert await recv(ws) == GREETING


async def test_offline_account_changes(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    signed = make_signed(memory_sim)
    async with memory_sim.rest_client() as client:
        order = {"symbol": "BTCUSDT", "side": "BUY", "orderType": "LIMIT"}
        response = await signed(
            client, "POST", PLACE, body={**order, "qty": "0.01", "price": "80000"}
        )
        order_id = response.json()["data"]["orderId"]
        async with raw_ws(memory_sim, memory_sim.private_url) as ws:
            assert await recv(ws) == GREETING
            await send(ws, login(memory_sim))
            assert (await recv(ws))["data"]["result"] is True
            async with memory_sim.offline():
                assert (await until_closed(ws)).code == 1006
                with pytest.raises(trio_websocket.ConnectionRejected):
                    async with raw_ws(memory_sim, memory_sim.private_url):
                        pass  # pragma: no cover
                memory_sim.fill_order(order_id)
                memory_sim.credit("USDT", "5")
        async with raw_ws(memory_sim, memory_sim.private_url) as ws:
            assert await recv(ws) == GREETING
            await send(ws, login(memory_sim))
            assert (await recv(ws))["data"]["result"] is True
            await expect_silence(ws, 2)  # what happened while away is not replayed
        # ... but REST shows it.
        history = await signed(client, "GET", "/api/v1/futures/trade/get_history_orders")
        rows = history.json()["data"]["orderList"]
        assert [(r["orderId"], r["status"]) for r in rows] == [(order_id, "FILLED")]
        positions = await signed(client, "GET", "/api/v1/futures/position/get_pending_positions")
        assert positions.json()["data"][0]["qty"] == "0.01"


async def test_account_changes_pushed_while_connected(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.private_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, login(memory_sim))
        assert (await recv(ws))["data"]["result"] is True
        memory_sim.credit("USDT", "5")
        push = await recv(ws)
    assert push["ch"] == "balance"
    assert push["data"]["coin"] == "USDT"
    assert push["data"]["available"] == "10005"


# -- REST faults ---------------------------------------------------------------------------


async def test_throttle_and_rest_down(
    autojump_clock: MockClock, memory_sim: SimulatedExchange
) -> None:
    signed = make_signed(memory_sim)
    async with memory_sim.rest_client() as client:
        memory_sim.throttle_rest()
        for path in ("/api/v1/futures/market/tickers", ACCOUNT):
            response = await client.get(path)
            assert response.json() == {"code": 10006, "data": None, "msg": "Request too frequently"}
        memory_sim.throttle_rest(False)
        memory_sim.rest_down()
        response = await signed(client, "GET", ACCOUNT, params={"marginCoin": "USDT"})
        assert response.status_code == 503
        assert response.headers["content-type"] == "text/html"
        memory_sim.rest_down(False)
        response = await signed(client, "GET", ACCOUNT, params={"marginCoin": "USDT"})
        assert response.json()["code"] == 0
    assert [r.code for r in memory_sim.recorder.rest_requests()] == [10006, 10006, 503, 0]


@pytest.mark.loopback
async def test_rest_down_over_tcp(sim: SimulatedExchange) -> None:
    sim.rest_down()
    async with httpx.AsyncClient(base_url=sim.rest_url) as client:
        response = await client.get("/api/v1/futures/market/tickers")
    assert response.status_code == 503


async def test_reset_faults(autojump_clock: MockClock, memory_sim: SimulatedExchange) -> None:
    memory_sim.go_silent()
    memory_sim.throttle_rest()
    memory_sim.reject_next_logins(3)
    memory_sim.reset_faults()
    faults = memory_sim.faults
    assert (faults.silent, faults.throttle_rest, faults.reject_logins) == (False, False, 0)


# -- determinism ---------------------------------------------------------------------------


async def _first_pushes(exchange: SimulatedExchange, n: int) -> list[str]:
    async with trio.open_nursery() as nursery:
        ws = await exchange.connector(nursery, exchange.public_url)
        await ws.receive()
        args = [
            {"symbol": "BTCUSDT", "ch": ch}
            for ch in ("depth_book5", "ticker", "trade", "price", "market_kline_1min")
        ]
        await ws.send(json.dumps({"op": "subscribe", "args": args}))
        frames = [str(await ws.receive()) for _ in range(n)]
        await ws.aclose()
    return frames


async def test_same_seed_same_pushes(autojump_clock: MockClock) -> None:
    results = []
    for seed in (11, 11, 12):
        # A fixed start: the same seed and start give the same pushes, to the millisecond.
        start = datetime(2026, 9, 21, 14, 13, 20, tzinfo=UTC)
        async with open_simulated_exchange(seed, memory=True, start_time=start) as exchange:
            await trio.sleep(1)
            results.append(await _first_pushes(exchange, 40))
    assert results[0] == results[1]
    assert results[0] != results[2]


# -- the context manager -------------------------------------------------------------------


async def test_block_errors_leave_unwrapped(autojump_clock: MockClock) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with open_simulated_exchange(memory=True):
            raise Boom
    with trio.move_on_after(1) as scope:
        async with open_simulated_exchange(memory=True):
            await trio.sleep_forever()
    assert scope.cancelled_caught
