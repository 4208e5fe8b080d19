"""WebSocket push data <-> value types, both directions, and the wire's time and number helpers.

Decoding: the ``parse_*`` functions turn WebSocket ``data`` objects into values (``parse_order``,
``parse_position`` and ``parse_balance`` also accept the REST keys; the ``parse_rest_*`` row
parsers in :mod:`bitunix_trio._core.rest_wire` build on them). All raise :class:`ValueError`,
:class:`KeyError`, :class:`TypeError` or ``decimal.InvalidOperation`` on bad input; the frame
decoder turns those into a ``Malformed`` frame.

Encoding: the ``*_to_wire`` functions (and :func:`to_wire`, which dispatches on the type)
are their inverses (values round-trip) and give the exact push data the exchange sends; the
simulated exchange builds its pushes with them, and the REST row encoders of
:mod:`bitunix_trio._core.rest_wire` build on them.

Also here: the time and number helpers of the wire format
(``ms_to_datetime``, ``parse_iso_datetime``, ``format_iso_datetime``, ``kline_open_time``, ...),
and ``PUSH_PARSERS``, the frame decoder's table of push parsers by wire channel.

Live quirks handled here: enum values in any case (``Buy``/``BUY``/``buy``), the order status
``NEW_``, ISO-8601 times with nanoseconds, ``leverage`` as a string or an integer, empty
``["", ""]`` book levels, and REST rows whose keys differ from the WebSocket ones.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from .models import (
    _EPOCH,
    KLINE_INTERVALS,
    AccountBalance,
    DataSource,
    KlineUpdate,
    Level,
    MarginMode,
    MarkPriceUpdate,
    Order,
    OrderBookUpdate,
    OrderStatus,
    OrderType,
    Position,
    PositionMode,
    PositionSide,
    PriceType,
    Side,
    StopType,
    TickerSummary,
    TickerUpdate,
    TimeInForce,
    TpSlOrder,
    Trade,
    UpdateEvent,
    _ParsingEnum,
    book_from_wire,
    to_levels,
)
from .models import _dec as _dec  # re-exported: the REST parsers use it too
from .models import _udec as _udec
from .numbers import NumberRefused, NumberTypeRefused, shown
from .numbers import check_int as _check_int
from .numbers import check_time_ms as _check_time_ms

_E = TypeVar("_E", bound=_ParsingEnum)


def _enum(cls: type[_E], value: object) -> _E:
    return cls.parse(value)


def _opt_enum(cls: type[_E], value: object) -> _E | None:
    """Parse an optional enum field; a missing, empty or unknown value gives None."""
    if value is None or value == "":
        return None
    try:
        return cls.parse(value)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Scalars

_MS = timedelta(milliseconds=1)
#: The longest time text accepted (an ISO-8601 time with nanoseconds and an offset is 35).
_MAX_TIME_CHARS = 64


def ms_to_datetime(ms: int) -> datetime:
    """Milliseconds since the epoch as an aware UTC datetime."""
    return _EPOCH + timedelta(milliseconds=ms)


def datetime_to_ms(dt: datetime) -> int:
    """An aware datetime as milliseconds since the epoch (floored)."""
    return (dt - _EPOCH) // _MS


def parse_iso_datetime(text: str) -> datetime:
    """Parse an ISO-8601 time as the exchange writes it into an aware UTC datetime.

    Accepts ``Z`` or an offset, no fraction or any number of fractional digits (nanoseconds
    are truncated to microseconds); a time without zone is taken as UTC.
    """
    if type(text) is not str:
        raise TypeError(f"time must be a string, not {type(text).__name__}")
    try:
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is UTC:  # "...Z", as the exchange writes
            return dt
    except ValueError:
        dot = text.find(".")
        if dot < 0:
            raise
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        if end - dot - 1 <= 6:
            raise
        dt = datetime.fromisoformat(text[: dot + 7] + text[end:])
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    if dt.utcoffset():
        return dt.astimezone(UTC)
    return dt


def format_iso_datetime(dt: datetime, fraction_digits: int | None = None) -> str:
    """Format an aware datetime the way the exchange does: ``2026-04-07T05:47:52Z``.

    ``fraction_digits=None`` writes microseconds only when non-zero; 9 writes nanoseconds
    (as the order and position channels do), padding the microseconds with zeros.
    """
    dt = dt.astimezone(UTC)
    base = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )
    if fraction_digits is None:
        return f"{base}.{dt.microsecond:06d}Z" if dt.microsecond else f"{base}Z"
    return f"{base}.{f'{dt.microsecond:06d}000'[:fraction_digits]}Z"


def _time_ms(value: object, field: str = "time") -> int:
    """A time given as int ms, a decimal string of ms, or an ISO-8601 string -> int ms, in
    the range :func:`~bitunix_trio._core.numbers.check_time_ms` accepts."""
    if type(value) is int:
        return _check_time_ms(value, field)
    if type(value) is str:
        if len(value) > _MAX_TIME_CHARS:
            raise NumberRefused(f"{field}: not a time: {shown(value)}")
        if value.isdigit():
            return _check_time_ms(int(value), field)
        return _check_time_ms(datetime_to_ms(parse_iso_datetime(value)), field)
    raise NumberTypeRefused(f"{field}: a time must be int or string, not {type(value).__name__}")


def _opt_time_ms(value: object, field: str = "time") -> int | None:
    return None if value is None or value == "" else _time_ms(value, field)


def _opt_dec(value: object, field: str = "number") -> Decimal | None:
    return None if value is None or value == "" else _dec(value, field)


def _opt_udec(value: object, field: str = "number") -> Decimal | None:
    return None if value is None or value == "" else _udec(value, field)


def _int(value: object, field: str = "integer", *, signed: bool = True) -> int:
    """An integer given as int or as a string (``"20"``, ``"20.0"``), bounded."""
    return _check_int(value, field, signed=signed)


def _opt_int(value: object, field: str = "integer", *, signed: bool = True) -> int | None:
    return None if value is None or value == "" else _int(value, field, signed=signed)


def _str(value: object) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, not {type(value).__name__}")
    return value


def _id(value: object) -> str:
    """An identifier sent as a string or a number."""
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    raise TypeError(f"expected an id, not {type(value).__name__}")


def _opt_id(value: object) -> str | None:
    return None if value is None or value == "" else _id(value)


def _bool(value: object) -> bool:
    if value is True or value is False:
        return value
    if value in ("true", "True", "TRUE", 1, "1"):
        return True
    if value in ("false", "False", "FALSE", 0, "0", None, ""):
        return False
    raise ValueError(f"expected a boolean, not {value!r}")


# ---------------------------------------------------------------------------------------------
# Kline buckets

_MONDAY_OFFSET_MS = 4 * 86_400_000  # 1970-01-05 was the first Monday after the epoch


def kline_open_time(ts: int, interval: str) -> int:
    """Start (ms) of the candle of ``interval`` that contains ``ts``.

    Buckets are aligned to the epoch in UTC, except ``1week`` (weeks start on Monday 00:00
    UTC) and ``1month`` (the first day of the calendar month, 00:00 UTC). The exchange does not
    document its own alignment; these are the conventional ones. ``3day`` buckets are counted
    from 1970-01-01.
    """
    length = KLINE_INTERVALS[interval]
    if length == 0:
        dt = ms_to_datetime(ts)
        return datetime_to_ms(datetime(dt.year, dt.month, 1, tzinfo=UTC))
    if interval == "1week":
        return ts - (ts - _MONDAY_OFFSET_MS) % length
    return ts - ts % length


# ---------------------------------------------------------------------------------------------
# WebSocket push data -> values

_WS = DataSource.WEBSOCKET
_REST = DataSource.REST


def parse_ticker(
    data: Mapping[str, Any], ts: int, symbol: str | None = None, source: DataSource = _WS
) -> TickerUpdate:
    """``ticker`` push data -> TickerUpdate (``data.s`` wins over the envelope symbol)."""
    s = data.get("s") or symbol
    return TickerUpdate(
        _str(s),
        _udec(data["la"], "la"),
        _udec(data["o"], "o"),
        _udec(data["h"], "h"),
        _udec(data["l"], "l"),
        _udec(data["b"], "b"),
        _udec(data["q"], "q"),
        _dec(data["r"], "r"),
        ts,
        source,
    )


def parse_ticker_summary(
    data: Mapping[str, Any], ts: int, symbol: str | None = None, source: DataSource = _WS
) -> TickerSummary:
    """One entry of a ``tickers`` push -> TickerSummary."""
    get = data.get
    return TickerSummary(
        _str(get("s") or symbol),
        _udec(data["la"], "la"),
        _udec(data["o"], "o"),
        _udec(data["h"], "h"),
        _udec(data["l"], "l"),
        _udec(data["b"], "b"),
        _udec(data["q"], "q"),
        _dec(data["r"], "r"),
        _opt_udec(get("bd"), "bd"),
        _opt_udec(get("ak"), "ak"),
        _opt_udec(get("bv"), "bv"),
        _opt_udec(get("av"), "av"),
        ts,
        source,
    )


def parse_levels(raw: Sequence[Sequence[Any]]) -> tuple[Level, ...]:
    """Book levels ``[[price, qty], ...]`` -> ``((Decimal, Decimal), ...)``, now.

    Empty levels (``["", ""]``, sent for unknown symbols) are dropped.
    """
    return to_levels(raw)


_LEVEL_VALUE_TYPES = frozenset({str, int, float})


def check_levels(raw: object) -> Sequence[Sequence[Any]]:
    """Check the shape of one book side: a list of ``[price, qty]`` pairs of strings (or
    JSON numbers). Their values are converted when the side is first read."""
    if raw.__class__ is not list:
        raise TypeError(f"book side must be a list, not {type(raw).__name__}")
    types = _LEVEL_VALUE_TYPES
    for level in raw:
        if level.__class__ is not list or len(level) != 2:
            raise ValueError(f"a book level must be [price, qty], not {level!r}"[:120])
        if level[0].__class__ not in types or level[1].__class__ not in types:
            raise TypeError(f"a book level holds strings or numbers, not {level!r}"[:120])
    return raw


def parse_order_book(
    data: Mapping[str, Any],
    ts: int,
    symbol: str | None,
    depth: int | None,
    source: DataSource = _WS,
) -> OrderBookUpdate:
    """``depth_book*`` push data ``{"b": [...], "a": [...]}`` -> OrderBookUpdate.

    A frame without a symbol (sent when none was subscribed) gives ``symbol=""``. The shape
    of the levels is checked here; their numbers are converted when a side is first read
    (see :class:`~bitunix_trio.OrderBookUpdate`).
    """
    return book_from_wire(
        "" if symbol is None else _str(symbol),
        check_levels(data["b"]),
        check_levels(data["a"]),
        depth,
        ts,
        source,
    )


def parse_trade(item: Mapping[str, Any], ts: int, symbol: str, source: DataSource = _WS) -> Trade:
    """One entry of a ``trade`` push -> Trade."""
    return Trade(
        _str(symbol),
        _udec(item["p"], "p"),
        _udec(item["v"], "v"),
        _enum(Side, item["s"]),
        parse_iso_datetime(item["t"]),
        ts,
        source,
    )


def parse_trades(
    data: Sequence[Mapping[str, Any]], ts: int, symbol: str, source: DataSource = _WS
) -> tuple[Trade, ...]:
    """``trade`` push data (a list) -> one Trade per entry."""
    if not isinstance(data, list):
        raise TypeError("trade data must be a list")
    return tuple([parse_trade(item, ts, symbol, source) for item in data])


def parse_kline(
    data: Mapping[str, Any],
    ts: int,
    symbol: str,
    interval: str,
    price_type: PriceType = PriceType.MARKET,
    source: DataSource = _WS,
) -> KlineUpdate:
    """``market_kline_*``/``mark_kline_*`` push data -> KlineUpdate (bucket derived from ts)."""
    return KlineUpdate(
        _str(symbol),
        interval,
        price_type,
        _udec(data["o"], "o"),
        _udec(data["h"], "h"),
        _udec(data["l"], "l"),
        _udec(data["c"], "c"),
        _udec(data["b"], "b"),
        _udec(data["q"], "q"),
        kline_open_time(ts, interval),
        ts,
        source,
    )


def parse_mark_price(
    data: Mapping[str, Any], ts: int, symbol: str, source: DataSource = _WS
) -> MarkPriceUpdate:
    """``price`` push data -> MarkPriceUpdate."""
    return MarkPriceUpdate(
        _str(symbol),
        _udec(data["mp"], "mp"),
        _udec(data["ip"], "ip"),
        _dec(data["fr"], "fr"),
        parse_iso_datetime(data["ft"]),
        parse_iso_datetime(data["nft"]),
        ts,
        source,
    )


def _tp_sl(get: Callable[[str], Any]) -> dict[str, Any]:
    """The take-profit / stop-loss fields that ``order`` and ``tpsl`` data share."""
    return {
        "tp_price": _opt_udec(get("tpPrice"), "tpPrice"),
        "tp_stop_type": _opt_enum(StopType, get("tpStopType")),
        "tp_order_type": _opt_enum(OrderType, get("tpOrderType")),
        "tp_order_price": _opt_udec(get("tpOrderPrice"), "tpOrderPrice"),
        "sl_price": _opt_udec(get("slPrice"), "slPrice"),
        "sl_stop_type": _opt_enum(StopType, get("slStopType")),
        "sl_order_type": _opt_enum(OrderType, get("slOrderType")),
        "sl_order_price": _opt_udec(get("slOrderPrice"), "slOrderPrice"),
    }


def parse_order(data: Mapping[str, Any], ts: int, source: DataSource = _WS) -> Order:
    """``order`` push data -> Order. Also accepts REST keys (see :func:`parse_rest_order`)."""
    get = data.get
    filled = get("dealAmount")
    if filled is None:
        filled = get("tradeQty")
    reduce_only = get("reductionOnly")
    if reduce_only is None:
        reduce_only = get("reduceOnly")
    return Order(
        order_id=_id(data["orderId"]),
        client_id=_opt_id(get("clientId")),
        symbol=_str(data["symbol"]),
        side=_enum(Side, data["side"]),
        order_type=_enum(OrderType, data["type"] if "type" in data else data["orderType"]),
        status=OrderStatus.parse_lenient(
            data["orderStatus"] if "orderStatus" in data else data["status"]
        ),
        price=_opt_udec(get("price"), "price"),
        qty=_udec(data["qty"], "qty"),
        filled_qty=Decimal(0) if filled is None or filled == "" else _udec(filled, "dealAmount"),
        average_price=_opt_udec(get("averagePrice"), "averagePrice"),
        fee=_opt_dec(get("fee"), "fee"),
        reduce_only=_bool(reduce_only),
        time_in_force=_opt_enum(TimeInForce, get("effect")),
        leverage=_opt_int(get("leverage"), "leverage", signed=False),
        margin_mode=_opt_enum(MarginMode, get("positionType") or get("marginMode")),
        position_mode=_opt_enum(PositionMode, get("positionMode")),
        event=_opt_enum(UpdateEvent, get("event")),
        created_ms=_opt_time_ms(get("ctime"), "ctime"),
        updated_ms=_opt_time_ms(get("mtime"), "mtime"),
        ts=ts,
        source=source,
        realized_pnl=_opt_dec(get("realizedPNL"), "realizedPNL"),
        **_tp_sl(get),
    )


def parse_position(data: Mapping[str, Any], ts: int, source: DataSource = _WS) -> Position:
    """``position`` push data -> Position. Also accepts REST keys."""
    get = data.get
    return Position(
        position_id=_id(data["positionId"]),
        symbol=_str(data["symbol"]),
        side=_enum(PositionSide, data["side"]),
        qty=_udec(data["qty"], "qty"),
        entry_value=_opt_udec(get("entryValue"), "entryValue"),
        average_price=_opt_udec(get("avgOpenPrice"), "avgOpenPrice"),
        leverage=_opt_int(get("leverage"), "leverage", signed=False),
        margin=_opt_dec(get("margin"), "margin"),
        margin_mode=_opt_enum(MarginMode, get("marginMode")),
        position_mode=_opt_enum(PositionMode, get("positionMode")),
        realized_pnl=_opt_dec(get("realizedPNL"), "realizedPNL"),
        unrealized_pnl=_opt_dec(get("unrealizedPNL"), "unrealizedPNL"),
        fee=_opt_dec(get("fee"), "fee"),
        funding=_opt_dec(get("funding"), "funding"),
        liquidation_price=_opt_dec(get("liqPrice"), "liqPrice"),
        event=_opt_enum(UpdateEvent, get("event")),
        ts=ts,
        source=source,
        created_ms=_opt_time_ms(get("ctime"), "ctime"),
        updated_ms=_opt_time_ms(get("mtime"), "mtime"),
        margin_rate=_opt_dec(get("marginRate"), "marginRate"),
    )


def parse_balance(data: Mapping[str, Any], ts: int, source: DataSource = _WS) -> AccountBalance:
    """``balance`` push data -> AccountBalance. Also accepts the REST account keys."""
    get = data.get
    return AccountBalance(
        coin=_str(data["coin"] if "coin" in data else data["marginCoin"]),
        available=_dec(data["available"], "available"),
        frozen=_opt_dec(get("frozen"), "frozen"),
        margin=_opt_dec(get("margin"), "margin"),
        ts=ts,
        source=source,
        isolation_frozen=_opt_dec(get("isolationFrozen"), "isolationFrozen"),
        cross_frozen=_opt_dec(get("crossFrozen"), "crossFrozen"),
        isolation_margin=_opt_dec(get("isolationMargin"), "isolationMargin"),
        cross_margin=_opt_dec(get("crossMargin"), "crossMargin"),
        experience_money=_opt_dec(get("expMoney"), "expMoney"),
        transfer=_opt_dec(get("transfer"), "transfer"),
        bonus=_opt_dec(get("bonus"), "bonus"),
        cross_unrealized_pnl=_opt_dec(get("crossUnrealizedPNL"), "crossUnrealizedPNL"),
        isolation_unrealized_pnl=_opt_dec(get("isolationUnrealizedPNL"), "isolationUnrealizedPNL"),
        position_mode=_opt_enum(PositionMode, get("positionMode")),
    )


def parse_tpsl(data: Mapping[str, Any], ts: int, source: DataSource = _WS) -> TpSlOrder:
    """``tpsl`` push data -> TpSlOrder."""
    get = data.get
    tpsl_type = get("type")
    return TpSlOrder(
        order_id=_id(data["orderId"]),
        position_id=_opt_id(get("positionId")),
        symbol=_str(data["symbol"]),
        side=_opt_enum(Side, get("side")),
        status=OrderStatus.parse_lenient(data["status"]),
        event=_opt_enum(UpdateEvent, get("event")),
        tpsl_type=None if tpsl_type is None else _str(tpsl_type),
        leverage=_opt_int(get("leverage"), "leverage", signed=False),
        position_mode=_opt_enum(PositionMode, get("positionMode")),
        tp_qty=_opt_udec(get("tpQty"), "tpQty"),
        sl_qty=_opt_udec(get("slQty"), "slQty"),
        **_tp_sl(get),
        created_ms=_opt_time_ms(get("ctime"), "ctime"),
        ts=ts,
        source=source,
    )


# ---------------------------------------------------------------------------------------------
# Push data by wire channel: (envelope symbol, ts, data) -> items (the frame decoder's table)

PushParser = Callable[[str | None, int, Any], tuple[Any, ...]]


def _need_symbol(symbol: str | None) -> str:
    if symbol is None:
        raise KeyError("symbol")
    return symbol


def _push_book(depth: int | None) -> PushParser:
    def parse(symbol: str | None, ts: int, data: Any) -> tuple[Any, ...]:
        return (parse_order_book(data, ts, symbol, depth),)

    return parse


def _push_kline(interval: str, price_type: PriceType) -> PushParser:
    def parse(symbol: str | None, ts: int, data: Any) -> tuple[Any, ...]:
        return (parse_kline(data, ts, _need_symbol(symbol), interval, price_type),)

    return parse


def _push_ticker(symbol: str | None, ts: int, data: Any) -> tuple[Any, ...]:
    return (parse_ticker(data, ts, symbol),)


def _push_tickers(symbol: str | None, ts: int, data: Any) -> tuple[Any, ...]:
    if type(data) is list:
        return tuple([parse_ticker_summary(entry, ts, symbol) for entry in data])
    return (parse_ticker_summary(data, ts, symbol),)


def _push_trades(symbol: str | None, ts: int, data: Any) -> tuple[Any, ...]:
    return parse_trades(data, ts, _need_symbol(symbol))


def _push_price(symbol: str | None, ts: int, data: Any) -> tuple[Any, ...]:
    return (parse_mark_price(data, ts, _need_symbol(symbol)),)


def _push_private(parse_one: Callable[[Any, int], Any]) -> PushParser:
    def parse(symbol: str | None, ts: int, data: Any) -> tuple[Any, ...]:
        if type(data) is list:
            return tuple([parse_one(entry, ts) for entry in data])
        return (parse_one(data, ts),)

    return parse


#: The parsers of every push channel, from decoded JSON (dicts and lists).
PUSH_PARSERS: dict[str, PushParser] = {
    "depth_book1": _push_book(1),
    "depth_book5": _push_book(5),
    "depth_book15": _push_book(15),
    "depth_books": _push_book(None),
    "ticker": _push_ticker,
    "tickers": _push_tickers,
    "trade": _push_trades,
    "price": _push_price,
    "order": _push_private(parse_order),
    "position": _push_private(parse_position),
    "balance": _push_private(parse_balance),
    "tpsl": _push_private(parse_tpsl),
}
for _interval in KLINE_INTERVALS:
    for _pt in PriceType:
        PUSH_PARSERS[f"{_pt.value}_kline_{_interval}"] = _push_kline(_interval, _pt)


# ---------------------------------------------------------------------------------------------
# Values -> push data (the encoders)

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
