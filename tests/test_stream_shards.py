"""Extra public connections (shards) close once idle, over the in-memory simulated exchange.

Everything runs under ``MockClock(autojump_threshold=0)``, so the close happens at an exact
virtual time: ``IDLE_SHARD_GRACE`` seconds after the last subscription of a shard left.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import trio
import trio.testing
from conftest import open_sim_stream

from bitunix_trio._core.channels import ChannelSpec, MarkPrice, OrderBook, Ticker, Trades
from bitunix_trio._core.protocol import ConnectionState
from bitunix_trio._stream.channel import SubscriptionChannel
from bitunix_trio._stream.open import DEFAULT_FALLBACK_GRACE
from bitunix_trio._stream.pool import IDLE_SHARD_GRACE
from bitunix_trio._stream.stream import BitunixStream, StateChange
from bitunix_trio.testing import SimulatedExchange

S = ConnectionState
#: Market data that streams on the simulated exchange (a tick every 0.31 s).
FLOWING: list[ChannelSpec[Any]] = [
    *(OrderBook(symbol, depth=d) for symbol in ("BTCUSDT", "ETHUSDT") for d in (1, 5, 15)),
    Ticker("BTCUSDT"),
    Ticker("ETHUSDT"),
    MarkPrice("SOLUSDT"),
]


def filler(start: int, count: int) -> list[ChannelSpec[Any]]:
    """Subscriptions that stay quiet without being stale (trades of unlisted symbols)."""
    return [Trades(f"NOPE{i}USDT") for i in range(start, start + count)]


def first_shard() -> list[ChannelSpec[Any]]:
    """300 subscriptions: they fill the first connection."""
    specs = FLOWING + filler(0, 300 - len(FLOWING))
    assert len(set(specs)) == 300
    return specs


def second_shard() -> list[ChannelSpec[Any]]:
    """50 more: they need a second connection; the first two stream."""
    specs: list[ChannelSpec[Any]] = [Ticker("XRPUSDT"), OrderBook("XRPUSDT", depth=5)]
    return specs + filler(1000, 48)


def open_stream(sim: SimulatedExchange) -> AbstractAsyncContextManager[BitunixStream]:
    return open_sim_stream(sim, seed=7)


def names(stream: BitunixStream) -> list[str]:
    return [c.name for c in stream.statistics().connections]


def public_records(sim: SimulatedExchange) -> list[Any]:
    return [c for c in sim.recorder.connections if c.path.rstrip("/") == "/public"]


async def flows(channels: Sequence[SubscriptionChannel[Any]], seconds: float = 2.0) -> None:
    """Each of ``channels`` receives new values within ``seconds`` (tickers push every
    1.24 to 1.55 s)."""
    before = [channel.statistics().received for channel in channels]
    await trio.sleep(seconds)
    after = [channel.statistics().received for channel in channels]
    assert all(b > a for a, b in zip(before, after, strict=True)), (before, after)


async def test_idle_shard_closes_after_the_grace_period_and_comes_back(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(60):  # virtual seconds: a regression fails, not hangs
        assert IDLE_SHARD_GRACE == 5.0
        async with open_stream(memory_sim) as stream, stream.state_events() as changes:
            async with stream.subscribe_many(first_shard()) as kept:
                async with stream.subscribe_many(second_shard()) as extra:
                    assert memory_sim.connection_count == 2
                    assert names(stream) == ["public#0", "public#1"]
                    assert [c.subscriptions for c in stream.statistics().connections] == [300, 50]
                    assert (await extra[0].receive()).symbol == "XRPUSDT"
                left = trio.current_time()
                await trio.sleep(IDLE_SHARD_GRACE - 0.01)
                assert memory_sim.connection_count == 2  # kept during the grace period
                counted = stream.statistics().messages_received
                await memory_sim.wait_for_connections(1)
                # The stream's totals keep what the closed shard counted.
                assert stream.statistics().messages_received >= counted
                assert trio.current_time() == left + IDLE_SHARD_GRACE
                assert names(stream) == ["public#0"]
                assert stream.state is S.CONNECTED
                shard = public_records(memory_sim)[1]
                assert (shard.end, shard.closed) == ("closed", left + IDLE_SHARD_GRACE)
                await flows(kept[: len(FLOWING)])  # the 300 go on
                assert stream.statistics().subscriptions == 300

                async with stream.subscribe_many(second_shard()) as again:
                    assert memory_sim.connection_count == 2  # a second socket again
                    assert names(stream) == ["public#0", "public#1"]
                    assert (await again[0].receive()).symbol == "XRPUSDT"
                    await flows([*kept[: len(FLOWING)], *again[:2]])
                assert len(public_records(memory_sim)) == 3

            # The shard's end is a state event of that connection, not of the stream.
            seen: list[StateChange] = []
            while True:
                try:
                    seen.append(changes.receive_nowait())
                except trio.WouldBlock:
                    break
        closed = [c for c in seen if c.new is S.CLOSED]
        assert [(c.connection, c.old, c.reason, c.time) for c in closed] == [
            ("public#1", S.CONNECTED, "no subscription for 5 s", left + IDLE_SHARD_GRACE)
        ]
        # The stream stays CONNECTED throughout: extra shards opening and closing are
        # events of those connections only.
        assert [c for c in seen if c.connection is None] == []


async def test_subscribing_again_within_the_grace_period_keeps_the_socket(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(60):  # virtual seconds: a regression fails, not hangs
        async with open_stream(memory_sim) as stream, stream.subscribe_many(first_shard()):
            async with stream.subscribe_many(second_shard()):
                assert memory_sim.connection_count == 2
            await trio.sleep(IDLE_SHARD_GRACE - 1.0)
            async with stream.subscribe_many(second_shard()[:1]) as again:
                await trio.sleep(2 * IDLE_SHARD_GRACE)  # well past the first grace period
                assert memory_sim.connection_count == 2
                assert len(public_records(memory_sim)) == 2  # no new socket
                assert (await again[0].receive()).symbol == "XRPUSDT"
            left = trio.current_time()
            await memory_sim.wait_for_connections(1)
            assert trio.current_time() == left + IDLE_SHARD_GRACE


async def test_free_places_on_open_connections_are_used_first(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(60):  # virtual seconds: a regression fails, not hangs
        async with open_stream(memory_sim) as stream:
            async with stream.subscribe_many(first_shard()[:-10]) as kept:
                async with stream.subscribe_many(first_shard()[-10:]):
                    async with stream.subscribe_many(second_shard()):
                        assert names(stream) == ["public#0", "public#1"]
                    await memory_sim.wait_for_connections(1)
                # 10 places free on public#0: they take these rather than a new socket.
                async with stream.subscribe_many(second_shard()[:10]) as moved:
                    assert memory_sim.connection_count == 1
                    stats = stream.statistics().connections
                    assert [(c.name, c.subscriptions) for c in stats] == [("public#0", 300)]
                    await flows([*kept[: len(FLOWING)], moved[0]])
            # The first connection stays, however idle.
            await trio.sleep(3 * IDLE_SHARD_GRACE)
            assert memory_sim.connection_count == 1
            assert names(stream) == ["public#0"]
            assert stream.state is S.CONNECTED


async def test_a_gap_is_filled_only_when_the_open_connections_are_full(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(120):
        async with open_stream(memory_sim) as stream, stream.subscribe_many(first_shard()):
            middle = stream.subscribe_many(filler(2000, 300))
            await middle.__aenter__()  # left before the block below (not nested)
            async with stream.subscribe_many(second_shard()) as last:
                stats = stream.statistics().connections
                assert [(c.name, c.subscriptions) for c in stats] == [
                    ("public#0", 300),
                    ("public#1", 300),
                    ("public#2", 50),
                ]
                await middle.__aexit__(None, None, None)
                await memory_sim.wait_for_connections(2)  # public#1 idle, then closed
                assert names(stream) == ["public#0", "public#2"]
                # public#2 has 250 free places: new subscriptions go there, no socket opens.
                async with stream.subscribe_many(filler(3000, 250)):
                    assert memory_sim.connection_count == 2
                    assert len(public_records(memory_sim)) == 3
                    await flows(last[:2])
                    # Every open connection is full: the next one opens the gap again.
                    async with stream.subscribe(Ticker("SOLUSDT")) as extra:
                        assert names(stream) == ["public#0", "public#1", "public#2"]
                        assert len(public_records(memory_sim)) == 4
                        assert (await extra.receive()).symbol == "SOLUSDT"


async def next_change(
    changes: trio.abc.ReceiveChannel[StateChange], state: S, connection: str | None = None
) -> StateChange:
    """The next change of ``connection`` (None: the stream) into ``state``."""
    async for change in changes:
        if change.connection == connection and change.new is state and change.old is not state:
            return change
    raise AssertionError("state events ended")


async def test_a_shard_left_while_down_closes_and_degraded_mode_still_ends(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(300):
        async with (
            open_stream(memory_sim) as stream,
            stream.state_events(buffer=10_000) as changes,  # a notice per Trades while down
            stream.subscribe_many(first_shard()) as kept,
        ):
            async with stream.subscribe_many(second_shard()):
                memory_sim.ws_down()
                down = trio.current_time()
                degraded = await next_change(changes, S.DEGRADED)
                assert degraded.time == down + DEFAULT_FALLBACK_GRACE
            left = trio.current_time()
            closed = await next_change(changes, S.CLOSED, "public#1")
            assert (closed.old, closed.time) == (S.RECONNECTING, left + IDLE_SHARD_GRACE)
            assert names(stream) == ["public#0"]
            assert stream.state is S.DEGRADED  # public#0 is still down
            memory_sim.ws_down(False)
            await next_change(changes, S.CONNECTED)
            await flows(kept[: len(FLOWING)])
            # Down again: REST takes over after the grace period again, not at once (the
            # closed shard did not leave the fallback believing it is still down).
            memory_sim.ws_down()
            down = trio.current_time()
            assert (await next_change(changes, S.RECONNECTING)).time == down
            degraded = await next_change(changes, S.DEGRADED)
            assert degraded.time == down + DEFAULT_FALLBACK_GRACE
            memory_sim.ws_down(False)
            await next_change(changes, S.CONNECTED)
