"""Recovery: after a reconnect (and periodically) the account is reconciled over REST.

In-memory simulated exchange under ``MockClock(autojump_threshold=0)`` for exact times, and
one loopback test on 127.0.0.1 (outcomes only).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.testing
from conftest import QUIET, open_sim_stream, resting_order

from bitunix_trio._core.channels import Balance, OrderBook, Orders, Positions
from bitunix_trio._core.config import ReconnectPolicy
from bitunix_trio._core.models import (
    AccountBalance,
    DataSource,
    Order,
    OrderStatus,
    Position,
    UpdateEvent,
)
from bitunix_trio._core.protocol import ConnectionState
from bitunix_trio._stream.stream import BitunixStream
from bitunix_trio.testing import SimulatedExchange

S = ConnectionState
WS = DataSource.WEBSOCKET
RECOVERED = DataSource.RECOVERED
PENDING = "/api/v1/futures/trade/get_pending_orders"
POLICY = ReconnectPolicy(initial_delay=1.0, max_delay=4.0)


def open_stream(
    sim: SimulatedExchange, **kwargs: Any
) -> AbstractAsyncContextManager[BitunixStream]:
    kwargs.setdefault("credentials", sim.credentials)
    kwargs.setdefault("reconnect", POLICY)
    return open_sim_stream(sim, seed=3, **kwargs)


class Log:
    """What an account subscription delivered: (virtual time, value)."""

    def __init__(self) -> None:
        self.items: list[tuple[float, Any]] = []
        self._changed = trio.Event()

    async def collect(self, channel: trio.abc.ReceiveChannel[Any]) -> None:
        async for value in channel:
            self.items.append((round(trio.current_time(), 6), value))
            self._changed.set()
            self._changed = trio.Event()

    def values(self) -> list[Any]:
        return [v for _, v in self.items]

    async def wait_until(self, done: Callable[[list[Any]], bool]) -> None:
        """Wait until ``done(values)`` holds."""
        while not done(self.values()):
            await self._changed.wait()


@asynccontextmanager
async def account_logs(stream: BitunixStream) -> AsyncIterator[tuple[Log, Log, Log]]:
    logs = (Log(), Log(), Log())
    async with (
        stream.subscribe(Orders(snapshot=False)) as orders,
        stream.subscribe(Positions(snapshot=False)) as positions,
        stream.subscribe(Balance(snapshot=False)) as balances,
        trio.open_nursery() as nursery,
    ):
        channels: tuple[trio.abc.ReceiveChannel[Any], ...] = (orders, positions, balances)
        for log, channel in zip(logs, channels, strict=True):
            nursery.start_soon(log.collect, channel)
        yield logs
        nursery.cancel_scope.cancel()


async def resting_price(stream: BitunixStream, symbol: str, factor: str) -> Decimal:
    [ticker] = await stream.rest.get_tickers([symbol])
    return (ticker.last_price * Decimal(factor)).quantize(Decimal(1))


def last_states(pushes: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Every order push, and the last push of each position and balance."""
    last: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    orders = []
    for channel, data in pushes:
        if channel == "order":
            orders.append((channel, data))
        else:
            last[channel, str(data.get("positionId") or data.get("coin"))] = (channel, data)
    return orders + list(last.values())


def state_of(stream: BitunixStream) -> ConnectionState:
    return stream.state  # through a function: mypy keeps attributes narrowed


async def wait_for(log: Log, n: int) -> None:
    await log.wait_until(lambda values: len(values) >= n)


async def test_fill_and_position_change_while_disconnected(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    key = memory_sim.credentials.api_key
    # Only the reconnect reconciles here (periodic and quiet runs are tested below).
    async with (
        open_stream(memory_sim, **QUIET) as stream,
        stream.state_events() as changes,
        account_logs(stream) as (orders, positions, balances),
    ):
        price = await resting_price(stream, "BTCUSDT", "0.8")
        placed = await stream.rest.place_order("BTCUSDT", "BUY", "LIMIT", "0.01", price)
        await wait_for(orders, 1)  # the CREATE push
        await wait_for(balances, 1)  # and the balance with the frozen margin
        created = orders.values()[0]
        assert (created.order_id, created.status, created.source) == (
            placed.order_id,
            OrderStatus.NEW,
            WS,
        )
        seen_balances = len(balances.items)

        with memory_sim.offline():
            # While the client is away: its order fills and another position appears. The
            # pushes are lost (the exchange does not replay them). Keep copies to replay
            # them late, as if they had been stuck somewhere.
            memory_sim.engine.fill_order(key, placed.order_id)
            memory_sim.engine.set_position(key, "ETHUSDT", "SHORT", "0.5", "3000")
            late = memory_sim.engine.drain_private_events(key)
            await trio.sleep(20.0)
        assert state_of(stream) is S.DEGRADED  # down for longer than the grace period
        async for change in changes:  # the private socket logged in again
            if change.connection == "private" and change.new is S.AUTHENTICATED:
                break
        back = change.time
        await trio.sleep(5.0)

        # Delivered once each after the reconnect, marked RECOVERED.
        recovered = [(t, o) for t, o in orders.items if o.source is RECOVERED]
        assert [(o.order_id, o.status, o.event) for _, o in recovered] == [
            (placed.order_id, OrderStatus.FILLED, UpdateEvent.CLOSE)
        ]
        # pending orders at +0, finished orders +0.11, positions +0.22, balance +0.33
        assert recovered[0][0] == pytest.approx(back + 0.33)
        assert [(p.symbol, p.event, p.source) for p in positions.values()] == [
            ("BTCUSDT", UpdateEvent.OPEN, RECOVERED),
            ("ETHUSDT", UpdateEvent.OPEN, RECOVERED),
        ]
        assert [b.source for b in balances.values()[seen_balances:]] == [RECOVERED]

        # The lost pushes arrive late after all: nothing is delivered twice. (Every order
        # push is refused, older states too: orders only move forward; of positions and
        # balances, which carry no version, the last state of each.)
        account = memory_sim.engine.account_by_key(key)
        assert account is not None
        account.events.extend(last_states(late))
        memory_sim.flush()
        await trio.sleep(5.0)
        assert not await stream.reconcile()  # and reconciling again finds nothing new
    assert len(orders.items) == 2
    assert len(positions.items) == 2
    assert len(balances.items) == seen_balances + 1


async def test_periodic_reconciliation_catches_a_dropped_push(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    key = memory_sim.credentials.api_key
    async with (
        open_stream(memory_sim, reconcile_interval=30.0, reconcile_quiet_after=None) as stream,
        account_logs(stream) as (orders, _positions, _balances),
    ):
        price = await resting_price(stream, "ETHUSDT", "1.2")
        placed = await stream.rest.place_order("ETHUSDT", "SELL", "LIMIT", "0.1", price)
        await wait_for(orders, 1)
        await trio.sleep(40.0 - trio.current_time())
        memory_sim.engine.fill_order(key, placed.order_id)
        memory_sim.engine.drain_private_events(key)  # the pushes are dropped, socket healthy
        await trio.sleep(25.0)
        assert state_of(stream) is S.AUTHENTICATED
    starts = [round(r.time, 6) for r in memory_sim.recorder.rest_requests(path=PENDING)]
    assert starts == [0.0, 30.0, 60.0]  # the login's baseline, then every 30 s
    filled = [(t, o) for t, o in orders.items if o.status is OrderStatus.FILLED]
    assert len(filled) == 1
    t, order = filled[0]
    assert t == 60.33  # pending, finished, positions, balance at 60.0 .. 60.33
    assert order.source is RECOVERED


async def test_quiet_private_socket_with_orders_open_is_reconciled(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    key = memory_sim.credentials.api_key
    async with (
        open_stream(memory_sim, reconcile_interval=None, reconcile_quiet_after=10.0) as stream,
        account_logs(stream) as (orders, _positions, _balances),
    ):
        price = await resting_price(stream, "SOLUSDT", "0.5")
        placed = await stream.rest.place_order("SOLUSDT", "BUY", "LIMIT", "1", price)
        await wait_for(orders, 1)
        memory_sim.engine.fill_order(key, placed.order_id)
        memory_sim.engine.drain_private_events(key)
        await trio.sleep(15.0)
    filled = [o for o in orders.values() if o.status is OrderStatus.FILLED]
    assert [o.source for o in filled] == [RECOVERED]
    starts = [round(r.time, 6) for r in memory_sim.recorder.rest_requests(path=PENDING)]
    assert len(starts) == 2  # the baseline, then one quiet run ~10 s after the last push


async def test_order_books_start_from_a_fresh_snapshot(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with (
        open_stream(memory_sim, fallback_grace=None) as stream,
        stream.state_events() as changes,
        stream.subscribe(OrderBook("BTCUSDT", depth=5), buffer=50) as books,
    ):
        await trio.sleep(3.0)  # never read: books pile up
        piled = books.statistics().buffer_used
        assert piled > 5
        dropped_at = memory_sim.now_ms()
        memory_sim.drop_all()
        async for change in changes:
            if change.connection is None and change.new is S.AUTHENTICATED:
                break
        # Everything buffered before the drop was discarded when the public socket came
        # back; what is left came over the new socket.
        assert books.statistics().dropped == piled
        book = await books.receive()
        assert book.source is WS
        assert book.ts > dropped_at


async def test_reconcile_on_demand(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    key = memory_sim.credentials.api_key
    async with open_stream(memory_sim, **QUIET) as stream:
        price = await resting_price(stream, "XRPUSDT", "0.5")
        placed = await stream.rest.place_order("XRPUSDT", "BUY", "LIMIT", "10", price)
        await trio.sleep(1.0)
        memory_sim.engine.fill_order(key, placed.order_id)
        memory_sim.engine.drain_private_events(key)
        delivered = await stream.reconcile()
    assert [type(v).__name__ for v in delivered] == ["Order", "Position", "AccountBalance"]
    assert isinstance(delivered[0], Order)
    assert delivered[0].status is OrderStatus.FILLED
    assert isinstance(delivered[1], Position)
    assert isinstance(delivered[2], AccountBalance)


@pytest.mark.loopback
async def test_fill_while_offline_over_loopback(sim: SimulatedExchange) -> None:
    async with open_stream(sim) as stream, account_logs(stream) as (orders, positions, _b):
        price = await resting_price(stream, "BTCUSDT", "0.8")
        placed = await stream.rest.place_order("BTCUSDT", "BUY", "LIMIT", "0.01", price)
        with trio.fail_after(10):
            await wait_for(orders, 1)
        with sim.offline():
            sim.fill_order(placed.order_id)  # pushed to nobody: lost
            await trio.sleep(0.5)
        with trio.fail_after(20):
            await orders.wait_until(lambda v: any(o.status is OrderStatus.FILLED for o in v))
            await wait_for(positions, 1)
        await trio.sleep(0.5)  # and nothing is delivered twice
    filled = [o for o in orders.values() if o.status is OrderStatus.FILLED]
    assert [(o.order_id, o.source) for o in filled] == [(placed.order_id, RECOVERED)]
    assert [(p.symbol, p.source) for p in positions.values()] == [("BTCUSDT", RECOVERED)]


@pytest.mark.parametrize("fault", ["rest_down", "throttle_rest"])
async def test_fill_while_away_before_the_first_reconciliation(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock, fault: str
) -> None:
    # Before the stream starts: one order rests (the baseline), one will fill unseen.
    resting = resting_order(memory_sim, "ETHUSDT", "BUY", 1000)
    older = resting_order(memory_sim, "ETHUSDT", "SELL", 9000)
    await trio.sleep(1.0)
    getattr(memory_sim, fault)()  # the first reconciliations fail
    async with (
        open_stream(memory_sim, **QUIET) as stream,
        account_logs(stream) as (orders, _positions, _balances),
    ):
        await trio.sleep(5.0)
        with memory_sim.offline():
            newer = resting_order(memory_sim, "ETHUSDT", "BUY", 1000)
            memory_sim.fill_order(newer)
            memory_sim.fill_order(older)
            await trio.sleep(10.0)
        await trio.sleep(10.0)
        getattr(memory_sim, fault)(False)
        with trio.move_on_after(120.0):
            await orders.wait_until(lambda v: len(v) >= 2)
        await trio.sleep(60.0)  # and nothing else, nor anything twice
        assert not await stream.reconcile()
    delivered = sorted((o.order_id, o.status, o.source) for o in orders.values())
    assert delivered == sorted(
        [(newer, OrderStatus.FILLED, RECOVERED), (older, OrderStatus.FILLED, RECOVERED)]
    )
    assert resting not in {o.order_id for o in orders.values()}


@pytest.mark.parametrize("count", [101, 150])
async def test_more_than_a_page_of_orders_finished_while_away(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock, count: int
) -> None:
    async with (
        open_stream(memory_sim, **QUIET) as stream,
        account_logs(stream) as (orders, _positions, _balances),
    ):
        await trio.sleep(5.0)  # logged in, the baseline reconciled
        with memory_sim.offline():
            placed = []
            for n in range(count):
                order_id = resting_order(memory_sim, "ETHUSDT", "BUY", 1000 + n)
                memory_sim.fill_order(order_id)
                placed.append(order_id)
                await trio.sleep(0.5)
        with trio.move_on_after(120.0):
            await orders.wait_until(lambda v: len(v) >= count)
        await trio.sleep(60.0)
        assert not await stream.reconcile()
    filled = Counter(o.order_id for o in orders.values() if o.status is OrderStatus.FILLED)
    assert filled == Counter(placed)
    assert {o.source for o in orders.values()} == {RECOVERED}
