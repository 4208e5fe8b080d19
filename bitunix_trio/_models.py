"""Value types users receive, and the enums they use.

Every value is a frozen, slotted dataclass: cheap to build on the reader's hot path, hashable,
and safe to share between tasks. Money is :class:`~decimal.Decimal`; ``ts`` is the raw
millisecond timestamp of the frame and ``time`` the same instant as an aware UTC datetime.
``source`` says whether a value came from the WebSocket, from a REST poll, or from the
reconciliation after a reconnect (use :func:`dataclasses.replace` to re-mark one).

Each enum's ``parse`` accepts the exchange's spellings in any case. Turning wire dicts into
values and back lives elsewhere: :mod:`bitunix_trio._wire` (WebSocket parsers and the time and
number helpers), :mod:`bitunix_trio._wire_encode` (WebSocket encoders) and
:mod:`bitunix_trio._wire_rest` (REST rows, both ways).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Self

from ._exceptions import RemoteProtocolError

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

#: The Unix epoch as an aware UTC datetime.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


# ---------------------------------------------------------------------------------------------
# Wire numbers (here rather than in _wire because order books convert their levels lazily)

_setattr = object.__setattr__


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


def to_levels(raw: Sequence[Sequence[Any]]) -> tuple[Level, ...]:
    """Book levels ``[[price, qty], ...]`` -> ``((Decimal, Decimal), ...)``.

    Empty levels (``["", ""]``, sent for unknown symbols) are dropped. Raises ValueError,
    TypeError or ``decimal.InvalidOperation`` on anything else that is not a pair of finite
    numbers.
    """
    if not isinstance(raw, list | tuple):
        raise TypeError(f"book side must be a list, not {type(raw).__name__}")
    out: list[Level] = []
    append = out.append
    for price, qty in raw:
        # Fast path: both strings (as the exchange sends them), finite, non-empty.
        if price.__class__ is str and qty.__class__ is str and price and qty:
            p = Decimal(price)
            q = Decimal(qty)
            if p.is_finite() and q.is_finite():
                append((p, q))
                continue
        if price == "" or qty == "":
            continue
        append((_dec(price), _dec(qty)))
    return tuple(out)


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


@dataclass(frozen=True, init=False, repr=False)
class OrderBookUpdate(_Timestamped):
    """A full snapshot of the top of the book (every push replaces the previous one).

    ``bids`` descend and ``asks`` ascend, as ``(price, qty)`` pairs; empty levels are dropped,
    so an unknown symbol gives an empty book. ``depth`` is the channel's window (1, 5 or 15),
    or None for the whole book (``depth_books`` and REST without a limit).

    Books from the WebSocket convert their levels to :class:`~decimal.Decimal` when a side is
    first read (then keep the result): a conflated snapshot that nobody reads costs no
    conversion. The frame decoder has already checked the shape (lists of ``[price, qty]``);
    if a price or quantity turns out not to be a finite number, reading that side raises
    :class:`~bitunix_trio.RemoteProtocolError` naming the symbol (as do comparing, hashing and
    pickling the book, which read both sides).
    """

    __slots__ = ("_asks", "_bids", "depth", "source", "symbol", "ts")

    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    depth: int | None
    ts: int
    source: DataSource

    def __init__(
        self,
        symbol: str,
        bids: tuple[Level, ...],
        asks: tuple[Level, ...],
        depth: int | None,
        ts: int,
        source: DataSource = DataSource.WEBSOCKET,
    ) -> None:
        _setattr(self, "symbol", symbol)
        _setattr(self, "_bids", bids)
        _setattr(self, "_asks", asks)
        _setattr(self, "depth", depth)
        _setattr(self, "ts", ts)
        _setattr(self, "source", source)

    @classmethod
    def _from_wire(
        cls,
        symbol: str,
        bids: Sequence[Sequence[Any]],
        asks: Sequence[Sequence[Any]],
        depth: int | None,
        ts: int,
        source: DataSource = DataSource.WEBSOCKET,
    ) -> OrderBookUpdate:
        """A book over raw wire levels (lists of ``[price, qty]`` whose shape the caller
        checked), converted on first read."""
        self = _new(cls)
        _set_symbol(self, symbol)
        _set_raw_bids(self, _Raw(bids))
        _set_raw_asks(self, _Raw(asks))
        _set_depth(self, depth)
        _set_ts(self, ts)
        _set_source(self, source)
        return self

    def _side(self, raw: _Raw, slot: Any) -> tuple[Level, ...]:
        try:
            levels = to_levels(raw.levels)
        except (ValueError, TypeError, ArithmeticError):
            raise RemoteProtocolError(
                f"{self.symbol or 'order book'}: invalid order book level "
                f"{_first_bad_level(raw.levels)!r} (not a pair of finite numbers)"[:300]
            ) from None
        slot.__set__(self, levels)
        return levels

    @property
    def best_bid(self) -> Level | None:
        """The highest bid, or None."""
        bids = self.bids
        return bids[0] if bids else None

    @property
    def best_ask(self) -> Level | None:
        """The lowest ask, or None."""
        asks = self.asks
        return asks[0] if asks else None

    def __repr__(self) -> str:
        sides = []
        for name in ("bids", "asks"):
            try:
                sides.append(repr(getattr(self, name)))
            except RemoteProtocolError:
                raw = (_BIDS if name == "bids" else _ASKS).__get__(self)
                sides.append(f"<invalid {raw.levels!r}>")
        return (
            f"OrderBookUpdate(symbol={self.symbol!r}, bids={sides[0]}, asks={sides[1]}, "
            f"depth={self.depth!r}, ts={self.ts!r}, source={self.source!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.symbol, self.bids, self.asks, self.depth, self.ts, self.source))


def _first_bad_level(raw: Sequence[Sequence[Any]]) -> object:
    for level in raw:
        try:
            to_levels([level])
        except (ValueError, TypeError, ArithmeticError):
            return level
    return raw  # pragma: no cover - only called when a level failed


class _Raw:
    """Wire levels not converted yet (a marker type: converted sides are tuples)."""

    __slots__ = ("levels",)

    def __init__(self, levels: Sequence[Sequence[Any]]) -> None:
        self.levels = levels

    def __repr__(self) -> str:
        return f"<unconverted {self.levels!r}>"


def _lazy_side(name: str) -> property:
    slot = OrderBookUpdate.__dict__[name]
    get = slot.__get__

    def side(self: OrderBookUpdate) -> tuple[Level, ...]:
        levels = get(self)
        if levels.__class__ is tuple:
            return levels
        if levels.__class__ is _Raw:
            return self._side(levels, slot)
        return self._side(_Raw(levels), slot)  # a list given to the constructor

    side.__doc__ = f"The {'bids' if name == '_bids' else 'asks'} as ``(price, qty)`` pairs."
    return property(side)


_new = object.__new__
_set_symbol = OrderBookUpdate.__dict__["symbol"].__set__
_BIDS = OrderBookUpdate.__dict__["_bids"]
_ASKS = OrderBookUpdate.__dict__["_asks"]
_set_raw_bids = _BIDS.__set__
_set_raw_asks = _ASKS.__set__
_set_depth = OrderBookUpdate.__dict__["depth"].__set__
_set_ts = OrderBookUpdate.__dict__["ts"].__set__
_set_source = OrderBookUpdate.__dict__["source"].__set__
setattr(OrderBookUpdate, "bids", _lazy_side("_bids"))  # noqa: B010 - after @dataclass saw the field
setattr(OrderBookUpdate, "asks", _lazy_side("_asks"))  # noqa: B010


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
    ``open_time_ms`` is derived from ``ts`` (see :func:`~bitunix_trio._wire.kline_open_time`).
    A change of ``open_time_ms`` means the previous candle closed.
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
