"""Value types users receive, and their parsers from (and encoders to) the wire.

Every value is a frozen, slotted dataclass: cheap to build on the reader's hot path, hashable,
and safe to share between tasks. Money is :class:`~decimal.Decimal`; ``ts`` is the raw
millisecond timestamp of the frame and ``time`` the same instant as an aware UTC datetime.
``source`` says whether a value came from the WebSocket, from a REST poll, or from the
reconciliation after a reconnect (use :func:`dataclasses.replace` to re-mark one).

The ``parse_*`` functions turn wire dicts (WebSocket ``data`` objects and REST rows) into
values and raise :class:`ValueError`, :class:`KeyError`, :class:`TypeError` or
``decimal.InvalidOperation`` on bad input; the frame decoder turns those into a ``Malformed``
frame. The ``*_to_wire`` functions are their inverses and produce the exact dicts the
exchange sends (the simulated exchange uses them).

Live quirks handled here: enum values in any case (``Buy``/``BUY``/``buy``), the order status
``NEW_``, ISO-8601 times with nanoseconds, ``leverage`` as a string or an integer, empty
``["", ""]`` book levels, and REST rows whose keys differ from the WebSocket ones.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Self, TypeVar

__all__ = [
    "KLINE_INTERVALS",
    "AccountBalance",
    "DataSource",
    "KlineUpdate",
    "MarginMode",
    "MarkPriceUpdate",
    "Order",
    "OrderBookUpdate",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionMode",
    "PositionSide",
    "PriceType",
    "Side",
    "StopType",
    "TickerSummary",
    "TickerUpdate",
    "TimeInForce",
    "TpSlOrder",
    "Trade",
    "UpdateEvent",
]

Level = tuple[Decimal, Decimal]
Wire = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# Enums


class _ParsingEnum(enum.StrEnum):
    """A string enum whose :meth:`parse` accepts the exchange's spellings."""

    @classmethod
    def parse(cls, value: object) -> Self:
        """Return the member for a wire value, in any case; raise ValueError if unknown."""
        table: dict[object, Self] = _LOOKUPS[cls]
        try:
            return table[value]
        except KeyError:
            pass
        if not isinstance(value, str):
            raise TypeError(f"{cls.__name__} must be a string, not {type(value).__name__}")
        key = value.strip().upper().replace("-", "_").replace(" ", "_")
        member = table.get(key) or table.get(key.rstrip("_"))
        if member is None:
            raise ValueError(f"unknown {cls.__name__}: {value!r}")
        if len(table) < 256:
            table[value] = member
        return member


_LOOKUPS: dict[type[_ParsingEnum], dict[object, Any]] = {}


def _register(cls: type[_ParsingEnum], **aliases: str) -> None:
    table: dict[object, Any] = {}
    for member in cls:
        table[member.value] = member
        table[member.value.upper()] = member
        table[member.name] = member
    for alias, name in aliases.items():
        table[alias] = cls[name]
    _LOOKUPS[cls] = table


class DataSource(_ParsingEnum):
    """Where a value came from."""

    WEBSOCKET = "websocket"
    REST = "rest"
    RECOVERED = "recovered"


class Side(_ParsingEnum):
    """Order or trade side (a trade's side is the taker's)."""

    BUY = "BUY"
    SELL = "SELL"


class PositionSide(_ParsingEnum):
    """Direction of a position (REST reports ``BUY``/``SELL``, meaning LONG/SHORT)."""

    LONG = "LONG"
    SHORT = "SHORT"


class OrderType(_ParsingEnum):
    """Order type (live pushes say ``Limit``/``Market``)."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"


class OrderStatus(_ParsingEnum):
    """Status of an order (``NEW_`` on the wire means NEW).

    ``FAILED`` only occurs on take-profit/stop-loss orders (the trigger could not place its
    order); ``UNKNOWN`` stands for any status this library does not know yet.
    """

    INIT = "INIT"
    NEW = "NEW"
    PART_FILLED = "PART_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    PART_FILLED_CANCELED = "PART_FILLED_CANCELED"
    SYSTEM_CANCELED = "SYSTEM_CANCELED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse_lenient(cls, value: object) -> OrderStatus:
        """Like :meth:`parse`, but an unknown string gives ``UNKNOWN``."""
        try:
            return cls.parse(value)
        except ValueError:
            return cls.UNKNOWN


class TimeInForce(_ParsingEnum):
    """Time in force (the wire calls it ``effect``)."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "POST_ONLY"


class MarginMode(_ParsingEnum):
    """Margin mode of an order or position."""

    ISOLATION = "ISOLATION"
    CROSS = "CROSS"


class PositionMode(_ParsingEnum):
    """One-way or hedge mode."""

    ONE_WAY = "ONE_WAY"
    HEDGE = "HEDGE"


class UpdateEvent(_ParsingEnum):
    """Why a private push was sent."""

    CREATE = "CREATE"
    OPEN = "OPEN"
    UPDATE = "UPDATE"
    CLOSE = "CLOSE"


class PriceType(_ParsingEnum):
    """Which price a kline follows: the last traded price or the mark price."""

    MARKET = "market"
    MARK = "mark"


class StopType(_ParsingEnum):
    """Which price triggers a take-profit or stop-loss (live pushes say ``Last``/``Mark``)."""

    MARK_PRICE = "MARK_PRICE"
    LAST_PRICE = "LAST_PRICE"


_register(DataSource)
_register(Side)
_register(PositionSide, BUY="LONG", SELL="SHORT")
_register(OrderType)
_register(OrderStatus, CANCELLED="CANCELED", PARTIALLY_FILLED="PART_FILLED")
_register(TimeInForce, POSTONLY="POST_ONLY")
_register(MarginMode, ISOLATED="ISOLATION")
_register(PositionMode, ONEWAY="ONE_WAY")
_register(UpdateEvent)
_register(PriceType, LAST_PRICE="MARKET", MARK_PRICE="MARK", LAST="MARKET")
_register(StopType, MARK="MARK_PRICE", LAST="LAST_PRICE")

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

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_Decimal = Decimal
_MS = timedelta(milliseconds=1)


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


def _time_ms(value: object) -> int:
    """A time given as int ms, a decimal string of ms, or an ISO-8601 string -> int ms."""
    if type(value) is int:
        return value
    if type(value) is str:
        if value.isdigit():
            return int(value)
        return datetime_to_ms(parse_iso_datetime(value))
    raise TypeError(f"time must be int or string, not {type(value).__name__}")


def _opt_time_ms(value: object) -> int | None:
    return None if value is None or value == "" else _time_ms(value)


def _dec(value: object) -> Decimal:
    """A wire number (string, int, float or Decimal) as a finite Decimal."""
    cls = type(value)
    if cls is str:
        d = Decimal(value)  # type: ignore[arg-type]
    elif cls is int:
        return Decimal(value)  # type: ignore[arg-type]
    elif cls is float:
        d = Decimal(repr(value))
    elif cls is Decimal:
        d = value  # type: ignore[assignment]
    else:
        raise TypeError(f"expected a number or numeric string, not {cls.__name__}")
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return d


def _opt_dec(value: object) -> Decimal | None:
    return None if value is None or value == "" else _dec(value)


def _int(value: object) -> int:
    """An integer given as int or as a string (``"20"``, ``"20.0"``)."""
    if type(value) is int:
        return value
    if type(value) is str:
        try:
            return int(value)
        except ValueError:
            d = _dec(value)
            if d != d.to_integral_value():
                raise ValueError(f"not an integer: {value!r}") from None
            return int(d)
    raise TypeError(f"expected an integer, not {type(value).__name__}")


def _opt_int(value: object) -> int | None:
    return None if value is None or value == "" else _int(value)


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


def _num(value: Decimal) -> str:
    """A Decimal as the exchange writes numbers: a plain decimal string."""
    return format(value, "f")


def _opt_num(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _put(wire: Wire, key: str, value: object) -> None:
    if value is not None:
        wire[key] = value


# ---------------------------------------------------------------------------------------------
# Kline intervals

#: WebSocket kline intervals in the exchange's spelling, with their length in ms (0 = calendar
#: month).
KLINE_INTERVALS: dict[str, int] = {
    "1min": 60_000,
    "3min": 180_000,
    "5min": 300_000,
    "15min": 900_000,
    "30min": 1_800_000,
    "60min": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1day": 86_400_000,
    "3day": 259_200_000,
    "1week": 604_800_000,
    "1month": 0,
}
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
# Value types


class _Timestamped:
    __slots__ = ()
    ts: int

    @property
    def time(self) -> datetime:
        """``ts`` as an aware UTC datetime."""
        return _EPOCH + timedelta(milliseconds=self.ts)


@dataclass(frozen=True, slots=True)
class TickerUpdate(_Timestamped):
    """24-hour rolling statistics of one symbol (``ticker`` channel).

    ``change`` is the 24 h change in percent. ``mark_price`` is only known from REST.
    """

    symbol: str
    last_price: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    base_volume: Decimal
    quote_volume: Decimal
    change: Decimal
    ts: int
    source: DataSource = DataSource.WEBSOCKET
    mark_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class TickerSummary(_Timestamped):
    """One entry of the ``tickers`` channel: 24 h statistics plus the best bid and ask."""

    symbol: str
    last_price: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    base_volume: Decimal
    quote_volume: Decimal
    change: Decimal
    best_bid: Decimal | None
    best_ask: Decimal | None
    best_bid_qty: Decimal | None
    best_ask_qty: Decimal | None
    ts: int
    source: DataSource = DataSource.WEBSOCKET


@dataclass(frozen=True, slots=True)
class OrderBookUpdate(_Timestamped):
    """A full snapshot of the top of the book (every push replaces the previous one).

    ``bids`` descend and ``asks`` ascend, as ``(price, qty)`` pairs; empty levels are dropped,
    so an unknown symbol gives an empty book. ``depth`` is the channel's window (1, 5 or 15),
    or None for the whole book (``depth_books`` and REST without a limit).
    """

    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    depth: int | None
    ts: int
    source: DataSource = DataSource.WEBSOCKET

    @property
    def best_bid(self) -> Level | None:
        """The highest bid, or None."""
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> Level | None:
        """The lowest ask, or None."""
        return self.asks[0] if self.asks else None


@dataclass(frozen=True, slots=True)
class Trade:
    """One public trade; ``side`` is the taker's.

    ``time`` is the trade time (whole seconds on the wire), ``ts`` the time of the push in ms
    (``push_time`` as a datetime).
    """

    symbol: str
    price: Decimal
    qty: Decimal
    side: Side
    time: datetime
    ts: int
    source: DataSource = DataSource.WEBSOCKET

    @property
    def push_time(self) -> datetime:
        """``ts`` as an aware UTC datetime."""
        return _EPOCH + timedelta(milliseconds=self.ts)


@dataclass(frozen=True, slots=True)
class KlineUpdate(_Timestamped):
    """The running candle of one interval.

    ``interval`` is the WebSocket spelling (``"1min"``); the exchange sends no candle start, so
    ``open_time_ms`` is derived from ``ts`` (see :func:`kline_open_time`). A change of
    ``open_time_ms`` means the previous candle closed.
    """

    symbol: str
    interval: str
    price_type: PriceType
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    base_volume: Decimal
    quote_volume: Decimal
    open_time_ms: int
    ts: int
    source: DataSource = DataSource.WEBSOCKET

    @property
    def open_time(self) -> datetime:
        """The candle start as an aware UTC datetime."""
        return _EPOCH + timedelta(milliseconds=self.open_time_ms)


@dataclass(frozen=True, slots=True)
class MarkPriceUpdate(_Timestamped):
    """Mark and index price and funding (``price`` channel).

    ``funding_rate`` is the last settled rate **in percent**, as the exchange sends it.
    """

    symbol: str
    mark_price: Decimal
    index_price: Decimal
    funding_rate: Decimal
    funding_time: datetime
    next_funding_time: datetime
    ts: int
    source: DataSource = DataSource.WEBSOCKET


@dataclass(frozen=True, slots=True)
class Order(_Timestamped):
    """An order of the account (``order`` channel or a REST row).

    ``event`` is None on REST rows; ``created_ms``/``updated_ms`` are ms since the epoch.
    ``time_in_force`` is None when the exchange sent something else (it has been seen sending
    ``LONG``/``SHORT`` there).
    """

    order_id: str
    client_id: str | None
    symbol: str
    side: Side
    order_type: OrderType
    status: OrderStatus
    price: Decimal | None
    qty: Decimal
    filled_qty: Decimal
    average_price: Decimal | None
    fee: Decimal | None
    reduce_only: bool
    time_in_force: TimeInForce | None
    leverage: int | None
    margin_mode: MarginMode | None
    position_mode: PositionMode | None
    event: UpdateEvent | None
    created_ms: int | None
    updated_ms: int | None
    ts: int
    source: DataSource = DataSource.WEBSOCKET
    realized_pnl: Decimal | None = None
    tp_price: Decimal | None = None
    tp_stop_type: StopType | None = None
    tp_order_type: OrderType | None = None
    tp_order_price: Decimal | None = None
    sl_price: Decimal | None = None
    sl_stop_type: StopType | None = None
    sl_order_type: OrderType | None = None
    sl_order_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Position(_Timestamped):
    """An open (or just closed) position (``position`` channel or a REST row).

    The WebSocket sends no ``average_price`` or ``liquidation_price``: those come from REST.
    """

    position_id: str
    symbol: str
    side: PositionSide
    qty: Decimal
    entry_value: Decimal | None
    average_price: Decimal | None
    leverage: int | None
    margin: Decimal | None
    margin_mode: MarginMode | None
    position_mode: PositionMode | None
    realized_pnl: Decimal | None
    unrealized_pnl: Decimal | None
    fee: Decimal | None
    funding: Decimal | None
    liquidation_price: Decimal | None
    event: UpdateEvent | None
    ts: int
    source: DataSource = DataSource.WEBSOCKET
    created_ms: int | None = None
    updated_ms: int | None = None
    margin_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AccountBalance(_Timestamped):
    """Balance of one margin coin (``balance`` channel or the REST account row).

    The WebSocket and REST carry different detail fields; those not sent are None.
    """

    coin: str
    available: Decimal
    frozen: Decimal | None
    margin: Decimal | None
    ts: int
    source: DataSource = DataSource.WEBSOCKET
    isolation_frozen: Decimal | None = None
    cross_frozen: Decimal | None = None
    isolation_margin: Decimal | None = None
    cross_margin: Decimal | None = None
    experience_money: Decimal | None = None
    transfer: Decimal | None = None
    bonus: Decimal | None = None
    cross_unrealized_pnl: Decimal | None = None
    isolation_unrealized_pnl: Decimal | None = None
    position_mode: PositionMode | None = None


@dataclass(frozen=True, slots=True)
class TpSlOrder(_Timestamped):
    """A take-profit / stop-loss order (``tpsl`` channel).

    ``status`` is NEW, CANCELED, SYSTEM_CANCELED, FILLED (the trigger fired and its order was
    placed) or FAILED. ``tpsl_type`` is the raw wire type (``TPSL`` or ``POSITION_TPSL``).
    """

    order_id: str
    position_id: str | None
    symbol: str
    side: Side | None
    status: OrderStatus
    event: UpdateEvent | None
    tpsl_type: str | None
    leverage: int | None
    position_mode: PositionMode | None
    tp_qty: Decimal | None
    sl_qty: Decimal | None
    tp_price: Decimal | None
    tp_stop_type: StopType | None
    tp_order_type: OrderType | None
    tp_order_price: Decimal | None
    sl_price: Decimal | None
    sl_stop_type: StopType | None
    sl_order_type: OrderType | None
    sl_order_price: Decimal | None
    created_ms: int | None
    ts: int
    source: DataSource = DataSource.WEBSOCKET


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
        _dec(data["la"]),
        _dec(data["o"]),
        _dec(data["h"]),
        _dec(data["l"]),
        _dec(data["b"]),
        _dec(data["q"]),
        _dec(data["r"]),
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
        _dec(data["la"]),
        _dec(data["o"]),
        _dec(data["h"]),
        _dec(data["l"]),
        _dec(data["b"]),
        _dec(data["q"]),
        _dec(data["r"]),
        _opt_dec(get("bd")),
        _opt_dec(get("ak")),
        _opt_dec(get("bv")),
        _opt_dec(get("av")),
        ts,
        source,
    )


def parse_levels(raw: Sequence[Sequence[Any]]) -> tuple[Level, ...]:
    """Book levels ``[[price, qty], ...]`` -> ``((Decimal, Decimal), ...)``.

    Empty levels (``["", ""]``, sent for unknown symbols) are dropped.
    """
    if not isinstance(raw, list | tuple):
        raise TypeError(f"book side must be a list, not {type(raw).__name__}")
    out: list[Level] = []
    append = out.append
    for price, qty in raw:
        # Fast path: both strings (as the exchange sends them), finite, non-empty.
        if price.__class__ is str and qty.__class__ is str and price and qty:
            p = _Decimal(price)
            q = _Decimal(qty)
            if p.is_finite() and q.is_finite():
                append((p, q))
                continue
        if price == "" or qty == "":
            continue
        append((_dec(price), _dec(qty)))
    return tuple(out)


def parse_order_book(
    data: Mapping[str, Any],
    ts: int,
    symbol: str | None,
    depth: int | None,
    source: DataSource = _WS,
) -> OrderBookUpdate:
    """``depth_book*`` push data ``{"b": [...], "a": [...]}`` -> OrderBookUpdate.

    A frame without a symbol (sent when none was subscribed) gives ``symbol=""``.
    """
    return OrderBookUpdate(
        "" if symbol is None else _str(symbol),
        parse_levels(data["b"]),
        parse_levels(data["a"]),
        depth,
        ts,
        source,
    )


def parse_trade(item: Mapping[str, Any], ts: int, symbol: str, source: DataSource = _WS) -> Trade:
    """One entry of a ``trade`` push -> Trade."""
    return Trade(
        _str(symbol),
        _dec(item["p"]),
        _dec(item["v"]),
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
        _dec(data["o"]),
        _dec(data["h"]),
        _dec(data["l"]),
        _dec(data["c"]),
        _dec(data["b"]),
        _dec(data["q"]),
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
        _dec(data["mp"]),
        _dec(data["ip"]),
        _dec(data["fr"]),
        parse_iso_datetime(data["ft"]),
        parse_iso_datetime(data["nft"]),
        ts,
        source,
    )


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
        price=_opt_dec(get("price")),
        qty=_dec(data["qty"]),
        filled_qty=Decimal(0) if filled is None or filled == "" else _dec(filled),
        average_price=_opt_dec(get("averagePrice")),
        fee=_opt_dec(get("fee")),
        reduce_only=_bool(reduce_only),
        time_in_force=_opt_enum(TimeInForce, get("effect")),
        leverage=_opt_int(get("leverage")),
        margin_mode=_opt_enum(MarginMode, get("positionType") or get("marginMode")),
        position_mode=_opt_enum(PositionMode, get("positionMode")),
        event=_opt_enum(UpdateEvent, get("event")),
        created_ms=_opt_time_ms(get("ctime")),
        updated_ms=_opt_time_ms(get("mtime")),
        ts=ts,
        source=source,
        realized_pnl=_opt_dec(get("realizedPNL")),
        tp_price=_opt_dec(get("tpPrice")),
        tp_stop_type=_opt_enum(StopType, get("tpStopType")),
        tp_order_type=_opt_enum(OrderType, get("tpOrderType")),
        tp_order_price=_opt_dec(get("tpOrderPrice")),
        sl_price=_opt_dec(get("slPrice")),
        sl_stop_type=_opt_enum(StopType, get("slStopType")),
        sl_order_type=_opt_enum(OrderType, get("slOrderType")),
        sl_order_price=_opt_dec(get("slOrderPrice")),
    )


def parse_position(data: Mapping[str, Any], ts: int, source: DataSource = _WS) -> Position:
    """``position`` push data -> Position. Also accepts REST keys."""
    get = data.get
    return Position(
        position_id=_id(data["positionId"]),
        symbol=_str(data["symbol"]),
        side=_enum(PositionSide, data["side"]),
        qty=_dec(data["qty"]),
        entry_value=_opt_dec(get("entryValue")),
        average_price=_opt_dec(get("avgOpenPrice")),
        leverage=_opt_int(get("leverage")),
        margin=_opt_dec(get("margin")),
        margin_mode=_opt_enum(MarginMode, get("marginMode")),
        position_mode=_opt_enum(PositionMode, get("positionMode")),
        realized_pnl=_opt_dec(get("realizedPNL")),
        unrealized_pnl=_opt_dec(get("unrealizedPNL")),
        fee=_opt_dec(get("fee")),
        funding=_opt_dec(get("funding")),
        liquidation_price=_opt_dec(get("liqPrice")),
        event=_opt_enum(UpdateEvent, get("event")),
        ts=ts,
        source=source,
        created_ms=_opt_time_ms(get("ctime")),
        updated_ms=_opt_time_ms(get("mtime")),
        margin_rate=_opt_dec(get("marginRate")),
    )


def parse_balance(data: Mapping[str, Any], ts: int, source: DataSource = _WS) -> AccountBalance:
    """``balance`` push data -> AccountBalance. Also accepts the REST account keys."""
    get = data.get
    return AccountBalance(
        coin=_str(data["coin"] if "coin" in data else data["marginCoin"]),
        available=_dec(data["available"]),
        frozen=_opt_dec(get("frozen")),
        margin=_opt_dec(get("margin")),
        ts=ts,
        source=source,
        isolation_frozen=_opt_dec(get("isolationFrozen")),
        cross_frozen=_opt_dec(get("crossFrozen")),
        isolation_margin=_opt_dec(get("isolationMargin")),
        cross_margin=_opt_dec(get("crossMargin")),
        experience_money=_opt_dec(get("expMoney")),
        transfer=_opt_dec(get("transfer")),
        bonus=_opt_dec(get("bonus")),
        cross_unrealized_pnl=_opt_dec(get("crossUnrealizedPNL")),
        isolation_unrealized_pnl=_opt_dec(get("isolationUnrealizedPNL")),
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
        leverage=_opt_int(get("leverage")),
        position_mode=_opt_enum(PositionMode, get("positionMode")),
        tp_qty=_opt_dec(get("tpQty")),
        sl_qty=_opt_dec(get("slQty")),
        tp_price=_opt_dec(get("tpPrice")),
        tp_stop_type=_opt_enum(StopType, get("tpStopType")),
        tp_order_type=_opt_enum(OrderType, get("tpOrderType")),
        tp_order_price=_opt_dec(get("tpOrderPrice")),
        sl_price=_opt_dec(get("slPrice")),
        sl_stop_type=_opt_enum(StopType, get("slStopType")),
        sl_order_type=_opt_enum(OrderType, get("slOrderType")),
        sl_order_price=_opt_dec(get("slOrderPrice")),
        created_ms=_opt_time_ms(get("ctime")),
        ts=ts,
        source=source,
    )


# ---------------------------------------------------------------------------------------------
# REST rows -> values (same types as the WebSocket gives)


def parse_rest_ticker(row: Mapping[str, Any], ts: int, source: DataSource = _REST) -> TickerUpdate:
    """A row of ``GET /api/v1/futures/market/tickers`` -> TickerUpdate.

    REST sends no 24 h change: ``change`` is computed as ``(last / open - 1) * 100`` (0 when
    ``open`` is 0). ``mark_price`` is filled in.
    """
    last = _dec(row["lastPrice"] if row.get("lastPrice") not in (None, "") else row["last"])
    open_ = _dec(row["open"])
    change = (last / open_ - 1) * 100 if open_ else Decimal(0)
    return TickerUpdate(
        _str(row["symbol"]),
        last,
        open_,
        _dec(row["high"]),
        _dec(row["low"]),
        _dec(row["baseVol"]),
        _dec(row["quoteVol"]),
        change,
        ts,
        source,
        _opt_dec(row.get("markPrice")),
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
    start = _time_ms(row["time"])
    kind = row.get("type")
    return KlineUpdate(
        _str(symbol),
        interval,
        price_type if kind in (None, "") else _enum(PriceType, kind),
        _dec(row["open"]),
        _dec(row["high"]),
        _dec(row["low"]),
        _dec(row["close"]),
        _dec(row["baseVol"]),
        _dec(row["quoteVol"]),
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
        ts = _opt_time_ms(row.get("mtime")) or _opt_time_ms(row.get("ctime")) or 0
    return parse_order(row, ts, source)


def parse_rest_position(
    row: Mapping[str, Any], source: DataSource = _REST, ts: int | None = None
) -> Position:
    """A row of ``get_pending_positions`` -> Position (``side`` BUY/SELL means LONG/SHORT)."""
    if ts is None:
        ts = _opt_time_ms(row.get("mtime")) or _opt_time_ms(row.get("ctime")) or 0
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


# ---------------------------------------------------------------------------------------------
# Values -> REST rows


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
    _put(wire, "ctime", o.created_ms)
    _put(wire, "mtime", o.updated_ms)
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
    _put(wire, "ctime", p.created_ms)
    _put(wire, "mtime", p.updated_ms)
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
