"""Closed candles through the stream, against the simulated exchange in memory, at exact
virtual times: every bucket's closed candle arrives once, in order, equal to the exchange's
own candle, including the buckets that closed while the WebSocket was down."""

from __future__ import annotations

import math
from typing import Any

import pytest
import trio
import trio.testing
from conftest import open_sim_stream

import bitunix_trio as bt
from bitunix_trio._core.wire import ms_to_datetime
from bitunix_trio._stream.candles import CandleFeed
from bitunix_trio.testing import SimulatedExchange

MINUTE_MS = 60_000


def tick_time_at_or_after(exchange: SimulatedExchange, ms: int) -> float:
    """Trio time of the first market tick at or after exchange millisecond ``ms``."""
    clock = exchange._ws.clock
    k = math.ceil((ms - clock.start_ms) / clock.tick_ms)
    return clock.tick_time(k)


def candle_fields(candle: bt.KlineUpdate) -> tuple[Any, ...]:
    return (
        candle.open_time_ms,
        candle.open,
        candle.high,
        candle.low,
        candle.close,
        candle.base_volume,
        candle.quote_volume,
    )


async def collect(
    channel: trio.abc.ReceiveChannel[bt.KlineUpdate],
    into: list[tuple[float, bt.KlineUpdate]],
) -> None:
    async for value in channel:
        into.append((trio.current_time(), value))


async def bucket_just_begun(exchange: SimulatedExchange, size_ms: int) -> int:
    """Wait (in virtual time) until a bucket of ``size_ms`` began a second ago; return its start.

    The in-memory exchange's clock starts at the wall clock, so without this a stream opened in
    the last moments of a bucket subscribes after it closed and rightly never reports it.
    """
    now = exchange.now_ms()
    start = now - now % size_ms + size_ms
    await trio.sleep((start + 1_000 - now) / 1000)
    return start


async def exchange_candles(exchange: SimulatedExchange, first: int, last: int) -> list[Any]:
    async with bt.open_rest_client(**exchange.rest_options(credentials=None)) as rest:
        rows = await rest.get_klines("BTCUSDT", "1m", start_time=first, end_time=last)
    return [candle_fields(row) for row in rows]


@pytest.mark.parametrize("fault", ["drop_all", "ws_down"])
async def test_closed_candles_survive_a_disconnect_spanning_two_closes(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock, fault: str
) -> None:
    closed: list[tuple[float, bt.KlineUpdate]] = []
    running: list[tuple[float, bt.KlineUpdate]] = []
    first_bucket = await bucket_just_begun(memory_sim, MINUTE_MS)
    start_ms = memory_sim.now_ms()
    async with open_sim_stream(memory_sim, seed=3, fallback_grace=None) as stream:
        async with (
            stream.subscribe(bt.Kline("BTCUSDT", "1min", closed_only=True)) as only_closed,
            stream.subscribe(bt.Kline("BTCUSDT", "1m"), buffer=1000) as everything,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(collect, only_closed, closed)
            nursery.start_soon(collect, everything, running)
            # two closes live, then a spell without the WebSocket spanning two closes
            down_at = first_bucket + 2 * MINUTE_MS + 20_000
            await trio.sleep((down_at - start_ms) / 1000)
            if fault == "drop_all":
                memory_sim.drop_all()
                memory_sim.ws_down()  # keep it down: reconnects are refused
            else:
                memory_sim.ws_down()
            await trio.sleep(130)  # through the closes of buckets 2 and 3
            memory_sim.ws_down(False)
            up_at = trio.current_time()
            end = first_bucket + 7 * MINUTE_MS + 1_000
            await trio.sleep((end - memory_sim.now_ms()) / 1000)
            nursery.cancel_scope.cancel()
        feed = stream._supervisor.candles
        assert isinstance(feed, CandleFeed)
        assert feed.recoveries == 2  # one per subscription
        assert feed.abandoned == 0

    # every bucket from the first to the last finished one, once, in order
    buckets = [first_bucket + m * MINUTE_MS for m in range(7)]
    assert [c.open_time_ms for _, c in closed] == buckets
    assert all(c.closed for _, c in closed)
    # equal to the exchange's own candles
    assert [candle_fields(c) for _, c in closed] == await exchange_candles(
        memory_sim, buckets[0], buckets[-1]
    )
    # bucket 2 (running at the drop) and 3 came from REST; the others from rollover
    sources = [c.source for _, c in closed]
    recovered = bt.DataSource.RECOVERED
    websocket = bt.DataSource.WEBSOCKET
    assert sources == [websocket, websocket, recovered, recovered, websocket, websocket, websocket]
    # a live close arrives with the first push of the next bucket: its first market tick
    for at, candle in closed:
        if candle.source is websocket:
            assert at == tick_time_at_or_after(memory_sim, candle.open_time_ms + MINUTE_MS)
    # the recovered ones arrive together, with the first push after the WebSocket is back
    # (held until then), before anything of the bucket that push belongs to
    after_up = [(at, v) for at, v in running if at > up_at]
    first_at = after_up[0][0]
    assert [(v.source, v.closed) for at, v in after_up if at == first_at] == [
        (recovered, True),
        (recovered, True),
        (websocket, False),
    ]
    # (each subscription fetches its own: the REST client's limiter, 10 requests/s with a
    # margin, may put one request slot between the two)
    (recovered_at,) = {at for at, c in closed if c.source is recovered}
    assert up_at < recovered_at
    assert abs(recovered_at - first_at) < 0.2
    # the unfiltered subscription has the same closed candles, each after the running
    # values of its bucket and before any value of a later bucket
    assert [c for _, c in running if c.closed] == [c for _, c in closed]
    last_start = -1
    for _, value in running:
        assert value.open_time_ms >= last_start
        # nothing of a bucket after its close
        last_start = value.open_time_ms + 1 if value.closed else value.open_time_ms


async def test_closed_only_ignores_rest_polls_while_degraded(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    closed: list[tuple[float, bt.KlineUpdate]] = []
    running: list[tuple[float, bt.KlineUpdate]] = []
    first_bucket = await bucket_just_begun(memory_sim, MINUTE_MS)
    start_ms = memory_sim.now_ms()
    async with (
        open_sim_stream(memory_sim, seed=4, fallback_grace=2, poll_interval=5) as stream,
        stream.subscribe(bt.Kline("BTCUSDT", "1min", closed_only=True)) as only_closed,
        stream.subscribe(bt.Kline("BTCUSDT", "1min"), buffer=1000) as everything,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(collect, only_closed, closed)
        nursery.start_soon(collect, everything, running)
        await trio.sleep((first_bucket + MINUTE_MS + 30_000 - start_ms) / 1000)
        memory_sim.ws_down()
        await trio.sleep(90)
        memory_sim.ws_down(False)
        await trio.sleep((first_bucket + 4 * MINUTE_MS + 500 - memory_sim.now_ms()) / 1000)
        nursery.cancel_scope.cancel()
    polled = [c for _, c in running if c.source is bt.DataSource.REST]
    assert polled
    assert not any(c.closed for c in polled)
    buckets = [first_bucket + m * MINUTE_MS for m in range(4)]
    assert [c.open_time_ms for _, c in closed] == buckets
    assert [candle_fields(c) for _, c in closed] == await exchange_candles(
        memory_sim, buckets[0], buckets[-1]
    )


async def test_three_minute_candles_are_recovered_from_one_minute_rest_candles(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    closed: list[tuple[float, bt.KlineUpdate]] = []
    bucket = 3 * MINUTE_MS
    first_bucket = await bucket_just_begun(memory_sim, bucket)
    start_ms = memory_sim.now_ms()
    async with (
        open_sim_stream(memory_sim, seed=5, fallback_grace=None) as stream,
        stream.subscribe(bt.Kline("BTCUSDT", "3min", closed_only=True)) as only_closed,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(collect, only_closed, closed)
        await trio.sleep((first_bucket + bucket + 10_000 - start_ms) / 1000)
        memory_sim.ws_down()
        await trio.sleep(2 * bucket / 1000)
        memory_sim.ws_down(False)
        await trio.sleep((first_bucket + 4 * bucket + 500 - memory_sim.now_ms()) / 1000)
        nursery.cancel_scope.cancel()
    starts = [first_bucket + k * bucket for k in range(4)]
    assert [c.open_time_ms for _, c in closed] == starts
    assert [c.source for _, c in closed][1:3] == [bt.DataSource.RECOVERED] * 2
    # the exchange's own 3-minute candles: its 1-minute candles folded by hand
    async with bt.open_rest_client(**memory_sim.rest_options(credentials=None)) as rest:
        minutes = await rest.get_klines(
            "BTCUSDT", "1m", start_time=starts[0], end_time=starts[-1] + bucket - 1
        )
    expected = []
    for s in starts:
        group = [m for m in minutes if s <= m.open_time_ms < s + bucket]
        assert len(group) == 3
        expected.append(
            (
                s,
                group[0].open,
                max(m.high for m in group),
                min(m.low for m in group),
                group[-1].close,
                sum(m.base_volume for m in group),
                sum(m.quote_volume for m in group),
            )
        )
    # (bucket 0 began before the exchange opened: its synthetic history is per interval)
    assert [candle_fields(c) for _, c in closed][1:] == expected[1:]


async def test_candles_rest_cannot_recover_are_announced_and_the_rest_goes_on(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    closed: list[tuple[float, bt.KlineUpdate]] = []
    first_bucket = await bucket_just_begun(memory_sim, MINUTE_MS)
    start_ms = memory_sim.now_ms()
    async with (
        open_sim_stream(memory_sim, seed=6, fallback_grace=None) as stream,
        stream.state_events() as changes,
        stream.subscribe(bt.Kline("BTCUSDT", "1min", closed_only=True)) as only_closed,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(collect, only_closed, closed)
        await trio.sleep((first_bucket + MINUTE_MS + 30_000 - start_ms) / 1000)
        memory_sim.rest_down()
        memory_sim.ws_down()
        await trio.sleep(90)  # back as bucket 3 starts
        memory_sim.ws_down(False)
        await trio.sleep((first_bucket + 4 * MINUTE_MS + 500 - memory_sim.now_ms()) / 1000)
        nursery.cancel_scope.cancel()
        notices: list[str] = []
        while True:
            try:
                change = changes.receive_nowait()
            except trio.WouldBlock:
                break
            if change.old is change.new and change.reason:
                notices.append(change.reason)
    # buckets 1 and 2 closed unseen and REST was down: announced, not invented
    starts = [c.open_time_ms for _, c in closed]
    assert starts == [first_bucket, first_bucket + 3 * MINUTE_MS]
    lost_from = ms_to_datetime(first_bucket + MINUTE_MS).isoformat()[:19]
    lost_to = ms_to_datetime(first_bucket + 2 * MINUTE_MS).isoformat()[:19]
    (notice,) = [n for n in notices if "could not be fetched over REST" in n]
    assert f"from {lost_from}Z to {lost_to}Z" in notice
    assert "Kline(symbol='BTCUSDT', interval='1min'" in notice
