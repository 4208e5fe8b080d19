"""Account subscriptions start from the current state: ``Orders()``, ``Positions()`` and
``Balance()`` deliver a snapshot fetched over REST (``DataSource.SNAPSHOT``), then changes,
each once. In-memory simulated exchange under ``MockClock(autojump_threshold=0)``.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any, assert_type

import pytest
import trio
import trio.testing
from conftest import QUIET, open_sim_stream, resting_order

import bitunix_trio as bt
from bitunix_trio.testing import SimulatedExchange

SNAPSHOT = bt.DataSource.SNAPSHOT
WS = bt.DataSource.WEBSOCKET


def open_stream(
    sim: SimulatedExchange, **kwargs: Any
) -> AbstractAsyncContextManager[bt.BitunixStream]:
    return open_sim_stream(sim, seed=5, credentials=sim.credentials, **{**QUIET, **kwargs})


async def test_an_empty_account_has_an_empty_snapshot(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with (
        open_stream(memory_sim) as stream,
        stream.subscribe(bt.Orders()) as orders,
        stream.subscribe(bt.Positions()) as positions,
        stream.subscribe(bt.Balance()) as balances,
    ):
        assert_type(orders, bt.AccountChannel[bt.Order])
        assert await orders.snapshot() == ()
        assert orders.snapshot_done
        assert await positions.snapshot() == ()
        [usdt] = await balances.snapshot()
        assert (usdt.coin, usdt.available, usdt.source) == ("USDT", Decimal(10_000), SNAPSHOT)
        assert await balances.snapshot() == ()  # taken already
        # Then changes only.
        memory_sim.credit("USDT", "25")
        change = await balances.receive()
        assert (change.available, change.source) == (Decimal(10_025), WS)


async def test_open_orders_and_positions_come_first_then_changes_once(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    first = resting_order(memory_sim, "BTCUSDT", "BUY", 1000)
    await trio.sleep(1.0)
    second = resting_order(memory_sim, "ETHUSDT", "SELL", 9000)
    memory_sim.set_position("ETHUSDT", "SHORT", "0.5", "3000")
    async with open_stream(memory_sim) as stream, stream.subscribe(bt.Orders()) as orders:
        async with stream.subscribe(bt.Positions()) as positions:
            open_orders = await orders.snapshot()
            assert [(o.order_id, o.status, o.source) for o in open_orders] == [
                (first, bt.OrderStatus.NEW, SNAPSHOT),
                (second, bt.OrderStatus.NEW, SNAPSHOT),
            ]
            [short] = await positions.snapshot()
            assert (short.symbol, short.side, short.qty, short.source) == (
                "ETHUSDT",
                bt.PositionSide.SHORT,
                Decimal("0.5"),
                SNAPSHOT,
            )
        memory_sim.fill_order(first, Decimal("0.004"))
        update = await orders.receive()
        assert (update.order_id, update.filled_qty, update.source) == (first, Decimal("0.004"), WS)
        # A second subscriber gets the state as it is now, the first one nothing more.
        async with stream.subscribe(bt.Orders()) as again:
            later = await again.snapshot()
            assert [(o.order_id, o.filled_qty) for o in later] == [
                (first, Decimal("0.004")),
                (second, Decimal(0)),
            ]
        with trio.move_on_after(5.0):
            extra = await orders.receive()
            raise AssertionError(f"delivered twice: {extra}")


async def test_changes_while_the_snapshot_is_fetched_are_neither_doubled_nor_lost(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    resting = resting_order(memory_sim, "BTCUSDT", "BUY", 1000, qty="0.02")
    async with open_stream(memory_sim) as stream:
        await trio.sleep(5.0)
        async with stream.subscribe(bt.Orders()) as orders:
            # The snapshot takes four REST requests (0.33 s); meanwhile an order in it
            # fills partly, and another one is placed and filled.
            await trio.sleep(0.15)
            memory_sim.fill_order(resting, Decimal("0.01"))
            quick = resting_order(memory_sim, "SOLUSDT", "BUY", 10)
            memory_sim.fill_order(quick)
            snapshot = await orders.snapshot()
            after: list[bt.Order] = []
            with trio.move_on_after(5.0):
                async for order in orders:
                    after.append(order)
    assert [(o.order_id, o.filled_qty, o.source) for o in snapshot] == [
        (resting, Decimal("0.01"), SNAPSHOT)  # the fill is in it (not repeated below)
    ]
    # The changes came while the snapshot's requests were under way.
    times = [round(r.time - 5.0, 6) for r in memory_sim.recorder.rest_requests()][-4:]
    assert times[0] < 0.15 < times[-1]
    assert [(o.order_id, o.status) for o in after] == [
        (quick, bt.OrderStatus.NEW),
        (quick, bt.OrderStatus.FILLED),
    ]


async def test_receiving_without_asking_yields_the_snapshot_first(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    resting_order(memory_sim, "BTCUSDT", "BUY", 1000)
    async with (
        open_stream(memory_sim) as stream,
        stream.subscribe(bt.Subscription("orders")) as orders,
    ):
        first = await orders.receive()
        assert first.source is SNAPSHOT
        assert isinstance(orders, bt.AccountChannel)
        assert orders.snapshot_done
        assert await orders.snapshot() == ()


async def test_rest_down_ends_the_subscription_with_snapshot_unavailable(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_stream(memory_sim) as stream, stream.state_events() as changes:
        await trio.sleep(1.0)
        memory_sim.rest_down()
        start = trio.current_time()
        async with (
            stream.subscribe(bt.Balance()) as balances,
            stream.subscribe(bt.Balance(snapshot=False)) as live,
        ):
            with pytest.raises(bt.SnapshotUnavailable) as info:
                await balances.snapshot()
            failed = trio.current_time() - start
            assert isinstance(info.value, bt.SubscriptionLost)
            assert isinstance(info.value.__cause__, bt.BitunixError)
            assert "could not be fetched over REST" in str(info.value)
            with pytest.raises(bt.SnapshotUnavailable):
                await balances.receive()
            # A subscription without a snapshot goes on.
            memory_sim.credit("USDT", "1")
            assert (await live.receive()).available == Decimal(10_001)
            with pytest.raises(bt.ConfigurationError, match="takes no snapshot"):
                await live.snapshot()
        notices = []
        while True:
            change = changes.receive_nowait()
            if change.old is change.new and change.reason:
                notices.append(change.reason)
            if "snapshot" in (change.reason or ""):
                break
        assert any("account snapshot could not be fetched" in n for n in notices)
        # Three attempts (each with the REST client's own retries), 1 s and 2 s apart.
        assert 3.0 < failed < 30.0
        # REST back: a new subscription gets its snapshot.
        memory_sim.rest_down(False)
        async with stream.subscribe(bt.Balance()) as balances:
            [usdt] = await balances.snapshot()
            assert usdt.available == Decimal(10_001)


def test_account_specs_take_a_snapshot_flag() -> None:
    assert bt.Orders() == bt.Orders(snapshot=True)
    assert bt.Orders(snapshot=False).key == bt.Orders().key == ("order", None)
    assert repr(bt.Positions()) == "Positions()"
    assert repr(bt.Balance(snapshot=False)) == "Balance(snapshot=False)"
    assert bt.Subscription("orders", params={"snapshot": False}).resolve() == bt.Orders(
        snapshot=False
    )
    with pytest.raises(bt.ConfigurationError, match="snapshot must be True or False"):
        bt.Orders(snapshot="no")  # type: ignore[arg-type]
    with pytest.raises(bt.ConfigurationError, match="unknown parameter"):
        bt.Subscription("tpsl", params={"snapshot": False})


async def test_without_credentials_account_channels_are_refused(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_sim_stream(memory_sim, seed=5) as stream:
        with pytest.raises(bt.ConfigurationError):
            stream.subscribe(bt.Orders())
        async with stream.subscribe(bt.Ticker("BTCUSDT")) as tickers:
            assert (await tickers.receive()).symbol == "BTCUSDT"
