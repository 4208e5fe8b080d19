"""The engine's state as ``bitunix_trio._core.models`` values and wire dicts.

Wire shapes come from the model encoders (``order_to_wire`` and friends), so the protocol
is written down once; this module only adds the live quirks the real exchange shows on the
private channels (``protocol.md`` section 8 items 11 and 12) when ``quirks`` is on:
``side`` as ``Buy``/``Sell``, ``type`` as ``Limit``/``Market`` and ``effect`` carrying
``LONG``/``SHORT`` on the ``order`` push.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bitunix_trio._core.models import (
    AccountBalance,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionMode,
    PositionSide,
    Side,
    StopType,
    TimeInForce,
    UpdateEvent,
)
from bitunix_trio._core.wire import (
    balance_to_wire,
    order_to_wire,
    position_to_wire,
)

from .market import FUNDING_INTERVAL_MS, Instrument, SymbolMarket, clean
from .matching import Account, OrderState, PositionState

__all__ = [
    "balance_model",
    "balance_push",
    "money",
    "order_model",
    "order_push",
    "position_model",
    "position_push",
    "trading_pair_row",
]

_PLACES = Decimal("1e-10")
ZERO = Decimal(0)


def money(value: Decimal) -> Decimal:
    """Round a computed amount to at most 10 decimal places, without trailing zeros."""
    exp = value.as_tuple().exponent
    if isinstance(exp, int) and exp < -10:
        value = value.quantize(_PLACES)
    return clean(value)


def _opt_stop(value: Any) -> StopType | None:
    return None if value is None else StopType.parse(value)


def _opt_otype(value: Any) -> OrderType | None:
    return None if value is None else OrderType.parse(value)


def order_model(order: OrderState, event: str | None, ts: int, source: Any) -> Order:
    """An order's state as an :class:`Order` value (``event`` None for REST rows)."""
    tpsl = order.tpsl
    return Order(
        order_id=order.order_id,
        client_id=order.client_id,
        symbol=order.symbol,
        side=Side(order.side),
        order_type=OrderType(order.order_type),
        status=OrderStatus(order.status),
        price=None if order.price is None else clean(order.price),
        qty=clean(order.qty),
        filled_qty=clean(order.filled),
        average_price=money(order.average_price),
        fee=money(order.fee),
        reduce_only=order.reduce_only,
        time_in_force=TimeInForce(order.effect),
        leverage=order.leverage,
        margin_mode=MarginMode(order.margin_mode),
        position_mode=PositionMode(order.position_mode),
        event=None if event is None else UpdateEvent(event),
        created_ms=order.ctime,
        updated_ms=order.mtime,
        ts=ts,
        source=source,
        realized_pnl=money(order.realized_pnl),
        tp_price=tpsl.get("tp_price"),
        tp_stop_type=_opt_stop(tpsl.get("tp_stop_type")),
        tp_order_type=_opt_otype(tpsl.get("tp_order_type")),
        tp_order_price=tpsl.get("tp_order_price"),
        sl_price=tpsl.get("sl_price"),
        sl_stop_type=_opt_stop(tpsl.get("sl_stop_type")),
        sl_order_type=_opt_otype(tpsl.get("sl_order_type")),
        sl_order_price=tpsl.get("sl_order_price"),
    )


def liquidation_price(pos: PositionState, maintenance: Decimal = Decimal("0.005")) -> Decimal:
    """A rough isolated-style liquidation price (the engine never liquidates)."""
    avg = pos.average_price
    lev = Decimal(pos.leverage)
    if pos.side == "LONG":
        return max(ZERO, avg * (1 - 1 / lev + maintenance))
    return avg * (1 + 1 / lev - maintenance)


def position_model(
    pos: PositionState, event: str | None, mark: Decimal, ts: int, source: Any, tick: Decimal
) -> Position:
    """A position's state as a :class:`Position` value."""
    margin = money(pos.margin)
    upnl = money(pos.unrealized_pnl(mark)) if pos.qty else ZERO
    return Position(
        position_id=pos.position_id,
        symbol=pos.symbol,
        side=PositionSide(pos.side),
        qty=clean(pos.qty),
        entry_value=money(pos.entry_value),
        average_price=money(pos.average_price),
        leverage=pos.leverage,
        margin=margin,
        margin_mode=MarginMode(pos.margin_mode),
        position_mode=PositionMode.ONE_WAY,
        realized_pnl=money(pos.realized_pnl),
        unrealized_pnl=upnl,
        fee=money(pos.fee),
        funding=money(pos.funding),
        liquidation_price=liquidation_price(pos).quantize(tick) if pos.qty else None,
        event=None if event is None else UpdateEvent(event),
        ts=ts,
        source=source,
        created_ms=pos.ctime,
        updated_ms=pos.mtime,
        margin_rate=(margin / (margin + upnl)).quantize(Decimal("0.0001"))
        if pos.qty and margin + upnl > 0
        else None,
    )


def balance_model(
    account: Account, coin: str, unrealized: Decimal, ts: int, source: Any
) -> AccountBalance:
    """An account's balance of ``coin`` as an :class:`AccountBalance` value.

    Everything is counted as cross margin (the engine does not isolate positions).
    """
    if coin == "USDT":
        frozen, margin = money(account.frozen), money(account.margin)
    else:
        frozen = margin = ZERO
    available = money(account.available(coin))
    cross = account.margin_mode == "CROSS"
    return AccountBalance(
        coin=coin,
        available=available,
        frozen=frozen,
        margin=margin,
        ts=ts,
        source=source,
        isolation_frozen=ZERO if cross else frozen,
        cross_frozen=frozen if cross else ZERO,
        isolation_margin=ZERO if cross else margin,
        cross_margin=margin if cross else ZERO,
        experience_money=ZERO,
        transfer=max(ZERO, available),
        bonus=ZERO,
        cross_unrealized_pnl=money(unrealized) if cross else ZERO,
        isolation_unrealized_pnl=ZERO if cross else money(unrealized),
        position_mode=PositionMode(account.position_mode),
    )


def order_push(order: Order, quirks: bool) -> dict[str, Any]:
    """``order`` push data, with the live quirks when ``quirks``."""
    wire = order_to_wire(order)
    if quirks:
        wire["side"] = order.side.value.title()
        wire["type"] = order.order_type.value.title()
        wire["effect"] = "LONG" if order.side is Side.BUY else "SHORT"
    return wire


def position_push(position: Position) -> dict[str, Any]:
    """``position`` push data."""
    return position_to_wire(position)


def balance_push(balance: AccountBalance) -> dict[str, Any]:
    """``balance`` push data."""
    return balance_to_wire(balance)


def _precision(step: Decimal) -> int:
    exp = step.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def trading_pair_row(inst: Instrument) -> dict[str, Any]:
    """A REST ``trading_pairs`` row."""
    return {
        "symbol": inst.symbol,
        "base": inst.base,
        "quote": inst.quote,
        "minTradeVolume": format(inst.min_qty, "f"),
        "minBuyPriceOffset": "-0.8",
        "maxSellPriceOffset": "100",
        "maxLimitOrderVolume": format(inst.lot_size * 10_000_000, "f"),
        "maxMarketOrderVolume": format(inst.lot_size * 1_000_000, "f"),
        "basePrecision": _precision(inst.lot_size),
        "quotePrecision": _precision(inst.tick_size),
        "maxLeverage": inst.max_leverage,
        "minLeverage": 1,
        "defaultLeverage": min(20, inst.max_leverage),
        "defaultMarginMode": "CROSS",
        "priceProtectScope": "0.05",
        "symbolStatus": inst.status,
        "isApiSupported": True,
        "maxFundingRate": "0.3",
        "minFundingRate": "-0.3",
    }


def funding_rate_row(market: SymbolMarket) -> dict[str, Any]:
    """A REST ``funding_rate`` object (rate in percent, as the batch endpoint reports)."""
    return {
        "symbol": market.inst.symbol,
        "markPrice": format(market.price(market.mark), "f"),
        "lastPrice": format(market.price(market.last), "f"),
        "indexPrice": format(market.price(market.index), "f"),
        "fundingRate": format(market.funding_rate, "f"),
        "fundingInterval": FUNDING_INTERVAL_MS // 3_600_000,
        "nextFundingTime": str(market.next_funding_ms),
    }
