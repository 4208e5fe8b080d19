"""Testing a bot offline: the simulated exchange in memory, under Trio's virtual clock.

Run with ``pytest examples/test_dip_buyer.py``. Nothing touches the network; the market,
the account and the matching engine are the simulated exchange's, deterministic from the
seed, and ``autojump_clock`` (pytest-trio) makes minutes of market time pass in
milliseconds.
"""

from __future__ import annotations

from decimal import Decimal

import trio
import trio.testing

import bitunix_trio as bt
from bitunix_trio.testing import open_simulated_exchange


async def dip_buyer(stream: bt.BitunixStream, symbol: str, below: Decimal, qty: Decimal) -> str:
    """Buy ``qty`` at market the first time ``symbol`` trades below ``below``.

    Returns the order id; a real bot would keep going, this one stops after one trade.
    """
    async with stream.subscribe(bt.Ticker(symbol)) as tickers:
        async for tick in tickers:
            if tick.last_price < below:
                placed = await stream.rest.place_order(
                    symbol=symbol, side="BUY", order_type="MARKET", qty=qty
                )
                return placed.order_id
    raise RuntimeError("the ticker subscription ended")


async def test_buys_once_the_price_dips(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        open_simulated_exchange(seed=1, memory=True) as exchange,
        bt.open_bitunix_stream(**exchange.stream_options()) as stream,
    ):
        order_ids: list[str] = []

        async def run_bot() -> None:
            order_ids.append(await dip_buyer(stream, "BTCUSDT", Decimal(80_000), Decimal("0.01")))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_bot)
            await trio.sleep(30)  # half a minute of market: the price stays near 86,700
            assert order_ids == []
            exchange.set_mid_price("BTCUSDT", Decimal(79_000))  # the dip

        # The bot bought, and the exchange has the position to show for it.
        assert len(order_ids) == 1
        positions = await stream.rest.get_pending_positions("BTCUSDT")
        assert [(p.side, p.qty) for p in positions] == [(bt.PositionSide.LONG, Decimal("0.01"))]


async def test_the_bot_survives_a_dropped_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with (
        open_simulated_exchange(seed=1, memory=True) as exchange,
        bt.open_bitunix_stream(**exchange.stream_options()) as stream,
    ):
        order_ids: list[str] = []

        async def run_bot() -> None:
            order_ids.append(await dip_buyer(stream, "BTCUSDT", Decimal(80_000), Decimal("0.01")))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_bot)
            await trio.sleep(10)
            exchange.drop_all()  # every socket cut with no close frame, as the exchange does
            await trio.sleep(10)  # the stream reconnects and resubscribes by itself
            exchange.set_mid_price("BTCUSDT", Decimal(79_000))
        assert len(order_ids) == 1
        assert stream.statistics().reconnects >= 1
