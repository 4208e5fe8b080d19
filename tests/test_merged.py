"""``stream.subscribe_merged(specs)``: one stream of StreamMessage in arrival order, against
the simulated exchange in memory under MockClock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, assert_type

import pytest
import trio
import trio.testing
from conftest import open_sim_stream

import bitunix_trio as bt
from bitunix_trio.testing import SimulatedExchange


async def drain(channel: trio.abc.ReceiveChannel[Any], into: list[Any]) -> None:
    async for value in channel:
        into.append(value)


async def test_a_mix_of_specs_arrives_as_one_stream_in_arrival_order(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    specs: list[bt.ChannelSpec[Any] | bt.Subscription] = [
        bt.Subscription(channel="orderbook", symbol="BTCUSDT", params={"depth": 5}),
        bt.Ticker("ETHUSDT"),
        bt.Trades("BTCUSDT"),
        bt.Kline("BTCUSDT", "1min", closed_only=True),
        bt.Subscription(channel="balance", params={"snapshot": False}),
    ]
    merged: list[bt.StreamMessage] = []
    alone: dict[str, list[Any]] = {}
    async with (
        open_sim_stream(memory_sim, seed=1, credentials=memory_sim.credentials) as stream,
        stream.subscribe_merged(specs) as messages,
        stream.subscribe_many(specs, buffer=10_000, overflow="error") as channels,
        trio.open_nursery() as nursery,
    ):
        assert_type(messages, bt.MergedChannel)
        nursery.start_soon(drain, messages, merged)
        for channel in channels:
            alone[repr(channel.spec)] = []
            nursery.start_soon(drain, channel, alone[repr(channel.spec)])
        await trio.sleep(30)
        memory_sim.credit("USDT", "125.5")
        await trio.sleep(60)
        nursery.cancel_scope.cancel()
    # every spec's values, all of them, in the same order as its own subscription saw them
    by_spec: dict[str, list[Any]] = {}
    for message in merged:
        by_spec.setdefault(repr(message.spec), []).append(message.data)
    assert by_spec.keys() == alone.keys()
    for key, values in alone.items():
        assert by_spec[key][: len(values)] == values, key
    # arrival order: received_at never goes back
    times = [m.received_at for m in merged]
    assert times == sorted(times)
    # the fields
    channels_seen = {(m.channel, m.symbol) for m in merged}
    assert channels_seen == {
        ("depth_book5", "BTCUSDT"),
        ("ticker", "ETHUSDT"),
        ("trade", "BTCUSDT"),
        ("market_kline_1min", "BTCUSDT"),
        ("balance", None),
    }
    books = [m for m in merged if m.channel == "depth_book5"]
    assert all(isinstance(m.data, bt.OrderBookUpdate) for m in books)
    assert books[0].spec == bt.OrderBook("BTCUSDT", 5)
    candles = [m.data for m in merged if m.channel == "market_kline_1min"]
    assert candles
    assert all(c.closed for c in candles)
    (balance,) = [m for m in merged if m.channel == "balance" and m.data.available > 0]
    assert balance.source is bt.DataSource.WEBSOCKET
    assert isinstance(balance.data, bt.AccountBalance)
    # nothing of it is left routed once the block is over
    assert stream.statistics().subscriptions == 0


async def test_snapshots_give_way_and_lossless_messages_never_drop(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_sim_stream(memory_sim, seed=2) as stream:
        specs = [bt.Ticker("BTCUSDT"), bt.OrderBook("BTCUSDT", 1)]
        async with stream.subscribe_merged(specs, buffer=2) as messages:
            await trio.sleep(10)  # nobody reads: only the latest of each is kept
            latest = [messages.receive_nowait(), messages.receive_nowait()]
            assert {m.channel for m in latest} == {"ticker", "depth_book1"}
            assert all(m.received_at == max(x.received_at for x in latest) for m in latest)
            stats = messages.statistics()
            assert stats.dropped == stats.received - 2 > 0
            assert stats.error is None
        async with stream.subscribe_merged(
            [bt.Trades("BTCUSDT"), bt.Ticker("BTCUSDT")], buffer=3
        ) as messages:
            await trio.sleep(120)  # trades pile up: the subscription ends after them
            got = [messages.receive_nowait() for _ in range(3)]
            assert [m.channel for m in got] == ["trade"] * 3
            with pytest.raises(bt.ConsumerTooSlow, match="merged buffer full"):
                messages.receive_nowait()


async def test_error_overflow_ends_on_any_overflow(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with (
        open_sim_stream(memory_sim, seed=2) as stream,
        stream.subscribe_merged([bt.Ticker("BTCUSDT")], buffer=2, overflow="error") as messages,
    ):
        await trio.sleep(5)
        assert messages.receive_nowait().channel == "ticker"
        assert messages.receive_nowait().channel == "ticker"
        with pytest.raises(bt.ConsumerTooSlow):
            messages.receive_nowait()


async def test_a_refused_spec_fails_the_block_with_the_original_message(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_sim_stream(memory_sim, seed=3) as stream:
        memory_sim.refuse_subscriptions()
        with pytest.raises(bt.SubscriptionRejected, match="Subscription failed"):
            async with stream.subscribe_merged([bt.Ticker("BTCUSDT"), bt.Trades("BTCUSDT")]):
                pytest.fail("entered")
        assert stream.statistics().subscriptions == 0


async def test_bad_arguments_are_refused_at_once(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_sim_stream(memory_sim, seed=4) as stream:
        with pytest.raises(bt.ConfigurationError, match="takes a list of channel specs"):
            stream.subscribe_merged(bt.Ticker("BTCUSDT"))  # type: ignore[arg-type]
        with pytest.raises(bt.ConfigurationError, match="at least one"):
            stream.subscribe_merged([])
        with pytest.raises(bt.ConfigurationError, match="expected a channel spec"):
            stream.subscribe_merged(["ticker"])  # type: ignore[list-item]
        with pytest.raises(bt.ConfigurationError, match="overflow must be"):
            stream.subscribe_merged([bt.Ticker("BTCUSDT")], overflow="drop")
        with pytest.raises(bt.ConfigurationError, match="buffer"):
            stream.subscribe_merged([bt.Ticker("BTCUSDT")], buffer=0)
        with pytest.raises(
            bt.ConfigurationError, match="Cannot connect to private channels without API"
        ):
            stream.subscribe_merged([bt.Ticker("BTCUSDT"), bt.Subscription("orders")])


async def test_merged_used_without_async_with(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_sim_stream(memory_sim, seed=5) as stream:
        merged = stream.subscribe_merged([bt.Ticker("BTCUSDT")])
        with pytest.raises(bt.UsageError) as caught:
            await merged.receive()  # type: ignore[attr-defined]
        message = str(caught.value)
        assert "stream.subscribe_merged(...) is used without 'async with'" in message
        assert "async with stream.subscribe_merged(...) as messages:" in message
        assert "await messages.receive(...)" in message
        with pytest.raises(bt.UsageError, match="async for value in messages:"):
            async for _ in stream.subscribe_merged([bt.Ticker("BTCUSDT")]):  # type: ignore[attr-defined]
                pass
        with pytest.raises(bt.UsageError, match="cannot be awaited"):
            await stream.subscribe_merged([bt.Ticker("BTCUSDT")])  # type: ignore[misc]
        with (
            pytest.raises(bt.UsageError, match="'with' needs to be 'async with'"),
            stream.subscribe_merged([bt.Ticker("BTCUSDT")]),  # type: ignore[attr-defined]
        ):
            pass
        # used as written: the price of the first message is a Decimal
        async with stream.subscribe_merged([bt.Ticker("BTCUSDT")]) as messages:
            first = await messages.receive()
        assert_type(first, bt.StreamMessage)
        assert isinstance(first.data.last_price, Decimal)


async def test_leaving_the_block_cancels_a_candle_recovery_under_way(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_sim_stream(memory_sim, seed=6, fallback_grace=None) as stream:
        async with stream.subscribe_merged([bt.Kline("BTCUSDT", "1min")]) as messages:
            await messages.receive()
            memory_sim.rest_down()  # the recovery will keep retrying
            memory_sim.ws_down()
            await trio.sleep(61)
            memory_sim.ws_down(False)
            feed = stream._supervisor.candles
            assert feed is not None
            await memory_sim.wait_for_connections(1)
            await trio.sleep(1)  # the first push came: REST is being retried
            assert feed.recoveries == 1
            assert feed.stages
        assert not feed.stages
        await trio.sleep(10)
        assert feed.abandoned == 0  # cancelled, not given up
