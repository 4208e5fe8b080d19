"""The simulated exchange's clock, request freshness, protocol pings and markets.

Exact virtual times over the in-memory flavour (``MockClock(autojump_threshold=0)``); the
exchange's clock starts at the wall clock when it opens (or at ``start_time``).
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import trio
import trio_websocket
from conftest import RawWs, make_signed, recv, send
from trio.testing import MockClock

import bitunix_trio as bt
from bitunix_trio._cli.watch import watch
from bitunix_trio._core import signing as _signing
from bitunix_trio.testing import (
    DEFAULT_INSTRUMENTS,
    SimulatedExchange,
    open_simulated_exchange,
    serve_sim,
)
from bitunix_trio.testing._cli import main as sim_main

GREETING = {"op": "connect", "data": {"result": True}}
ACCOUNT = "/api/v1/futures/account"
KLINE = "/api/v1/futures/market/kline"
PENDING = "/api/v1/futures/trade/get_pending_orders"


def _date(response: Any) -> float:
    return email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()


# -- one clock -------------------------------------------------------------------------------


async def test_clock_starts_at_the_wall_clock(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    assert abs(memory_sim.start_ms / 1000 - time.time()) < 60
    await trio.sleep(3600)  # virtual: the exchange's clock follows Trio's
    assert memory_sim.now_ms() == memory_sim.start_ms + 3_600_000
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, {"op": "subscribe", "args": [{"symbol": "BTCUSDT", "ch": "trade"}]})
        frame = await recv(ws)
    assert frame["ts"] == memory_sim.now_ms()
    # Trade times carry the millisecond of the exchange's clock.
    stamp = datetime.fromisoformat(frame["data"][0]["t"].replace("Z", "+00:00"))
    assert stamp.microsecond == (frame["ts"] % 1000) * 1000
    assert stamp.timestamp() == frame["ts"] / 1000
    async with memory_sim.rest_client() as client:
        now = memory_sim.now_ms()
        response = await client.get(
            KLINE,
            params={"symbol": "BTCUSDT", "interval": "1m", "startTime": now - 600_000,
                    "endTime": now},
        )  # fmt: skip
    # Wall-clock queries find the candles; the Date header tells the same time.
    assert len(response.json()["data"]) >= 10
    assert abs(_date(response) - memory_sim.now_ms() / 1000) < 1


async def test_fixed_start(autojump_clock: MockClock) -> None:
    start = datetime(2026, 9, 21, 14, 13, 20, tzinfo=UTC)
    async with open_simulated_exchange(memory=True, start_time=start) as exchange:
        assert exchange.start_ms == 1_790_000_000_000
        await trio.sleep(1.5)
        assert exchange.now_ms() == 1_790_000_001_500
    async with open_simulated_exchange(memory=True, start_time=1_800_000_000) as exchange:
        assert exchange.start_ms == 1_800_000_000_000
    with pytest.raises(ValueError, match="aware"):
        async with open_simulated_exchange(memory=True, start_time=datetime(2026, 1, 1)):
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="seconds"):
        async with open_simulated_exchange(memory=True, start_time=1_800_000_000_000):
            pass  # pragma: no cover


@pytest.mark.loopback
async def test_loopback_clock_is_the_wall_clock(sim: SimulatedExchange) -> None:
    async with sim.rest_client() as client:
        response = await client.get("/api/v1/futures/market/tickers")
    assert abs(_date(response) - time.time()) < 5
    assert abs(sim.now_ms() / 1000 - time.time()) < 5


async def test_rest_times_are_strings(
    autojump_clock: MockClock, memory_sim: SimulatedExchange
) -> None:
    signed = make_signed(memory_sim)
    order = {"symbol": "BTCUSDT", "qty": "0.01", "side": "BUY", "tradeSide": "OPEN",
             "orderType": "LIMIT", "price": "1000", "effect": "GTC"}  # fmt: skip
    async with memory_sim.rest_client() as client:
        placed = await signed(client, "POST", "/api/v1/futures/trade/place_order", body=order)
        assert placed.json()["code"] == 0
        rows = (await signed(client, "GET", PENDING, params={"symbol": "BTCUSDT"})).json()
    row = rows["data"]["orderList"][0]
    assert row["ctime"] == row["mtime"] == str(memory_sim.now_ms())


# -- freshness -------------------------------------------------------------------------------


async def test_rest_freshness_and_nonces(
    autojump_clock: MockClock, memory_sim: SimulatedExchange
) -> None:
    params = {"marginCoin": "USDT"}

    async def call(timestamp_ms: int, nonce: str) -> tuple[int, str]:
        headers = _signing.rest_headers(
            memory_sim.credentials, nonce=nonce, timestamp_ms=timestamp_ms, params=params
        )
        async with memory_sim.rest_client() as client:
            body = (await client.get(ACCOUNT, params=params, headers=headers)).json()
        return body["code"], body["msg"]

    now = memory_sim.now_ms()
    assert await call(now - 3_600_000, "a" * 32) == (10007, "Timestamp expired")
    assert await call(now + 600_000, "b" * 32) == (10007, "Timestamp expired")
    assert await call(now // 1000, "c" * 32) == (10007, "Timestamp expired")  # seconds
    assert (await call(now - 59_000, "d" * 32))[0] == 0  # inside the 60 s window
    assert await call(now, "d" * 32) == (10007, "Nonce repeated")
    assert (await call(now, "e" * 32))[0] == 0


async def test_ws_login_freshness(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    def login(timestamp: int) -> dict[str, Any]:
        args = _signing.ws_login_args(memory_sim.credentials, nonce="n" * 32, timestamp=timestamp)
        return {"op": "login", "args": [args]}

    now = int(memory_sim.wall_clock())
    async with raw_ws(memory_sim, memory_sim.private_url) as ws:
        assert await recv(ws) == GREETING
        for stale in (now - 3600, now + 600, (now - 3600) * 1000):
            await send(ws, login(stale))
            reply = (await recv(ws))["data"]
            assert (reply["result"], reply["msg"]) == (False, "timestamp expired")
            await trio.sleep(1)
        await send(ws, login(now))  # the same nonce again: not checked on logins
        assert await recv(ws) == {"op": "login", "data": {"result": True}}


async def test_skewed_clock_is_reported_as_clock_skew(
    autojump_clock: MockClock, memory_sim: SimulatedExchange
) -> None:
    async with bt.open_rest_client(**memory_sim.rest_options()) as rest:
        await rest.get_account()
        memory_sim.skew_clock(120)  # the exchange runs 2 minutes ahead of the client
        with pytest.raises(bt.ClockSkewError) as info:
            await rest.get_account()
        assert info.value.offset == pytest.approx(120, abs=1)
        assert "s behind the exchange's (its Date header)" in str(info.value)
        assert isinstance(info.value, bt.AuthenticationError)
        memory_sim.skew_clock(30)  # inside the window: accepted
        await rest.get_account()
        memory_sim.reset_faults()
        await rest.get_account()
    memory_sim.skew_clock(-300)
    options = memory_sim.stream_options()
    with pytest.raises(bt.ClockSkewError, match="timestamp"):
        async with bt.open_bitunix_stream(**options):
            pass  # pragma: no cover


async def test_client_signs_with_the_current_time_on_every_login(
    autojump_clock: MockClock, memory_sim: SimulatedExchange
) -> None:
    async with bt.open_bitunix_stream(**memory_sim.stream_options()) as stream:
        await trio.sleep(600)  # ten virtual minutes later the exchange drops everything
        memory_sim.drop_all()
        await trio.sleep(30)  # the reconnect and its login are well done by then
        assert stream.state is bt.ConnectionState.AUTHENTICATED
    sent: list[Any] = memory_sim.recorder.ws_messages(path="/private/")
    stamps = [m["args"][0]["timestamp"] for m in sent if m["op"] == "login"]
    assert len(stamps) == 2
    assert stamps[1] - stamps[0] >= 600


# -- protocol pings --------------------------------------------------------------------------


async def test_protocol_ping_as_first_frame_is_not_answered_and_cut(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        with trio.move_on_after(5) as pong_wait:
            await ws.ping(b"keepalive")
        assert pong_wait.cancelled_caught  # no pong
        with pytest.raises(trio_websocket.ConnectionClosed) as info:
            await ws.get_message()
        assert info.value.reason is not None
        assert info.value.reason.code == 1006
    records = memory_sim.recorder.connections
    assert records[0].reason == "protocol ping as the first frame"
    assert records[0].closed == pytest.approx(1.5)


async def test_protocol_ping_after_a_json_frame_is_answered(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, {"op": "ping", "ping": 1})
        assert (await recv(ws))["op"] == "ping"
        with trio.fail_after(1):
            await ws.ping(b"keepalive")
        assert memory_sim.connection_count == 1


# -- markets ---------------------------------------------------------------------------------


def test_default_markets() -> None:
    listed = [i for i in DEFAULT_INSTRUMENTS if i.status == "OPEN"]
    assert len(listed) >= 20
    symbols = {i.symbol for i in DEFAULT_INSTRUMENTS}
    assert {"BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "NEWUSDT"} <= symbols
    for inst in listed:
        assert inst.price % inst.tick_size == 0
        assert inst.min_qty >= inst.lot_size > 0
        # a few dollars to a few hundred per minimum order, as listed
        assert 0.01 <= float(inst.price * inst.min_qty) <= 100


async def test_symbols_option(autojump_clock: MockClock) -> None:
    async with open_simulated_exchange(memory=True, symbols=["ethusdt", "FOOUSDT"]) as exchange:
        assert list(exchange.engine.instruments) == ["ETHUSDT", "FOOUSDT"]
        assert exchange.engine.is_listed("FOOUSDT")
        assert not exchange.engine.is_listed("BTCUSDT")
    with pytest.raises(ValueError, match="USDT perpetual"):
        async with open_simulated_exchange(memory=True, symbols=["BTC-USD"]):
            pass  # pragma: no cover


async def test_300_streams_with_data(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    channels = ["depth_book1", "depth_book5", "depth_book15", "ticker", "price",
                "market_kline_1min", "market_kline_5min", "mark_kline_1min",
                "market_kline_15min", "mark_kline_5min", "market_kline_60min",
                "mark_kline_15min", "tickers"]  # fmt: skip
    listed = [i.symbol for i in DEFAULT_INSTRUMENTS if i.status == "OPEN"]
    keys = [(ch, s) for s in listed for ch in channels][:301]
    assert len(keys) == 301
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        args = [{"symbol": s, "ch": ch} for ch, s in keys]
        await send(ws, {"op": "subscribe", "args": args})
        refused = await recv(ws)
        assert refused["op"] == "subscribe"
        assert refused["data"]["msg"] == "subscribe channel > 300"
        seen: set[tuple[str, str]] = set()
        with trio.move_on_after(3):
            while len(seen) < 300:
                frame = await recv(ws)
                symbol = frame.get("symbol") or frame["data"][0]["s"]
                seen.add((frame["ch"], symbol))
    assert seen == set(keys[:300])


async def test_ticker_cadence(
    autojump_clock: MockClock, memory_sim: SimulatedExchange, raw_ws: RawWs
) -> None:
    times: list[float] = []
    async with raw_ws(memory_sim, memory_sim.public_url) as ws:
        assert await recv(ws) == GREETING
        await send(ws, {"op": "subscribe", "args": [{"symbol": "BTCUSDT", "ch": "ticker"}]})
        with trio.move_on_after(60):
            while True:
                await recv(ws)
                times.append(round(trio.current_time(), 2))
    assert times[:4] == [0.31, 1.55, 3.1, 4.34]
    assert 0.6 <= len(times) / 60 <= 0.8  # about 0.7 a second, as probed live


@pytest.mark.loopback
async def test_sim_cli_symbols_and_start_time(capsys: pytest.CaptureFixture[str]) -> None:
    lines: list[str] = []
    async with trio.open_nursery() as nursery:
        exchange: SimulatedExchange = await nursery.start(
            lambda task_status: serve_sim(
                symbols=["BTCUSDT", "ethusdt"],
                start_time=1_790_000_000,
                print_fn=lines.append,
                task_status=task_status,
            )
        )
        assert "  symbols:           BTCUSDT, ETHUSDT" in lines
        assert exchange.start_ms == 1_790_000_000_000
        async with exchange.rest_client() as client:
            pairs = (await client.get("/api/v1/futures/market/trading_pairs")).json()["data"]
        assert [p["symbol"] for p in pairs] == ["BTCUSDT", "ETHUSDT"]
        nursery.cancel_scope.cancel()
    assert sim_main(["sim", "--symbols", "BTC-USD"]) == 2
    assert "not a USDT perpetual symbol" in capsys.readouterr().err


async def test_watch_demo_shows_the_time_of_day(autojump_clock: MockClock) -> None:
    lines: list[str] = []
    await watch(["BTCUSDT"], demo=True, memory=True, duration=1.0, print_fn=lines.append)
    update = next(line for line in lines if "BTCUSDT" in line and not line.startswith("watch"))
    shown = datetime.strptime(update[:8], "%H:%M:%S").time()
    now = datetime.now(UTC)
    apart = (now.hour * 3600 + now.minute * 60 + now.second) - (
        shown.hour * 3600 + shown.minute * 60 + shown.second
    )
    assert apart % 86400 < 60 or apart % 86400 > 86400 - 60


async def test_retries_are_signed_with_the_time_they_are_sent(
    autojump_clock: MockClock, memory_sim: SimulatedExchange
) -> None:
    options = {**memory_sim.rest_options(), "retry_delay": 40.0, "max_retry_delay": 40.0}
    memory_sim.throttle_rest()
    async with bt.open_rest_client(**options) as rest, trio.open_nursery() as nursery:
        nursery.start_soon(rest.get_account)  # tries at 0, 40 and 80 s: throttled
        await trio.sleep(100)
        memory_sim.throttle_rest(False)  # the last try, 120 s after the first, is accepted
    stamps = [int(dict(r.headers)["timestamp"]) for r in memory_sim.recorder.requests]
    assert [round((s - stamps[0]) / 1000) for s in stamps] == [0, 40, 80, 120]
    assert memory_sim.recorder.requests[-1].code == 0
