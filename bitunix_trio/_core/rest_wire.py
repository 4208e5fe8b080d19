"""REST rows <-> value types (the same types the WebSocket gives).

The ``parse_rest_*`` functions turn rows of the REST endpoints into values; REST keys differ
from the WebSocket ones (``tradeQty``, ``orderType``, ``reduceOnly``, ``marginCoin``, ms
times, ``side`` BUY/SELL for a position, no 24 h change on tickers). They raise like the
parsers in :mod:`bitunix_trio._core.wire`. The ``*_to_rest_wire`` functions are their inverses
and produce the rows the exchange sends (the simulated exchange uses them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from .models import (
    AccountBalance,
    DataSource,
    KlineUpdate,
    Order,
    OrderBookUpdate,
    Position,
    PositionSide,
    PriceType,
    TickerUpdate,
    TpSlOrder,
)
from .wire import (
    Wire,
    _enum,
    _num,
    _opt_num,
    _opt_time_ms,
    _opt_udec,
    _opt_value,
    _put,
    _str,
    _time_ms,
    _tp_sl_wire,
    _udec,
    levels_to_wire,
    parse_balance,
    parse_levels,
    parse_order,
    parse_position,
    parse_tpsl,
)

_REST = DataSource.REST

# ---------------------------------------------------------------------------------------------
# REST rows -> values (same types as the WebSocket gives)


def parse_rest_ticker(row: Mapping[str, Any], ts: int, source: DataSource = _REST) -> TickerUpdate:
    """A row of ``GET /api/v1/futures/market/tickers`` -> TickerUpdate.

    REST sends no 24 h change: ``change`` is computed as ``(last / open - 1) * 100`` (0 when
    ``open`` is 0). ``mark_price`` is filled in.
    """
    if row.get("lastPrice") not in (None, ""):
        last = _udec(row["lastPrice"], "lastPrice")
    else:
        last = _udec(row["last"], "last")
    open_ = _udec(row["open"], "open")
    change = (last / open_ - 1) * 100 if open_ else Decimal(0)
    return TickerUpdate(
        _str(row["symbol"]),
        last,
        open_,
        _udec(row["high"], "high"),
        _udec(row["low"], "low"),
        _udec(row["baseVol"], "baseVol"),
        _udec(row["quoteVol"], "quoteVol"),
        change,
        ts,
        source,
        _opt_udec(row.get("markPrice"), "markPrice"),
    )


def parse_rest_depth(
    data: Mapping[str, Any],
    symbol: str,
    ts: int,
    depth: int | None = None,
    source: DataSource = _REST,
) -> OrderBookUpdate:
    """``GET /api/v1/futures/market/depth`` data ``{"asks": ..., "bids": ...}`` -> book.

    Levels may be strings or numbers; ``depth`` is the requested ``limit`` (None = whole book).
    """
    return OrderBookUpdate(
        _str(symbol), parse_levels(data["bids"]), parse_levels(data["asks"]), depth, ts, source
    )


def parse_rest_kline(
    row: Mapping[str, Any],
    symbol: str,
    interval: str,
    price_type: PriceType = PriceType.MARKET,
    source: DataSource = _REST,
) -> KlineUpdate:
    """A row of ``GET /api/v1/futures/market/kline`` -> KlineUpdate.

    ``interval`` is the WebSocket spelling; ``time`` (the candle start) is both
    ``open_time_ms`` and ``ts``. A ``type`` field (``LAST_PRICE``/``MARK_PRICE``) wins over
    ``price_type``.
    """
    start = _time_ms(row["time"], "time")
    kind = row.get("type")
    return KlineUpdate(
        _str(symbol),
        interval,
        price_type if kind in (None, "") else _enum(PriceType, kind),
        _udec(row["open"], "open"),
        _udec(row["high"], "high"),
        _udec(row["low"], "low"),
        _udec(row["close"], "close"),
        _udec(row["baseVol"], "baseVol"),
        _udec(row["quoteVol"], "quoteVol"),
        start,
        start,
        source,
    )


def parse_rest_order(
    row: Mapping[str, Any], source: DataSource = _REST, ts: int | None = None
) -> Order:
    """A row of ``get_pending_orders`` (``orderList`` entries) -> Order.

    REST keys differ from the push: ``tradeQty``, ``orderType``, ``reduceOnly``,
    ``marginMode``, ``status``, and ``ctime``/``mtime`` in ms (int or string). ``ts`` defaults
    to ``mtime`` (else ``ctime``, else 0).
    """
    if ts is None:
        ts = _opt_time_ms(row.get("mtime"), "mtime") or _opt_time_ms(row.get("ctime"), "ctime") or 0
    return parse_order(row, ts, source)


def parse_rest_position(
    row: Mapping[str, Any], source: DataSource = _REST, ts: int | None = None
) -> Position:
    """A row of ``get_pending_positions`` -> Position (``side`` BUY/SELL means LONG/SHORT)."""
    if ts is None:
        ts = _opt_time_ms(row.get("mtime"), "mtime") or _opt_time_ms(row.get("ctime"), "ctime") or 0
    return parse_position(row, ts, source)


def parse_rest_account(
    data: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    ts: int,
    source: DataSource = _REST,
) -> AccountBalance:
    """``GET /api/v1/futures/account`` data (an object; a one-element list is accepted too)."""
    if isinstance(data, list):
        if len(data) != 1:
            raise ValueError(f"expected one account row, got {len(data)}")
        data = data[0]
    if not isinstance(data, Mapping):
        raise TypeError("account data must be an object")
    return parse_balance(data, ts, source)


# ---------------------------------------------------------------------------------------------
# Values -> REST rows


def parse_rest_tpsl(
    row: Mapping[str, Any], ts: int, *, pending: bool, source: DataSource = _REST
) -> TpSlOrder:
    """A row of ``tpsl/get_pending_orders`` (``pending``) or ``tpsl/get_history_orders`` ->
    TpSlOrder. REST rows name the id ``id`` and carry no ``type``; pending rows carry no
    ``status`` (they are NEW) and times are ms."""
    data = dict(row)
    if "orderId" not in data:
        data["orderId"] = data["id"]
    if pending and data.get("status") in (None, ""):
        data["status"] = "NEW"
    return parse_tpsl(data, ts, source)


def ticker_to_rest_wire(t: TickerUpdate) -> Wire:
    """TickerUpdate -> a ``market/tickers`` row (``markPrice`` falls back to the last price)."""
    last = _num(t.last_price)
    return {
        "symbol": t.symbol,
        "markPrice": last if t.mark_price is None else _num(t.mark_price),
        "lastPrice": last,
        "open": _num(t.open),
        "last": last,
        "quoteVol": _num(t.quote_volume),
        "baseVol": _num(t.base_volume),
        "high": _num(t.high),
        "low": _num(t.low),
    }


def order_book_to_rest_wire(book: OrderBookUpdate) -> Wire:
    """OrderBookUpdate -> ``market/depth`` data (strings, as live)."""
    return {"asks": levels_to_wire(book.asks), "bids": levels_to_wire(book.bids)}


def kline_to_rest_wire(k: KlineUpdate) -> Wire:
    """KlineUpdate -> a ``market/kline`` row (``time`` = candle start, ms)."""
    return {
        "open": _num(k.open),
        "high": _num(k.high),
        "low": _num(k.low),
        "close": _num(k.close),
        "time": k.open_time_ms,
        "quoteVol": _num(k.quote_volume),
        "baseVol": _num(k.base_volume),
        "type": "MARK_PRICE" if k.price_type is PriceType.MARK else "LAST_PRICE",
    }


def _ms_text(ms: int | None) -> str | None:
    """REST ``ctime``/``mtime``: milliseconds as a decimal string (live, section 8)."""
    return None if ms is None else str(ms)


def order_to_rest_wire(o: Order) -> Wire:
    """Order -> a ``get_pending_orders`` row (ms times, int leverage, REST key names)."""
    wire: Wire = {
        "orderId": o.order_id,
        "symbol": o.symbol,
        "qty": _num(o.qty),
        "tradeQty": _num(o.filled_qty),
    }
    _put(wire, "positionMode", _opt_value(o.position_mode))
    _put(wire, "marginMode", _opt_value(o.margin_mode))
    _put(wire, "leverage", o.leverage)
    _put(wire, "price", _opt_num(o.price))
    wire["side"] = o.side.value
    wire["orderType"] = o.order_type.value
    _put(wire, "effect", _opt_value(o.time_in_force))
    _put(wire, "clientId", o.client_id)
    wire["reduceOnly"] = o.reduce_only
    wire["status"] = o.status.value
    _put(wire, "fee", _opt_num(o.fee))
    _put(wire, "realizedPNL", _opt_num(o.realized_pnl))
    _tp_sl_wire(wire, o)
    _put(wire, "ctime", _ms_text(o.created_ms))
    _put(wire, "mtime", _ms_text(o.updated_ms))
    return wire


def position_to_rest_wire(p: Position) -> Wire:
    """Position -> a ``get_pending_positions`` row (``side`` BUY/SELL, as live)."""
    wire: Wire = {"positionId": p.position_id, "symbol": p.symbol, "qty": _num(p.qty)}
    _put(wire, "entryValue", _opt_num(p.entry_value))
    wire["side"] = "BUY" if p.side is PositionSide.LONG else "SELL"
    _put(wire, "marginMode", _opt_value(p.margin_mode))
    _put(wire, "positionMode", _opt_value(p.position_mode))
    _put(wire, "leverage", p.leverage)
    _put(wire, "fee", _opt_num(p.fee))
    _put(wire, "funding", _opt_num(p.funding))
    _put(wire, "realizedPNL", _opt_num(p.realized_pnl))
    _put(wire, "margin", _opt_num(p.margin))
    _put(wire, "unrealizedPNL", _opt_num(p.unrealized_pnl))
    _put(wire, "liqPrice", _opt_num(p.liquidation_price))
    _put(wire, "marginRate", _opt_num(p.margin_rate))
    _put(wire, "avgOpenPrice", _opt_num(p.average_price))
    _put(wire, "ctime", _ms_text(p.created_ms))
    _put(wire, "mtime", _ms_text(p.updated_ms))
    return wire


def account_to_rest_wire(b: AccountBalance) -> Wire:
    """AccountBalance -> ``GET /api/v1/futures/account`` data (an object)."""
    wire: Wire = {"marginCoin": b.coin, "available": _num(b.available)}
    _put(wire, "frozen", _opt_num(b.frozen))
    _put(wire, "margin", _opt_num(b.margin))
    _put(wire, "transfer", _opt_num(b.transfer))
    _put(wire, "positionMode", _opt_value(b.position_mode))
    _put(wire, "crossUnrealizedPNL", _opt_num(b.cross_unrealized_pnl))
    _put(wire, "isolationUnrealizedPNL", _opt_num(b.isolation_unrealized_pnl))
    _put(wire, "bonus", _opt_num(b.bonus))
    return wire
