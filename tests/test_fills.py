"""``bt.Fills()``: every fill of the account once, from order pushes and REST trade history,
across disconnects, REST outages, stream restarts and process restarts (with a cursor).

In-memory simulated exchange under ``MockClock(autojump_threshold=0)``; the pure parts
(ids, cursors, coverage) without Trio.
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

import bitunix_trio as bt
from bitunix_trio._core.fills import FillCoverage, fill_id, fills_from_trades
from bitunix_trio._rest.results import parse_account_trade
from bitunix_trio.testing import SimulatedExchange

D = Decimal
WS = bt.DataSource.WEBSOCKET
RECOVERED = bt.DataSource.RECOVERED


def open_stream(
    sim: SimulatedExchange, **kwargs: Any
) -> AbstractAsyncContextManager[bt.BitunixStream]:
    return open_sim_stream(sim, seed=7, credentials=sim.credentials, **{**QUIET, **kwargs})


class Fills:
    """Collects what a Fills() channel delivers."""

    def __init__(self) -> None:
        self.items: list[bt.Fill] = []
        self._changed = trio.Event()

    async def collect(self, channel: trio.abc.ReceiveChannel[bt.Fill]) -> None:
        async for fill in channel:
            self.items.append(fill)
            self._changed.set()
            self._changed = trio.Event()

    async def wait_until(self, done: Callable[[list[bt.Fill]], bool]) -> None:
        while not done(self.items):
            await self._changed.wait()

    async def wait_for(self, n: int, within: float = 120.0) -> None:
        with trio.fail_after(within):
            await self.wait_until(lambda items: len(items) >= n)


@asynccontextmanager
async def collecting(
    sim: SimulatedExchange, got: Fills, spec: bt.Fills | None = None, buffer: int | None = None
) -> AsyncIterator[bt.BitunixStream]:
    """A stream on the account with a ``Fills()`` channel (``spec``) that ``got`` collects
    for the block's lifetime."""
    async with (
        open_stream(sim) as stream,
        stream.subscribe(spec or bt.Fills(), buffer=buffer) as fills,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(got.collect, fills)
        yield stream
        nursery.cancel_scope.cancel()


def rest_fills(sim: SimulatedExchange, order_id: str) -> list[tuple[str, Decimal, Decimal]]:
    """The exchange's trades of an order as (fill id, price, qty), oldest first."""
    rows = sim.engine.history_trades(sim.credentials.api_key, order_id=order_id)
    out, cumulative = [], D(0)
    for row in reversed(rows):
        cumulative += D(row["qty"])
        out.append((fill_id(order_id, cumulative), D(row["price"]), D(row["qty"])))
    return out


def assert_once(fills: list[bt.Fill], sim: SimulatedExchange, order_ids: list[str]) -> None:
    """Each fill id once, and per order the quantities add up to what the exchange filled."""
    counts = Counter(f.fill_id for f in fills)
    assert [i for i, n in counts.items() if n > 1] == []
    filled = {
        o.order_id: o.filled_qty
        for o in [
            *sim.engine.pending_orders(sim.credentials.api_key),
            *sim.engine.history_orders(sim.credentials.api_key),
        ]
    }
    for order_id in order_ids:
        got = sum((f.qty for f in fills if f.order_id == order_id), D(0))
        assert got == filled[order_id], order_id


async def test_partial_fills_from_order_pushes(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    got = Fills()
    async with collecting(memory_sim, got) as stream:
        placed = await stream.rest.place_order(
            "BTCUSDT", "BUY", "LIMIT", "0.03", "1000", client_id="grid-1"
        )
        order_id = placed.order_id
        memory_sim.fill_order(order_id, D("0.01"), D("990"))
        memory_sim.fill_order(order_id, D("0.02"), D("996"))
        await got.wait_for(2)
    first, second = got.items
    assert [(f.fill_id, f.price, f.qty, f.source) for f in got.items] == [
        (f"{order_id}/0.01", D(990), D("0.01"), WS),
        (f"{order_id}/0.03", D(996), D("0.02"), WS),
    ]
    assert [(f.fill_id, f.price, f.qty) for f in got.items] == rest_fills(memory_sim, order_id)
    assert (first.order_id, first.client_id, first.symbol, first.side) == (
        order_id,
        "grid-1",
        "BTCUSDT",
        bt.Side.BUY,
    )
    # Fees from the order's cumulative fee (REST trades say the same), maker unknown.
    trades = exchange_trades(memory_sim, order_id)
    assert [f.fee for f in got.items] == [t.fee for t in trades]
    assert first.maker is None
    assert first.time.tzinfo is not None
    assert second.cursor != first.cursor


def exchange_trades(sim: SimulatedExchange, order_id: str) -> list[bt.AccountTrade]:
    """The exchange's trades of an order as the REST client reads them, oldest first."""
    rows = sim.engine.history_trades(sim.credentials.api_key, order_id=order_id)
    return [parse_account_trade(row) for row in reversed(rows)]


async def test_fills_while_disconnected_come_from_rest_trades_once(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    got = Fills()
    async with collecting(memory_sim, got) as stream:
        order_id = (await stream.rest.place_order("ETHUSDT", "SELL", "LIMIT", "1", "4000")).order_id
        other = (await stream.rest.place_order("ETHUSDT", "SELL", "LIMIT", "0.5", "4100")).order_id
        memory_sim.fill_order(order_id, D("0.2"), D("3000"))
        await got.wait_for(1)
        with memory_sim.offline():
            memory_sim.fill_order(order_id, D("0.3"), D("3001"))
            memory_sim.fill_order(order_id, D("0.1"), D("3002"))
            memory_sim.fill_order(other, D("0.5"))
            late = memory_sim.engine.drain_private_events(memory_sim.credentials.api_key)
            await trio.sleep(20.0)
        await got.wait_for(4)
        # The lost pushes arrive after all: nothing twice.
        account = memory_sim.engine.account_by_key(memory_sim.credentials.api_key)
        assert account is not None
        account.events.extend(late)
        memory_sim.flush()
        memory_sim.fill_order(order_id, D("0.4"), D("3003"))  # and live again
        await got.wait_for(5)
        await trio.sleep(10.0)
        assert not await stream.reconcile()
        await trio.sleep(10.0)
    assert [(f.fill_id, f.source) for f in got.items] == [
        (f"{order_id}/0.2", WS),
        (f"{order_id}/0.5", RECOVERED),
        (f"{order_id}/0.6", RECOVERED),
        (f"{other}/0.5", RECOVERED),
        (f"{order_id}/1", WS),
    ]
    mine = [(f.fill_id, f.price, f.qty) for f in got.items if f.order_id == order_id]
    assert mine == rest_fills(memory_sim, order_id)
    recovered = [f for f in got.items if f.source is RECOVERED]
    assert all(f.maker is True and f.fee is not None for f in recovered)
    assert_once(got.items, memory_sim, [order_id, other])


@pytest.mark.parametrize("count", [101, 130])
async def test_more_than_a_page_of_orders_filled_while_away(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock, count: int
) -> None:
    got = Fills()
    async with collecting(memory_sim, got, buffer=1000):
        await trio.sleep(1.0)
        with memory_sim.offline():
            ids = [
                resting_order(memory_sim, "SOLUSDT", "BUY", f"{50 + i / 10:.1f}", "1")
                for i in range(count)
            ]
            for i, order_id in enumerate(ids):
                if i % 3:
                    memory_sim.fill_order(order_id, D("0.5"))
                memory_sim.fill_order(order_id)
            await trio.sleep(20.0)
        expected = sum(2 if i % 3 else 1 for i in range(count))
        await got.wait_for(expected, within=600.0)
        await trio.sleep(30.0)
    assert len(got.items) == expected
    assert {f.source for f in got.items} == {RECOVERED}
    assert_once(got.items, memory_sim, ids)


async def test_rest_down_during_the_reconciliation(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    got = Fills()
    async with collecting(memory_sim, got) as stream:
        order_id = (
            await stream.rest.place_order("BTCUSDT", "BUY", "LIMIT", "0.05", "900")
        ).order_id
        with memory_sim.offline():
            memory_sim.rest_down()
            memory_sim.fill_order(order_id, D("0.02"), D("899"))
            memory_sim.fill_order(order_id, D("0.01"), D("898"))
            await trio.sleep(10.0)
        await trio.sleep(60.0)  # the socket is back, REST is not: nothing yet
        assert got.items == []
        memory_sim.rest_down(False)
        await got.wait_for(2)
        memory_sim.fill_order(order_id, D("0.02"), D("897"))
        await got.wait_for(3)
        await trio.sleep(30.0)
    assert [(f.fill_id, f.price, f.source) for f in got.items] == [
        (f"{order_id}/0.02", D(899), RECOVERED),
        (f"{order_id}/0.03", D(898), RECOVERED),
        (f"{order_id}/0.05", D(897), WS),
    ]


async def test_trades_unavailable_after_the_reconciliation_come_when_rest_is_back(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    got = Fills()
    async with collecting(memory_sim, got) as stream:
        placed = await stream.rest.place_order("BTCUSDT", "BUY", "LIMIT", "0.04", "900")
        order_id = placed.order_id
        memory_sim.fill_order(order_id, D("0.01"), D("900"))
        await got.wait_for(1)
        key = memory_sim.credentials.api_key
        memory_sim.engine.fill_order(key, order_id, D("0.01"), D("890"))
        memory_sim.engine.fill_order(key, order_id, D("0.02"), D("880"))
        memory_sim.engine.drain_private_events(key)  # the pushes are lost
        reconciled = await stream.reconcile()
        assert [o.filled_qty for o in reconciled if isinstance(o, bt.Order)] == [D("0.04")]
        memory_sim.rest_down()  # the trades cannot be fetched after that
        await trio.sleep(100.0)
        assert len(got.items) == 1  # not guessed
        memory_sim.rest_down(False)
        await got.wait_for(3)
        await trio.sleep(60.0)
    assert [(f.fill_id, f.price, f.qty, f.source) for f in got.items] == [
        (f"{order_id}/0.01", D(900), D("0.01"), WS),
        (f"{order_id}/0.02", D(890), D("0.01"), RECOVERED),
        (f"{order_id}/0.04", D(880), D("0.02"), RECOVERED),
    ]


async def test_an_order_that_filled_before_the_stream_started_counts_only_later_fills(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    order_id = resting_order(memory_sim, "BTCUSDT", "BUY", "900", "0.05")
    memory_sim.fill_order(order_id, D("0.01"), D("900"))
    await trio.sleep(120.0)  # (more than the minute of clock skew allowed)
    memory_sim.rest_down()  # the ledger learns of the order from its next push
    got = Fills()
    async with collecting(memory_sim, got):
        memory_sim.fill_order(order_id, D("0.02"), D("899"))
        await trio.sleep(10.0)
        memory_sim.rest_down(False)
        await got.wait_for(1)
        await trio.sleep(60.0)
    assert [(f.fill_id, f.qty, f.price) for f in got.items] == [
        (f"{order_id}/0.03", D("0.02"), D(899))
    ]


async def test_a_restart_resumes_from_the_cursor(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    first, second, third = Fills(), Fills(), Fills()
    async with collecting(memory_sim, first) as stream:
        a = (await stream.rest.place_order("BTCUSDT", "BUY", "LIMIT", "0.03", "950")).order_id
        memory_sim.fill_order(a, D("0.01"), D("950"))
        await first.wait_for(1)
    stored = str(first.items[-1].cursor)
    # While no process runs: more fills of that order, and of a new one.
    await trio.sleep(300.0)
    memory_sim.fill_order(a, D("0.01"), D("949"))
    b = resting_order(memory_sim, "ETHUSDT", "SELL", "4100", "2")
    memory_sim.fill_order(b, D("1.5"), D("3100"))
    await trio.sleep(300.0)
    for got in (second, third):  # twice from the same cursor: the same fills
        since = bt.FillCursor.parse(stored)
        async with collecting(memory_sim, got, bt.Fills(since=since)):
            await got.wait_for(2)
            await trio.sleep(30.0)
            if got is second:
                memory_sim.fill_order(b, D("0.5"), D("3101"))  # and live after them
                await got.wait_for(3)
    assert [(f.fill_id, f.price, f.source) for f in second.items] == [
        (f"{a}/0.02", D(949), RECOVERED),
        (f"{b}/1.5", D(3100), RECOVERED),
        (f"{b}/2", D(3101), WS),
    ]
    assert [f.fill_id for f in third.items] == [f"{a}/0.02", f"{b}/1.5", f"{b}/2"]
    # Resuming from the last one's cursor: nothing again.
    last = str(third.items[-1].cursor)
    async with (
        open_stream(memory_sim) as stream,
        stream.subscribe(bt.Fills(since=bt.FillCursor.parse(last))) as fills,
    ):
        with trio.move_on_after(60.0):
            extra = await fills.receive()
            raise AssertionError(f"delivered again: {extra}")


async def test_reconnects_and_a_second_stream_deliver_nothing_twice(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    got, other = Fills(), Fills()
    async with (
        open_stream(memory_sim, reconcile_interval=30.0) as stream,
        stream.subscribe(bt.Fills()) as fills,
        stream.subscribe(bt.Orders()) as orders,
        stream.subscribe(bt.Fills()) as fills_too,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(got.collect, fills)
        nursery.start_soon(other.collect, fills_too)
        assert await orders.snapshot() == ()
        order_id = (
            await stream.rest.place_order("BTCUSDT", "SELL", "LIMIT", "1", "99000")
        ).order_id
        for step in range(5):
            memory_sim.fill_order(order_id, D("0.1"), D(990 + step))
            await stream.reconnect()
            memory_sim.fill_order(order_id, D("0.1"), D(980 + step))
            memory_sim.drop_all()
            await trio.sleep(40.0)
        await got.wait_for(10)
        nursery.cancel_scope.cancel()
    assert [f.fill_id for f in got.items] == [f.fill_id for f in other.items]
    assert_once(got.items, memory_sim, [order_id])


# -- the pure parts --------------------------------------------------------------------------


def test_fill_ids_are_the_order_and_the_cumulative_quantity() -> None:
    assert fill_id("42", D("0.0300")) == "42/0.03"
    assert fill_id("42", D("10")) == "42/10"
    assert fill_id("42", D("1E+1")) == "42/10"


def test_a_cursor_round_trips_through_text() -> None:
    coverage = FillCoverage(bt.FillCursor(1_000))
    trades = [
        bt.AccountTrade(
            trade_id=str(n),
            order_id="o:1/x",
            client_id=None,
            position_id=None,
            symbol="BTCUSDT",
            side=bt.Side.BUY,
            order_type=None,
            qty=D("0.5"),
            price=D(100 + n),
            fee=None,
            realized_pnl=None,
            reduce_only=None,
            role="TAKER",
            leverage=None,
            margin_mode=None,
            position_mode=None,
            created_ms=2_000 + n,
        )
        for n in range(3)
    ]
    fills = fills_from_trades(trades)
    assert [f.fill_id for f in fills] == ["o:1/x/0.5", "o:1/x/1", "o:1/x/1.5"]
    assert [f.maker for f in fills] == [False] * 3
    delivered = [coverage.admit(f) for f in fills]
    cursor = delivered[-1].cursor  # type: ignore[union-attr]
    assert bt.FillCursor.parse(str(cursor)) == cursor
    assert str(cursor).startswith("fc1:1000:")
    # A repeat is refused, an overlap trimmed.
    again = FillCoverage(bt.FillCursor.parse(str(cursor)))
    assert all(again.admit(f) is None for f in fills)
    wide = fills_from_trades([*trades, *trades[:1]])[-1]  # (1.5, 2]
    assert again.admit(wide) is not None
    # The watermark forgets orders whose fills are well before it.
    again.advance(10_000_000)
    assert len(again) == 0
    assert again.cursor() == bt.FillCursor(10_000_000)


@pytest.mark.parametrize(
    "text",
    ["", "fc2:1", "fc1", "fc1:x", "fc1:1:a=1~0@5", "fc1:1:a=1@5", "fc1:1:=0~1@5", "fc1:1:a=0~1"],
)
def test_bad_cursor_text_is_refused(text: str) -> None:
    with pytest.raises(bt.ConfigurationError, match="not a fill cursor"):
        bt.FillCursor.parse(text)


def test_fills_spec() -> None:
    assert bt.Fills().key == bt.Orders().key
    assert repr(bt.Fills()) == "Fills()"
    cursor = bt.FillCursor(5)
    assert bt.Subscription("fills", params={"since": cursor}).resolve() == bt.Fills(since=cursor)
    with pytest.raises(bt.ConfigurationError, match=r"FillCursor\.parse"):
        bt.Fills(since="fc1:5")  # type: ignore[arg-type]
