"""Take-profit / stop-loss orders of the simulated exchange: the pure engine (triggers on
mark or last price, market or limit closing orders, position TP/SL, cancel and modify,
pushes on the ``tpsl`` channel), then the private WebSocket and an end-to-end run through
the REST client and the streaming client (``MockClock(autojump_threshold=0)``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.testing
from conftest import open_sim_stream

from bitunix_trio._core.channels import Orders, Positions, TpSl
from bitunix_trio._core.models import (
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
    StopType,
    TpSlOrder,
    UpdateEvent,
)
from bitunix_trio.testing import SimulatedExchange
from bitunix_trio.testing._engine.engine import ExchangeEngine, SimulatedError

KEY = "k"
BTC = "BTCUSDT"


@pytest.fixture
def engine() -> ExchangeEngine:
    e = ExchangeEngine(seed=3)
    e.create_account(KEY, "secret")
    return e


def pushes(engine: ExchangeEngine, channel: str | None = None) -> list[tuple[str, Any]]:
    events = engine.drain_private_events(KEY)
    return [(c, d) for c, d in events if channel is None or c == channel]


def tpsl_events(events: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(d["event"], d["status"]) for c, d in events if c == "tpsl"]


def open_long(engine: ExchangeEngine, qty: str = "0.01", **tpsl: Any) -> str:
    engine.place_order(KEY, symbol=BTC, side="BUY", order_type="MARKET", qty=qty, **tpsl)
    [pos] = engine.pending_positions(KEY, BTC)
    return pos.position_id


def mid(engine: ExchangeEngine) -> Decimal:
    return engine.ticker(BTC).last_price


# --------------------------------------------------------------------------- order tp/sl


def test_order_tp_creates_a_tpsl_order_when_the_position_opens(engine: ExchangeEngine) -> None:
    price = mid(engine)
    position_id = open_long(
        engine, tp_price=price + 1000, tp_stop_type="MARK", sl_price=price - 1000
    )
    events = pushes(engine)
    channels = [c for c, _ in events]
    # the tpsl order comes after the fill opened the position
    assert channels.index("tpsl") > channels.index("position")
    [(_, push)] = [e for e in events if e[0] == "tpsl"]
    assert push["event"] == "CREATE"
    assert push["status"] == "NEW"
    assert push["type"] == "TPSL"
    assert push["positionId"] == position_id
    assert push["side"] == "BUY"
    assert push["tpStopType"] == "MARK_PRICE"
    assert push["slStopType"] == "LAST_PRICE"
    assert push["tpOrderType"] == "MARKET"
    assert push["tpQty"] == push["slQty"] == "0.01"
    assert Decimal(push["tpPrice"]) == price + 1000
    [row] = engine.pending_tpsl(KEY, BTC)
    assert row["id"] == push["orderId"]


def test_resting_limit_order_creates_its_tpsl_only_when_it_fills(engine: ExchangeEngine) -> None:
    price = mid(engine)
    below = (price * Decimal("0.9")).quantize(Decimal("0.1"))
    engine.place_order(
        KEY,
        symbol=BTC,
        side="BUY",
        order_type="LIMIT",
        qty="0.01",
        price=below,
        tp_price=price,
    )
    assert tpsl_events(pushes(engine)) == []
    engine.set_mid_price(BTC, below - 10)
    assert tpsl_events(pushes(engine)) == [("CREATE", "NEW")]


def test_take_profit_on_mark_price_closes_at_market(engine: ExchangeEngine) -> None:
    price = mid(engine)
    tp = price + 500
    open_long(engine, tp_price=tp, tp_stop_type="MARK_PRICE")
    pushes(engine)
    engine.set_mid_price(BTC, tp - 200)  # mark below the take-profit: nothing
    assert tpsl_events(pushes(engine)) == []
    engine.set_mid_price(BTC, tp + 100)
    events = pushes(engine)
    assert tpsl_events(events) == [("CLOSE", "FILLED")]
    assert next(c for c, _ in events) == "tpsl"  # the trigger is pushed before its order
    orders = [d for c, d in events if c == "order"]
    assert orders[0]["event"] == "CREATE"
    assert orders[0]["reductionOnly"] is True
    assert orders[-1]["orderStatus"] == "FILLED"
    assert [d["event"] for c, d in events if c == "position"] == ["CLOSE"]
    assert engine.pending_positions(KEY) == []
    [closed] = engine.history_positions(KEY, BTC)
    assert Decimal(closed["closePrice"]) >= tp
    [done] = engine.history_tpsl(KEY)
    assert done["status"] == "FILLED"
    assert done["triggerTime"] == str(engine.now_ms)


def test_last_price_trigger_waits_for_a_trade(engine: ExchangeEngine) -> None:
    price = mid(engine)
    tp = price + 300
    open_long(engine, tp_price=tp, tp_stop_type="LAST_PRICE")
    pushes(engine)
    engine.set_mid_price(BTC, tp + 1000)  # the mark moves; no trade has printed there yet
    assert tpsl_events(pushes(engine)) == []
    assert engine.pending_positions(KEY) != []
    for n in range(1, 50):
        engine.advance(engine.start_ms + n * engine.tick_ms)
        if engine.history_tpsl(KEY):
            break
    assert engine.ticker(BTC).last_price >= tp
    assert [r["status"] for r in engine.history_tpsl(KEY)] == ["FILLED"]
    assert engine.pending_positions(KEY) == []


def test_mark_trigger_ignores_the_last_price(engine: ExchangeEngine) -> None:
    price = mid(engine)
    sl = price - 300
    open_long(engine, sl_price=sl, sl_stop_type="MARK_PRICE")
    pushes(engine)
    engine.set_mid_price(BTC, sl - 1000)
    assert tpsl_events(pushes(engine)) == [("CLOSE", "FILLED")]
    assert engine.pending_positions(KEY) == []


def test_limit_take_profit_rests_until_the_market_reaches_it(engine: ExchangeEngine) -> None:
    price = mid(engine)
    tp = price + 500
    open_long(
        engine,
        tp_price=tp,
        tp_stop_type="MARK_PRICE",
        tp_order_type="LIMIT",
        tp_order_price=tp + 300,
    )
    pushes(engine)
    engine.set_mid_price(BTC, tp + 50)
    events = pushes(engine)
    assert tpsl_events(events) == [("CLOSE", "FILLED")]  # placed, not filled
    [resting] = engine.pending_orders(KEY, BTC)
    assert resting.order_type is OrderType.LIMIT
    assert resting.price == tp + 300
    assert resting.reduce_only
    assert resting.side is Side.SELL
    assert engine.pending_positions(KEY) != []
    engine.set_mid_price(BTC, tp + 400)
    assert engine.pending_positions(KEY) == []
    assert engine.pending_orders(KEY) == []


def test_short_stop_loss_fires_when_the_price_rises(engine: ExchangeEngine) -> None:
    price = mid(engine)
    engine.place_order(
        KEY,
        symbol=BTC,
        side="SELL",
        order_type="MARKET",
        qty="0.02",
        sl_price=price + 400,
        sl_stop_type="MARK_PRICE",
        tp_price=price - 400,
        tp_stop_type="MARK_PRICE",
    )
    [create] = pushes(engine, "tpsl")
    assert create[1]["side"] == "SELL"
    engine.set_mid_price(BTC, price - 100)  # toward the take-profit, not through it
    assert pushes(engine, "tpsl") == []
    engine.set_mid_price(BTC, price + 500)
    assert tpsl_events(pushes(engine)) == [("CLOSE", "FILLED")]
    assert engine.pending_positions(KEY) == []


def test_closing_the_position_cancels_its_tpsl_orders(engine: ExchangeEngine) -> None:
    price = mid(engine)
    open_long(engine, tp_price=price + 1000)
    pushes(engine)
    engine.place_order(
        KEY, symbol=BTC, side="SELL", order_type="MARKET", qty="0.01", reduce_only=True
    )
    assert tpsl_events(pushes(engine)) == [("CLOSE", "SYSTEM_CANCELED")]
    assert engine.pending_tpsl(KEY) == []


def test_bad_tpsl_fields_are_refused(engine: ExchangeEngine) -> None:
    price = mid(engine)
    with pytest.raises(SimulatedError) as info:
        open_long(engine, tp_price=price + 100, tp_stop_type="INDEX")
    assert info.value.code == 10008
    with pytest.raises(SimulatedError) as info:
        open_long(engine, tp_price=price + 100, tp_order_type="LIMIT")
    assert info.value.code == 10002
    assert engine.pending_positions(KEY) == []


# --------------------------------------------------------------------------- endpoints


def test_placed_tpsl_for_part_of_the_position(engine: ExchangeEngine) -> None:
    price = mid(engine)
    position_id = open_long(engine, qty="0.03")
    pushes(engine)
    t = engine.place_tpsl(
        KEY, BTC, position_id, tp_price=price + 200, tp_stop_type="MARK", tp_qty=Decimal("0.01")
    )
    assert tpsl_events(pushes(engine)) == [("CREATE", "NEW")]
    engine.set_mid_price(BTC, price + 300)
    assert tpsl_events(pushes(engine)) == [("CLOSE", "FILLED")]
    [pos] = engine.pending_positions(KEY)
    assert pos.qty == Decimal("0.02")
    assert engine.history_tpsl(KEY)[0]["id"] == t.order_id


def test_modify_and_cancel_push_update_and_close(engine: ExchangeEngine) -> None:
    price = mid(engine)
    position_id = open_long(engine)
    pushes(engine)
    t = engine.place_tpsl(KEY, BTC, position_id, sl_price=price - 500)
    engine.modify_tpsl(KEY, t.order_id, sl_price=price - 600, sl_stop_type="MARK_PRICE")
    engine.cancel_tpsl(KEY, BTC, t.order_id)
    events = pushes(engine, "tpsl")
    assert tpsl_events(events) == [("CREATE", "NEW"), ("UPDATE", "NEW"), ("CLOSE", "CANCELED")]
    assert Decimal(events[1][1]["slPrice"]) == price - 600
    with pytest.raises(SimulatedError) as info:
        engine.cancel_tpsl(KEY, BTC, t.order_id)
    assert info.value.code == 20007


def test_position_tpsl_closes_the_whole_position_as_it_is_then(engine: ExchangeEngine) -> None:
    price = mid(engine)
    position_id = open_long(engine, qty="0.01")
    t = engine.place_position_tpsl(
        KEY, BTC, position_id, tp_price=price + 400, tp_stop_type="MARK_PRICE"
    )
    with pytest.raises(SimulatedError):
        engine.place_position_tpsl(KEY, BTC, position_id, tp_price=price + 800)
    engine.modify_position_tpsl(
        KEY, BTC, position_id, tp_price=price + 500, tp_stop_type="MARK_PRICE"
    )
    open_long(engine, qty="0.02")  # the position grows to 0.03
    events = pushes(engine, "tpsl")
    assert [d["type"] for _, d in events] == ["POSITION_TPSL", "POSITION_TPSL"]
    assert "tpQty" not in events[0][1]
    engine.set_mid_price(BTC, price + 450)
    assert pushes(engine, "tpsl") == []
    engine.set_mid_price(BTC, price + 600)
    assert tpsl_events(pushes(engine)) == [("CLOSE", "FILLED")]
    assert engine.pending_positions(KEY) == []
    [trade] = engine.history_trades(KEY, BTC)[:1]
    assert trade["qty"] == "0.03"
    assert trade["reduceOnly"] is True
    assert engine.history_tpsl(KEY)[0]["id"] == t.order_id


# --------------------------------------------------------------------------- the wire


class Log(list[Any]):
    """Values received on a channel, with a way to wait for a condition on them."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = trio.Event()

    async def collect(self, channel: trio.abc.ReceiveChannel[Any]) -> None:
        async for value in channel:
            self.append(value)
            self._changed.set()
            self._changed = trio.Event()

    async def wait(self, done: Callable[[], bool]) -> None:
        while not done():
            await self._changed.wait()


@pytest.fixture
async def stream_env(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> AsyncIterator[tuple[SimulatedExchange, Any, dict[str, Log]]]:
    logs = {"orders": Log(), "positions": Log(), "tpsl": Log()}
    async with (
        open_sim_stream(memory_sim, seed=1, credentials=memory_sim.credentials) as stream,
        stream.subscribe(Orders()) as orders,
        stream.subscribe(Positions()) as positions,
        stream.subscribe(TpSl()) as tpsl,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(logs["orders"].collect, orders)
        nursery.start_soon(logs["positions"].collect, positions)
        nursery.start_soon(logs["tpsl"].collect, tpsl)
        await trio.sleep(1)
        yield memory_sim, stream, logs
        nursery.cancel_scope.cancel()


async def test_tpsl_channel_pushes_create_update_and_close(
    stream_env: tuple[SimulatedExchange, Any, dict[str, Log]],
    autojump_clock: trio.testing.MockClock,
) -> None:
    _, stream, logs = stream_env
    rest = stream.rest
    [ticker] = await rest.get_tickers([BTC])
    await rest.place_order(BTC, "BUY", "MARKET", "0.01")
    [pos] = await rest.get_pending_positions(BTC)
    [tpsl_id] = await rest.place_tpsl_order(
        BTC, pos.position_id, sl_price=ticker.last_price - 2000, sl_stop_type="MARK_PRICE"
    )
    await rest.modify_tpsl_order(tpsl_id, sl_price=ticker.last_price - 2500)
    await rest.cancel_tpsl_order(BTC, tpsl_id)
    await logs["tpsl"].wait(lambda: len(logs["tpsl"]) >= 3)
    values: list[TpSlOrder] = logs["tpsl"]
    assert [(v.event, v.status) for v in values] == [
        (UpdateEvent.CREATE, OrderStatus.NEW),
        (UpdateEvent.UPDATE, OrderStatus.NEW),
        (UpdateEvent.CLOSE, OrderStatus.CANCELED),
    ]
    assert {v.order_id for v in values} == {tpsl_id}
    assert values[0].position_id == pos.position_id
    assert values[0].sl_stop_type is StopType.MARK_PRICE
    assert values[1].sl_price == ticker.last_price - 2500
    assert values[0].tpsl_type == "TPSL"


async def test_take_profit_end_to_end(
    stream_env: tuple[SimulatedExchange, Any, dict[str, Log]],
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim, stream, logs = stream_env
    rest = stream.rest
    [ticker] = await rest.get_tickers([BTC])
    tp = (ticker.last_price * Decimal("1.02")).quantize(Decimal("0.1"))
    placed = await rest.place_order(
        BTC, "BUY", "MARKET", "0.01", tp_price=tp, tp_stop_type="MARK_PRICE"
    )
    [pending] = await rest.get_pending_tpsl_orders(BTC)
    assert pending.tp_price == tp
    assert pending.tp_qty == Decimal("0.01")
    assert pending.status is OrderStatus.NEW

    sim.set_mid_price(BTC, tp * Decimal("1.05"))
    await logs["positions"].wait(
        lambda: any(p.event is UpdateEvent.CLOSE for p in logs["positions"])
    )
    await logs["tpsl"].wait(lambda: len(logs["tpsl"]) >= 2)

    assert await rest.get_pending_positions() == []
    tpsl: list[TpSlOrder] = logs["tpsl"]
    assert [(v.event, v.status) for v in tpsl] == [
        (UpdateEvent.CREATE, OrderStatus.NEW),
        (UpdateEvent.CLOSE, OrderStatus.FILLED),
    ]
    positions: list[Position] = logs["positions"]
    assert [p.event for p in positions] == [UpdateEvent.OPEN, UpdateEvent.CLOSE]
    assert positions[0].side is PositionSide.LONG
    await logs["orders"].wait(lambda: len({o.order_id for o in logs["orders"]}) >= 2)
    closing = [o for o in logs["orders"] if o.order_id != placed.order_id]
    assert closing[-1].status is OrderStatus.FILLED
    assert closing[-1].side is Side.SELL
    assert closing[-1].reduce_only

    [history] = await rest.get_history_tpsl_orders(BTC)
    assert history.status is OrderStatus.FILLED
    [closed] = await rest.get_history_positions(BTC)
    assert closed.close_price is not None
    assert closed.close_price >= tp
    assert closed.realized_pnl is not None
    assert closed.realized_pnl > 0
