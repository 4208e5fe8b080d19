"""Encoders: value types -> the exact WebSocket push data the exchange sends.

The ``*_to_wire`` functions (and :func:`to_wire`, which dispatches on the type) are the
inverses of the parsers in :mod:`bitunix_trio._wire` (values round-trip); the simulated
exchange builds its pushes with them. The REST row encoders are in
:mod:`bitunix_trio._wire_rest`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ._models import (
    AccountBalance,
    KlineUpdate,
    Level,
    MarkPriceUpdate,
    Order,
    OrderBookUpdate,
    Position,
    TickerSummary,
    TickerUpdate,
    TpSlOrder,
    Trade,
)
from ._wire import format_iso_datetime, ms_to_datetime

Wire = dict[str, Any]


def _num(value: Decimal) -> str:
    """A Decimal as the exchange writes numbers: a plain decimal string."""
    return format(value, "f")


def _opt_num(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _put(wire: Wire, key: str, value: object) -> None:
    if value is not None:
        wire[key] = value


# ---------------------------------------------------------------------------------------------
# Values -> wire dicts (what the exchange sends; used by the simulated exchange)


def ticker_to_wire(t: TickerUpdate) -> Wire:
    """TickerUpdate -> ``ticker`` push data."""
    return {
        "s": t.symbol,
        "o": _num(t.open),
        "la": _num(t.last_price),
        "h": _num(t.high),
        "l": _num(t.low),
        "b": _num(t.base_volume),
        "q": _num(t.quote_volume),
        "r": _num(t.change),
    }


def ticker_summary_to_wire(t: TickerSummary) -> Wire:
    """TickerSummary -> one entry of ``tickers`` push data."""
    wire: Wire = {
        "s": t.symbol,
        "la": _num(t.last_price),
        "o": _num(t.open),
        "h": _num(t.high),
        "l": _num(t.low),
        "b": _num(t.base_volume),
        "q": _num(t.quote_volume),
        "r": _num(t.change),
    }
    _put(wire, "bd", _opt_num(t.best_bid))
    _put(wire, "ak", _opt_num(t.best_ask))
    _put(wire, "bv", _opt_num(t.best_bid_qty))
    _put(wire, "av", _opt_num(t.best_ask_qty))
    return wire


def levels_to_wire(levels: Sequence[Level], pad_to: int | None = None) -> list[list[str]]:
    """Book levels -> ``[["price", "qty"], ...]``, padded with ``["", ""]`` up to ``pad_to``."""
    out = [[_num(p), _num(q)] for p, q in levels]
    if pad_to is not None:
        out.extend([["", ""]] * (pad_to - len(out)))
    return out


def order_book_to_wire(book: OrderBookUpdate, pad_to: int | None = None) -> Wire:
    """OrderBookUpdate -> ``depth_book*`` push data ``{"b": ..., "a": ...}``.

    ``pad_to`` fills each side with empty levels, as the exchange does for an unknown symbol.
    """
    return {"b": levels_to_wire(book.bids, pad_to), "a": levels_to_wire(book.asks, pad_to)}


def trade_to_wire(trade: Trade) -> Wire:
    """Trade -> one entry of ``trade`` push data."""
    return {
        "t": format_iso_datetime(trade.time),
        "p": _num(trade.price),
        "v": _num(trade.qty),
        "s": trade.side.value.lower(),
    }


def kline_to_wire(k: KlineUpdate) -> Wire:
    """KlineUpdate -> ``*_kline_*`` push data."""
    return {
        "o": _num(k.open),
        "c": _num(k.close),
        "h": _num(k.high),
        "l": _num(k.low),
        "b": _num(k.base_volume),
        "q": _num(k.quote_volume),
    }


def mark_price_to_wire(m: MarkPriceUpdate) -> Wire:
    """MarkPriceUpdate -> ``price`` push data."""
    return {
        "ip": _num(m.index_price),
        "mp": _num(m.mark_price),
        "fr": _num(m.funding_rate),
        "ft": format_iso_datetime(m.funding_time),
        "nft": format_iso_datetime(m.next_funding_time),
    }


def _ws_time(ms: int | None) -> str | None:
    return None if ms is None else format_iso_datetime(ms_to_datetime(ms), 9)


def _opt_value(e: enum.StrEnum | None) -> str | None:
    return None if e is None else e.value


def _opt_leverage(value: int | None) -> str | None:
    return None if value is None else str(value)


def _tp_sl_wire(wire: Wire, o: Order | TpSlOrder) -> None:
    _put(wire, "tpStopType", _opt_value(o.tp_stop_type))
    _put(wire, "tpPrice", _opt_num(o.tp_price))
    _put(wire, "tpOrderType", _opt_value(o.tp_order_type))
    _put(wire, "tpOrderPrice", _opt_num(o.tp_order_price))
    _put(wire, "slStopType", _opt_value(o.sl_stop_type))
    _put(wire, "slPrice", _opt_num(o.sl_price))
    _put(wire, "slOrderType", _opt_value(o.sl_order_type))
    _put(wire, "slOrderPrice", _opt_num(o.sl_order_price))


def order_to_wire(o: Order) -> Wire:
    """Order -> ``order`` push data (ISO times with nanoseconds, leverage as a string)."""
    wire: Wire = {}
    _put(wire, "event", _opt_value(o.event))
    wire["orderId"] = o.order_id
    wire["symbol"] = o.symbol
    _put(wire, "positionType", _opt_value(o.margin_mode))
    _put(wire, "positionMode", _opt_value(o.position_mode))
    wire["side"] = o.side.value
    _put(wire, "effect", _opt_value(o.time_in_force))
    wire["type"] = o.order_type.value
    wire["qty"] = _num(o.qty)
    wire["reductionOnly"] = o.reduce_only
    _put(wire, "price", _opt_num(o.price))
    _put(wire, "ctime", _ws_time(o.created_ms))
    _put(wire, "mtime", _ws_time(o.updated_ms))
    _put(wire, "leverage", _opt_leverage(o.leverage))
    wire["orderStatus"] = o.status.value
    _put(wire, "fee", _opt_num(o.fee))
    _put(wire, "averagePrice", _opt_num(o.average_price))
    wire["dealAmount"] = _num(o.filled_qty)
    _put(wire, "clientId", o.client_id)
    _tp_sl_wire(wire, o)
    _put(wire, "realizedPNL", _opt_num(o.realized_pnl))  # REST only; kept when set
    return wire


def position_to_wire(p: Position) -> Wire:
    """Position -> ``position`` push data."""
    wire: Wire = {}
    _put(wire, "event", _opt_value(p.event))
    wire["positionId"] = p.position_id
    _put(wire, "marginMode", _opt_value(p.margin_mode))
    _put(wire, "positionMode", _opt_value(p.position_mode))
    wire["side"] = p.side.value
    _put(wire, "leverage", _opt_leverage(p.leverage))
    _put(wire, "margin", _opt_num(p.margin))
    _put(wire, "ctime", _ws_time(p.created_ms))
    wire["qty"] = _num(p.qty)
    _put(wire, "entryValue", _opt_num(p.entry_value))
    wire["symbol"] = p.symbol
    _put(wire, "realizedPNL", _opt_num(p.realized_pnl))
    _put(wire, "unrealizedPNL", _opt_num(p.unrealized_pnl))
    _put(wire, "funding", _opt_num(p.funding))
    _put(wire, "fee", _opt_num(p.fee))
    # Fields only REST reports; present on the push only when set (so values round-trip).
    _put(wire, "mtime", _ws_time(p.updated_ms))
    _put(wire, "avgOpenPrice", _opt_num(p.average_price))
    _put(wire, "liqPrice", _opt_num(p.liquidation_price))
    _put(wire, "marginRate", _opt_num(p.margin_rate))
    return wire


def balance_to_wire(b: AccountBalance) -> Wire:
    """AccountBalance -> ``balance`` push data."""
    wire: Wire = {"coin": b.coin, "available": _num(b.available)}
    _put(wire, "frozen", _opt_num(b.frozen))
    _put(wire, "isolationFrozen", _opt_num(b.isolation_frozen))
    _put(wire, "crossFrozen", _opt_num(b.cross_frozen))
    _put(wire, "margin", _opt_num(b.margin))
    _put(wire, "isolationMargin", _opt_num(b.isolation_margin))
    _put(wire, "crossMargin", _opt_num(b.cross_margin))
    _put(wire, "expMoney", _opt_num(b.experience_money))
    # Fields only REST reports; present on the push only when set (so values round-trip).
    _put(wire, "transfer", _opt_num(b.transfer))
    _put(wire, "bonus", _opt_num(b.bonus))
    _put(wire, "crossUnrealizedPNL", _opt_num(b.cross_unrealized_pnl))
    _put(wire, "isolationUnrealizedPNL", _opt_num(b.isolation_unrealized_pnl))
    _put(wire, "positionMode", _opt_value(b.position_mode))
    return wire


def tpsl_to_wire(t: TpSlOrder) -> Wire:
    """TpSlOrder -> ``tpsl`` push data."""
    wire: Wire = {}
    _put(wire, "event", _opt_value(t.event))
    _put(wire, "positionId", t.position_id)
    wire["orderId"] = t.order_id
    wire["symbol"] = t.symbol
    _put(wire, "leverage", _opt_leverage(t.leverage))
    _put(wire, "side", _opt_value(t.side))
    _put(wire, "positionMode", _opt_value(t.position_mode))
    wire["status"] = t.status.value
    _put(wire, "ctime", _ws_time(t.created_ms))
    _put(wire, "type", t.tpsl_type)
    _put(wire, "tpQty", _opt_num(t.tp_qty))
    _put(wire, "slQty", _opt_num(t.sl_qty))
    _tp_sl_wire(wire, t)
    return wire


_TO_WIRE: dict[type, Any] = {
    TickerUpdate: ticker_to_wire,
    TickerSummary: ticker_summary_to_wire,
    OrderBookUpdate: order_book_to_wire,
    Trade: trade_to_wire,
    KlineUpdate: kline_to_wire,
    MarkPriceUpdate: mark_price_to_wire,
    Order: order_to_wire,
    Position: position_to_wire,
    AccountBalance: balance_to_wire,
    TpSlOrder: tpsl_to_wire,
}


def to_wire(value: object) -> Wire:
    """Any value type -> its WebSocket push data (one entry for trades and tickers)."""
    try:
        encoder = _TO_WIRE[type(value)]
    except KeyError:
        raise TypeError(f"no wire form for {type(value).__name__}") from None
    return encoder(value)  # type: ignore[no-any-return]
