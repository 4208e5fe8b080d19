"""A long run against a flaky exchange: the consumer sees data and state events, nothing else.

An hour of virtual time over the in-memory simulated exchange, with a seeded schedule
of every fault the exchange can inject. The consumers never see an exception, data flows
again after each fault, and every fill the exchange makes reaches the orders consumer once.
"""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal
from typing import Any

import trio
import trio.testing

import bitunix_trio as bt
from bitunix_trio.testing import SimulatedExchange

MINUTES = 60


async def apply_fault(exchange: SimulatedExchange, rng: random.Random, fills: list[str]) -> str:
    """One fault from the menu, held for a while, then lifted. Returns its name."""
    engine = exchange.engine
    api_key = exchange.credentials.api_key
    fault = rng.choice(
        ["drop", "silent", "pings", "close", "garbage", "ws_down", "offline_fill", "fill"]
    )
    if fault == "drop":
        exchange.drop_all()
    elif fault == "silent":
        exchange.go_silent()
        await trio.sleep(rng.uniform(5, 30))
        exchange.go_silent(False)
    elif fault == "pings":
        exchange.stop_answering_pings()
        await trio.sleep(rng.uniform(20, 40))
        exchange.stop_answering_pings(False)
    elif fault == "close":
        exchange.close_all(1011, "maintenance")
    elif fault == "garbage":
        exchange.send_garbage(3)
    elif fault == "ws_down":
        exchange.ws_down()
        await trio.sleep(rng.uniform(5, 40))
        exchange.ws_down(False)
    else:
        # An order filled, either while the clients are away or on a healthy socket.
        side = rng.choice(["BUY", "SELL"])
        order = engine.place_order(
            api_key,
            symbol="ETHUSDT",
            side=side,
            order_type="LIMIT",
            qty=Decimal("0.01"),
            # Far from the market (~3,100): it rests until we fill it.
            price=Decimal(1000) if side == "BUY" else Decimal(9000),
        )
        exchange.flush()
        if fault == "offline_fill":
            async with exchange.offline():
                await trio.sleep(rng.uniform(2, 10))
                exchange.fill_order(order.order_id)
        else:
            await trio.sleep(1)
            exchange.fill_order(order.order_id)
        fills.append(order.order_id)
    return fault


async def test_an_hour_of_faults(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    rng = random.Random(2026)
    fills: list[str] = []
    faults: Counter[str] = Counter()
    received: Counter[str] = Counter()
    filled_seen: dict[str, int] = Counter()
    consumer_errors: list[BaseException] = []
    book_arrived = trio.Event()

    async def consume(sub: trio.abc.ReceiveChannel[Any], name: str) -> None:
        try:
            async for value in sub:
                received[name] += 1
                if name == "book":
                    book_arrived.set()
                if isinstance(value, bt.Order) and value.status is bt.OrderStatus.FILLED:
                    filled_seen[value.order_id] += 1
        except BaseException as exc:  # pragma: no cover - the assertion below reports it
            consumer_errors.append(exc)
            raise

    async with (
        bt.open_bitunix_stream(
            **memory_sim.stream_options(), rng=random.Random(7), reconcile_interval=60.0
        ) as stream,
        stream.subscribe(bt.OrderBook("BTCUSDT", depth=5)) as books,
        stream.subscribe(bt.Ticker("ETHUSDT")) as tickers,
        stream.subscribe(bt.Trades("BTCUSDT"), buffer=100_000) as trades,
        stream.subscribe(bt.Orders(), buffer=10_000) as orders,
        stream.state_events(buffer=100_000) as changes,
        trio.open_nursery() as nursery,
    ):
        subscriptions: list[tuple[trio.abc.ReceiveChannel[Any], str]] = [
            (books, "book"),
            (tickers, "ticker"),
            (trades, "trades"),
        ]
        for sub, name in subscriptions:
            nursery.start_soon(consume, sub, name)
        nursery.start_soon(consume, orders, "orders")
        nursery.start_soon(consume, changes, "states")

        end = trio.current_time() + MINUTES * 60
        while trio.current_time() < end - 120:
            await trio.sleep(rng.uniform(20, 60))
            faults[await apply_fault(memory_sim, rng, fills)] += 1
            # After every fault, data flows again within a minute.
            book_arrived = trio.Event()
            with trio.fail_after(60):
                await book_arrived.wait()
        await trio.sleep_until(end)

        assert consumer_errors == []
        assert stream.state in {bt.ConnectionState.AUTHENTICATED, bt.ConnectionState.CONNECTED}
        assert len(faults) == 8, faults  # the schedule exercised the whole menu
        assert stream.statistics().reconnects >= faults["drop"] + faults["close"]
        # Every fill reached the orders consumer exactly once, however it travelled.
        assert {order_id: filled_seen[order_id] for order_id in fills} == dict.fromkeys(fills, 1)
        assert received["book"] > MINUTES * 60  # ~3 a second, minus the outages
        assert received["trades"] > 0
        nursery.cancel_scope.cancel()
