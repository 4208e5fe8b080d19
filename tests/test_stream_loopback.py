"""The streaming client against the simulated exchange on 127.0.0.1: sharding, private
channels, slow consumers and a clean teardown (outcomes, not times)."""

from __future__ import annotations

import contextlib
import os
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio
import trio.testing
from conftest import library_tasks, open_sim_stream

from bitunix_trio._core.channels import (
    Balance,
    ChannelSpec,
    Kline,
    MarkPrice,
    OrderBook,
    Orders,
    Positions,
    Ticker,
    Trades,
)
from bitunix_trio._core.config import HeartbeatConfig
from bitunix_trio._core.models import KLINE_INTERVALS
from bitunix_trio._core.protocol import ConnectionState
from bitunix_trio._stream.channel import SubscriptionChannel
from bitunix_trio._stream.connector import Connector
from bitunix_trio._stream.errors import ConsumerTooSlow
from bitunix_trio._stream.stream import BitunixStream
from bitunix_trio.testing import SimulatedExchange

pytestmark = pytest.mark.loopback

S = ConnectionState
LISTED = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")


def open_stream(
    sim: SimulatedExchange, **kwargs: Any
) -> AbstractAsyncContextManager[BitunixStream]:
    kwargs.setdefault("close_timeout", 1.0)
    return open_sim_stream(sim, seed=9, **kwargs)


def client_sockets(sim: SimulatedExchange) -> list[str] | None:
    """This process's TCP sockets connected *to* the exchange (its client ends), Linux only."""
    ports = {urlsplit(sim.public_url).port, urlsplit(sim.rest_url).port}
    try:
        inodes = set()
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/self/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        with open("/proc/net/tcp") as table:
            rows = [line.split() for line in table.read().splitlines()[1:]]
    except OSError:  # pragma: no cover - not Linux
        return None
    return [
        f"{row[1]} -> {row[2]} state {row[3]}"
        for row in rows
        if row[9] in inodes and int(row[2].split(":")[1], 16) in ports
    ]


def many_specs() -> list[ChannelSpec[Any]]:
    """350 distinct public subscriptions; the last ones on listed symbols (they stream)."""
    unknown: list[ChannelSpec[Any]] = [Ticker(f"NOPE{i}USDT") for i in range(350)]
    listed: list[ChannelSpec[Any]] = []
    for symbol in LISTED:
        listed += [OrderBook(symbol, depth=d) for d in (1, 5, 15)]
        listed += [Ticker(symbol), MarkPrice(symbol)]
        listed += [Kline(symbol, interval) for interval in sorted(KLINE_INTERVALS)[:5]]
    return unknown[: 350 - len(listed)] + listed


async def test_350_subscriptions_over_two_connections(
    sim: SimulatedExchange, transport: Connector
) -> None:
    specs = many_specs()
    assert len(set(specs)) == 350
    heartbeat = HeartbeatConfig(stale_after=30.0)
    with trio.fail_after(15):
        async with (
            open_stream(sim, connector=transport, heartbeat=heartbeat) as stream,
            stream.subscribe_many(specs) as channels,
        ):
            streams = sorted(len(c.streams) for c in sim.connections)
            assert streams == [50, 300]
            first, last = channels[0], channels[-1]
            assert (await last.receive()).symbol == "XRPUSDT"  # from the second connection
            stats = stream.statistics()
            assert [c.name for c in stats.connections] == ["public#0", "public#1"]
            assert [c.subscriptions for c in stats.connections] == [300, 50]
            assert stats.subscriptions == 350
            assert stream.state is S.CONNECTED
            assert first.statistics().received == 0  # an unknown symbol: nothing yet
        refused = [f for f in sim.recorder.ws_frames() if '"result":false' in f.text]
        assert refused == []


async def fresh_value(channel: SubscriptionChannel[Any]) -> Any:
    """A value that arrived after this call (older buffered ones are skipped)."""
    before = channel.statistics().received
    while True:
        value = await channel.receive()
        if channel.statistics().received > before:
            return value


async def test_idle_extra_connection_closes_and_comes_back(
    sim: SimulatedExchange, transport: Connector
) -> None:
    flowing: list[ChannelSpec[Any]] = [OrderBook(s, depth=5) for s in LISTED[:3]]
    quiet: list[ChannelSpec[Any]] = [Trades(f"NOPE{i}USDT") for i in range(350)]
    first = flowing + quiet[: 300 - len(flowing)]
    second = [Ticker("XRPUSDT"), *quiet[300 - len(flowing) : 349 - len(flowing)]]
    assert len(set(first + second)) == 350
    with trio.fail_after(15):
        async with (
            open_stream(sim, connector=transport) as stream,
            stream.subscribe_many(first) as kept,
        ):
            stream._supervisor.pool.idle_grace = 0.5  # the default (IDLE_SHARD_GRACE) is 5 s
            async with stream.subscribe_many(second) as extra:
                assert sorted(len(c.streams) for c in sim.connections) == [50, 300]
                assert (await extra[0].receive()).symbol == "XRPUSDT"
            await sim.wait_for_connections(1)
            assert [c.subscriptions for c in stream.statistics().connections] == [300]
            assert [c.end for c in sim.recorder.connections] == [None, "closed"]
            for channel in kept[: len(flowing)]:
                await fresh_value(channel)  # the 300 go on
            assert stream.state is S.CONNECTED
            async with stream.subscribe_many(second) as again:
                assert sim.connection_count == 2
                assert (await fresh_value(again[0])).symbol == "XRPUSDT"
                for channel in kept[: len(flowing)]:
                    await fresh_value(channel)
            assert len(sim.recorder.connections) == 3


async def test_teardown_leaves_no_task_and_no_socket(
    sim: SimulatedExchange, transport: Connector
) -> None:
    assert client_sockets(sim) in ([], None)
    async with (
        open_stream(sim, connector=transport, credentials=sim.credentials) as stream,
        stream.subscribe(OrderBook("BTCUSDT")) as books,
        stream.subscribe(Orders()),
    ):
        await books.receive()
        assert sim.connection_count == 2
        assert library_tasks() != []
        assert client_sockets(sim) != []
    with trio.fail_after(5):
        await sim.wait_for_connections(0)
    await trio.testing.wait_all_tasks_blocked()
    assert library_tasks() == []
    closed = [c.end for c in sim.recorder.connections]
    assert closed == ["closed", "closed"]  # close handshakes, not drops
    assert client_sockets(sim) in ([], None)


async def test_private_channels_after_login(sim: SimulatedExchange, transport: Connector) -> None:
    with trio.fail_after(15):
        async with (
            open_stream(sim, connector=transport, credentials=sim.credentials) as stream,
            stream.subscribe(Orders()) as orders,
            stream.subscribe(Positions()) as positions,
            stream.subscribe(Balance()) as balances,
        ):
            assert stream.state is S.AUTHENTICATED
            balance = sim.credit("USDT", Decimal("25"))
            update = await balances.receive()
            assert (update.coin, update.available) == ("USDT", balance.available)
            placed = await stream.rest.place_order(
                "BTCUSDT", "BUY", "LIMIT", Decimal("0.01"), Decimal("1000"), client_id="c-1"
            )
            order = await orders.receive()
            assert (order.symbol, order.client_id) == ("BTCUSDT", "c-1")
            assert order.order_id == placed.order_id
            sim.set_position("ETHUSDT", "LONG", "0.5", "2000")
            position = await positions.receive()
            assert (position.symbol, position.qty) == ("ETHUSDT", Decimal("0.5"))
    logins = [f for f in sim.recorder.ws_frames(path="/private/") if f.op == "login"]
    assert len(logins) == 1


async def test_slow_consumers_stay_bounded_and_others_go_on(
    sim: SimulatedExchange, transport: Connector
) -> None:
    with trio.fail_after(15):
        async with (
            open_stream(sim, connector=transport) as stream,
            stream.subscribe(Trades("BTCUSDT"), buffer=3) as trades,
            stream.subscribe(OrderBook("ETHUSDT"), buffer=2) as books,
            stream.subscribe(Ticker("BTCUSDT")) as tickers,
        ):
            while trades.error is None:  # never read: the lossless channel gives up
                await tickers.receive()
            while books.statistics().dropped < 5:  # never read: the book conflates
                await tickers.receive()
            assert trades.statistics().buffer_used == 3
            assert books.statistics().buffer_used == 2
            for _ in range(3):
                await trades.receive()
            with pytest.raises(ConsumerTooSlow):
                await trades.receive()
            newest = books.statistics().received
            await tickers.receive()
            assert stream.state is S.CONNECTED
            assert books.statistics().received >= newest
