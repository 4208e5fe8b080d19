"""Account reconciliation over REST (the decisions are in ``_core.ledger``).

* :func:`reconcile_account` fetches pending orders, finished orders, positions and
  balances, diffs them against an :class:`~bitunix_trio._core.ledger.AccountLedger`, looks up
  the final state of orders that vanished, and delivers each difference once, marked
  ``source=DataSource.RECOVERED``.
* :class:`Reconciler` runs it on request (after every
  reconnect), every ``interval`` seconds, and when the private socket has been quiet for
  ``quiet_after`` seconds while orders are open.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterable
from typing import NoReturn, Protocol

import trio

from bitunix_trio._core.backoff import DEFAULT_MAX_BACKOFF, exponential_delay
from bitunix_trio._core.config import check_optional_seconds
from bitunix_trio._core.errors import BitunixError, ExchangeError
from bitunix_trio._core.frames import Deliver
from bitunix_trio._core.ledger import AccountLedger, AccountValue
from bitunix_trio._core.log import logger
from bitunix_trio._core.models import AccountBalance, Order, Position

__all__ = [
    "DEFAULT_HISTORY_LIMIT",
    "DEFAULT_QUIET_AFTER",
    "DEFAULT_RECONCILE_INTERVAL",
    "AccountRest",
    "Reconciler",
    "reconcile_account",
]

#: Seconds between periodic reconciliations.
DEFAULT_RECONCILE_INTERVAL = 30.0
#: Reconcile when the private socket was quiet this long while orders are open.
DEFAULT_QUIET_AFTER = 15.0
#: At most this many finished orders are fetched per reconciliation (every order created
#: since the ledger's ``history_start_ms()``, page by page, up to this bound).
DEFAULT_HISTORY_LIMIT = 10_000

_ORDER_NOT_FOUND = 20007


class AccountRest(Protocol):
    """The REST methods :func:`reconcile_account` calls (``BitunixRestClient`` has them)."""

    async def get_account(self, margin_coin: str = "USDT") -> AccountBalance:
        """The balance of ``margin_coin``."""

    async def get_pending_positions(self, symbol: str | None = None) -> list[Position]:
        """Open positions."""

    async def get_pending_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders."""

    async def get_history_orders(
        self, symbol: str | None = None, *, start_time: object = None, limit: int
    ) -> list[Order]:
        """Finished orders created since ``start_time`` (Unix ms), newest first, every
        page up to ``limit``."""

    async def get_order_detail(self, order_id: str) -> Order:
        """One order by id."""


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

    Fetches the pending orders, then every finished order created since
    ``ledger.history_start_ms()`` (page by page, at most ``history_limit``), the pending
    positions and the balance of each of ``coins`` (and of every coin the ledger
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
    fetched_ms = _wall_ms(clock)
    history_start = ledger.history_start_ms()
    wanted = None if symbols is None else sorted(set(symbols))
    scope: list[str | None] = [None] if wanted is None else list(wanted)
    pending: list[Order] = []
    for symbol in scope:
        pending += await rest.get_pending_orders(symbol)
    history: list[Order] = []
    for symbol in scope:
        finished = await rest.get_history_orders(
            symbol, start_time=history_start, limit=history_limit
        )
        if len(finished) >= history_limit:
            logger.warning(
                "reconcile: over %d finished orders since %s ms; older ones not looked at",
                history_limit,
                history_start,
            )
        history += finished
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
    updates = ledger.settle(plan, finals, fetched_ms=fetched_ms)
    for key, value in updates:
        deliver(key, value)
    if updates:
        logger.info("reconcile: %d missed account update(s) delivered", len(updates))
    return [value for _, value in updates]


class Reconciler:
    """Runs :func:`reconcile_account` when asked, periodically, and after quiet spells.

    ``interval``: seconds between reconciliations (None: not periodic). ``quiet_after``:
    also reconcile when no private push arrived for this long while the ledger has open
    orders (None: never); pushes are reported with :meth:`note_activity` (the stream's
    private pushes pass it). :meth:`request` asks for one as soon as
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
        symbols: Collection[str] | None = None,
        coins: Iterable[str] = ("USDT",),
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        clock: Callable[[], float] = time.time,
        retry_delay: float = 1.0,
        max_retry_delay: float = DEFAULT_MAX_BACKOFF,
    ) -> None:
        check_optional_seconds(interval, "interval")
        check_optional_seconds(quiet_after, "quiet_after")
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
        return self._last_push

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
                delay = exponential_delay(
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
