"""The streaming client at exact virtual times, over the in-memory simulated exchange.

Everything runs under ``MockClock(autojump_threshold=0)``; the exchange opens at time 0 and
the stream connects at time 0, so every verdict time below is exact.
"""

from __future__ import annotations

import math
import random
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio
import trio.testing
from conftest import open_sim_stream

from bitunix_trio._core.backoff import Backoff
from bitunix_trio._core.channels import OrderBook, Ticker, Trades
from bitunix_trio._core.config import HeartbeatConfig, ReconnectPolicy
from bitunix_trio._core.protocol import ConnectionState
from bitunix_trio._stream.channel import SubscriptionStale
from bitunix_trio._stream.stream import BitunixStream, StateChange
from bitunix_trio.testing import ExchangeEngine, SimulatedExchange, open_simulated_exchange

SEED = 1234
TICK = 0.31
S = ConnectionState


def open_stream(
    sim: SimulatedExchange, **kwargs: Any
) -> AbstractAsyncContextManager[BitunixStream]:
    return open_sim_stream(sim, seed=SEED, **kwargs)


def state_of(stream: BitunixStream) -> ConnectionState:
    return stream.state  # through a function: mypy keeps attributes narrowed


async def changes_of(
    changes: trio.abc.ReceiveChannel[StateChange], n: int, *, connection: str | None = None
) -> list[StateChange]:
    got: list[StateChange] = []
    while len(got) < n:
        change = await changes.receive()
        if change.connection == connection:
            got.append(change)
    return got


async def test_connects_at_time_zero(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_stream(memory_sim) as stream:
        assert trio.current_time() == 0.0
        assert stream.state is S.CONNECTED
        async with stream.subscribe(OrderBook("BTCUSDT", depth=5)) as books:
            book = await books.receive()
            assert trio.current_time() == pytest.approx(TICK)  # the first market tick
            assert book.symbol == "BTCUSDT"
            assert book.best_bid is not None
            assert book.best_ask is not None
            assert len(book.bids) == 5


async def test_heartbeat_dead_at_interval_plus_timeout_then_reconnect(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    memory_sim.stop_answering_pings()
    async with open_stream(memory_sim) as stream, stream.state_events() as changes:
        lost, back = await changes_of(changes, 2, connection="public#0")
        assert (lost.old, lost.new, lost.time) == (S.CONNECTED, S.RECONNECTING, 20.0)
        assert lost.reason == "connection dead: no reply to ping within 5 s"
        pings = [f.time for f in memory_sim.recorder.ws_frames() if f.op == "ping"]
        assert pings == [15.0]
        backoff = Backoff(ReconnectPolicy(), random.Random(SEED))
        backoff.connected(0.0)
        delay = backoff.next_delay(20.0)
        assert back.new is S.CONNECTED
        assert back.time == pytest.approx(20.0 + delay)
        stats = stream.statistics()
        assert stats.reconnects == 1
        assert stats.connections[0].last_error == lost.reason


async def test_reconnect_attempts_follow_the_seeded_backoff(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    policy = ReconnectPolicy(initial_delay=1.0, max_delay=8.0)
    async with open_stream(memory_sim, reconnect=policy) as stream:
        async with stream.subscribe(Ticker("BTCUSDT")) as tickers:
            await trio.sleep(1.0)
            memory_sim.ws_down()
            await trio.sleep(40.0)
            memory_sim.ws_down(False)
            backoff = Backoff(policy, random.Random(SEED))
            backoff.connected(0.0)
            expected, t = [], 1.0
            while t <= 41.0:
                t += backoff.next_delay(t)
                expected.append(t)
            await memory_sim.wait_for_connections(1)
            assert trio.current_time() == pytest.approx(expected[-1])
            while tickers.statistics().buffer_used:
                tickers.receive_nowait()
            await tickers.receive()  # data flows again
        attempts = [c for c in memory_sim.recorder.connections if c.opened > 0]
        assert [c.opened for c in attempts] == pytest.approx(expected)
        assert [c.end for c in attempts[:-1]] == ["rejected"] * (len(expected) - 1)
        assert attempts[-1].end is None  # the one that connected
        assert stream.statistics().connections[0].failed_attempts == len(expected)


async def test_unknown_symbol_is_stale_after_stale_after(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_stream(memory_sim) as stream:
        async with stream.subscribe(OrderBook("NOPEUSDT")) as books:
            assert trio.current_time() == 0.0
            empty = await books.receive()  # one frame of empty levels...
            assert (empty.bids, empty.asks) == ((), ())
            assert trio.current_time() == pytest.approx(TICK)
            with pytest.raises(SubscriptionStale) as info:
                await books.receive()  # ...then silence
            assert trio.current_time() == pytest.approx(TICK + 10.0)
            assert "NOPEUSDT" in str(info.value)
            assert "unknown or delisted symbol?" in str(info.value)
            assert books.statistics().stale
        assert stream.state is S.CONNECTED  # the connection itself is fine


async def test_silent_ticker_beside_a_flowing_book(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    heartbeat = HeartbeatConfig(stale_after=5.0)
    async with (
        open_stream(memory_sim, heartbeat=heartbeat) as stream,
        stream.subscribe(OrderBook("BTCUSDT")) as books,
        stream.subscribe(Ticker("NOPEUSDT")) as nope,
    ):
        with pytest.raises(SubscriptionStale):
            await nope.receive()
        # No frame ever came: stale at the first push of a sibling after 5 s.
        assert trio.current_time() == pytest.approx(17 * TICK)
        await books.receive()  # the healthy one carries on


async def test_go_silent_is_a_dead_connection_not_stale_subscriptions(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with (
        open_stream(memory_sim) as stream,
        stream.state_events() as changes,
        stream.subscribe(OrderBook("BTCUSDT")) as books,
        stream.subscribe(Ticker("ETHUSDT")) as tickers,
    ):
        await trio.sleep(2.0)
        memory_sim.go_silent()
        (lost,) = await changes_of(changes, 1, connection="public#0")
        last_push = 6 * TICK  # the last tick before t=2
        assert lost.time == pytest.approx(last_push + 10.0)
        assert lost.reason == "connection dead: no data for 10 s"
        memory_sim.go_silent(False)
        await books.receive()
        await tickers.receive()
        assert not books.statistics().stale


async def test_budget_of_five_messages_per_second_on_the_wire(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_stream(memory_sim) as stream:
        for i in range(12):
            async with stream.subscribe(Ticker("BTCUSDT" if i % 2 else "ETHUSDT")):
                pass
        await trio.sleep(1.0)
        assert stream.statistics().reconnects == 0
    frames = memory_sim.recorder.ws_frames()
    ops = [f.op for f in frames]
    assert ops.count("subscribe") == 12
    assert ops.count("unsubscribe") == 12
    times = [f.time for f in frames]
    # Five at a time, 1.1 s apart (the exchange's 5 a second, with a margin).
    assert times == pytest.approx([1.1 * (i // 5) for i in range(len(times))])
    assert not [c for c in memory_sim.recorder.connections if c.end == "aborted"]


async def test_subscribe_many_batches_and_refcounts(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    specs = [Ticker(s) for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")]
    async with open_stream(memory_sim) as stream:
        async with stream.subscribe_many(specs) as channels:
            assert [c.spec for c in channels] == specs
            async with stream.subscribe(Ticker("BTCUSDT")) as again:
                assert (await again.receive()).symbol == "BTCUSDT"
            assert [(await c.receive()).symbol for c in channels] == [s.symbol for s in specs]
        await trio.sleep(0.1)
    sent = [(f.op, f.json()) for f in memory_sim.recorder.ws_frames() if f.op != "ping"]
    args = [{"symbol": s.symbol, "ch": "ticker"} for s in specs]
    assert sent == [
        ("subscribe", {"op": "subscribe", "args": args}),
        ("unsubscribe", {"op": "unsubscribe", "args": args}),
    ]


async def test_state_events_through_a_drop(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_stream(memory_sim) as stream, stream.state_events() as changes:
        await trio.sleep(3.0)
        memory_sim.drop_all()
        lost, back = await changes_of(changes, 2)
        assert (lost.old, lost.new, lost.time) == (S.CONNECTED, S.RECONNECTING, 3.0)
        assert lost.reason == "public#0: WebSocket disconnected (close code 1006)"
        assert (back.old, back.new) == (S.RECONNECTING, S.CONNECTED)
        assert state_of(stream) is S.CONNECTED
    assert state_of(stream) is S.CLOSED


async def test_consumer_too_slow_ends_only_that_subscription(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    from bitunix_trio._stream.errors import ConsumerTooSlow

    async with (
        open_stream(memory_sim) as stream,
        stream.subscribe(Trades("BTCUSDT"), buffer=4) as trades,
        stream.subscribe(OrderBook("BTCUSDT")) as books,
    ):
        await trio.sleep(30.0)  # never read the trades
        stats = trades.statistics()
        assert stats.buffer_used == 4
        assert stats.error is not None
        for _ in range(4):
            await trades.receive()
        with pytest.raises(ConsumerTooSlow):
            await trades.receive()
        before = books.statistics().received
        await books.receive()
        await trio.sleep(1.0)
        assert books.statistics().received > before
        assert books.statistics().buffer_used == 1  # conflated: only the latest


async def test_a_silent_spell_after_a_reconnect_does_not_end_a_live_subscription(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A market that pushes every second. After a reconnect the book pushes once, then the
    # whole socket goes silent and comes back just before the heartbeat ping, whose reply
    # beats the next push: the socket was quiet, the subscription was never unserved.
    engine = ExchangeEngine(seed=4, start_ms=1_790_000_000_000, tick_ms=1000)
    async with (
        open_simulated_exchange(memory=True, engine=engine) as sim,
        open_stream(sim) as stream,
        stream.state_events() as changes,
        stream.subscribe(OrderBook("BTCUSDT", depth=5)) as books,
    ):
        await books.receive()
        await books.receive()
        sim.drop_all()
        async for change in changes:
            if change.connection == "public#0" and change.new is S.CONNECTED:
                break
        connected_at = trio.current_time()
        await books.receive()  # the first push on the new socket
        sim.go_silent()
        # Back 1 ms before the heartbeat ping at connected_at + 15; the next push is later.
        back = connected_at + HeartbeatConfig().interval - 0.001
        assert math.ceil(back) > connected_at + HeartbeatConfig().interval  # ticks at whole s
        await trio.sleep_until(back)
        sim.go_silent(False)
        with trio.fail_after(60):
            for _ in range(30):
                book = await books.receive()  # no SubscriptionStale
        assert book.symbol == "BTCUSDT"
