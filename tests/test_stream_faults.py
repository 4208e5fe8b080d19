"""Every fault the simulated exchange can inject, over real loopback sockets and each
transport: the stream recovers and data flows again (outcomes and order, not times)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
import trio
from conftest import open_sim_stream

from bitunix_trio._core.channels import OrderBook, Ticker
from bitunix_trio._core.config import HeartbeatConfig, ReconnectPolicy
from bitunix_trio._core.errors import AuthenticationError, SubscriptionRejected
from bitunix_trio._core.frames import Malformed, Unknown, decode
from bitunix_trio._core.protocol import ConnectionState
from bitunix_trio._stream.channel import SubscriptionChannel
from bitunix_trio._stream.connector import Connector
from bitunix_trio._stream.stream import BitunixStream, StateChange
from bitunix_trio.testing import GARBAGE_FRAMES, SimulatedExchange

pytestmark = pytest.mark.loopback

S = ConnectionState
FAST_RECONNECT = ReconnectPolicy(initial_delay=0.05, max_delay=0.2, connect_timeout=5.0)
FAST_HEARTBEAT = HeartbeatConfig(interval=1.0, timeout=0.5, stale_after=1.5)


def open_stream(
    sim: SimulatedExchange, **kwargs: Any
) -> AbstractAsyncContextManager[BitunixStream]:
    kwargs.setdefault("reconnect", FAST_RECONNECT)
    kwargs.setdefault("heartbeat", FAST_HEARTBEAT)
    kwargs.setdefault("close_timeout", 1.0)
    return open_sim_stream(sim, seed=3, **kwargs)


@asynccontextmanager
async def watched(
    sim: SimulatedExchange, **kwargs: Any
) -> AsyncIterator[
    tuple[BitunixStream, trio.abc.ReceiveChannel[StateChange], SubscriptionChannel[Any]]
]:
    with trio.fail_after(15):
        async with (
            open_stream(sim, **kwargs) as stream,
            stream.state_events() as changes,
            stream.subscribe(OrderBook("BTCUSDT", depth=5)) as books,
        ):
            await books.receive()
            yield stream, changes, books


async def next_state(changes: trio.abc.ReceiveChannel[StateChange], new: ConnectionState) -> str:
    """Wait for the stream (not one connection) to reach ``new``; return the reason."""
    async for change in changes:
        if change.connection is None and change.new is new:
            return change.reason or ""
    raise AssertionError("state events ended")


async def fresh(books: SubscriptionChannel[Any]) -> None:
    """Data arrives again: drain what is buffered, then receive a new book."""
    while books.statistics().buffer_used:
        books.receive_nowait()
    book = await books.receive()
    assert book.best_bid is not None


async def test_drop_all(sim: SimulatedExchange, transport: Connector) -> None:
    async with watched(sim, connector=transport) as (stream, changes, books):
        sim.drop_all()
        assert "close code 1006" in await next_state(changes, S.RECONNECTING)
        await next_state(changes, S.CONNECTED)
        await fresh(books)
        assert stream.statistics().reconnects == 1


async def test_close_all_with_a_close_frame(sim: SimulatedExchange, transport: Connector) -> None:
    async with watched(sim, connector=transport) as (_stream, changes, books):
        sim.close_all(1011, "maintenance")
        reason = await next_state(changes, S.RECONNECTING)
        assert reason == "public#0: WebSocket disconnected: maintenance (close code 1011)"
        await next_state(changes, S.CONNECTED)
        await fresh(books)


async def test_go_silent(sim: SimulatedExchange, transport: Connector) -> None:
    async with watched(sim, connector=transport) as (_stream, changes, books):
        sim.go_silent()
        reason = await next_state(changes, S.RECONNECTING)
        assert "connection dead" in reason
        sim.go_silent(False)
        await next_state(changes, S.CONNECTED)
        await fresh(books)
        assert not books.stale


async def test_stop_answering_pings(sim: SimulatedExchange, transport: Connector) -> None:
    async with watched(sim, connector=transport) as (_stream, changes, books):
        sim.stop_answering_pings()
        reason = await next_state(changes, S.RECONNECTING)
        assert reason == "public#0: connection dead: no reply to ping within 0.5 s"
        sim.stop_answering_pings(False)
        await next_state(changes, S.CONNECTED)
        await fresh(books)


async def test_ws_down_then_up(sim: SimulatedExchange, transport: Connector) -> None:
    async with watched(sim, connector=transport) as (stream, changes, books):
        sim.ws_down()
        await next_state(changes, S.RECONNECTING)
        # Backoff is capped at 0.2 s: several refused attempts (however busy the machine).
        while stream.statistics().connections[0].failed_attempts < 3:  # noqa: ASYNC110
            await trio.sleep(0.05)
        sim.ws_down(False)
        await next_state(changes, S.CONNECTED)
        await fresh(books)


async def test_offline_block(sim: SimulatedExchange, transport: Connector) -> None:
    async with watched(sim, connector=transport) as (_stream, changes, books):
        with sim.offline():
            await next_state(changes, S.RECONNECTING)
            await trio.sleep(0.3)
        await next_state(changes, S.CONNECTED)
        await fresh(books)


async def test_send_garbage_is_counted_not_fatal(
    sim: SimulatedExchange, transport: Connector
) -> None:
    async with watched(sim, connector=transport) as (stream, _changes, books):
        sim.send_garbage(len(GARBAGE_FRAMES))
        bad = sum(isinstance(decode(text), Malformed | Unknown) for text in GARBAGE_FRAMES)
        while stream.statistics().malformed < bad:
            await books.receive()
        await fresh(books)
        stats = stream.statistics()
        assert stats.malformed == bad
        assert stats.reconnects == 0
        assert stream.state is S.CONNECTED


async def test_reject_next_logins(sim: SimulatedExchange, transport: Connector) -> None:
    sim.reject_next_logins(1)
    with pytest.raises(AuthenticationError, match="Authentication failed"):
        async with open_stream(sim, connector=transport, credentials=sim.credentials):
            pytest.fail("entered")
    async with open_stream(sim, connector=transport, credentials=sim.credentials) as stream:
        assert stream.state is S.AUTHENTICATED


async def test_refuse_subscriptions(sim: SimulatedExchange, transport: Connector) -> None:
    async with watched(sim, connector=transport) as (stream, _changes, books):
        sim.refuse_subscriptions()
        with pytest.raises(SubscriptionRejected):
            async with stream.subscribe(Ticker("ETHUSDT")):
                pytest.fail("entered")
        sim.refuse_subscriptions(False)
        async with stream.subscribe(Ticker("ETHUSDT")) as tickers:
            assert (await tickers.receive()).symbol == "ETHUSDT"
        await fresh(books)
