"""REST behind the WebSocket: market data while it is down, account reconciliation after.

The Trio half of graceful degradation and recovery; the decisions are in ``_reconcile``.
Everything here is written against small protocols (the REST methods it calls) and plain
callables (where values go), so it runs without a stream:

* :func:`poll_market` feeds market subscriptions from REST while the WebSocket is down:
  tickers (one ``get_tickers`` call per round for every ticker subscription), order books
  (``get_depth``), klines (the latest candle of ``get_klines``) and mark prices (from the
  funding rate endpoint), marked ``source=DataSource.REST``. Trades cannot be back-filled
  (the exchange has no public trades endpoint): that is reported once per subscription.
* :func:`reconcile_account` fetches pending orders, finished orders, positions and balances,
  diffs them against an :class:`~bitunix_trio._reconcile.AccountLedger`, looks up the final
  state of orders that vanished, and delivers each difference once, marked
  ``source=DataSource.RECOVERED``.
* :class:`Reconciler` (and :func:`periodic_reconciliation`) runs it on request (after every
  reconnect), every ``interval`` seconds, and when the private socket has been quiet for
  ``quiet_after`` seconds while orders are open.

Rate limits: every request waits for the REST client's limiter (the exchange's 10
requests/s); the poller also paces itself (``max_rate``, 5/s by default) so orders and
reconciliation keep room. Rounds start every ``interval`` seconds, or back to back when a
round takes longer (many subscriptions): never faster. Failures (REST down, rate limited,
timeouts) are logged and retried with exponential backoff, never fatal; with both the
WebSocket and REST down nothing spins.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any, NoReturn, Protocol

import trio

from ._channels import ChannelSpec, Kline, MarkPrice, OrderBook, Ticker, Tickers, Trades
from ._exceptions import (
    AuthenticationError,
    BitunixError,
    ConfigurationError,
    ExchangeError,
    RateLimited,
)
from ._models import (
    AccountBalance,
    DataSource,
    KlineUpdate,
    MarkPriceUpdate,
    Order,
    OrderBookUpdate,
    Position,
    PriceType,
    TickerSummary,
    TickerUpdate,
)
from ._reconcile import AccountLedger, AccountValue, Key
from ._rest_core import RateLimiter
from ._rest_types import FundingRate
from ._wire import ms_to_datetime

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_POLL_RATE",
    "DEFAULT_QUIET_AFTER",
    "DEFAULT_RECONCILE_INTERVAL",
    "TRADES_UNAVAILABLE",
    "AccountRest",
    "MarketRest",
    "Reconciler",
    "logger",
    "periodic_reconciliation",
    "poll_market",
    "reconcile_account",
]

logger = logging.getLogger("bitunix_trio.fallback")

#: Seconds between two polling rounds.
DEFAULT_POLL_INTERVAL = 1.0
#: Requests per second the poller sends at most (half of the exchange's 10/s).
DEFAULT_POLL_RATE = 5.0
#: Longest wait between failed polling rounds or reconciliations.
DEFAULT_MAX_BACKOFF = 30.0
#: Seconds between periodic reconciliations.
DEFAULT_RECONCILE_INTERVAL = 30.0
#: Reconcile when the private socket was quiet this long while orders are open.
DEFAULT_QUIET_AFTER = 15.0
#: Finished orders fetched per reconciliation (orders that started and ended unseen).
DEFAULT_HISTORY_LIMIT = 100

#: Why a trades subscription gets nothing while the WebSocket is down.
TRADES_UNAVAILABLE = "trades cannot be back-filled over REST (no public trades endpoint)"

_ORDER_NOT_FOUND = 20007
#: Parameter errors: asking again will not help.
_REFUSED_PARAMETERS = frozenset({10002, 10008})
Deliver = Callable[[Key, object], object]


class MarketRest(Protocol):
    """The REST methods :func:`poll_market` calls (``BitunixRestClient`` has them)."""

    async def get_tickers(self, symbols: str | Iterable[str] | None = None) -> list[TickerUpdate]:
        """24 h statistics of ``symbols``."""

    async def get_depth(self, symbol: str, limit: int | str | None = 15) -> OrderBookUpdate:
        """The order book of ``symbol``."""

    async def get_klines(
        self, symbol: str, interval: str = "1min", *, limit: int = 100, price_type: PriceType
    ) -> list[KlineUpdate]:
        """Candles of ``symbol``, oldest first."""

    async def get_funding_rate(self, symbol: str) -> FundingRate:
        """The funding rate (and mark price) of ``symbol``."""


class AccountRest(Protocol):
    """The REST methods :func:`reconcile_account` calls (``BitunixRestClient`` has them)."""

    async def get_account(self, margin_coin: str = "USDT") -> AccountBalance:
        """The balance of ``margin_coin``."""

    async def get_pending_positions(self, symbol: str | None = None) -> list[Position]:
        """Open positions."""

    async def get_pending_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders."""

    async def get_history_orders(self, symbol: str | None = None, *, limit: int) -> list[Order]:
        """Finished orders, newest first."""

    async def get_order_detail(self, order_id: str) -> Order:
        """One order by id."""


def _round_failure(exc: BitunixError) -> bool:
    """Whether an error says REST as a whole is unusable now (not just this request)."""
    if isinstance(exc, RateLimited | AuthenticationError):
        return True
    return not isinstance(exc, ExchangeError | ConfigurationError)


def _backoff(base: float, failures: int, cap: float) -> float:
    return min(cap, base * 2.0 ** min(failures, 32))


# ---------------------------------------------------------------------------------------
# Market data


class _Poller:
    """One polling session (lives as long as one :func:`poll_market` call)."""

    def __init__(
        self,
        rest: MarketRest,
        deliver: Deliver,
        on_unavailable: Callable[[ChannelSpec[Any], str], object],
        pace: RateLimiter | None,
    ) -> None:
        self.rest = rest
        self.deliver = deliver
        self.on_unavailable = on_unavailable
        self.pace = pace
        self.unavailable: set[ChannelSpec[Any]] = set()
        self.failing: set[object] = set()

    def give_up(self, spec: ChannelSpec[Any], reason: str) -> None:
        """Report once that ``spec`` cannot be fed from REST."""
        if spec not in self.unavailable:
            self.unavailable.add(spec)
            logger.info("REST fallback: %r: %s", spec, reason)
            self.on_unavailable(spec, reason)

    async def call(self, what: object, fn: Callable[[], Any]) -> Any:
        """One request, paced; per-request exchange errors are logged and give None (a
        spec whose parameters the exchange refuses is given up)."""
        if self.pace is not None:
            await self.pace.acquire()
        try:
            result = await fn()
        except BitunixError as exc:
            if _round_failure(exc):
                raise
            if isinstance(what, ChannelSpec) and (
                isinstance(exc, ConfigurationError)
                or (isinstance(exc, ExchangeError) and exc.code in _REFUSED_PARAMETERS)
            ):
                self.give_up(what, f"REST refuses it: {exc}")
                return None
            if what not in self.failing:
                self.failing.add(what)
                logger.warning("REST fallback: %s failed: %s", what, exc)
            return None
        self.failing.discard(what)
        return result

    async def round(self, specs: Collection[ChannelSpec[Any]]) -> None:
        """Fetch and deliver one value for every spec that REST can feed."""
        tickers: set[str] = set()
        summaries: set[str] = set()
        books: dict[str, list[OrderBook]] = {}
        others: list[ChannelSpec[Any]] = []
        for spec in specs:
            if spec in self.unavailable or spec.private:
                continue
            symbol = spec.symbol
            assert symbol is not None
            if isinstance(spec, Ticker):
                tickers.add(symbol)
            elif isinstance(spec, Tickers):
                summaries.add(symbol)
            elif isinstance(spec, OrderBook):
                books.setdefault(symbol, []).append(spec)
            elif isinstance(spec, Trades):
                self.give_up(spec, TRADES_UNAVAILABLE)
            elif isinstance(spec, Kline | MarkPrice):
                others.append(spec)
            else:  # pragma: no cover - every public channel is handled above
                self.give_up(spec, "no REST source for this channel")
        if tickers or summaries:
            await self.tickers(tickers, summaries)
        for symbol, book_specs in books.items():
            await self.books(symbol, book_specs)
        for spec in others:
            if isinstance(spec, Kline):
                await self.kline(spec)
            elif isinstance(spec, MarkPrice):
                await self.mark_price(spec)

    async def tickers(self, tickers: set[str], summaries: set[str]) -> None:
        symbols = sorted(tickers | summaries)
        rows: list[TickerUpdate] | None = await self.call(
            "tickers", lambda: self.rest.get_tickers(symbols)
        )
        if rows is None and len(symbols) > 1:
            # One bad symbol may spoil the list: ask for every row and pick ours.
            rows = await self.call("all tickers", self.rest.get_tickers)
        for row in rows or ():
            if row.symbol in tickers:
                self.deliver(("ticker", row.symbol), row)
            if row.symbol in summaries:
                self.deliver(("tickers", row.symbol), _summary(row))

    async def books(self, symbol: str, specs: list[OrderBook]) -> None:
        depth = max(spec.depth for spec in specs)
        book: OrderBookUpdate | None = await self.call(
            f"order book {symbol}", lambda: self.rest.get_depth(symbol, depth)
        )
        if book is None:
            return
        for spec in specs:
            n = spec.depth
            cut = OrderBookUpdate(
                book.symbol, book.bids[:n], book.asks[:n], n, book.ts, book.source
            )
            self.deliver(spec.key, book if n == book.depth else cut)

    async def kline(self, spec: Kline) -> None:
        async def latest() -> list[KlineUpdate]:
            return await self.rest.get_klines(
                spec.symbol, spec.interval, limit=1, price_type=spec.price_type
            )

        candles: list[KlineUpdate] | None = await self.call(spec, latest)
        if candles:
            self.deliver(spec.key, candles[-1])

    async def mark_price(self, spec: MarkPrice) -> None:
        symbol = spec.symbol
        rate: FundingRate | None = await self.call(spec, lambda: self.rest.get_funding_rate(symbol))
        if rate is None:
            return
        value = mark_price_from_funding(rate)
        if value is None:
            self.give_up(spec, "the funding rate endpoint lacks the mark/index price or times")
        else:
            self.deliver(spec.key, value)


def _summary(row: TickerUpdate) -> TickerSummary:
    """A REST ticker row as an entry of the ``tickers`` channel (no best bid/ask)."""
    r = row
    stats = (r.symbol, r.last_price, r.open, r.high, r.low, r.base_volume, r.quote_volume)
    return TickerSummary(*stats, r.change, None, None, None, None, r.ts, r.source)


def mark_price_from_funding(rate: FundingRate) -> MarkPriceUpdate | None:
    """A ``price`` channel value from the funding rate endpoint, or None when the reply
    lacks what it needs (mark and index price, next funding time and interval; the last
    funding time is the next one minus the interval)."""
    if (
        rate.mark_price is None
        or rate.index_price is None
        or rate.next_funding_ms is None
        or not rate.funding_interval_hours
    ):
        return None
    last_ms = rate.next_funding_ms - rate.funding_interval_hours * 3_600_000
    return MarkPriceUpdate(
        rate.symbol,
        rate.mark_price,
        rate.index_price,
        rate.funding_rate,
        ms_to_datetime(last_ms),
        ms_to_datetime(rate.next_funding_ms),
        rate.ts,
        DataSource.REST,
    )


async def poll_market(
    rest: MarketRest,
    specs: Callable[[], Collection[ChannelSpec[Any]]],
    deliver: Deliver,
    *,
    interval: float = DEFAULT_POLL_INTERVAL,
    on_unavailable: Callable[[ChannelSpec[Any], str], object],
    max_rate: float | None = DEFAULT_POLL_RATE,
    max_backoff: float = DEFAULT_MAX_BACKOFF,
    on_error: Callable[[BitunixError | None], object] | None = None,
) -> NoReturn:
    """Feed market subscriptions from REST until cancelled.

    Every ``interval`` seconds (drift-free; back to back when a round takes longer), fetch
    one value for each spec returned by ``specs()`` and call ``deliver(spec.key, value)``:
    tickers (all ``Ticker``/``Tickers`` specs in one ``get_tickers`` call), order books (one
    ``get_depth`` per symbol, at the largest depth wanted), klines (the latest candle), mark
    prices (from the funding rate). Values are marked ``DataSource.REST``. What REST cannot
    feed (trades; a kline interval REST lacks; a mark price the funding rate reply cannot
    make) is reported once per spec with ``on_unavailable(spec, reason)``. Private specs are
    skipped (see :func:`reconcile_account`).

    At most ``max_rate`` requests per second are sent (None: only the REST client's own
    limiter). A round that fails as a whole (REST down, rate limited, a timeout) is logged
    and the next one waits ``interval * 2**n`` seconds (at most ``max_backoff``); an error
    of one request (e.g. an unknown symbol) is logged once and the round goes on.
    ``on_error(exc)`` is told when rounds start failing, ``on_error(None)`` when they work
    again.
    """
    if not interval > 0 or not math.isfinite(interval):
        raise ConfigurationError(f"interval must be a positive number, got {interval!r}")
    pace = RateLimiter(max_rate) if max_rate is not None else None
    poller = _Poller(rest, deliver, on_unavailable, pace)
    failures = 0
    next_round = trio.current_time()
    while True:
        await trio.sleep_until(next_round)
        try:
            await poller.round(list(dict.fromkeys(specs())))
        except BitunixError as exc:
            failures += 1
            delay = _backoff(interval, failures - 1, max_backoff)
            logger.warning(
                "REST fallback: polling failed (%s: %s); next round in %.1f s",
                type(exc).__name__,
                exc,
                delay,
            )
            next_round = trio.current_time() + delay
            if failures == 1 and on_error is not None:
                on_error(exc)
        else:
            if failures:
                logger.info("REST fallback: polling works again")
                if on_error is not None:
                    on_error(None)
            failures = 0
            next_round = max(next_round + interval, trio.current_time())


# ---------------------------------------------------------------------------------------
# Account reconciliation


def _wall_ms(clock: Callable[[], float]) -> int:
    return int(clock() * 1000)


async def reconcile_account(
    rest: AccountRest,
    ledger: AccountLedger,
    deliver: Deliver,
    *,
    symbols: Collection[str] | None = None,
    coins: Iterable[str] = ("USDT",),
    history_limit: int = DEFAULT_HISTORY_LIMIT,
    clock: Callable[[], float] = time.time,
) -> list[AccountValue]:
    """Bring the account channels up to date from REST; return what was delivered.

    Fetches the pending orders, then the latest ``history_limit`` finished orders, the
    pending positions and the balance of each of ``coins`` (and of every coin the ledger
    knows), all of ``symbols`` (None: every symbol); diffs them against ``ledger`` (see
    :meth:`AccountLedger.diff`), looks up orders that vanished from the pending list
    without showing up among the finished ones (``get_order_detail``; an order the exchange
    does not know any more is forgotten), and calls ``deliver(key, value)`` for each
    difference, once (``ledger.admit``), marked ``DataSource.RECOVERED``. The first call on
    an unprimed ledger delivers nothing about things it never heard of (the baseline).

    REST errors propagate (nothing is delivered then); ``clock`` (Unix time) stamps closed
    positions.
    """
    since = ledger.generation
    wanted = None if symbols is None else sorted(set(symbols))
    scope: list[str | None] = [None] if wanted is None else list(wanted)
    pending: list[Order] = []
    for symbol in scope:
        pending += await rest.get_pending_orders(symbol)
    history: list[Order] = []
    for symbol in scope:
        history += await rest.get_history_orders(symbol, limit=history_limit)
    positions: list[Position] = []
    for symbol in scope:
        positions += await rest.get_pending_positions(symbol)
    balances = [
        await rest.get_account(coin)
        for coin in sorted({c.upper() for c in coins} | set(ledger.balances))
    ]
    plan = ledger.diff(
        pending,
        positions,
        balances,
        history=history,
        now_ms=_wall_ms(clock),
        since=since,
        symbols=wanted,
    )
    finals: list[Order] = []
    for order_id in plan.unresolved:
        try:
            finals.append(await rest.get_order_detail(order_id=order_id))
        except ExchangeError as exc:
            if exc.code != _ORDER_NOT_FOUND:
                raise
            logger.warning("reconcile: order %s is unknown to the exchange; forgotten", order_id)
            ledger.forget_order(order_id)
    updates = ledger.settle(plan, finals)
    for key, value in updates:
        deliver(key, value)
    if updates:
        logger.info("reconcile: %d missed account update(s) delivered", len(updates))
    return [value for _, value in updates]


class Reconciler:
    """Runs :func:`reconcile_account` when asked, periodically, and after quiet spells.

    ``interval``: seconds between reconciliations (None: not periodic). ``quiet_after``:
    also reconcile when no private push arrived for this long while the ledger has open
    orders (None: never); pushes are reported with :meth:`note_activity` or read from
    ``last_activity()`` (Trio time of the last one). :meth:`request` asks for one as soon as
    possible (after a reconnect). Failures are logged and retried after ``retry_delay *
    2**n`` seconds (at most ``max_retry_delay``); the other arguments go to
    :func:`reconcile_account`.
    """

    def __init__(
        self,
        rest: AccountRest,
        ledger: AccountLedger,
        deliver: Deliver,
        *,
        interval: float | None = DEFAULT_RECONCILE_INTERVAL,
        quiet_after: float | None = DEFAULT_QUIET_AFTER,
        last_activity: Callable[[], float | None] | None = None,
        symbols: Collection[str] | None = None,
        coins: Iterable[str] = ("USDT",),
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        clock: Callable[[], float] = time.time,
        retry_delay: float = 1.0,
        max_retry_delay: float = DEFAULT_MAX_BACKOFF,
    ) -> None:
        for name, value in (("interval", interval), ("quiet_after", quiet_after)):
            if value is not None and (not value > 0 or not math.isfinite(value)):
                raise ConfigurationError(f"{name} must be a positive number or None")
        self.rest = rest
        self.ledger = ledger
        self.deliver = deliver
        self.interval = interval
        self.quiet_after = quiet_after
        self.symbols = symbols
        self.coins = tuple(coins)
        self.history_limit = history_limit
        self.clock = clock
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self._activity = last_activity
        self._last_push: float | None = None
        #: Trio time the last reconciliation finished (successfully or not).
        self.last_run: float | None = None
        #: Trio time the periodic schedule counts from (the last start).
        self.last_start: float | None = None
        #: Counters: reconciliations run, failed, values delivered.
        self.runs = 0
        self.failures = 0
        self.delivered = 0
        self._requested = False
        self._retry_at: float | None = None
        self._consecutive_failures = 0
        self._wake = trio.Event()
        self._lock = trio.Lock()

    def request(self) -> None:
        """Ask for a reconciliation as soon as possible (e.g. after a reconnect)."""
        self._requested = True
        self._wake.set()

    def note_activity(self, now: float) -> None:
        """Record that a private push arrived at Trio time ``now``."""
        self._last_push = now
        self._wake.set()

    @property
    def last_activity(self) -> float | None:
        """Trio time of the last private push (None: none yet)."""
        seen = self._last_push
        if self._activity is not None:
            other = self._activity()
            if other is not None and (seen is None or other > seen):
                seen = other
        return seen

    async def reconcile(self) -> list[AccountValue]:
        """Reconcile now (one at a time); errors propagate."""
        async with self._lock:
            self.last_start = trio.current_time()
            try:
                delivered = await reconcile_account(
                    self.rest,
                    self.ledger,
                    self.deliver,
                    symbols=self.symbols,
                    coins=self.coins,
                    history_limit=self.history_limit,
                    clock=self.clock,
                )
            finally:
                self.runs += 1
                self.last_run = trio.current_time()
            self.delivered += len(delivered)
            return delivered

    def next_due(self, now: float) -> float:
        """When the next reconciliation is due (``inf``: only on request)."""
        if self._retry_at is not None:
            return self._retry_at
        if self._requested:
            return now
        since = now if self.last_run is None else self.last_run
        due = math.inf
        if self.interval is not None:
            due = (now if self.last_start is None else self.last_start) + self.interval
        if self.quiet_after is not None:
            if self.ledger.has_open_orders:
                quiet_since = since
                activity = self.last_activity
                if activity is not None:
                    quiet_since = max(quiet_since, activity)
                due = min(due, quiet_since + self.quiet_after)
            else:  # look again later: orders may open without anyone telling us
                due = min(due, now + self.quiet_after)
        return due

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> NoReturn:
        """Reconcile whenever due, until cancelled (never raises a REST error)."""
        if self.last_run is None:
            self.last_run = self.last_start = trio.current_time()
        task_status.started()
        while True:
            now = trio.current_time()
            due = self.next_due(now)
            if due > now:
                self._wake = trio.Event()
                with trio.move_on_at(due):
                    await self._wake.wait()
                continue
            self._requested = False
            self._retry_at = None
            try:
                await self.reconcile()
            except BitunixError as exc:
                self.failures += 1
                self._consecutive_failures += 1
                delay = _backoff(
                    self.retry_delay, self._consecutive_failures - 1, self.max_retry_delay
                )
                self._retry_at = trio.current_time() + delay
                logger.warning(
                    "reconcile failed (%s: %s); retrying in %.1f s",
                    type(exc).__name__,
                    exc,
                    delay,
                )
            else:
                self._consecutive_failures = 0


async def periodic_reconciliation(
    rest: AccountRest,
    ledger: AccountLedger,
    deliver: Deliver,
    *,
    interval: float | None = DEFAULT_RECONCILE_INTERVAL,
    quiet_after: float | None = DEFAULT_QUIET_AFTER,
    last_activity: Callable[[], float | None] | None = None,
    symbols: Collection[str] | None = None,
    coins: Iterable[str] = ("USDT",),
    clock: Callable[[], float] = time.time,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Reconcile every ``interval`` seconds, and after ``quiet_after`` quiet seconds while
    orders are open (``last_activity()`` gives the Trio time of the last private push),
    until cancelled; failures are logged and retried. A wrapper over :class:`Reconciler`
    for callers without a stream."""
    reconciler = Reconciler(
        rest,
        ledger,
        deliver,
        interval=interval,
        quiet_after=quiet_after,
        last_activity=last_activity,
        symbols=symbols,
        coins=coins,
        clock=clock,
    )
    await reconciler.run(task_status=task_status)
