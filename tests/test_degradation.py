"""Graceful degradation: REST feeds market subscriptions while the WebSocket is down.

In-memory simulated exchange under ``MockClock(autojump_threshold=0)``: exact times. The
WebSocket goes down at t=10 (``ws_down``: sockets dropped, handshakes refused); the stream
reconnects with a seeded backoff of at most 8 s; after ``fallback_grace`` (5 s) the poller
feeds the subscriptions every ``poll_interval`` (1 s), pacing its requests 0.2 s apart.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from conftest import open_sim_stream, request_times

from bitunix_trio._core.channels import Kline, OrderBook, Ticker, Trades
from bitunix_trio._core.config import ReconnectPolicy
from bitunix_trio._core.errors import ConfigurationError
from bitunix_trio._core.models import DataSource
from bitunix_trio._core.protocol import ConnectionState
from bitunix_trio._fallback.poller import TRADES_UNAVAILABLE
from bitunix_trio._stream.stream import BitunixStream, StateChange
from bitunix_trio.testing import SimulatedExchange

S = ConnectionState
WS = DataSource.WEBSOCKET
REST = DataSource.REST
MARKET = "/api/v1/futures/market/"
POLICY = ReconnectPolicy(initial_delay=1.0, max_delay=8.0)


def open_stream(
    sim: SimulatedExchange, **kwargs: Any
) -> AbstractAsyncContextManager[BitunixStream]:
    kwargs.setdefault("reconnect", POLICY)
    return open_sim_stream(sim, seed=7, **kwargs)


class Log:
    """Everything a subscription delivered: (virtual time, source, value)."""

    def __init__(self) -> None:
        self.items: list[tuple[float, DataSource, Any]] = []

    async def collect(self, channel: trio.abc.ReceiveChannel[Any]) -> None:
        async for value in channel:
            self.items.append((round(trio.current_time(), 6), value.source, value))

    def between(self, start: float, end: float) -> list[tuple[float, DataSource]]:
        return [(t, s) for t, s, _ in self.items if start <= t < end]


@asynccontextmanager
async def collecting(*channels: trio.abc.ReceiveChannel[Any]) -> AsyncIterator[list[Log]]:
    logs = [Log() for _ in channels]
    async with trio.open_nursery() as nursery:
        for log, channel in zip(logs, channels, strict=True):
            nursery.start_soon(log.collect, channel)
        yield logs
        nursery.cancel_scope.cancel()


def stream_changes(changes: list[StateChange]) -> list[tuple[float, S, S, str | None]]:
    return [(round(c.time, 6), c.old, c.new, c.reason) for c in changes if c.connection is None]


async def drain(channel: trio.abc.ReceiveChannel[StateChange], into: list[StateChange]) -> None:
    async for change in channel:
        into.append(change)


def state_of(stream: BitunixStream) -> ConnectionState:
    return stream.state  # through a function: mypy keeps attributes narrowed


def market_requests(sim: SimulatedExchange) -> list[float]:
    return request_times(sim, MARKET)


async def test_websocket_down_for_a_minute_rest_keeps_the_data_flowing(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    changes: list[StateChange] = []
    async with (
        open_stream(memory_sim) as stream,
        stream.state_events() as events,
        stream.subscribe(Ticker("BTCUSDT")) as tickers,
        stream.subscribe(OrderBook("ETHUSDT", depth=5)) as books,
        stream.subscribe(Trades("BTCUSDT")) as trades,
        collecting(tickers, books, trades) as (ticks, book_log, trade_log),
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(drain, events, changes)
        await trio.sleep(10.0 - trio.current_time())
        memory_sim.ws_down()
        await trio.sleep(60.0)
        assert state_of(stream) is S.DEGRADED
        memory_sim.ws_down(False)
        await memory_sim.wait_for_connections(1)
        back = trio.current_time()
        await trio.sleep(10.0)
        nursery.cancel_scope.cancel()

    # Before the outage: WebSocket data only, no REST request at all.
    assert {s for _, s in ticks.between(0, 10)} == {WS}
    assert [t for t in market_requests(memory_sim) if t < 15] == []
    # Nothing during the grace period, then REST every second from t=15 (the ticker at the
    # start of each round, the book 0.2 s later), marked REST, until the WebSocket is back.
    assert ticks.between(10, 15) == []
    rest_ticks = ticks.between(15, back)
    assert rest_ticks == [(15.0 + k, REST) for k in range(len(rest_ticks))]
    assert len(rest_ticks) >= 55  # t = 15 .. 69 at least
    assert book_log.between(15, back) == [(t + 0.2, REST) for t, _ in rest_ticks if t + 0.2 < back]
    # Polling stops the moment the WebSocket is back; then WebSocket data again.
    assert [t for t in market_requests(memory_sim) if t >= back] == []
    after = ticks.between(back, back + 10)
    assert after
    assert {s for _, s in after} == {WS}
    assert {s for _, s in book_log.between(back, back + 10)} == {WS}
    # Trades are not back-filled: nothing from REST, and the state events say so.
    assert {s for _, s in trade_log.between(0, back + 10)} == {WS}
    assert trade_log.between(10, back) == []

    states = stream_changes(changes)
    down, degraded, notice, up = states[:4]
    assert down[:3] == (10.0, S.CONNECTED, S.RECONNECTING)
    assert degraded[:3] == (15.0, S.RECONNECTING, S.DEGRADED)
    assert degraded[3] is not None
    assert degraded[3].startswith("market data from REST every 1 s while the WebSocket is down")
    assert notice == (
        15.0,
        S.DEGRADED,
        S.DEGRADED,
        f"Trades(symbol='BTCUSDT'): {TRADES_UNAVAILABLE}",
    )
    assert up[0] == pytest.approx(back)
    assert up[1:3] == (S.DEGRADED, S.CONNECTED)
    assert len(states) == 4
    assert stream.statistics().reconnects == 1


async def test_websocket_and_rest_both_down(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    changes: list[StateChange] = []
    async with (
        open_stream(memory_sim) as stream,
        stream.state_events() as events,
        stream.subscribe(Ticker("BTCUSDT")) as tickers,
        collecting(tickers) as (ticks,),
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(drain, events, changes)
        await trio.sleep(10.0)
        memory_sim.ws_down()
        memory_sim.rest_down()
        await trio.sleep(60.0)
        assert state_of(stream) is S.RECONNECTING
        attempts = [c for c in memory_sim.recorder.connections if c.end == "rejected"]
        rest_calls = market_requests(memory_sim)
        memory_sim.rest_down(False)  # REST first: degraded mode resumes
        await trio.sleep(40.0)
        assert state_of(stream) is S.DEGRADED
        memory_sim.ws_down(False)
        await memory_sim.wait_for_connections(1)
        await trio.sleep(1.0)
        assert state_of(stream) is S.CONNECTED
        nursery.cancel_scope.cancel()

    # No busy loop over the virtual minute: the poller's rounds (each failed call retried
    # by the client at +0.5, +1.5, +3.5 s) wait 1, 2, 4, 8, 16, 30 s in between...
    rounds = [15.0, 19.5, 25.0, 32.5, 44.0, 63.5]
    assert rest_calls == [r + d for r in rounds for d in (0.0, 0.5, 1.5, 3.5)]
    # ... and the WebSocket is retried with backoff (at most every 8 s).
    assert 6 <= len(attempts) <= 40
    assert ticks.between(10, 70) == []
    states = [(t, old, new) for t, old, new, _ in stream_changes(changes)]
    assert states[:3] == [
        (10.0, S.CONNECTED, S.RECONNECTING),
        (15.0, S.RECONNECTING, S.DEGRADED),
        (18.5, S.DEGRADED, S.RECONNECTING),  # the first round failed: both are down
    ]
    both = stream_changes(changes)[2][3]
    assert both is not None
    assert both.startswith("WebSocket and REST both unavailable (RestError")


async def test_polling_covers_every_market_channel(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with (
        open_stream(memory_sim, fallback_grace=0.0, poll_interval=2.0) as stream,
        stream.subscribe(Kline("SOLUSDT", "5min")) as klines,
        collecting(klines) as (log,),
    ):
        await trio.sleep(1.0)
        memory_sim.ws_down()
        await trio.sleep(5.0)
    assert log.between(1.0, 6.0) == [(1.0, REST), (3.0, REST), (5.0, REST)]
    assert state_of(stream) is S.CLOSED


async def test_fallback_can_be_switched_off(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with (
        open_stream(memory_sim, fallback_grace=None) as stream,
        stream.subscribe(Ticker("BTCUSDT")) as tickers,
        collecting(tickers) as (log,),
    ):
        await trio.sleep(1.0)
        memory_sim.ws_down()
        await trio.sleep(30.0)
        assert state_of(stream) is S.RECONNECTING
    assert memory_sim.recorder.requests == []
    assert log.between(1.0, 31.0) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("fallback_grace", -1),
        ("fallback_grace", "5"),
        ("poll_interval", 0),
        ("poll_interval", None),
        ("reconcile_interval", 0),
        ("reconcile_quiet_after", float("nan")),
    ],
)
async def test_bad_fallback_arguments(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock, name: str, value: Any
) -> None:
    with pytest.raises(ConfigurationError, match=name):
        async with open_stream(memory_sim, **{name: value}):
            pass


async def test_both_down_with_credentials_no_busy_loop(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    """The account reconciler backs off too: a virtual minute of both sides down costs a
    bounded number of requests, and everything recovers afterwards."""
    async with (
        open_stream(memory_sim, credentials=memory_sim.credentials) as stream,
        stream.subscribe(Ticker("BTCUSDT")) as tickers,
        collecting(tickers) as (ticks,),
    ):
        await trio.sleep(10.0)
        memory_sim.recorder.clear()
        memory_sim.ws_down()
        memory_sim.rest_down()
        await trio.sleep(60.0)
        requests = [(round(r.time, 6), r.path) for r in memory_sim.recorder.requests]
        memory_sim.rest_down(False)
        memory_sim.ws_down(False)
        await trio.sleep(40.0)
        assert state_of(stream) is S.AUTHENTICATED
    market = [t for t, path in requests if path.startswith(MARKET)]
    account = [t for t, path in requests if not path.startswith(MARKET)]
    assert len(market) == 24  # as without credentials: six rounds of four attempts
    # The reconciler: its periodic run at 30 s finds REST down; each failed run is four
    # attempts (the client's retries over 3.5 s), then it waits 1, 2, 4, 8, 16 s.
    # (Market data and account calls count against separate budgets, the IP's and the
    # key's; within each, requests are at least 0.11 s apart.)
    runs = [30.0, 34.5, 40.0, 47.5, 59.0]
    expected = [r + d for r in runs for d in (0.0, 0.5, 1.5, 3.5)]
    assert account == pytest.approx(expected, abs=0.1 + 1e-9)
    for times in (market, account):
        assert all(b - a >= 0.11 - 1e-9 for a, b in itertools.pairwise(sorted(times)))
    assert {s for _, s in ticks.between(100.0, 110.0)} == {WS}
