"""Value types users receive, and the enums they use.

Every value is a frozen, slotted dataclass: cheap to build on the reader's hot path, hashable,
and safe to share between tasks. Money is :class:`~decimal.Decimal`; ``ts`` is the raw
millisecond timestamp of the frame and ``time`` the same instant as an aware UTC datetime.
``source`` says whether a value came from the WebSocket, from a REST poll, or from the
reconciliation after a reconnect (use :func:`dataclasses.replace` to re-mark one).

The enums are defined in :mod:`bitunix_trio._core.enums` and exported from here too; each enum's
``parse`` accepts the exchange's spellings in any case. Turning wire dicts into
values and back lives elsewhere: :mod:`bitunix_trio._core.wire` (WebSocket parsers and the time and
number helpers), :mod:`bitunix_trio._core.wire` (WebSocket encoders) and
:mod:`bitunix_trio._core.rest_wire` (REST rows, both ways).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from .enums import _LOOKUPS as _LOOKUPS
from .enums import DataSource as DataSource
from .enums import MarginMode as MarginMode
from .enums import OrderStatus as OrderStatus
from .enums import OrderType as OrderType
from .enums import PositionMode as PositionMode
from .enums import PositionSide as PositionSide
from .enums import PriceType as PriceType
from .enums import Side as Side
from .enums import StopType as StopType
from .enums import TimeInForce as TimeInForce
from .enums import UpdateEvent as UpdateEvent
from .enums import _ParsingEnum as _ParsingEnum
from .errors import RemoteProtocolError
from .numbers import MAX_EXPONENT as _MAX_EXP
from .numbers import MAX_NUMBER_CHARS as _MAX_CHARS
from .numbers import number as _number
from .numbers import plain_book as _plain_book

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


def _dec(value: object, field: str = "number", *, signed: bool = True) -> Decimal:
    """A wire number (string, int, float or Decimal) as a bounded, finite Decimal (see
    :mod:`bitunix_trio._core.numbers`); ``signed=False`` also refuses negative values."""
    return _number(value, field, signed=signed)


def _udec(value: object, field: str = "number") -> Decimal:
    """A wire number that cannot be negative (a price, a quantity, a volume)."""
    return _number(value, field, signed=False)


def to_levels(raw: Sequence[Sequence[Any]]) -> tuple[Level, ...]:
    """Book levels ``[[price, qty], ...]`` -> ``((Decimal, Decimal), ...)``.

    Empty levels (``["", ""]``, sent for unknown symbols) are dropped. Raises ValueError
    (:class:`~bitunix_trio._core.numbers.NumberRefused`), TypeError or
    ``decimal.InvalidOperation`` on anything else that is not a pair of bounded, finite,
    non-negative numbers.
    """
    if not isinstance(raw, list | tuple):
        raise TypeError(f"book side must be a list, not {type(raw).__name__}")
    out: list[Level] = []
    append = out.append
    for price, qty in raw:
        # Fast path: both short strings (as the exchange sends them), finite, non-negative,
        # of a sane magnitude.
        if (
            price.__class__ is str
            and qty.__class__ is str
            and 0 < len(price) <= _MAX_CHARS
            and 0 < len(qty) <= _MAX_CHARS
        ):
            p = Decimal(price)
            q = Decimal(qty)
            if (
                p.is_finite()
                and q.is_finite()
                and -_MAX_EXP <= p.adjusted() <= _MAX_EXP
                and -_MAX_EXP <= q.adjusted() <= _MAX_EXP
                and not p.is_signed()
                and not q.is_signed()
            ):
                append((p, q))
                continue
        if price == "" or qty == "":
            continue
        append((_number(price, "price", signed=False), _number(qty, "qty", signed=False)))
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
    conversion, and ``best_bid``/``best_ask`` on a side not read yet convert one level. The
    frame decoder has already checked the shape (lists of ``[price, qty]`` strings); if a
    price or quantity turns out not to be a finite number, reading it raises
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
        _set_symbol(self, symbol)
        _set_bids(self, bids)
        _set_asks(self, asks)
        _set_depth(self, depth)
        _set_ts(self, ts)
        _set_source(self, source)

    def _side(self, raw: _Raw, slot: Any) -> tuple[Level, ...]:
        if raw.wire is not None:
            both = _plain_book(raw.wire)
            if both is not None:
                for side_slot, levels in zip((_BIDS, _ASKS), both, strict=True):
                    if side_slot.__get__(self).__class__ is _Raw:
                        side_slot.__set__(self, levels)
                return both[0] if slot is _BIDS else both[1]
        try:
            levels = to_levels(raw.levels)
        except (ValueError, TypeError, ArithmeticError):
            raise self._invalid(raw.levels) from None
        slot.__set__(self, levels)
        return levels

    def _invalid(self, raw: Sequence[Sequence[Any]]) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"{self.symbol or 'order book'}: invalid order book level "
            f"{_first_bad_level(raw)!r} (not a pair of finite numbers)"[:300]
        )

    def _best(self, slot: Any) -> Level | None:
        side = slot.__get__(self)
        if side.__class__ is tuple:
            return side[0] if side else None
        raw = side.levels if side.__class__ is _Raw else side
        for level in raw:  # convert only the best level: a side not read costs nothing
            try:
                best = to_levels((level,))
            except (ValueError, TypeError, ArithmeticError):
                raise self._invalid((level,)) from None
            if best:
                return best[0]
        return None

    @property
    def best_bid(self) -> Level | None:
        """The highest bid, or None (if ``bids`` was not read yet, only that level is
        converted)."""
        return self._best(_BIDS)

    @property
    def best_ask(self) -> Level | None:
        """The lowest ask, or None (if ``asks`` was not read yet, only that level is
        converted)."""
        return self._best(_ASKS)

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


def book_from_wire(
    symbol: str,
    bids: Sequence[Sequence[Any]],
    asks: Sequence[Sequence[Any]],
    depth: int | None,
    ts: int,
    source: DataSource = DataSource.WEBSOCKET,
    wire: Any = None,
) -> OrderBookUpdate:
    """A book over raw wire levels (lists of ``[price, qty]`` whose shape the caller
    checked), converted on first read (the codecs build books with it). ``wire``, the JSON
    of the levels (``{"b":.., "a":..}``), if given, lets reading all levels convert both
    sides in one call when every number is in the plain form (see ``numbers.plain_book``)."""
    book = _new(OrderBookUpdate)
    _set_symbol(book, symbol)
    _set_bids(book, _Raw(bids, wire))
    _set_asks(book, _Raw(asks, wire))
    _set_depth(book, depth)
    _set_ts(book, ts)
    _set_source(book, source)
    return book


def _first_bad_level(raw: Sequence[Sequence[Any]]) -> object:
    for level in raw:
        try:
            to_levels([level])
        except (ValueError, TypeError, ArithmeticError):
            return level
    return raw  # pragma: no cover - only called when a level failed


class _Raw:
    """Wire levels not converted yet (a marker type: converted sides are tuples), and the
    JSON of both sides when the decoder kept it."""

    __slots__ = ("levels", "wire")

    def __init__(self, levels: Sequence[Sequence[Any]], wire: Any = None) -> None:
        self.levels = levels
        self.wire = wire

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
_set_bids = _BIDS.__set__
_set_asks = _ASKS.__set__
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
    ``open_time_ms`` is derived from ``ts`` (see :func:`~bitunix_trio._core.wire.kline_open_time`).

    ``closed`` is True on the final value of a candle: a stream subscription delivers each
    bucket's closed candle exactly once, after its last running update (from the first push
    of the next bucket, or from REST klines, ``source=DataSource.RECOVERED``, for candles
    that closed while the connection was down). A pushed or polled update is running
    (``closed=False``); so is a row of ``get_klines``.
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
    closed: bool = False

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
# Faster construction


def fast_init(cls: type) -> None:
    """Give a frozen slotted dataclass an ``__init__`` that stores each field through its
    slot descriptor.

    The ``__init__`` that ``@dataclass(frozen=True)`` writes calls ``object.__setattr__``
    once per field, which costs about twice as much; values are built on the reader's hot
    path, so this one is generated instead (the same way dataclasses does it), with the same
    parameters, defaults and annotations.
    """
    namespace: dict[str, Any] = {}
    params = []
    lines = []
    annotations: dict[str, Any] = {}
    for i, field in enumerate(dataclasses.fields(cls)):
        if not field.init or field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: not supported by fast_init")
        namespace[f"_set{i}"] = cls.__dict__[field.name].__set__
        if field.default is dataclasses.MISSING:
            params.append(field.name)
        else:
            namespace[f"_default{i}"] = field.default
            params.append(f"{field.name}=_default{i}")
        lines.append(f"    _set{i}(self, {field.name})")
        annotations[field.name] = field.type
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(lines) + "\n"
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = {**annotations, "return": None}
    cls.__init__ = init  # type: ignore[misc]


for _cls in (
    TickerUpdate,
    TickerSummary,
    Trade,
    KlineUpdate,
    MarkPriceUpdate,
    Order,
    Position,
    AccountBalance,
    TpSlOrder,
):
    fast_init(_cls)
