"""The example grid bot loses no fill across disconnects (simulated exchange, faults on).

Fills happen the way they do on a real market: the price moves through a grid order
(``set_mid_price``). The grid step is wide (2 % of the price) so the simulated market's own
wandering fills nothing else during a test. What the bot believes is checked against the
exchange's own records: every filled grid order is seen exactly once, and the bot's open
orders are the exchange's.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from conftest import open_sim_stream

from bitunix_trio._config import ReconnectPolicy
from bitunix_trio._models import DataSource, OrderStatus, Side
from bitunix_trio.testing import SimulatedExchange

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "grid_bot.py"
SYMBOL = "ETHUSDT"
STEP = Decimal("60")  # about 2 % of the simulated ETH price


def load_grid_bot() -> Any:
    """Import ``examples/grid_bot.py`` (the examples are not a package)."""
    spec = importlib.util.spec_from_file_location("grid_bot", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["grid_bot"] = module
    spec.loader.exec_module(module)
    return module


grid_bot = load_grid_bot()


class Lines:
    """The bot's printed lines, with a way to wait for a condition on the bot."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = trio.Event()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self._changed.set()
        self._changed = trio.Event()

    async def wait(self, done: Callable[[], bool]) -> None:
        while not done():
            await self._changed.wait()


@asynccontextmanager
async def running_bot(sim: SimulatedExchange, levels: int) -> AsyncIterator[tuple[Any, Lines]]:
    reconnect = ReconnectPolicy(initial_delay=1.0, max_delay=4.0)
    async with open_sim_stream(
        sim, seed=5, credentials=sim.credentials, reconnect=reconnect
    ) as stream:
        lines = Lines()
        config = grid_bot.GridConfig(SYMBOL, levels, STEP)
        bot = grid_bot.GridBot(stream.rest, config, out=lines)
        async with trio.open_nursery() as nursery:
            await nursery.start(bot.run, stream)
            yield bot, lines
            nursery.cancel_scope.cancel()


def buy_prices(bot: Any) -> list[Decimal]:
    """The bot's open buys, highest first."""
    return sorted((o.price for o in bot.open.values() if o.side is Side.BUY), reverse=True)


def check_against_the_exchange(sim: SimulatedExchange, bot: Any) -> None:
    """Every filled grid order seen once; the bot's open orders are the exchange's."""
    key = sim.credentials.api_key
    ours = {o.client_id for o in bot.open.values()} | {f.client_id for f in bot.fills}
    filled = {
        o.order_id
        for o in sim.engine.history_orders(key, SYMBOL, limit=1000)
        if o.status is OrderStatus.FILLED and o.client_id in ours
    }
    seen = [f.order_id for f in bot.fills]
    assert sorted(seen) == sorted(filled)
    assert len(set(seen)) == len(seen)
    pending = {o.order_id for o in sim.engine.pending_orders(key, SYMBOL)}
    assert pending == {o.order_id for o in bot.open.values()}


async def test_grid_bot_loses_no_fill_across_disconnects(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with running_bot(memory_sim, levels=3) as (bot, lines):
        assert len(bot.open) == 6
        top, middle, bottom = buy_prices(bot)
        center = top + STEP
        half = STEP / 2

        # 1. On a healthy connection the price falls through the top buy.
        memory_sim.set_mid_price(SYMBOL, top - half)
        await lines.wait(lambda: len(bot.fills) == 1)
        check_against_the_exchange(memory_sim, bot)

        # 2. The WebSocket side goes offline and the price falls through the next buy; its
        #    pushes are lost. After the reconnect the fill is recovered over REST.
        with memory_sim.offline():
            memory_sim.set_mid_price(SYMBOL, middle - half)
            await trio.sleep(15.0)
        await lines.wait(lambda: len(bot.fills) == 2)

        # 3. Every socket is dropped and the price falls through the last buy before the
        #    client is back: lost pushes again, recovered again.
        memory_sim.drop_all()
        memory_sim.set_mid_price(SYMBOL, bottom - half)
        await lines.wait(lambda: len(bot.fills) == 3)

        await trio.sleep(60.0)  # periodic reconciliations: nothing is seen twice
        check_against_the_exchange(memory_sim, bot)
        assert [(f.side, f.price, f.source) for f in bot.fills] == [
            (Side.BUY, top, DataSource.WEBSOCKET),
            (Side.BUY, middle, DataSource.RECOVERED),
            (Side.BUY, bottom, DataSource.RECOVERED),
        ]
        # Each filled buy became a sell one step above it: six sells, no buy left.
        assert buy_prices(bot) == []
        sells = sorted(o.price for o in bot.open.values())
        assert sells == [center + k * STEP for k in range(-2, 4)]
        assert bot.lost == []
        assert any("recovered after a disconnect" in line for line in lines.lines)
    # On the way out the bot cancelled its grid.
    assert memory_sim.engine.pending_orders(memory_sim.credentials.api_key, SYMBOL) == []


@pytest.mark.loopback
async def test_grid_bot_over_loopback_while_offline(sim: SimulatedExchange) -> None:
    async with running_bot(sim, levels=2) as (bot, lines):
        top = buy_prices(bot)[0]
        with sim.offline():
            sim.set_mid_price(SYMBOL, top - STEP / 2)
            await trio.sleep(0.2)
        with trio.fail_after(20):
            await lines.wait(lambda: len(bot.fills) == 1)
        await trio.sleep(0.5)
        check_against_the_exchange(sim, bot)
    assert [(f.price, f.source) for f in bot.fills] == [(top, DataSource.RECOVERED)]
    assert len(bot.open) == 4


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({}, "environment variables BITUNIX_API_KEY and BITUNIX_SECRET_KEY are not set"),
        ({"BITUNIX_API_KEY": "some-api-key"}, "environment variable BITUNIX_SECRET_KEY is not"),
    ],
)
async def test_live_without_keys_is_one_line_naming_the_variables(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], missing: str
) -> None:
    monkeypatch.delenv("BITUNIX_API_KEY", raising=False)
    monkeypatch.delenv("BITUNIX_SECRET_KEY", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_info:
        await grid_bot.main(["--live"])
    message = exit_info.value.code
    assert isinstance(message, str)  # printed as one line on stderr, exit status 1
    assert "\n" not in message
    assert message.startswith(f"{sys.argv[0].rsplit('/', 1)[-1]}: --live trades with your API")
    assert missing in message
    assert exit_info.value.__suppress_context__  # no chained traceback either
