"""Channel specs: what a user can subscribe to, as hashable value objects.

Each spec knows its wire name, its symbol, whether it needs the private (logged-in) socket,
whether its values may be conflated (only the latest matters), its routing ``key``
``(wire_channel, symbol)``, and the value type it yields (specs are generic, so
``stream.subscribe(Ticker("BTCUSDT"))`` is typed to yield :class:`TickerUpdate`)::

    Ticker("BTCUSDT")                  ticker              TickerUpdate
    OrderBook("BTCUSDT", depth=5)      depth_book5         OrderBookUpdate
    Trades("BTCUSDT")                  trade               Trade
    Kline("BTCUSDT", "1min", "mark")   mark_kline_1min     KlineUpdate
    MarkPrice("BTCUSDT")               price               MarkPriceUpdate
    Tickers("BTCUSDT")                 tickers             TickerSummary
    Orders()                           order               Order
    Positions()                        position            Position
    Balance()                          balance             AccountBalance
    Fills()                            order               Fill
    TpSl()                             tpsl                TpSlOrder

:class:`Subscription` is the older, name-based form
(``Subscription(channel="orderbook", symbol="BTCUSDT", params={"depth": 5})``); it resolves to
one of the specs above. Invalid arguments raise :class:`ConfigurationError` saying what is
allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from .errors import ConfigurationError
from .fills import Fill, FillCursor
from .frames import Key
from .models import (
    KLINE_INTERVALS,
    AccountBalance,
    KlineUpdate,
    MarkPriceUpdate,
    Order,
    OrderBookUpdate,
    Position,
    PriceType,
    TickerSummary,
    TickerUpdate,
    TpSlOrder,
    Trade,
)

__all__ = [
    "AccountSpec",
    "Balance",
    "ChannelSpec",
    "Fills",
    "Kline",
    "MarkPrice",
    "OrderBook",
    "Orders",
    "Positions",
    "Subscription",
    "Ticker",
    "Tickers",
    "TpSl",
    "Trades",
    "resolve_spec",
    "spec_from_key",
]

T_co = TypeVar("T_co", covariant=True)

#: Order-book depths the exchange offers.
ORDER_BOOK_DEPTHS = (1, 5, 15)

#: Kline intervals in their WebSocket spelling.
WIRE_INTERVALS: tuple[str, ...] = tuple(KLINE_INTERVALS)

#: REST-style spellings accepted for kline intervals.
INTERVAL_ALIASES: dict[str, str] = {
    "1m": "1min",
    "3m": "3min",
    "5m": "5min",
    "15m": "15min",
    "30m": "30min",
    "1h": "60min",
    "60m": "60min",
    "1d": "1day",
    "3d": "3day",
    "1w": "1week",
    "1M": "1month",
}


def normalize_interval(interval: object) -> str:
    """A kline interval (``"1min"`` or a REST alias such as ``"1m"``) -> the wire spelling."""
    if isinstance(interval, str):
        if interval in KLINE_INTERVALS:
            return interval
        alias = INTERVAL_ALIASES.get(interval)
        if alias is not None:
            return alias
        lowered = interval.strip().lower()
        if lowered in KLINE_INTERVALS:
            return lowered
    raise ConfigurationError(
        f"interval must be one of {', '.join(WIRE_INTERVALS)} "
        f"(or {', '.join(INTERVAL_ALIASES)}) (got {interval!r})"
    )


def normalize_symbol(symbol: object, channel: str) -> str:
    """Upper-case and validate a symbol (non-empty ASCII letters and digits)."""
    if symbol is None:
        raise ConfigurationError(f"channel {channel!r} needs a symbol, e.g. 'BTCUSDT'")
    if not isinstance(symbol, str):
        raise ConfigurationError(f"symbol must be a string (got {symbol!r})")
    text = symbol.strip().upper()
    if not text or not text.isascii() or not text.isalnum():
        raise ConfigurationError(
            f"symbol must be letters and digits only, like 'BTCUSDT' (got {symbol!r})"
        )
    return text


def _price_type(value: object) -> PriceType:
    if isinstance(value, str):
        try:
            return PriceType.parse(value)
        except ValueError:
            pass
    raise ConfigurationError(f"price_type must be 'market' or 'mark' (got {value!r})")


class ChannelSpec(Generic[T_co]):
    """Base of all channel specs; ``T_co`` is the type of the values the channel yields."""

    __slots__ = ()

    #: The model type of this channel's values.
    value_type: ClassVar[type]
    #: True for channels of the logged-in private socket.
    private: ClassVar[bool] = False
    #: True when only the latest value matters (a slow consumer may skip values).
    conflate: ClassVar[bool] = True

    @property
    def wire_channel(self) -> str:
        """The channel name on the wire (``"depth_book15"``, ``"market_kline_1min"``...)."""
        raise NotImplementedError

    @property
    def symbol(self) -> str | None:
        """The symbol (upper case), or None for private channels."""
        return None

    @property
    def lossless(self) -> bool:
        """True when no value may be skipped: a full buffer ends the subscription with
        ConsumerTooSlow by default instead of conflating."""
        return not self.conflate

    @property
    def key(self) -> Key:
        """The routing key ``(wire_channel, symbol)`` used by the protocol layer."""
        return (self.wire_channel, self.symbol)


@dataclass(frozen=True, slots=True)
class _Public(ChannelSpec[T_co]):
    symbol: str = field()  # field() so that the base class property is not taken as default

    def __post_init__(self) -> None:
        name = type(self).__name__
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol, name))


@dataclass(frozen=True, slots=True)
class Ticker(_Public[TickerUpdate]):
    """24 h statistics of one symbol (wire ``ticker``)."""

    value_type = TickerUpdate

    @property
    def wire_channel(self) -> str:
        """``"ticker"``."""
        return "ticker"


@dataclass(frozen=True, slots=True)
class OrderBook(_Public[OrderBookUpdate]):
    """Snapshots of the top ``depth`` levels (1, 5 or 15) of the book (``depth_book<N>``)."""

    depth: int = 15
    value_type = OrderBookUpdate

    def __post_init__(self) -> None:
        _Public.__post_init__(self)
        depth: object = self.depth
        if isinstance(depth, str) and depth.strip().isdigit():
            depth = int(depth)
        if type(depth) is not int or depth not in ORDER_BOOK_DEPTHS:
            raise ConfigurationError(f"depth must be one of 1, 5, 15 (got {self.depth!r})")
        object.__setattr__(self, "depth", depth)

    @property
    def wire_channel(self) -> str:
        """``"depth_book1"``, ``"depth_book5"`` or ``"depth_book15"``."""
        return f"depth_book{self.depth}"


@dataclass(frozen=True, slots=True)
class Trades(_Public[Trade]):
    """Every public trade of one symbol (wire ``trade``); never conflated."""

    value_type = Trade
    conflate = False

    @property
    def wire_channel(self) -> str:
        """``"trade"``."""
        return "trade"


@dataclass(frozen=True, slots=True, init=False, repr=False)
class Kline(_Public[KlineUpdate]):
    """The running candle of ``interval`` over the last price (``price_type="market"``) or the
    mark price (``"mark"``). REST-style intervals (``"1m"``, ``"1h"``, ``"1d"``) are accepted.

    Every bucket's final value comes once with ``closed=True`` (candles that closed while
    the connection was down are fetched over REST when it is back). ``closed_only=True``
    yields only those closed candles, and never drops one (its default overflow is
    ``"error"``, with the stream's ``buffer_size``).
    """

    interval: str = "1min"
    price_type: PriceType = PriceType.MARKET
    closed_only: bool = False
    value_type = KlineUpdate

    def __init__(
        self,
        symbol: str,
        interval: str = "1min",
        price_type: PriceType | str = PriceType.MARKET,
        *,
        closed_only: bool = False,
    ) -> None:
        if not isinstance(closed_only, bool):
            raise ConfigurationError(f"closed_only must be True or False (got {closed_only!r})")
        object.__setattr__(self, "symbol", normalize_symbol(symbol, "Kline"))
        object.__setattr__(self, "interval", normalize_interval(interval))
        object.__setattr__(self, "price_type", _price_type(price_type))
        object.__setattr__(self, "closed_only", closed_only)

    def __repr__(self) -> str:
        extra = ", closed_only=True" if self.closed_only else ""
        return (
            f"Kline(symbol={self.symbol!r}, interval={self.interval!r}, "
            f"price_type={self.price_type.value!r}{extra})"
        )

    @property
    def lossless(self) -> bool:
        """True with ``closed_only`` (closed candles are never conflated)."""
        return self.closed_only

    @property
    def wire_channel(self) -> str:
        """``"market_kline_<interval>"`` or ``"mark_kline_<interval>"``."""
        return f"{self.price_type.value}_kline_{self.interval}"


@dataclass(frozen=True, slots=True)
class MarkPrice(_Public[MarkPriceUpdate]):
    """Mark price, index price and funding of one symbol (wire ``price``)."""

    value_type = MarkPriceUpdate

    @property
    def wire_channel(self) -> str:
        """``"price"``."""
        return "price"


@dataclass(frozen=True, slots=True)
class Tickers(_Public[TickerSummary]):
    """The ``tickers`` aggregate for one symbol: statistics plus best bid and ask."""

    value_type = TickerSummary

    @property
    def wire_channel(self) -> str:
        """``"tickers"``."""
        return "tickers"


@dataclass(frozen=True, slots=True)
class _Private(ChannelSpec[T_co]):
    private = True
    conflate = False


@dataclass(frozen=True, slots=True, repr=False)
class AccountSpec(_Private[T_co]):
    """Base of the account channels that start with a snapshot of the current state
    (:class:`Orders`, :class:`Positions`, :class:`Balance`).

    With ``snapshot=True`` (the default) a subscription first delivers the state of the
    account when it started, fetched over REST (each open order, open position or balance,
    marked ``source=DataSource.SNAPSHOT``), then every change after it; a change that is
    already part of the snapshot is not delivered again. ``await channel.snapshot()``
    waits for the snapshot and returns it (an empty tuple for an empty account); when REST
    cannot provide it the subscription ends with :class:`~bitunix_trio.SnapshotUnavailable`.
    ``snapshot=False``: changes only, from the moment of subscribing.
    """

    snapshot: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.snapshot, bool):
            raise ConfigurationError(f"snapshot must be True or False (got {self.snapshot!r})")

    def __repr__(self) -> str:
        extra = "" if self.snapshot else "snapshot=False"
        return f"{type(self).__name__}({extra})"


@dataclass(frozen=True, slots=True, repr=False)
class Orders(AccountSpec[Order]):
    """The account's order updates (private ``order``), after a snapshot of the open orders
    (see :class:`AccountSpec`; ``Orders(snapshot=False)`` for updates only)."""

    value_type = Order

    @property
    def wire_channel(self) -> str:
        """``"order"``."""
        return "order"


@dataclass(frozen=True, slots=True, repr=False)
class Positions(AccountSpec[Position]):
    """The account's position updates (private ``position``), after a snapshot of the open
    positions (see :class:`AccountSpec`; ``Positions(snapshot=False)`` for updates only)."""

    value_type = Position

    @property
    def wire_channel(self) -> str:
        """``"position"``."""
        return "position"


@dataclass(frozen=True, slots=True, repr=False)
class Balance(AccountSpec[AccountBalance]):
    """The account's balance updates (private ``balance``), after a snapshot of the
    balances (see :class:`AccountSpec`; ``Balance(snapshot=False)`` for updates only)."""

    value_type = AccountBalance

    @property
    def wire_channel(self) -> str:
        """``"balance"``."""
        return "balance"


@dataclass(frozen=True, slots=True, repr=False)
class Fills(_Private[Fill]):
    """The account's fills (:class:`~bitunix_trio.Fill`), derived from order updates and
    reconciled with REST trade history: each fill once, across disconnects and restarts.

    ``since``: a :class:`~bitunix_trio.FillCursor` stored from a fill's ``cursor``: the
    fills after it are fetched over REST (``DataSource.RECOVERED``) and nothing it covers
    is delivered again. None: the fills from now on. Rides on the private ``order``
    channel (an ``Orders()`` subscription shares it).
    """

    since: FillCursor | None = None
    value_type = Fill

    def __post_init__(self) -> None:
        since: object = self.since
        if isinstance(since, str):
            raise ConfigurationError(
                "since must be a FillCursor: bt.Fills(since=bt.FillCursor.parse(text))"
            )
        if since is not None and not isinstance(since, FillCursor):
            raise ConfigurationError(f"since must be a FillCursor or None (got {since!r})")

    def __repr__(self) -> str:
        return "Fills()" if self.since is None else f"Fills(since={self.since!r})"

    @property
    def wire_channel(self) -> str:
        """``"order"`` (fills are derived from order updates)."""
        return "order"


@dataclass(frozen=True, slots=True)
class TpSl(_Private[TpSlOrder]):
    """The account's take-profit / stop-loss order updates (private ``tpsl``)."""

    value_type = TpSlOrder

    @property
    def wire_channel(self) -> str:
        """``"tpsl"``."""
        return "tpsl"


# ---------------------------------------------------------------------------------------------
# Name-based subscriptions

_Builder = Callable[[str | None, dict[str, Any]], ChannelSpec[Any]]


def _no_symbol(name: str, symbol: str | None) -> None:
    if symbol is not None:
        raise ConfigurationError(
            f"channel {name!r} is private and takes no symbol (got {symbol!r}); "
            "it covers the whole account"
        )


def _take(name: str, params: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(set(params) - set(allowed))
    if extra:
        allowed_text = ", ".join(allowed) if allowed else "none"
        raise ConfigurationError(
            f"unknown parameter(s) {', '.join(map(repr, extra))} for channel {name!r}; "
            f"allowed: {allowed_text}"
        )


def _public(cls: type[_Public[Any]], name: str) -> _Builder:
    def build(symbol: str | None, params: dict[str, Any]) -> ChannelSpec[Any]:
        _take(name, params, ())
        return cls(normalize_symbol(symbol, name))

    return build


def _private(cls: type[_Private[Any]], name: str) -> _Builder:
    def build(symbol: str | None, params: dict[str, Any]) -> ChannelSpec[Any]:
        _no_symbol(name, symbol)
        if issubclass(cls, AccountSpec):
            _take(name, params, ("snapshot",))
            return cls(snapshot=params.get("snapshot", True))
        _take(name, params, ())
        return cls()

    return build


def _fills(symbol: str | None, params: dict[str, Any]) -> ChannelSpec[Any]:
    _no_symbol("fills", symbol)
    _take("fills", params, ("since",))
    return Fills(since=params.get("since"))


def _orderbook(name: str, fixed_depth: int | None = None) -> _Builder:
    def build(symbol: str | None, params: dict[str, Any]) -> ChannelSpec[Any]:
        if fixed_depth is not None:
            _take(name, params, ())
            return OrderBook(normalize_symbol(symbol, name), fixed_depth)
        _take(name, params, ("depth",))
        return OrderBook(normalize_symbol(symbol, name), params.get("depth", 15))

    return build


def _kline(name: str, fixed: tuple[str, PriceType] | None = None) -> _Builder:
    def build(symbol: str | None, params: dict[str, Any]) -> ChannelSpec[Any]:
        if fixed is not None:
            _take(name, params, ("closed_only",))
            return Kline(
                normalize_symbol(symbol, name),
                fixed[0],
                fixed[1],
                closed_only=params.get("closed_only", False),
            )
        _take(name, params, ("interval", "price_type", "closed_only"))
        return Kline(
            normalize_symbol(symbol, name),
            params.get("interval", "1min"),
            params.get("price_type", PriceType.MARKET),
            closed_only=params.get("closed_only", False),
        )

    return build


#: Friendly channel names (and their aliases) accepted by :class:`Subscription`.
FRIENDLY_NAMES: tuple[str, ...] = (
    "ticker",
    "orderbook",
    "trades",
    "kline",
    "markprice",
    "tickers",
    "orders",
    "positions",
    "balance",
    "tpsl",
    "fills",
)

_BUILDERS: dict[str, _Builder] = {
    "ticker": _public(Ticker, "ticker"),
    "orderbook": _orderbook("orderbook"),
    "order_book": _orderbook("orderbook"),
    "depth": _orderbook("orderbook"),
    "book": _orderbook("orderbook"),
    "trades": _public(Trades, "trades"),
    "trade": _public(Trades, "trades"),
    "kline": _kline("kline"),
    "klines": _kline("kline"),
    "candles": _kline("kline"),
    "markprice": _public(MarkPrice, "markprice"),
    "mark_price": _public(MarkPrice, "markprice"),
    "price": _public(MarkPrice, "markprice"),
    "funding": _public(MarkPrice, "markprice"),
    "tickers": _public(Tickers, "tickers"),
    "orders": _private(Orders, "orders"),
    "order": _private(Orders, "orders"),
    "positions": _private(Positions, "positions"),
    "position": _private(Positions, "positions"),
    "balance": _private(Balance, "balance"),
    "balances": _private(Balance, "balance"),
    "account": _private(Balance, "balance"),
    "tpsl": _private(TpSl, "tpsl"),
    "fills": _fills,
    "fill": _fills,
    "tp_sl": _private(TpSl, "tpsl"),
}
# Wire names are accepted too ("depth_book5", "mark_kline_1h" ...).
for _depth in ORDER_BOOK_DEPTHS:
    _BUILDERS[f"depth_book{_depth}"] = _orderbook(f"depth_book{_depth}", _depth)
for _interval in WIRE_INTERVALS:
    for _pt in PriceType:
        _name = f"{_pt.value}_kline_{_interval}"
        _BUILDERS[_name] = _kline(_name, (_interval, _pt))


def _unknown_channel(channel: object) -> ConfigurationError:
    return ConfigurationError(
        f"unknown channel {channel!r}; known channels: {', '.join(FRIENDLY_NAMES)} "
        "(or a wire name such as 'depth_book5' or 'market_kline_1min')"
    )


class Subscription:
    """A subscription by channel name, as in ``Subscription("orderbook", "BTCUSDT",
    {"depth": 5})``; validated eagerly. :meth:`resolve` gives the typed spec.

    Names: ``ticker``, ``orderbook`` (param ``depth``: 1, 5, 15; default 15), ``trades``,
    ``kline`` (params ``interval``, default ``"1min"``, ``price_type``, ``"market"`` or
    ``"mark"``, and ``closed_only``), ``markprice`` (alias ``price``), ``tickers``, and the
    private ``orders``, ``positions``, ``balance`` (param ``snapshot``, default True),
    ``tpsl``, ``fills`` (param ``since``) (no symbol). Wire names work as well.
    """

    __slots__ = ("_spec", "channel", "params", "symbol")

    channel: str
    symbol: str | None
    params: Mapping[str, Any]
    _spec: ChannelSpec[Any]

    def __init__(
        self, channel: str, symbol: str | None = None, params: Mapping[str, Any] | None = None
    ) -> None:
        if not isinstance(channel, str):
            raise _unknown_channel(channel)
        builder = _BUILDERS.get(channel) or _BUILDERS.get(channel.strip().lower())
        if builder is None:
            raise _unknown_channel(channel)
        if params is not None and not isinstance(params, Mapping):
            raise ConfigurationError(f"params must be a mapping (got {params!r})")
        param_dict = dict(params or {})
        self.channel = channel
        self.symbol = symbol
        self.params = param_dict
        self._spec = builder(symbol, param_dict)

    def resolve(self) -> ChannelSpec[Any]:
        """The channel spec this subscription stands for."""
        return self._spec

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Subscription):
            return self._spec == other.resolve()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._spec)

    def __repr__(self) -> str:
        return (
            f"Subscription(channel={self.channel!r}, symbol={self.symbol!r}, "
            f"params={self.params!r})"
        )


def resolve_spec(obj: object) -> ChannelSpec[Any]:
    """A ChannelSpec or a Subscription -> ChannelSpec; anything else -> ConfigurationError."""
    if isinstance(obj, ChannelSpec):
        if type(obj) in (ChannelSpec, _Public, _Private, AccountSpec):
            raise ConfigurationError(f"not a concrete channel spec: {obj!r}")
        return obj
    if isinstance(obj, Subscription):
        return obj.resolve()
    raise ConfigurationError(
        f"expected a channel spec (Ticker, OrderBook, Trades, Kline, MarkPrice, Tickers, "
        f"Orders, Positions, Balance, TpSl, Fills) or a Subscription (got {obj!r})"
    )


def spec_from_key(wire_channel: str, symbol: str | None = None) -> ChannelSpec[Any]:
    """The spec whose ``key`` is ``(wire_channel, symbol)``; ConfigurationError if none."""
    builder = _BUILDERS.get(wire_channel)
    if builder is None or wire_channel not in _WIRE_NAMES:
        raise ConfigurationError(f"unknown wire channel {wire_channel!r}")
    return builder(symbol, {})


_WIRE_NAMES = frozenset(
    ["ticker", "trade", "price", "tickers", "order", "position", "balance", "tpsl"]
    + [name for name in _BUILDERS if name.startswith(("depth_book", "market_kline_", "mark_"))]
)
