"""Replaying a recorded session to a bot: the same frames at the same moments, every run.

Run with ``pytest examples/test_replayed_session.py``. The recording was made with
``python -m bitunix_trio record BTCUSDT ETHUSDT --demo --duration 4 --channels ticker
depth_book1 trade -o tests/data/demo_btcusdt_ethusdt.jsonl.gz``; a recording of the real
exchange (no ``--demo``) is replayed the same way.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import trio
import trio.testing

import bitunix_trio as bt
from bitunix_trio.testing import open_simulated_exchange

RECORDING = Path(__file__).parents[1] / "tests" / "data" / "demo_btcusdt_ethusdt.jsonl.gz"


async def highest_price(stream: bt.BitunixStream, symbol: str, ticks: int) -> Decimal:
    """The highest last price of ``symbol`` over its next ``ticks`` tickers."""
    prices: list[Decimal] = []
    async with stream.subscribe(bt.Ticker(symbol)) as tickers:
        async for tick in tickers:
            prices.append(tick.last_price)
            if len(prices) == ticks:
                return max(prices)
    raise RuntimeError("the ticker subscription ended")


async def test_the_bot_sees_the_recorded_market(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        open_simulated_exchange(replay=RECORDING, memory=True, speed=2) as exchange,
        bt.open_bitunix_stream(**exchange.stream_options()) as stream,
    ):
        assert await highest_price(stream, "BTCUSDT", ticks=10) == Decimal("86710.1")
        assert exchange.replay is not None
        assert trio.current_time() - exchange.replay.t0 < exchange.replay.duration / 2
