"""A grid bot on bitunix-trio: ``GridBot`` and ``GridBotConfig``.

The earlier callback client had ``GridBot(exchange, config)``, ``bot.use_websocket`` and
``bot.start()``. Here the bot is a Trio task that lives in your nursery::

    config = GridBotConfig("ETHUSDT", lower_price="2900", upper_price="3300", grids=8,
                           qty_per_order="0.01")
    async with bt.open_bitunix_stream(credentials=...) as stream:
        bot = GridBot(stream, config)         # use_websocket=True: fills from the stream
        async with trio.open_nursery() as nursery:
            await nursery.start(bot.run)      # returns once the grid is placed
            ...                               # bot.status(), bot.fills, bot.realized_pnl

How it trades. ``grids`` intervals split ``lower_price..upper_price`` into ``grids + 1``
lines (on the pair's tick). Each interval ("edge" ``e``, between lines ``e`` and ``e + 1``)
holds exactly one order: a buy on its lower line or a sell on its upper line. At the start
the line nearest the price stays empty, buys go below it and sells above it. When a buy on
line ``e`` fills, the sell on line ``e + 1`` replaces it; when a sell on line ``e + 1``
fills, the buy on line ``e``. So every buy/sell pair of one edge earns one grid step times
``qty_per_order``, and the number of orders never changes. The account is one-way
(netting): buys add to a long or reduce a short, sells the other way round.

Never twice, after any failure. Every order's client id is derived from the grid (a
fingerprint of the config), its edge and its generation on that edge, so an order is the
same order however often the bot tries to place it. Before placing, the bot checks the id
against the open orders and the history it read at the start, or looks it up (every later
order, every retry); the exchange refuses a second order with an id it has seen (code
30042), and the bot then adopts the first. After a disconnect, fills made while the bot
was away arrive late (the stream reconciles the account over REST) and are handled like
any other, once. After a restart the bot rebuilds the grid from the open orders and the
order history: an edge whose order filled while the bot was stopped gets its next order,
and that fill is counted.

``use_websocket=True`` (the default) reads fills from ``bt.Fills()`` (each fill once,
those made during a disconnect recovered over REST), cancelled orders from ``bt.Orders()``
and the position from ``bt.Positions()``; ``since=`` resumes from the cursor of the last
fill a previous run counted (``bot.cursor``). ``False`` polls REST (open orders, order
history, position) every ``poll_interval`` seconds instead, deriving fills from the growth
of each order's filled quantity, for accounts or networks where the WebSocket is not an
option.

What it shows (``out``, ``print`` by default): one line per fill, per connection change
and per placement problem, each with the state: open grid orders, fills, the position (the
exchange's, from the ``positions`` channel or REST), the realized P&L of the grid and the
connection.

Realized P&L, the grid's way: generations alternate on an edge, an even one opens a round
trip and the odd one after it closes it, so a fill of an odd generation realizes one grid
step (the edge's sell line minus its buy line) times its quantity, whatever the order the
fills were learnt in. Fees are counted apart. The exchange, which averages the cost of the
position, books the same total whenever no round trip is open (from a flat start); while
one is, the difference sits in the position's unrealized P&L.

``bot.board()`` draws the grid. Orders stay open when the bot stops, so that the next start
picks them up; ``cancel_on_exit=True`` cancels them instead.

Run it against the simulated exchange: ``python examples/gridbot_websocket_example.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Protocol

import trio

import bitunix_trio as bt

__all__ = ["GridBot", "GridBotConfig", "GridFill", "GridOrder", "GridPlan"]

logger = logging.getLogger("gridbot")

#: The exchange's code for a client id it has already seen.
_DUPLICATE_CLIENT_ID = 30042
#: The exchange's code for an order it does not know.
_ORDER_NOT_FOUND = 20007
_MAX_GRIDS = 100
_ENDED_UNFILLED = frozenset(
    {
        bt.OrderStatus.CANCELED,
        bt.OrderStatus.PART_FILLED_CANCELED,
        bt.OrderStatus.SYSTEM_CANCELED,
        bt.OrderStatus.EXPIRED,
        bt.OrderStatus.FAILED,
    }
)
_OPEN = frozenset({bt.OrderStatus.INIT, bt.OrderStatus.NEW, bt.OrderStatus.PART_FILLED})


# -- configuration -------------------------------------------------------------------------


def _decimal(name: str, value: object) -> Decimal:
    if isinstance(value, (bool, float)):
        raise bt.ConfigurationError(
            f"GridBotConfig: {name} must be a Decimal, str or int, not {type(value).__name__}"
            f" ({value!r} as a float is not exact: write {name}={str(value)!r})"
        )
    if not isinstance(value, Decimal | str | int):
        raise bt.ConfigurationError(
            f"GridBotConfig: {name} must be a Decimal, str or int, got {value!r}"
        )
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise bt.ConfigurationError(f"GridBotConfig: {name} is not a number: {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise bt.ConfigurationError(f"GridBotConfig: {name} must be positive, got {value!r}")
    return number


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise bt.ConfigurationError(
            f"GridBotConfig: {name} must be positive seconds, got {value!r}"
        )
    if not math.isfinite(value):
        raise bt.ConfigurationError(f"GridBotConfig: {name} must be finite, got {value!r}")
    return float(value)


@dataclass(frozen=True, init=False)
class GridBotConfig:
    """What the grid looks like (checked when made: a bad value raises
    :class:`bitunix_trio.ConfigurationError` naming it).

    ``grids`` is the number of intervals between ``lower_price`` and ``upper_price``
    (``grids + 1`` price lines, ``grids`` orders); ``qty_per_order`` is in the base coin.
    Prices and quantities are ``Decimal``, ``str`` or ``int`` (never ``float``). Whether they
    fit the pair's tick and lot is checked when the bot starts (:meth:`GridPlan.build`).

    ``poll_interval``: seconds between REST polls when ``use_websocket`` is off.
    ``sync_interval``: seconds between REST checks of the open orders and the position
    with the WebSocket on (a belt to the stream's own reconciliation).
    ``client_prefix``: starts every client id (1-12 letters or digits), to tell several
    bots of one account apart. ``cancel_on_exit``: cancel the grid when the bot stops
    (by default the orders stay, and the next start carries on with them).
    """

    symbol: str
    lower_price: Decimal
    upper_price: Decimal
    grids: int
    qty_per_order: Decimal
    poll_interval: float = 1.0
    sync_interval: float = 30.0
    client_prefix: str = "grid"
    cancel_on_exit: bool = False

    def __init__(
        self,
        symbol: str,
        lower_price: Decimal | str | int,
        upper_price: Decimal | str | int,
        grids: int,
        qty_per_order: Decimal | str | int,
        *,
        poll_interval: float = 1.0,
        sync_interval: float = 30.0,
        client_prefix: str = "grid",
        cancel_on_exit: bool = False,
    ) -> None:
        # Every value is checked here: a config that exists is a valid one.
        object.__setattr__(self, "symbol", symbol)
        object.__setattr__(self, "lower_price", lower_price)
        object.__setattr__(self, "upper_price", upper_price)
        object.__setattr__(self, "grids", grids)
        object.__setattr__(self, "qty_per_order", qty_per_order)
        object.__setattr__(self, "poll_interval", poll_interval)
        object.__setattr__(self, "sync_interval", sync_interval)
        object.__setattr__(self, "client_prefix", client_prefix)
        object.__setattr__(self, "cancel_on_exit", cancel_on_exit)
        self._check()

    def _check(self) -> None:
        symbol: object = self.symbol
        if not isinstance(symbol, str) or not re.fullmatch(r"[A-Za-z0-9]{2,30}", symbol.strip()):
            raise bt.ConfigurationError(
                f"GridBotConfig: symbol must be a contract name such as 'BTCUSDT', got {symbol!r}"
            )
        object.__setattr__(self, "symbol", symbol.strip().upper())
        lower = _decimal("lower_price", self.lower_price)
        upper = _decimal("upper_price", self.upper_price)
        if lower >= upper:
            raise bt.ConfigurationError(
                f"GridBotConfig: lower_price ({lower}) must be below upper_price ({upper})"
            )
        grids: object = self.grids
        if isinstance(grids, bool) or not isinstance(grids, int) or not 1 <= grids <= _MAX_GRIDS:
            raise bt.ConfigurationError(
                f"GridBotConfig: grids must be an int from 1 to {_MAX_GRIDS}, got {grids!r}"
            )
        object.__setattr__(self, "lower_price", lower)
        object.__setattr__(self, "upper_price", upper)
        object.__setattr__(self, "qty_per_order", _decimal("qty_per_order", self.qty_per_order))
        object.__setattr__(self, "poll_interval", _seconds("poll_interval", self.poll_interval))
        object.__setattr__(self, "sync_interval", _seconds("sync_interval", self.sync_interval))
        prefix: object = self.client_prefix
        if not isinstance(prefix, str) or not re.fullmatch(r"[A-Za-z0-9]{1,12}", prefix):
            raise bt.ConfigurationError(
                f"GridBotConfig: client_prefix must be 1 to 12 letters or digits, got {prefix!r}"
            )
        cancel: object = self.cancel_on_exit
        if not isinstance(cancel, bool):
            raise bt.ConfigurationError(
                f"GridBotConfig: cancel_on_exit must be True or False, got {cancel!r}"
            )

    @property
    def fingerprint(self) -> str:
        """Six hex digits that change with the symbol, the prices, grids and quantity:
        orders of another grid (another config) are never taken for this one's."""
        text = "|".join(
            str(v.normalize()) if isinstance(v, Decimal) else str(v)
            for v in (self.symbol, self.lower_price, self.upper_price, self.grids)
        )
        text += f"|{self.qty_per_order.normalize()}"
        return hashlib.sha256(text.encode()).hexdigest()[:6]


# -- grid arithmetic (no I/O) -------------------------------------------------------------


def _step_of(precision: int | None, name: str, symbol: str) -> Decimal:
    if precision is None:
        raise bt.ConfigurationError(f"{symbol}: the exchange gave no {name}; cannot place a grid")
    return Decimal(1).scaleb(-precision)


@dataclass(frozen=True)
class GridPlan:
    """The grid's price lines, on the pair's tick, and its rules (from ``get_trading_pairs``).

    ``lines[e]`` and ``lines[e + 1]`` bound edge ``e``; ``tick`` and ``lot`` are the pair's
    price and quantity steps.
    """

    config: GridBotConfig
    lines: tuple[Decimal, ...]
    tick: Decimal
    lot: Decimal

    @classmethod
    def build(cls, config: GridBotConfig, pair: bt.TradingPair) -> GridPlan:
        """The lines of ``config`` on ``pair``'s tick; raises ``ConfigurationError`` (one
        clear sentence) when the grid does not fit the pair's rules."""
        symbol = config.symbol
        if pair.symbol != symbol:
            raise bt.ConfigurationError(f"trading rules of {pair.symbol} given for {symbol}")
        if pair.status not in (None, "OPEN"):
            raise bt.ConfigurationError(f"{symbol} is not open for trading (status {pair.status})")
        tick = _step_of(pair.quote_precision, "price precision", symbol)
        lot = _step_of(pair.base_precision, "quantity precision", symbol)
        for name, price in (
            ("lower_price", config.lower_price),
            ("upper_price", config.upper_price),
        ):
            if price % tick:
                raise bt.ConfigurationError(
                    f"GridBotConfig: {name} {price} is not on {symbol}'s price tick {tick}"
                )
        qty = config.qty_per_order
        if qty % lot:
            raise bt.ConfigurationError(
                f"GridBotConfig: qty_per_order {qty} is not a multiple of {symbol}'s lot {lot}"
            )
        if pair.min_trade_volume is not None and qty < pair.min_trade_volume:
            raise bt.ConfigurationError(
                f"GridBotConfig: qty_per_order {qty} is below {symbol}'s minimum order"
                f" quantity {pair.min_trade_volume}"
            )
        if pair.max_limit_order_volume is not None and qty > pair.max_limit_order_volume:
            raise bt.ConfigurationError(
                f"GridBotConfig: qty_per_order {qty} is above {symbol}'s largest limit order"
                f" {pair.max_limit_order_volume}"
            )
        lower, upper, grids = config.lower_price, config.upper_price, config.grids
        lines = tuple(
            (lower + (upper - lower) * i / grids).quantize(tick, rounding=ROUND_HALF_EVEN)
            for i in range(grids + 1)
        )
        if any(b <= a for a, b in itertools.pairwise(lines)):
            step = (upper - lower) / grids
            raise bt.ConfigurationError(
                f"GridBotConfig: {grids} grids over {lower}..{upper} are {step:.8g} apart,"
                f" closer than {symbol}'s price tick {tick}: use fewer grids or a wider range"
            )
        return cls(config, lines, tick, lot)

    @property
    def edges(self) -> int:
        """The number of edges (= orders) of the grid."""
        return len(self.lines) - 1

    def order_price(self, edge: int, side: bt.Side) -> Decimal:
        """Where edge ``edge`` buys (its lower line) or sells (its upper line)."""
        return self.lines[edge] if side is bt.Side.BUY else self.lines[edge + 1]

    def opening_side(self, edge: int, price: Decimal) -> bt.Side:
        """The side of a fresh order on ``edge`` with the market at ``price``: the line
        nearest ``price`` stays empty, buys go below it and sells above it."""
        nearest = min(range(len(self.lines)), key=lambda i: (abs(self.lines[i] - price), i))
        return bt.Side.BUY if edge < nearest else bt.Side.SELL

    def client_id(self, edge: int, gen: int, side: bt.Side) -> str:
        """The client id of the ``gen``-th order of ``edge`` (deterministic)."""
        config = self.config
        return f"{config.client_prefix}-{config.fingerprint}-e{edge}g{gen}{side.value[0]}"

    def parse_client_id(self, client_id: str | None) -> tuple[int, int, bt.Side] | None:
        """``(edge, gen, side)`` of one of this grid's client ids, else None."""
        if client_id is None:
            return None
        config = self.config
        head = f"{config.client_prefix}-{config.fingerprint}-"
        if not client_id.startswith(head):
            return None
        match = re.fullmatch(r"e(\d{1,3})g(\d{1,9})([BS])", client_id[len(head) :])
        if match is None:
            return None
        edge, gen = int(match[1]), int(match[2])
        if edge >= self.edges:
            return None
        return edge, gen, bt.Side.BUY if match[3] == "B" else bt.Side.SELL

    def is_other_grid(self, client_id: str | None) -> bool:
        """Whether ``client_id`` is a grid order of this prefix but another config."""
        if client_id is None or self.parse_client_id(client_id) is not None:
            return False
        return (
            re.fullmatch(
                rf"{re.escape(self.config.client_prefix)}-[0-9a-f]{{6}}-e\d+g\d+[BS]", client_id
            )
            is not None
        )


# -- state ---------------------------------------------------------------------------------


@dataclass
class GridOrder:
    """One grid order, known by its client id before it is placed.

    ``order_id`` is None until the exchange has confirmed it; ``filled`` is the quantity
    the bot has seen filled; ``checked`` says that the bot knows its client id is not at
    the exchange yet (else it looks the id up before placing it)."""

    edge: int
    gen: int
    side: bt.Side
    price: Decimal
    qty: Decimal
    client_id: str
    order_id: str | None = None
    filled: Decimal = Decimal(0)
    checked: bool = False


@dataclass(frozen=True)
class GridFill:
    """A fill of a grid order, as the bot counted it.

    ``fill_id`` is ``"<order id>/<filled quantity so far>"``; ``realized_pnl`` is the grid
    step times ``qty`` for a fill that closes a round trip (an odd generation), else 0, fees
    apart; ``source`` says how the bot learnt it (``RECOVERED``: after a disconnect, or found
    at a restart when ``while_away``)."""

    fill_id: str
    order_id: str
    client_id: str
    edge: int
    side: bt.Side
    price: Decimal
    qty: Decimal
    fee: Decimal
    realized_pnl: Decimal
    time: datetime | None
    source: bt.DataSource
    while_away: bool = False


class FillLike(Protocol):
    """What the bot reads from a fill (a ``bt.Fill``, or one derived from REST order
    states when polling)."""

    @property
    def order_id(self) -> str: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def qty(self) -> Decimal: ...
    @property
    def fee(self) -> Decimal | None: ...
    @property
    def realized_pnl(self) -> Decimal | None: ...
    @property
    def time(self) -> datetime | None: ...
    @property
    def source(self) -> bt.DataSource: ...
    @property
    def fill_id(self) -> str: ...


@dataclass(frozen=True)
class _DerivedFill:
    """A fill worked out from two states of an order (its filled quantity grew)."""

    fill_id: str
    order_id: str
    client_id: str | None
    price: Decimal
    qty: Decimal
    fee: Decimal | None
    realized_pnl: Decimal | None
    time: datetime | None
    source: bt.DataSource


@dataclass
class _Seen:
    filled: Decimal = Decimal(0)
    value: Decimal = Decimal(0)
    fee: Decimal | None = Decimal(0)
    pnl: Decimal | None = Decimal(0)


def _delta(now: Decimal | None, before: Decimal | None) -> Decimal | None:
    return None if now is None or before is None else now - before


class _FillDeriver:
    """Fills from successive states of orders: the growth of the filled quantity, priced
    from the growth of ``average_price * filled_qty`` (on the tick). The fee and realized
    P&L of a fill are the growth of the order's, when both states carry them (the
    WebSocket's order pushes carry no realized P&L). Bounded: forgets the oldest orders
    beyond ``limit``."""

    def __init__(self, tick: Decimal, limit: int = 10_000) -> None:
        self._tick = tick
        self._limit = limit
        self._seen: OrderedDict[str, _Seen] = OrderedDict()

    def baseline(self, order: bt.Order) -> None:
        """Take ``order``'s state as known (no fill from it)."""
        self._seen[order.order_id] = self._state_of(order)
        self._trim()

    def known_filled(self, order_id: str) -> Decimal:
        """The filled quantity of ``order_id`` counted so far."""
        seen = self._seen.get(order_id)
        return Decimal(0) if seen is None else seen.filled

    def update(self, order: bt.Order) -> _DerivedFill | None:
        """The fill that brought ``order`` to this state, None if its filled quantity did
        not grow."""
        before = self._seen.get(order.order_id) or _Seen()
        now = self._state_of(order)
        qty = now.filled - before.filled
        if qty <= 0:
            return None
        self._seen[order.order_id] = now
        self._seen.move_to_end(order.order_id)
        self._trim()
        price = ((now.value - before.value) / qty).quantize(self._tick, rounding=ROUND_HALF_EVEN)
        ms = order.updated_ms or order.ts
        return _DerivedFill(
            fill_id=f"{order.order_id}/{_qty_text(now.filled)}",
            order_id=order.order_id,
            client_id=order.client_id,
            price=price,
            qty=qty,
            fee=_delta(now.fee, before.fee),
            realized_pnl=_delta(now.pnl, before.pnl),
            time=datetime.fromtimestamp(ms / 1000, UTC) if ms else None,
            source=order.source,
        )

    def note_fill(self, order_id: str, filled: Decimal, value: Decimal) -> None:
        """Count a fill learnt another way: ``filled`` is the order's total so far,
        ``value`` the fill's price times quantity."""
        seen = self._seen.setdefault(order_id, _Seen())
        if filled > seen.filled:
            seen.filled = filled
            seen.value += value
            seen.fee = seen.pnl = None  # the next state's totals are not comparable
        self._seen.move_to_end(order_id)
        self._trim()

    def _state_of(self, order: bt.Order) -> _Seen:
        filled = order.filled_qty
        if not filled:  # nothing filled: nothing paid, nothing realized
            return _Seen()
        average = order.average_price or order.price or Decimal(0)
        return _Seen(filled, average * filled, order.fee, order.realized_pnl)

    def _trim(self) -> None:
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)


# -- the bot -------------------------------------------------------------------------------


class GridBot:
    """A grid of limit orders that buys low and sells one grid higher, over and over.

    ``GridBot(stream, config)`` then ``await nursery.start(bot.run)`` (``run`` returns when
    cancelled). ``use_websocket`` (default True) reads fills from the stream
    (``bt.Fills()``); False polls REST every ``config.poll_interval`` seconds. ``since``
    (WebSocket mode): the :attr:`cursor` a previous run stored; the fills made since are
    counted, partial fills included (without it, a restart counts the orders that filled
    completely while it was stopped). ``out`` receives the lines it shows (``print`` by
    default).

    State, for display or tests: :attr:`orders` (the open grid orders by edge),
    :attr:`fills`, :attr:`position`, :attr:`average_price`, :attr:`realized_pnl`,
    :attr:`fees`, :attr:`connection`, :attr:`lost` (grid orders that ended unfilled or
    could not be placed), :attr:`plan` (the lines, once started).
    """

    def __init__(
        self,
        stream: bt.BitunixStream,
        config: GridBotConfig,
        *,
        use_websocket: bool = True,
        since: bt.FillCursor | None = None,
        out: Callable[[str], object] = print,
    ) -> None:
        if not isinstance(config, GridBotConfig):
            raise bt.ConfigurationError(f"config must be a GridBotConfig, got {config!r}")
        if since is not None and not isinstance(since, bt.FillCursor):
            raise bt.ConfigurationError(
                f"since must be a bt.FillCursor (bt.FillCursor.parse(text)), got {since!r}"
            )
        self.stream = stream
        self.config = config
        self.use_websocket = use_websocket
        self.since = since
        #: The cursor of the last fill counted (WebSocket mode): store ``str(bot.cursor)``
        #: and pass ``since=bt.FillCursor.parse(text)`` to the next run.
        self.cursor: bt.FillCursor | None = since
        self.out = out
        self.plan: GridPlan | None = None
        #: The grid order of each edge (placed, or waiting to be placed).
        self.orders: dict[int, GridOrder] = {}
        self.fills: list[GridFill] = []
        self.lost: list[GridOrder] = []
        self.realized_pnl = Decimal(0)
        self.fees = Decimal(0)
        self.connection = "starting"
        #: The symbol's position at the exchange (signed: negative is short).
        self.position = Decimal(0)
        #: Its average entry price (None when flat).
        self.average_price: Decimal | None = None
        self._deriver: _FillDeriver | None = None
        self._to_place: dict[int, GridOrder] = {}
        self._placing = trio.Event()
        self._started = False

    # -- what it shows ---------------------------------------------------------------------

    def open_orders(self, side: bt.Side | None = None) -> list[GridOrder]:
        """The grid orders the exchange has confirmed (of ``side``), by price."""
        return sorted(
            (
                o
                for o in self.orders.values()
                if o.order_id is not None and (side is None or o.side is side)
            ),
            key=lambda o: o.price,
        )

    def status(self) -> str:
        """One line: open grid orders, fills, position, realized P&L, connection."""
        buys = [o.price for o in self.open_orders(bt.Side.BUY)]
        sells = [o.price for o in self.open_orders(bt.Side.SELL)]
        waiting = len(self.orders) - len(buys) - len(sells)
        orders = f"buys {_span(buys)}, sells {_span(sells)}"
        if waiting:
            orders += f", {waiting} being placed"
        average = self.average_price
        position = _signed(self.position)
        if average is not None:
            position += f" @ {_qty_text(average.quantize(Decimal('1e-8')))}"
        return (
            f"{self.config.symbol} | open: {orders} | fills {len(self.fills)}"
            f" | position {position} | realized P&L {_signed(self.realized_pnl)}"
            f" (fees {_qty_text(self.fees)})"
            f" | {self.connection}"
        )

    def board(self) -> str:
        """The grid, top line first: each line's price and the order resting on it."""
        if self.plan is None:
            return "(not started)"
        on_line: dict[int, str] = {}
        for order in self.orders.values():
            line = order.edge if order.side is bt.Side.BUY else order.edge + 1
            mark = "BUY " if order.side is bt.Side.BUY else "SELL"
            on_line[line] = mark if order.order_id is not None else mark.strip() + "?"
        rows = [
            f"{price:>14}  {on_line.get(i, '----')}"
            for i, price in reversed(list(enumerate(self.plan.lines)))
        ]
        return "\n".join([*rows, self.status()])

    def show(self, what: str) -> None:
        """Show one event with the state."""
        self.out(f"{what} | {self.status()}")

    # -- running ---------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Place (or rebuild) the grid, report ``started``, then trade until cancelled."""
        if self._started:
            raise RuntimeError("a GridBot runs once; make a new one to run again")
        self._started = True
        try:
            with _one_error():
                await self._run(task_status)
        finally:
            if self.config.cancel_on_exit:
                with trio.CancelScope(shield=True), trio.move_on_after(10):
                    await self.cancel_grid()

    async def _run(self, task_status: trio.TaskStatus[None]) -> None:
        async with trio.open_nursery() as nursery:
            if not self.use_websocket:
                self.connection = "REST polling"
                await self._start(bt.DataSource.REST)
                nursery.start_soon(self._place_loop)
                task_status.started()
                await self._poll_loop()
            # Subscribed before the grid is read, so that no fill falls in between. Fills
            # come from Fills(); order updates tell the orders that end unfilled.
            async with (
                self.stream.subscribe(bt.Fills(since=self.since)) as fills,
                self.stream.subscribe(bt.Orders(snapshot=False)) as updates,
                self.stream.subscribe(bt.Positions(snapshot=False)) as positions,
            ):
                self.connection = f"WebSocket {self.stream.state.name}"
                await self._start(bt.DataSource.RECOVERED)
                nursery.start_soon(self._watch_orders, updates)
                nursery.start_soon(self._watch_positions, positions)
                nursery.start_soon(self._watch_connection)
                nursery.start_soon(self._place_loop)
                nursery.start_soon(self._sync_loop)
                task_status.started()
                async for fill in fills:
                    if fill.symbol == self.config.symbol:
                        self.on_fill(fill)

    async def _start(self, away_source: bt.DataSource) -> None:
        """Read the rules, the price, the position and the grid's orders; rebuild."""
        rest = self.stream.rest
        symbol = self.config.symbol
        pairs = await rest.get_trading_pairs([symbol])
        pair = next((p for p in pairs if p.symbol == symbol), None)
        if pair is None:
            raise bt.ConfigurationError(f"{symbol} is not a contract of the exchange")
        plan = self.plan = GridPlan.build(self.config, pair)
        self._deriver = _FillDeriver(plan.tick)
        [ticker] = await rest.get_tickers([symbol])
        price = ticker.last_price
        pending = await rest.get_pending_orders(symbol)
        history = await rest.get_history_orders(symbol, limit=max(200, 4 * plan.edges))
        self._set_position(await rest.get_pending_positions(symbol))

        # The newest order of each edge: open ones first, then the history.
        newest: dict[int, tuple[int, bt.Order]] = {}
        others = 0
        for order in [*pending, *history]:
            parsed = plan.parse_client_id(order.client_id)
            if parsed is None:
                others += plan.is_other_grid(order.client_id) and order.status in _OPEN
                continue
            edge, gen, _ = parsed
            if edge not in newest or gen > newest[edge][0]:
                newest[edge] = (gen, order)
        if others:
            self.out(f"{others} open orders of another grid config are left alone")
        outside = not plan.lines[0] <= price <= plan.lines[-1]
        resuming = self.use_websocket and self.since is not None
        away: list[tuple[GridOrder, bt.Order]] = []
        for edge in range(plan.edges):
            found = newest.get(edge)
            if found is None:
                self._want(self._fresh(edge, 0, price))
                continue
            gen, order = found
            parsed = plan.parse_client_id(order.client_id)
            assert parsed is not None
            grid_order = GridOrder(
                edge,
                gen,
                parsed[2],
                order.price or plan.order_price(edge, parsed[2]),
                order.qty,
                order.client_id or "",
                order.order_id,
                order.filled_qty,
            )
            if not resuming:  # else Fills(since=...) brings what was not counted
                self._deriver.baseline(order)
            if order.status in _OPEN:
                self.orders[edge] = grid_order
            elif order.status is bt.OrderStatus.FILLED:
                # Filled while the bot was stopped: place what follows it (and count it).
                self._want(self._successor(grid_order))
                if not resuming:
                    away.append((grid_order, order))
            else:
                self.lost.append(grid_order)
                self._want(self._fresh(edge, gen + 2 - gen % 2, price))  # a new round trip
        fresh = len(self._to_place)
        adopted = len(self.orders) - fresh
        for wanted in self._to_place.values():
            # Not among the open orders and the history just read.
            wanted.checked = True
        where = f" (the price {price} is outside the grid)" if outside else ""
        self.show(
            f"grid {plan.lines[0]}..{plan.lines[-1]} in {plan.edges} steps,"
            f" qty {self.config.qty_per_order},"
            f" price {price}{where}: {adopted} orders found open, {fresh} to place"
        )
        for grid_order, state in away:
            self._count_away(grid_order, state, away_source)
        # Place the grid now (the first placements happen before ``started``).
        await self._place_wanted()

    def _fresh(self, edge: int, gen: int, price: Decimal) -> GridOrder:
        """The first order (an even generation) of a round trip on ``edge``."""
        assert self.plan is not None
        side = self.plan.opening_side(edge, price)
        return self._order(edge, gen, side)

    def _successor(self, order: GridOrder) -> GridOrder:
        side = bt.Side.SELL if order.side is bt.Side.BUY else bt.Side.BUY
        return self._order(order.edge, order.gen + 1, side)

    def _order(self, edge: int, gen: int, side: bt.Side) -> GridOrder:
        assert self.plan is not None
        return GridOrder(
            edge,
            gen,
            side,
            self.plan.order_price(edge, side),
            self.config.qty_per_order,
            self.plan.client_id(edge, gen, side),
        )

    def _want(self, order: GridOrder) -> None:
        self.orders[order.edge] = order
        self._to_place[order.edge] = order
        self._placing.set()

    # -- fills -----------------------------------------------------------------------------

    def _on_order(self, update: bt.Order) -> None:
        """One state of an order (pushed, recovered or polled)."""
        assert self.plan is not None
        assert self._deriver is not None
        if update.symbol != self.config.symbol:
            return
        parsed = self.plan.parse_client_id(update.client_id)
        if parsed is None:
            return
        if not self.use_websocket:  # with the WebSocket, fills come from Fills()
            fill = self._deriver.update(update)
            if fill is not None:
                self.on_fill(fill)
        current = self.orders.get(parsed[0])
        if (
            update.status in _ENDED_UNFILLED
            and current is not None
            and current.client_id == update.client_id
        ):
            del self.orders[current.edge]
            self._to_place.pop(current.edge, None)
            current.order_id = update.order_id
            self.lost.append(current)
            self.show(
                f"{current.side} {current.qty} @ {current.price} (edge {current.edge}) ended"
                f" {update.status.name} with {update.filled_qty} filled; its edge stays empty"
                " until the next start"
            )
        elif current is not None and current.client_id == update.client_id:
            current.order_id = current.order_id or update.order_id

    def on_fill(self, fill: FillLike) -> None:
        """Count one fill of a grid order (once: a fill whose quantity was counted already
        is ignored) and, when the order is complete, put the next order of its edge in its
        place."""
        assert self.plan is not None
        assert self._deriver is not None
        parsed = self.plan.parse_client_id(fill.client_id)
        if parsed is None:
            return
        edge, gen, side = parsed
        total = _filled_of(fill.fill_id)
        if not isinstance(fill, _DerivedFill) and total is not None:
            if total <= self._deriver.known_filled(fill.order_id):
                return  # counted already
            self._deriver.note_fill(fill.order_id, total, fill.price * fill.qty)
        if isinstance(fill, bt.Fill):
            self.cursor = fill.cursor
        current = self.orders.get(edge)
        if current is not None and current.client_id == fill.client_id:
            order = current
        else:  # an older order of the edge, or one of an earlier run
            order = GridOrder(
                edge,
                gen,
                side,
                self.plan.order_price(edge, side),
                self.config.qty_per_order,
                fill.client_id or "",
                fill.order_id,
            )
        order.order_id = order.order_id or fill.order_id
        order.filled = order.filled + fill.qty if total is None else total
        if order is current and order.filled >= order.qty:
            self._want(self._successor(order))
        self._book(order, fill, fill.source, while_away=False)

    def _count_away(self, order: GridOrder, state: bt.Order, source: bt.DataSource) -> None:
        ms = state.updated_ms or state.ts
        fill = _DerivedFill(
            fill_id=f"{state.order_id}/{_qty_text(state.filled_qty)}",
            order_id=state.order_id,
            client_id=state.client_id,
            price=state.average_price or order.price,
            qty=state.filled_qty,
            fee=state.fee,
            realized_pnl=state.realized_pnl,
            time=datetime.fromtimestamp(ms / 1000, UTC) if ms else None,
            source=source,
        )
        self._book(order, fill, source, while_away=True)

    def _book(
        self, order: GridOrder, fill: FillLike, source: bt.DataSource, *, while_away: bool
    ) -> None:
        assert self.plan is not None
        pnl = Decimal(0)
        if order.gen % 2:  # closes a round trip of its edge
            pnl = (self.plan.lines[order.edge + 1] - self.plan.lines[order.edge]) * fill.qty
        fee = fill.fee or Decimal(0)
        self.realized_pnl += pnl
        self.fees += fee
        counted = GridFill(
            fill.fill_id,
            fill.order_id,
            order.client_id,
            order.edge,
            order.side,
            fill.price,
            fill.qty,
            fee,
            pnl,
            fill.time,
            source,
            while_away,
        )
        self.fills.append(counted)
        how = {
            bt.DataSource.RECOVERED: " (while away)" if while_away else " (recovered)",
            bt.DataSource.REST: " (REST)",
        }.get(source, "")
        self.show(f"{order.side} {fill.qty} @ {fill.price} filled{how}, P&L {_signed(pnl)}")

    def _set_position(self, positions: Iterable[bt.Position]) -> None:
        """Take the exchange's position of the symbol (one-way: at most one)."""
        qty, value = Decimal(0), Decimal(0)
        for position in positions:
            if position.symbol != self.config.symbol or position.event is bt.UpdateEvent.CLOSE:
                continue
            sign = -1 if position.side is bt.PositionSide.SHORT else 1
            average = position.average_price
            if average is None and position.entry_value is not None and position.qty:
                average = position.entry_value / position.qty
            qty += sign * position.qty
            value += position.qty * (average or Decimal(0))
        self.position = qty
        self.average_price = value / abs(qty) if qty else None

    async def _watch_orders(self, updates: trio.abc.ReceiveChannel[bt.Order]) -> None:
        async for update in updates:
            self._on_order(update)

    async def _watch_positions(self, positions: trio.abc.ReceiveChannel[bt.Position]) -> None:
        async for position in positions:
            if position.symbol == self.config.symbol:
                self._set_position([position])

    # -- placing ---------------------------------------------------------------------------

    async def _place_loop(self) -> None:
        while True:
            await self._placing.wait()
            await self._place_wanted()

    async def _place_wanted(self) -> None:
        """Place every wanted order; retry transient failures with a growing delay."""
        delay = 1.0
        while self._to_place:
            self._placing = trio.Event()
            failed = False
            for edge, order in list(self._to_place.items()):
                if self._to_place.get(edge) is not order:
                    continue
                try:
                    await self._place(order)
                except (bt.TransportError, bt.RestError, bt.RateLimited, bt.StreamClosed) as exc:
                    failed = True
                    self._retrying(f"placing {order.side} @ {order.price}: {exc}")
                    continue
                except bt.ExchangeError as exc:
                    self.lost.append(order)
                    if self.orders.get(edge) is order:
                        del self.orders[edge]
                    self.show(f"could not place {order.side} @ {order.price}: {exc}")
                if self._to_place.get(edge) is order:
                    del self._to_place[edge]
            if failed:
                await trio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _place(self, order: GridOrder) -> None:
        """Place ``order`` unless its client id exists already (then adopt that order)."""
        rest = self.stream.rest
        existing = None if order.checked else await self._lookup(order.client_id)
        order.checked = False  # from now on the outcome of an attempt may be unknown
        if existing is None:
            try:
                placed = await rest.place_order(
                    self.config.symbol,
                    order.side,
                    "LIMIT",
                    order.qty,
                    order.price,
                    client_id=order.client_id,
                )
            except bt.ExchangeError as exc:
                if exc.code != _DUPLICATE_CLIENT_ID:
                    raise
                existing = await self._lookup(order.client_id)
                if existing is None:
                    raise
            else:
                order.order_id = placed.order_id
                return
        order.order_id = existing.order_id
        if existing.status not in _OPEN:
            # It was placed and has ended already: its final state says what follows.
            self._on_order(existing)

    async def _lookup(self, client_id: str) -> bt.Order | None:
        try:
            return await self.stream.rest.get_order_detail(client_id=client_id)
        except bt.ExchangeError as exc:
            if exc.code == _ORDER_NOT_FOUND:
                return None
            raise

    def _retrying(self, what: str) -> None:
        self.show(f"retrying: {what}")

    async def cancel_grid(self) -> None:
        """Cancel every open grid order (best effort)."""
        ids = [o.order_id for o in self.orders.values() if o.order_id is not None]
        self._to_place.clear()
        if not ids:
            return
        try:
            result = await self.stream.rest.cancel_orders(self.config.symbol, ids)
        except bt.BitunixError as exc:
            self.out(f"could not cancel the grid: {exc}")
        else:
            self.out(f"cancelled {len(result.successes)} grid orders")

    # -- watching ----------------------------------------------------------------------------

    async def _watch_connection(self) -> None:
        async with self.stream.state_events() as changes:
            async for change in changes:
                if change.connection is None and change.old is not change.new:
                    self.connection = f"WebSocket {change.new.name}"
                    reason = f" ({change.reason})" if change.reason else ""
                    self.show(f"connection {change.old.name} -> {change.new.name}{reason}")

    async def _sync_loop(self) -> None:
        """With the WebSocket on: now and then, check the orders the bot believes open
        against REST (the stream reconciles too; this catches what neither saw)."""
        while True:
            await trio.sleep(self.config.sync_interval)
            try:
                await self._poll_once()
            except bt.BitunixError as exc:
                logger.info("grid check failed: %s", exc)

    async def _poll_loop(self) -> None:
        failing = False
        while True:
            try:
                await self._poll_once()
            except bt.BitunixError as exc:
                if not failing:
                    self.connection = f"REST polling: failing ({type(exc).__name__})"
                    self.show(f"polling failed: {exc}")
                failing = True
            else:
                if failing:
                    self.connection = "REST polling"
                    self.show("polling works again")
                failing = False
            await trio.sleep(self.config.poll_interval)

    async def _poll_once(self) -> None:
        """Read the open orders; look up those the bot knows that are no longer open."""
        rest = self.stream.rest
        pending = await rest.get_pending_orders(self.config.symbol)
        positions = await rest.get_pending_positions(self.config.symbol)
        open_ids = set()
        for order in pending:
            open_ids.add(order.order_id)
            self._on_order(replace(order, source=bt.DataSource.REST))
        self._set_position(positions)
        gone = [
            o for o in self.orders.values() if o.order_id is not None and o.order_id not in open_ids
        ]
        if not gone:
            return
        history = await rest.get_history_orders(self.config.symbol, limit=100)
        by_id = {o.order_id: o for o in history}
        for gone_order in gone:
            state = by_id.get(gone_order.order_id or "")
            if state is None:
                try:
                    state = await rest.get_order_detail(order_id=gone_order.order_id)
                except bt.ExchangeError as exc:
                    if exc.code != _ORDER_NOT_FOUND:
                        raise
                    continue
            self._on_order(replace(state, source=bt.DataSource.REST))


@contextlib.contextmanager
def _one_error() -> Iterator[None]:
    """Let one error out of a nursery as itself, not in an ``ExceptionGroup``."""
    try:
        yield
    except BaseExceptionGroup as group:
        real = [e for e in _leaves(group) if not isinstance(e, trio.Cancelled)]
        if len(real) == 1:
            raise real[0] from real[0].__cause__
        raise


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for child in error.exceptions:
            yield from _leaves(child)
    else:
        yield error


def _filled_of(fill_id: str) -> Decimal | None:
    """The cumulative filled quantity in a ``"<order id>/<filled>"`` fill id."""
    _, _, tail = fill_id.rpartition("/")
    try:
        return Decimal(tail)
    except InvalidOperation:
        return None


def _qty_text(qty: Decimal) -> str:
    """A quantity without exponent or trailing zeros, as in fill ids (``0.0300`` -> ``0.03``)."""
    return format(qty.normalize(), "f") if qty else "0"


def _signed(number: Decimal) -> str:
    """``+12.5``, ``-0.003``, ``0``: plain, with its sign."""
    text = _qty_text(abs(number))
    return text if not number else ("+" if number > 0 else "-") + text


def _span(prices: Iterable[Decimal]) -> str:
    ordered = sorted(prices)
    if not ordered:
        return "none"
    if len(ordered) == 1:
        return f"1 at {ordered[0]}"
    return f"{len(ordered)} at {ordered[0]}..{ordered[-1]}"
