"""The grid bot of ``examples/gridbot.py`` against the simulated exchange, in virtual time.

The grid is wide (lines 200 USDT apart on ETHUSDT, about 6 % of the price) so that the
simulated market's own wandering reaches no line during a test: only ``set_mid_price``
moves the market through lines, and every fill is a maker fill at its order's price. The
expected orders and the realized P&L are written out by hand below, line by line, and
checked against the bot and against the exchange's own books.
"""

from __future__ import annotations

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

import bitunix_trio as bt
from bitunix_trio.testing import SimulatedExchange, open_simulated_exchange

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))
import gridbot  # noqa: E402
import gridbot_websocket_example  # noqa: E402

SYMBOL = "ETHUSDT"
QTY = Decimal("0.1")
CONFIG = gridbot.GridBotConfig(SYMBOL, Decimal(2100), Decimal(4100), 10, QTY)
FP = CONFIG.fingerprint
B, S = bt.Side.BUY, bt.Side.SELL
LINES = [Decimal(2100 + 200 * i) for i in range(11)]


def cid(edge: int, gen: int, side: bt.Side) -> str:
    return f"grid-{FP}-e{edge}g{gen}{side.value[0]}"


def placed(edge: int, gen: int, side: bt.Side) -> tuple[str, bt.Side, Decimal]:
    """A grid order by hand: edge ``e`` buys on line ``e`` and sells on line ``e + 1``."""
    price = LINES[edge] if side is B else LINES[edge + 1]
    return cid(edge, gen, side), side, price


# The simulated ETH price starts at 3100, on line 5: that line stays empty.
INITIAL = [placed(e, 0, B) for e in range(5)] + [placed(e, 0, S) for e in range(5, 10)]


class Out:
    """The bot's printed lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)


async def until(done: Callable[[], bool], *, seconds: float = 120.0) -> None:
    """Wait (virtual time) until ``done()``."""
    with trio.fail_after(seconds):
        while not done():  # noqa: ASYNC110 (the bot and the exchange both change)
            await trio.sleep(0.05)


def exchange_orders(sim: SimulatedExchange) -> list[tuple[str, bt.Side, Decimal]]:
    """Every order of the account, in the order it was placed."""
    account = sim.engine.account_by_key(sim.credentials.api_key)
    assert account is not None
    out = []
    for client_id in account.client_ids:
        order = account.find_order(None, client_id)
        assert order is not None
        assert order.price is not None
        assert order.qty == QTY
        out.append((client_id, bt.Side(order.side), order.price))
    return out


def exchange_open(sim: SimulatedExchange) -> set[str]:
    account = sim.engine.account_by_key(sim.credentials.api_key)
    assert account is not None
    return {o.client_id or "" for o in account.open_orders.values()}


def exchange_position(sim: SimulatedExchange) -> Decimal:
    account = sim.engine.account_by_key(sim.credentials.api_key)
    assert account is not None
    position = account.positions.get(SYMBOL)
    if position is None:
        return Decimal(0)
    return position.qty if position.side == "LONG" else -position.qty


def exchange_pnl(sim: SimulatedExchange) -> Decimal:
    account = sim.engine.account_by_key(sim.credentials.api_key)
    assert account is not None
    return sum((Decimal(t["realizedPNL"]) for t in account.trades), Decimal(0))


def bot_open(bot: gridbot.GridBot) -> set[str]:
    return {o.client_id for o in bot.open_orders()}


def fill(edge: int, gen: int, side: bt.Side, price: int, pnl: int) -> tuple[str, Decimal, Decimal]:
    """A fill by hand: its client id, price and realized P&L."""
    return cid(edge, gen, side), Decimal(price), Decimal(pnl)


def fee(*prices: int) -> Decimal:
    """Maker fees (0.02 %) of fills of QTY at ``prices``."""
    return sum((Decimal(p) * QTY * Decimal("0.0002") for p in prices), Decimal(0))


@asynccontextmanager
async def exchange_and_stream(
    **options: Any,
) -> AsyncIterator[tuple[SimulatedExchange, bt.BitunixStream]]:
    """The in-memory simulated exchange and a stream on its account."""
    async with (
        open_simulated_exchange(seed=0, memory=True) as sim,
        open_sim_stream(sim, seed=3, credentials=sim.credentials, **options) as stream,
    ):
        yield sim, stream


@asynccontextmanager
async def running(
    stream: bt.BitunixStream, *, use_websocket: bool = True
) -> AsyncIterator[tuple[gridbot.GridBot, Out]]:
    out = Out()
    bot = gridbot.GridBot(stream, CONFIG, use_websocket=use_websocket, out=out)
    async with trio.open_nursery() as nursery:
        await nursery.start(bot.run)
        yield bot, out
        nursery.cancel_scope.cancel()


def settled(sim: SimulatedExchange, bot: gridbot.GridBot, expected_open: set[str]) -> bool:
    """The bot's open orders are the expected ones, as are the exchange's, and the bot
    shows the exchange's position."""
    return bot_open(bot) == expected_open == exchange_open(
        sim
    ) and bot.position == exchange_position(sim)


async def test_a_price_path_across_many_lines_with_drops_silences_and_a_restart(
    autojump_clock: trio.testing.MockClock,
) -> None:
    reconnect = bt.ReconnectPolicy(initial_delay=1.0, max_delay=4.0)
    async with exchange_and_stream(reconnect=reconnect) as (sim, stream):
        # The orders each step should place (in any order within a step).
        expected: list[set[tuple[str, bt.Side, Decimal]]] = []
        live = {c for c, _, _ in INITIAL}

        def step(
            filled: list[tuple[int, int, bt.Side]], then: list[tuple[int, int, bt.Side]]
        ) -> None:
            for edge, gen, side in filled:
                live.remove(cid(edge, gen, side))
            expected.append({placed(edge, gen, side) for edge, gen, side in then})
            for edge, gen, side in then:
                live.add(cid(edge, gen, side))

        async with running(stream) as (bot, out):
            assert exchange_orders(sim) == INITIAL  # edge by edge
            assert settled(sim, bot, live)
            assert bot.board().splitlines()[5] == "       3100.00  ----"

            # 1. Down to 2800: the buy on 2900 fills; its edge sells on 3100 next.
            sim.set_mid_price(SYMBOL, "2800")
            step([(4, 0, B)], [(4, 1, S)])
            await until(lambda: settled(sim, bot, live))
            assert bot.position == QTY
            assert bot.average_price == 2900

            # 2. Up to 3200: that sell fills and closes the round trip (+200 x 0.1); the
            #    buy on 2900 is back.
            sim.set_mid_price(SYMBOL, "3200")
            step([(4, 1, S)], [(4, 2, B)])
            await until(lambda: settled(sim, bot, live))
            assert bot.realized_pnl == 20
            assert bot.position == 0

            # 3. Up to 3400: the sell on 3300 opens a short (and a round trip of edge 5).
            sim.set_mid_price(SYMBOL, "3400")
            step([(5, 0, S)], [(5, 1, B)])
            await until(lambda: settled(sim, bot, live))
            assert bot.position == -QTY

            # 4. The WebSocket side goes away; meanwhile the price falls to 2600 through
            #    three buys: 3100 closes edge 5's round trip (+20) and the short; 2900 and
            #    2700 open a long of 0.2 at an average of 2800. Their pushes are lost; the
            #    fills are recovered.
            with sim.offline():
                sim.set_mid_price(SYMBOL, "2600")
                await trio.sleep(15)
            step([(5, 1, B), (4, 2, B), (3, 0, B)], [(5, 2, S), (4, 3, S), (3, 1, S)])
            await until(lambda: settled(sim, bot, live))
            assert bot.realized_pnl == 40
            assert bot.position == 2 * QTY
            assert bot.average_price == 2800

            # 5. Every socket dropped, and the price rises to 3000 before the client is
            #    back: the sell on 2900 closes edge 3's round trip (+20; the exchange books
            #    +10 against the average of 2800).
            sim.drop_all()
            sim.set_mid_price(SYMBOL, "3000")
            step([(3, 1, S)], [(3, 2, B)])
            await until(lambda: settled(sim, bot, live))
            assert bot.realized_pnl == 60
            assert exchange_pnl(sim) == 20 + 20 + 10

            # 6. The exchange goes silent (no pushes, no pongs) while the price rises to
            #    3200: the sell on 3100 closes edge 4's round trip (+20) and the long (the
            #    exchange books +30: flat again, the two agree).
            sim.go_silent()
            sim.set_mid_price(SYMBOL, "3200")
            await trio.sleep(40)
            sim.go_silent(False)
            step([(4, 3, S)], [(4, 4, B)])
            await until(lambda: settled(sim, bot, live))
            assert bot.realized_pnl == 80 == exchange_pnl(sim)
            assert bot.position == 0

            first_fills = list(bot.fills)
            assert bot.fees == fee(2900, 3100, 3300, 3100, 2900, 2700, 2900, 3100)
            assert bot.lost == []
        # The bot stopped; its orders stay open.
        assert exchange_open(sim) == live

        # 7. While no bot runs, the price rises to 3600: the sells on 3300 (edge 5, gen 2)
        #    and 3500 (edge 6, gen 0) open round trips and a short of 0.2 at 3400.
        sim.set_mid_price(SYMBOL, "3600")
        await trio.sleep(5)
        async with running(stream) as (bot, out):
            # Rebuilt from the open orders and the history: both edges get their buys.
            step([(5, 2, S), (6, 0, S)], [(5, 3, B), (6, 1, B)])
            assert settled(sim, bot, live)
            assert [(f.client_id, f.while_away) for f in bot.fills] == [
                (cid(5, 2, S), True),
                (cid(6, 0, S), True),
            ]
            assert bot.position == -2 * QTY
            assert bot.average_price == 3400
            assert "10 orders found open" not in out.lines[0]
            assert "8 orders found open, 2 to place" in out.lines[0]

            # 8. Down to 3200: the buy on 3300 closes edge 6's round trip (+20).
            sim.set_mid_price(SYMBOL, "3200")
            step([(6, 1, B)], [(6, 2, S)])
            await until(lambda: settled(sim, bot, live))
            assert bot.realized_pnl == 20
            assert bot.position == -QTY
            second_fills = list(bot.fills)

        # Every order placed, each once: the grid, then one order per fill, step by step.
        orders = exchange_orders(sim)
        assert orders[:10] == INITIAL
        at = 10
        for group in expected:
            assert set(orders[at : at + len(group)]) == group
            at += len(group)
        assert at == len(orders) == 10 + 11
        # Every fill once, at its order's price, with the P&L worked out above (the three
        # fills of step 4 were recovered together, in no particular order).
        seen = [(f.client_id, f.price, f.realized_pnl) for f in first_fills]
        assert seen[:3] == [
            fill(4, 0, B, 2900, 0),
            fill(4, 1, S, 3100, 20),
            fill(5, 0, S, 3300, 0),
        ]
        assert sorted(seen[3:6]) == [
            fill(3, 0, B, 2700, 0),
            fill(4, 2, B, 2900, 0),
            fill(5, 1, B, 3100, 20),
        ]
        assert seen[6:] == [fill(3, 1, S, 2900, 20), fill(4, 3, S, 3100, 20)]
        assert bot.fees == fee(3300, 3500, 3300)
        assert [f.source for f in first_fills[:3]] == [bt.DataSource.WEBSOCKET] * 3
        assert bt.DataSource.WEBSOCKET not in {f.source for f in first_fills[3:]}
        assert [(f.client_id, f.price, f.realized_pnl) for f in second_fills] == [
            fill(5, 2, S, 3300, 0),
            fill(6, 0, S, 3500, 0),
            fill(6, 1, B, 3300, 20),
        ]
        # The exchange's books: 80, then the buy on 3300 reduced the short of 0.2 at 3400
        # (+10). The grid's 100 is 10 more: edge 5's open sell on 3300 sits in the short
        # at its average of 3400.
        assert exchange_pnl(sim) == 90
        assert bot.average_price == 3400


async def test_rest_polling_mode_trades_the_same_grid_through_rest_outages(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with exchange_and_stream() as (sim, stream):
        live = {c for c, _, _ in INITIAL}
        async with running(stream, use_websocket=False) as (bot, out):
            assert bot.connection == "REST polling"
            assert settled(sim, bot, live)
            # Down through two buys while REST is down: nothing is seen until it is back.
            sim.rest_down()
            sim.set_mid_price(SYMBOL, "2600")
            await trio.sleep(10)
            assert bot.fills == []
            assert bot.connection.startswith("REST polling: failing")
            sim.rest_down(False)
            live -= {cid(4, 0, B), cid(3, 0, B)}
            live |= {cid(4, 1, S), cid(3, 1, S)}
            await until(lambda: settled(sim, bot, live))
            assert bot.connection == "REST polling"
            # Up through both sells and the first sell of the grid.
            sim.set_mid_price(SYMBOL, "3400")
            live -= {cid(4, 1, S), cid(3, 1, S), cid(5, 0, S)}
            live |= {cid(4, 2, B), cid(3, 2, B), cid(5, 1, B)}
            await until(lambda: settled(sim, bot, live))
        assert sorted((f.client_id, f.price, f.realized_pnl) for f in bot.fills) == sorted(
            [
                fill(4, 0, B, 2900, 0),
                fill(3, 0, B, 2700, 0),
                fill(3, 1, S, 2900, 20),
                fill(4, 1, S, 3100, 20),
                fill(5, 0, S, 3300, 0),
            ]
        )
        assert {f.source for f in bot.fills} == {bt.DataSource.REST}
        # The long of 0.2 at 2800 closed at 2900 and 3100: the exchange books 40 too.
        assert bot.realized_pnl == 40 == exchange_pnl(sim)
        assert bot.position == -QTY
        assert bot.fees == fee(2900, 2700, 2900, 3100, 3300)
        assert any("polling failed" in line for line in out.lines)
        assert any("polling works again" in line for line in out.lines)


async def test_an_order_whose_placement_landed_unseen_is_adopted_not_doubled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with exchange_and_stream() as (sim, stream):
        async with running(stream) as (bot, out):
            # The buy on 2900 fills while REST is down: its sell cannot be placed yet.
            sim.rest_down()
            sim.set_mid_price(SYMBOL, "2800")
            await until(lambda: len(bot.fills) == 1)
            await trio.sleep(5)
            assert bot.orders[4].client_id == cid(4, 1, S)
            assert bot.orders[4].order_id is None
            assert any("retrying: placing SELL @ 3100" in line for line in out.lines)
            # Meanwhile an attempt reached the exchange after all (its reply was lost).
            landed = sim.engine.place_order(
                sim.credentials.api_key,
                symbol=SYMBOL,
                side="SELL",
                order_type="LIMIT",
                qty=QTY,
                price=Decimal(3100),
                client_id=cid(4, 1, S),
            )
            sim.rest_down(False)
            await until(lambda: bot.orders[4].order_id is not None)
            adopted = bot.orders[4]
            assert adopted.order_id == landed.order_id
        placed_ids = [c for c, _, _ in exchange_orders(sim)]
        assert placed_ids == [c for c, _, _ in INITIAL] + [cid(4, 1, S)]
        place_calls = [r for r in sim.recorder.requests if r.path.endswith("/place_order")]
        assert len(place_calls) == 10  # the grid; the sell was looked up, not sent again
        # A second run finds the grid open and places nothing.
        async with running(stream) as (bot, out):
            assert "10 orders found open, 0 to place" in out.lines[0]
            assert bot_open(bot) == exchange_open(sim)
        assert [c for c, _, _ in exchange_orders(sim)] == placed_ids


async def test_partial_fills_count_and_the_next_order_waits_for_the_whole(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with exchange_and_stream() as (sim, stream):
        async with running(stream) as (bot, _out):
            buy = bot.orders[4]
            assert buy.order_id is not None
            sim.fill_order(buy.order_id, Decimal("0.04"))
            await until(lambda: len(bot.fills) == 1)
            await trio.sleep(5)
            assert bot.orders[4] is buy  # no sell before the whole buy filled
            sim.fill_order(buy.order_id, Decimal("0.06"))
            await until(lambda: bot.orders[4].side is S and bot.orders[4].order_id is not None)
            sell = bot.orders[4]
            assert sell.order_id is not None
            # The sell closes the round trip: 200 x 0.03, then 200 x 0.07.
            sim.fill_order(sell.order_id, Decimal("0.03"))
            await until(lambda: len(bot.fills) == 3)
            sim.fill_order(sell.order_id, Decimal("0.07"))
            await until(lambda: bot.orders[4].client_id == cid(4, 2, B))
        assert [(f.client_id, f.qty, f.realized_pnl) for f in bot.fills] == [
            (cid(4, 0, B), Decimal("0.04"), Decimal(0)),
            (cid(4, 0, B), Decimal("0.06"), Decimal(0)),
            (cid(4, 1, S), Decimal("0.03"), Decimal(6)),
            (cid(4, 1, S), Decimal("0.07"), Decimal(14)),
        ]
        assert [f.fill_id.rpartition("/")[2] for f in bot.fills] == ["0.04", "0.1", "0.03", "0.1"]
        assert bot.realized_pnl == 20


async def test_a_restart_from_the_stored_cursor_counts_partial_fills_made_while_stopped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_simulated_exchange(seed=0, memory=True) as sim:
        async with (
            open_sim_stream(sim, seed=3, credentials=sim.credentials) as stream,
            running(stream) as (bot, _out),
        ):
            sim.set_mid_price(SYMBOL, "2800")
            await until(lambda: cid(4, 1, S) in bot_open(bot))
            assert bot.cursor is not None
            stored = str(bot.cursor)
            sell = bot.orders[4].order_id
            buy = bot.orders[3].order_id
        assert sell is not None
        assert buy is not None
        # While no bot runs: the price falls through the buy on 2700, and 0.04 of the sell
        # on 3100 fills (by hand).
        sim.set_mid_price(SYMBOL, "2600")
        sim.fill_order(sell, Decimal("0.04"))
        await trio.sleep(5)
        out = Out()
        async with open_sim_stream(sim, seed=4, credentials=sim.credentials) as stream:
            bot = gridbot.GridBot(stream, CONFIG, since=bt.FillCursor.parse(stored), out=out)
            async with trio.open_nursery() as nursery:
                await nursery.start(bot.run)
                await until(lambda: len(bot.fills) == 2 and cid(3, 1, S) in bot_open(bot))
                assert bot.orders[4].client_id == cid(4, 1, S)  # still open, 0.06 to go
                # Up to 3200: the new sell on 2900 and the rest of the sell on 3100 fill.
                sim.set_mid_price(SYMBOL, "3200")
                await until(lambda: {cid(3, 2, B), cid(4, 2, B)} <= bot_open(bot))
                nursery.cancel_scope.cancel()
        assert sorted((f.client_id, f.qty, f.realized_pnl) for f in bot.fills) == [
            (cid(3, 0, B), Decimal("0.1"), Decimal(0)),
            (cid(3, 1, S), Decimal("0.1"), Decimal(20)),
            (cid(4, 1, S), Decimal("0.04"), Decimal(8)),  # 200 x 0.04
            (cid(4, 1, S), Decimal("0.06"), Decimal(12)),
        ]
        assert {f.source for f in bot.fills[:2]} == {bt.DataSource.RECOVERED}
        assert bot.realized_pnl == 40
        assert bot.position == exchange_position(sim) == 0
        assert bot.cursor is not None
        assert str(bot.cursor) != stored


async def test_orders_of_another_grid_are_left_alone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with exchange_and_stream() as (sim, stream):
        other = gridbot.GridBotConfig(SYMBOL, "2000", "4000", 4, "0.1")
        async with trio.open_nursery() as nursery:
            await nursery.start(gridbot.GridBot(stream, other, out=Out()).run)
            nursery.cancel_scope.cancel()
        theirs = exchange_open(sim)
        assert len(theirs) == 4
        async with running(stream) as (bot, out):
            assert out.lines[0] == "4 open orders of another grid config are left alone"
            assert exchange_open(sim) == theirs | bot_open(bot)
            assert len(bot_open(bot)) == 10


async def test_cancel_on_exit_and_venue_cancels(autojump_clock: trio.testing.MockClock) -> None:
    config = gridbot.GridBotConfig(SYMBOL, "2100", "4100", 10, "0.1", cancel_on_exit=True)
    async with exchange_and_stream() as (sim, stream):
        out = Out()
        bot = gridbot.GridBot(stream, config, out=out)
        async with trio.open_nursery() as nursery:
            await nursery.start(bot.run)
            victim = bot.orders[0]
            assert victim.order_id is not None
            sim.cancel_order(victim.order_id)
            await until(lambda: bot.lost == [victim])
            assert 0 not in bot.orders
            nursery.cancel_scope.cancel()
        assert exchange_open(sim) == set()
        assert out.lines[-1] == "cancelled 9 grid orders"


@pytest.mark.loopback
async def test_over_loopback_a_fill_made_while_offline_is_recovered(
    sim: SimulatedExchange,
) -> None:
    async with open_sim_stream(
        sim,
        seed=3,
        credentials=sim.credentials,
        reconnect=bt.ReconnectPolicy(initial_delay=0.1, max_delay=0.5),
    ) as stream:
        live = {c for c, _, _ in INITIAL} - {cid(4, 0, B)} | {cid(4, 1, S)}
        async with running(stream) as (bot, _out):
            with sim.offline():
                sim.set_mid_price(SYMBOL, "2800")
                await trio.sleep(0.2)
            await until(lambda: settled(sim, bot, live), seconds=20)
        assert [(f.client_id, f.price) for f in bot.fills] == [(cid(4, 0, B), Decimal(2900))]
        assert bot.fills[0].source is not bt.DataSource.WEBSOCKET
        assert bot.position == QTY


# -- configuration and arithmetic -----------------------------------------------------------


def pair(**changes: object) -> bt.TradingPair:
    values: dict[str, object] = {
        "symbol": SYMBOL,
        "base": "ETH",
        "quote": "USDT",
        "status": "OPEN",
        "min_trade_volume": Decimal("0.001"),
        "max_limit_order_volume": Decimal(1000),
        "max_market_order_volume": Decimal(1000),
        "base_precision": 3,
        "quote_precision": 2,
        "min_leverage": 1,
        "max_leverage": 100,
        "default_leverage": 10,
        "default_margin_mode": "CROSS",
        "min_buy_price_offset": None,
        "max_sell_price_offset": None,
        "price_protect_scope": None,
        "ts": 0,
    }
    values.update(changes)
    return bt.TradingPair(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lower_price": 3.5}, "lower_price must be a Decimal, str or int, not float"),
        ({"lower_price": "abc"}, "lower_price is not a number: 'abc'"),
        ({"upper_price": "-1"}, "upper_price must be positive"),
        ({"lower_price": "4100"}, "lower_price (4100) must be below upper_price (4100)"),
        ({"grids": 0}, "grids must be an int from 1 to 100, got 0"),
        ({"grids": 2.0}, "grids must be an int from 1 to 100, got 2.0"),
        ({"qty_per_order": "0"}, "qty_per_order must be positive"),
        ({"symbol": "ETH USDT"}, "symbol must be a contract name"),
        ({"client_prefix": "my-bot"}, "client_prefix must be 1 to 12 letters or digits"),
        ({"poll_interval": 0}, "poll_interval must be positive seconds"),
    ],
)
def test_config_errors_name_the_field(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "symbol": SYMBOL,
        "lower_price": "2100",
        "upper_price": "4100",
        "grids": 10,
        "qty_per_order": "0.1",
    }
    values.update(kwargs)
    with pytest.raises(bt.ConfigurationError) as info:
        gridbot.GridBotConfig(**values)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert str(info.value).startswith("GridBotConfig: ")


def test_config_normalises_and_fingerprints() -> None:
    config = gridbot.GridBotConfig(" ethusdt ", "2100.0", 4100, 10, "0.10")
    assert config.symbol == SYMBOL
    assert config.lower_price == Decimal(2100)
    assert isinstance(config.upper_price, Decimal)
    assert config.fingerprint == CONFIG.fingerprint
    other = gridbot.GridBotConfig(SYMBOL, "2100", "4100", 11, "0.1")
    assert other.fingerprint != CONFIG.fingerprint


def test_lines_on_the_tick() -> None:
    plan = gridbot.GridPlan.build(gridbot.GridBotConfig(SYMBOL, "3000", "3100", 3, "0.01"), pair())
    # 100 / 3 = 33.333...: each line rounds to the cent.
    assert plan.lines == (Decimal(3000), Decimal("3033.33"), Decimal("3066.67"), Decimal(3100))
    assert plan.order_price(1, B) == Decimal("3033.33")
    assert plan.order_price(1, S) == Decimal("3066.67")
    # The line nearest the price stays empty.
    assert [plan.opening_side(e, Decimal("3040")) for e in range(3)] == [B, S, S]
    assert [plan.opening_side(e, Decimal("2000")) for e in range(3)] == [S, S, S]
    assert [plan.opening_side(e, Decimal("9000")) for e in range(3)] == [B, B, B]
    client_id = plan.client_id(2, 17, S)
    assert plan.parse_client_id(client_id) == (2, 17, S)
    assert plan.parse_client_id(client_id.replace("e2", "e3")) is None  # no edge 3
    assert plan.parse_client_id("someone-else") is None
    assert plan.is_other_grid(CONFIG.client_prefix + "-abcdef-e1g0B")


@pytest.mark.parametrize(
    ("config", "rules", "message"),
    [
        (
            ("3000.005", "3100", 3, "0.01"),
            {},
            "lower_price 3000.005 is not on ETHUSDT's price tick 0.01",
        ),
        (("3000", "3100", 3, "0.0101"), {}, "qty_per_order 0.0101 is not a multiple of"),
        (
            ("3000", "3100", 3, "0.001"),
            {"min_trade_volume": Decimal("0.01")},
            "below ETHUSDT's minimum order quantity 0.01",
        ),
        (
            ("3000", "3000.5", 100, "0.01"),
            {},
            "closer than ETHUSDT's price tick 0.01: use fewer grids",
        ),
        (("3000", "3100", 3, "0.01"), {"status": "STOP"}, "ETHUSDT is not open for trading"),
    ],
)
def test_plan_errors_name_the_rule(
    config: tuple[str, str, int, str], rules: dict[str, object], message: str
) -> None:
    with pytest.raises(bt.ConfigurationError) as info:
        gridbot.GridPlan.build(gridbot.GridBotConfig(SYMBOL, *config), pair(**rules))
    assert message in str(info.value)


async def test_unknown_symbol_is_one_clear_error(autojump_clock: trio.testing.MockClock) -> None:
    async with exchange_and_stream() as (_sim, stream):
        bot = gridbot.GridBot(stream, gridbot.GridBotConfig("NOPEUSDT", 1, 2, 2, 1))
        with pytest.raises(bt.BitunixError, match="NOPEUSDT"):
            await bot.run()


# -- the example script -------------------------------------------------------------------------


async def test_the_example_runs_on_the_simulated_exchange(
    autojump_clock: trio.testing.MockClock, capsys: pytest.CaptureFixture[str]
) -> None:
    await gridbot_websocket_example.main(["--seconds", "5", "--grids", "4"])
    printed = capsys.readouterr().out
    assert "simulated exchange at" in printed
    assert "4 to place" in printed
    assert "open: buys 2 at" in printed


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
    argv = ["--live", "--lower", "2900", "--upper", "3300", "--qty", "0.01"]
    with pytest.raises(SystemExit) as exit_info:
        await gridbot_websocket_example.main(argv)
    message = exit_info.value.code
    assert isinstance(message, str)  # printed as one line on stderr, exit status 1
    assert "\n" not in message
    assert message.startswith("gridbot_websocket_example.py: --live trades with your API")
    assert missing in message
    assert exit_info.value.__suppress_context__  # no chained traceback either
