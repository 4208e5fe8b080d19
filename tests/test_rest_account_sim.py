"""The REST client's account, position, order-change and TP/SL calls against the simulated
exchange: in process (``rest_transport()``, ``MockClock(autojump_threshold=0)``) and over
a real loopback HTTP server (hypercorn on 127.0.0.1)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import trio
import trio.testing

from bitunix_trio._core.errors import ExchangeError
from bitunix_trio._core.models import (
    DataSource,
    MarginMode,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
    StopType,
)
from bitunix_trio._rest.client import BitunixRestClient, open_rest_client
from bitunix_trio.testing import SimulatedExchange, open_simulated_exchange

BTC = "BTCUSDT"
ETH = "ETHUSDT"

FLAVOURS = [
    pytest.param("memory", id="memory"),
    pytest.param("loopback", id="loopback", marks=pytest.mark.loopback),
]


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock(flavour: str) -> trio.testing.MockClock | None:
    return trio.testing.MockClock(autojump_threshold=0) if flavour == "memory" else None


@pytest.fixture
async def env(
    flavour: str, clock: object
) -> AsyncIterator[tuple[SimulatedExchange, BitunixRestClient]]:
    memory = flavour == "memory"
    async with (
        open_simulated_exchange(seed=5, memory=memory, rest_rate_limits=False) as sim,
        open_rest_client(
            sim.credentials,
            sim.rest_url,
            transport=sim.rest_transport() if memory else None,
            rate_limit=None,
            clock=lambda: sim.now_ms() / 1000,
        ) as rest,
    ):
        yield sim, rest


async def last(rest: BitunixRestClient, symbol: str = BTC) -> Decimal:
    [ticker] = await rest.get_tickers([symbol])
    return ticker.last_price


async def test_history_positions_and_trades(
    env: tuple[SimulatedExchange, BitunixRestClient], clock: object
) -> None:
    _, rest = env
    assert await rest.get_history_positions() == []
    opened = await rest.place_order(BTC, "BUY", "MARKET", "0.02")
    closed = await rest.place_order(BTC, "SELL", "MARKET", "0.02", reduce_only=True)

    [position] = await rest.get_history_positions(BTC)
    assert position.side is PositionSide.LONG
    assert position.qty == position.max_qty == Decimal("0.02")
    assert position.entry_price is not None
    assert position.close_price is not None
    assert position.margin_mode is MarginMode.CROSS
    assert position.position_mode is PositionMode.ONE_WAY
    assert position.source is DataSource.REST
    assert position.created_ms is not None
    same = await rest.get_history_positions(position_id=position.position_id)
    assert same == [position]

    trades = await rest.get_history_trades(BTC)
    assert {t.order_id for t in trades} == {opened.order_id, closed.order_id}
    assert trades[0].order_id == closed.order_id  # newest first
    assert trades[0].side is Side.SELL
    assert trades[0].reduce_only is True
    assert trades[0].role == "TAKER"
    assert sum(t.qty for t in trades if t.order_id == closed.order_id) == Decimal("0.02")
    assert all(t.position_id == position.position_id for t in trades)
    mine = await rest.get_history_trades(order_id=opened.order_id)
    assert {t.order_id for t in mine} == {opened.order_id}
    assert len(await rest.get_history_trades(limit=1)) == 1


async def test_modify_order_changes_price_and_qty(
    env: tuple[SimulatedExchange, BitunixRestClient], clock: object
) -> None:
    _, rest = env
    far = ((await last(rest)) * Decimal("0.8")).quantize(Decimal("0.1"))
    placed = await rest.place_order(BTC, "BUY", "LIMIT", "0.01", far, "mod-1")
    assert await rest.modify_order(client_id="mod-1", qty="0.02", price=far - 10) == (
        placed.order_id
    )
    order = await rest.get_order_detail(placed.order_id)
    assert order.qty == Decimal("0.02")
    assert order.price == far - 10
    await rest.modify_order(placed.order_id, tp_price=far * 2, tp_stop_type="mark")
    order = await rest.get_order_detail(placed.order_id)
    assert order.tp_price == far * 2
    assert order.tp_stop_type is StopType.MARK_PRICE
    with pytest.raises(ExchangeError) as info:
        await rest.modify_order("42", price=far)
    assert info.value.code == 20007


async def test_batch_orders_report_each_outcome(
    env: tuple[SimulatedExchange, BitunixRestClient], clock: object
) -> None:
    _, rest = env
    far = ((await last(rest, ETH)) * Decimal("0.8")).quantize(Decimal("0.01"))
    result = await rest.place_batch_orders(
        ETH,
        [
            {"side": "BUY", "order_type": "LIMIT", "qty": "0.01", "price": far, "client_id": "b1"},
            {"side": Side.BUY, "order_type": OrderType.LIMIT, "qty": "0.01", "price": far - 1},
            {"side": "BUY", "order_type": "LIMIT", "qty": "0.01", "price": far, "client_id": "b1"},
        ],
    )
    assert not result.ok
    assert result.placed[0].client_id == "b1"
    assert result.placed[1].client_id.startswith("bt")
    assert [(f.client_id, f.code) for f in result.failures] == [("b1", 30042)]
    pending = await rest.get_pending_orders(ETH)
    assert {o.order_id for o in pending} == {p.order_id for p in result.placed}


async def test_close_all_and_flash_close(
    env: tuple[SimulatedExchange, BitunixRestClient], clock: object
) -> None:
    _, rest = env
    await rest.place_order(BTC, "BUY", "MARKET", "0.01")
    await rest.place_order(ETH, "SELL", "MARKET", "0.1")
    assert len(await rest.get_pending_positions()) == 2
    await rest.close_all_positions(BTC)
    [eth] = await rest.get_pending_positions()
    assert eth.symbol == ETH
    await rest.flash_close_position(eth.position_id)
    assert await rest.get_pending_positions() == []
    with pytest.raises(ExchangeError) as info:
        await rest.flash_close_position(eth.position_id)
    assert info.value.code == 30004
    await rest.place_order(BTC, "BUY", "MARKET", "0.01")
    await rest.close_all_positions()
    assert await rest.get_pending_positions() == []


async def test_leverage_and_margin_settings(
    env: tuple[SimulatedExchange, BitunixRestClient], clock: object
) -> None:
    _, rest = env
    before = await rest.get_leverage_margin_mode(BTC)
    assert before.symbol == BTC
    assert before.margin_coin == "USDT"
    assert before.leverage == 10
    assert before.margin_mode is MarginMode.CROSS
    await rest.change_leverage(BTC, 25)
    await rest.change_margin_mode(BTC, "isolation")
    after = await rest.get_leverage_margin_mode(BTC)
    assert (after.leverage, after.margin_mode) == (25, MarginMode.ISOLATION)
    assert (await rest.get_leverage_margin_mode(ETH)).leverage == 10
    with pytest.raises(ExchangeError) as info:
        await rest.change_leverage(BTC, 500)
    assert info.value.code == 20005

    await rest.place_order(BTC, "BUY", "MARKET", "0.01")
    [pos] = await rest.get_pending_positions(BTC)
    assert pos.leverage == 25
    assert pos.margin_mode is MarginMode.ISOLATION
    with pytest.raises(ExchangeError) as info:
        await rest.change_margin_mode(BTC, MarginMode.CROSS)
    assert info.value.code == 20006
    with pytest.raises(ExchangeError) as info:
        await rest.change_position_mode("HEDGE")
    assert info.value.code == 20009
    margin = pos.margin
    assert margin is not None
    await rest.adjust_position_margin(BTC, "5", position_id=pos.position_id)
    [pos] = await rest.get_pending_positions(BTC)
    assert pos.margin == margin + 5
    await rest.adjust_position_margin(BTC, "-5")
    [pos] = await rest.get_pending_positions(BTC)
    assert pos.margin == margin
    await rest.close_all_positions()
    await rest.change_position_mode(PositionMode.ONE_WAY)


async def test_position_tiers(
    env: tuple[SimulatedExchange, BitunixRestClient], clock: object
) -> None:
    _, rest = env
    tiers = await rest.get_position_tiers(BTC)
    assert [t.level for t in tiers] == [1, 2, 3, 4, 5]
    assert tiers[0].leverage == 125
    assert tiers[0].start_value == 0
    assert all(a.end_value == b.start_value for a, b in itertools.pairwise(tiers))
    assert all(t.maintenance_margin_rate is not None for t in tiers)


async def test_tpsl_orders_place_modify_list_cancel(
    env: tuple[SimulatedExchange, BitunixRestClient], clock: object
) -> None:
    sim, rest = env
    price = await last(rest)
    await rest.place_order(BTC, "BUY", "MARKET", "0.02")
    [pos] = await rest.get_pending_positions(BTC)
    [tpsl_id] = await rest.place_tpsl_order(
        BTC,
        pos.position_id,
        tp_price=price + 3000,
        tp_stop_type="MARK_PRICE",
        tp_order_type="LIMIT",
        tp_order_price=price + 3100,
        tp_qty="0.01",
        sl_price=price - 3000,
    )
    [pending] = await rest.get_pending_tpsl_orders(BTC)
    assert pending.order_id == tpsl_id
    assert pending.position_id == pos.position_id
    assert pending.status is OrderStatus.NEW
    assert pending.tp_order_type is OrderType.LIMIT
    assert pending.tp_order_price == price + 3100
    assert pending.tp_qty == Decimal("0.01")
    assert pending.sl_qty == Decimal("0.02")
    assert pending.sl_stop_type is StopType.LAST_PRICE
    assert pending.source is DataSource.REST

    assert await rest.modify_tpsl_order(tpsl_id, sl_price=price - 3500) == tpsl_id
    [pending] = await rest.get_pending_tpsl_orders(position_id=pos.position_id)
    assert pending.sl_price == price - 3500
    assert await rest.cancel_tpsl_order(BTC, tpsl_id) == tpsl_id
    assert await rest.get_pending_tpsl_orders() == []
    [done] = await rest.get_history_tpsl_orders(BTC)
    assert done.status is OrderStatus.CANCELED
    assert done.created_ms is not None

    position_tpsl = await rest.place_position_tpsl(
        BTC, pos.position_id, tp_price=price + 1000, tp_stop_type="mark"
    )
    assert (
        await rest.modify_position_tpsl(
            BTC, pos.position_id, tp_price=price + 1500, tp_stop_type="mark"
        )
        == position_tpsl
    )
    [pending] = await rest.get_pending_tpsl_orders()
    assert pending.tp_price == price + 1500
    assert pending.tp_qty is None
    sim.set_mid_price(BTC, price + 2000)
    assert await rest.get_pending_positions() == []
    history = await rest.get_history_tpsl_orders()
    assert [h.status for h in history] == [OrderStatus.FILLED, OrderStatus.CANCELED]
    assert len(await rest.get_history_tpsl_orders(limit=1)) == 1
