"""``Fills()`` in the stream: the Trio side of :mod:`bitunix_trio._core.fills`.

The stream's :class:`FillFeed` (made on the first ``Fills()`` subscription) watches the
account ledger (``AccountLedger.order_observers``): every order change admitted for
delivery (a push, or a change a reconciliation found over REST) whose filled quantity grew
is a fill::

    order push ──> ledger.admit ──> FillFeed._on_order ──> fill ──> every FillChannel
    reconciliation ──> ledger.settle ─┘        └─ recovered change: a recovery job
                                                  └─ task: REST trades of the order
                                                     (get_history_trades) -> the fills

* A pushed change gives one fill at once, priced from the cumulative average price and
  what the order's earlier fills cost (remembered from pushes and REST trades).
* A change found by a reconciliation may hold several fills (the pushes were lost), and a
  pushed change the feed cannot price (REST order rows carry no average price) is not
  guessed: a task fetches the order's trades and delivers one fill per trade (exact price,
  fee, P&L, maker), ``source=RECOVERED``. While it runs, later changes of that order
  extend the job instead of being delivered out of order. When REST fails, or its trade
  history lags behind the order, the job is retried with backoff (up to a minute apart):
  those fills come late, never guessed.
* An order placed before the stream started that the ledger first hears of from a push
  may have filled before: it is a recovery job too, and its trades more than the allowed
  clock skew older than the stream's start are not this stream's fills.
* ``Fills(since=cursor)`` starts a resume task for that channel: the account's trades
  since the cursor's watermark, then each of those orders' trades from the start (to know
  the cumulative quantities), retried with backoff until REST answers; a notice (a state
  event) says when it cannot yet. Live fills are not held back meanwhile.

Each :class:`FillChannel` keeps its own :class:`~bitunix_trio._core.fills.FillCoverage`: a fill
that reaches it twice (a push and a recovery, a resume and a push) is delivered once, and
each delivered fill carries the channel's cursor. The watermark of every channel (resumed,
if it resumes) moves to the start of the last settled reconciliation, less the allowed
clock skew, whenever no recovery job is pending.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import trio

from bitunix_trio._core.backoff import exponential_delay
from bitunix_trio._core.channels import Fills
from bitunix_trio._core.enums import DataSource
from bitunix_trio._core.errors import BitunixError
from bitunix_trio._core.fills import (
    Fill,
    FillCoverage,
    FillCursor,
    TradeRow,
    fill_from_orders,
    fills_from_trades,
)
from bitunix_trio._core.ledger import AccountLedger, is_final
from bitunix_trio._core.log import logger
from bitunix_trio._core.models import Order

from .channel import Overflow, SubscriptionChannel

__all__ = ["FeedHost", "FillChannel", "FillFeed", "TradeHistory"]

#: Orders whose cost so far is remembered (to price their next pushed fill).
MAX_PRICED_ORDERS = 10_000
#: Trades fetched at most for one order, and for the account when resuming.
ORDER_TRADES_LIMIT = 10_000
RESUME_TRADES_LIMIT = 10_000
#: Longest wait between two attempts of a resume.
RESUME_MAX_DELAY = 60.0
_ZERO = Decimal(0)


class TradeHistory(Protocol):
    """The REST call the feed makes (``BitunixRestClient`` has it)."""

    async def get_history_trades(
        self,
        symbol: str | None = None,
        *,
        order_id: str | None = None,
        position_id: str | None = None,
        start_time: object = None,
        end_time: object = None,
        limit: int = 100,
    ) -> Sequence[TradeRow]:
        """The account's trades, newest first."""


class FeedHost(Protocol):
    """What the feed needs of its stream: its REST client, a task under its supervisor,
    a notice on its state events."""

    @property
    def rest(self) -> TradeHistory:
        """The REST client."""

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` as a child of the supervisor."""

    def notice(self, message: str, connection: str | None = None) -> None:
        """Publish a notice as a state event."""


class FillChannel(SubscriptionChannel[Fill]):
    """The channel of a ``Fills()`` subscription (fills come from the :class:`FillFeed`;
    the order values routed to it are ignored)."""

    __slots__ = ("_feed", "coverage", "resumed")

    def __init__(
        self, feed: FillFeed, spec: Fills, *, buffer: int, overflow: Overflow, now_ms: int
    ) -> None:
        super().__init__(spec, buffer=buffer, overflow=overflow)
        self._feed = feed
        cursor = spec.since if spec.since is not None else FillCursor(now_ms)
        self.coverage = FillCoverage(cursor, skew_ms=feed.skew_ms)
        #: Whether the fills since the cursor were fetched (True without one).
        self.resumed = spec.since is None

    def deliver(self, value: Any, now: float) -> None:
        """Order values routed to the channel's key: not fills, ignored."""

    def put(self, fill: Fill, now: float) -> None:
        """Deliver ``fill`` unless this channel had it already (stamped with its cursor)."""
        if self._done:
            return
        admitted = self.coverage.admit(fill)
        if admitted is not None:
            SubscriptionChannel.deliver(self, admitted, now)

    def close(self) -> None:
        """Close this end and stop its resume."""
        self._feed.unregister(self)
        super().close()


@dataclass(slots=True)
class _Job:
    """Fills of ``order`` above ``base`` (up to its filled quantity) to fetch over REST."""

    old: Order | None
    order: Order
    base: Decimal
    attempts: int = 0
    retry_at: float = 0.0

    def put_off(self) -> float:
        """Retry later, with backoff; returns the delay."""
        self.attempts += 1
        delay = exponential_delay(1.0, self.attempts - 1, RESUME_MAX_DELAY)
        self.retry_at = trio.current_time() + delay
        return delay


class FillFeed:
    """Fills of one stream (see the module); made with the stream's account ledger."""

    def __init__(
        self,
        host: FeedHost,
        ledger: AccountLedger,
        clock: Callable[[], float],
    ) -> None:
        self.host = host
        self.ledger = ledger
        self.clock = clock
        self.skew_ms = ledger.skew_ms
        self.channels: list[FillChannel] = []
        self._jobs: dict[str, _Job] = {}
        self._job_task = False
        self._wake = trio.Event()
        self._observing = False
        #: order id -> (filled quantity, what it cost in all), for pricing the next fill.
        self._paid: OrderedDict[str, tuple[Decimal, Decimal]] = OrderedDict()
        #: Counters: fills derived, recovery jobs done, REST attempts that failed.
        self.fills = 0
        self.jobs = 0
        self.failures = 0

    @property
    def rest(self) -> TradeHistory:
        """The stream's REST client."""
        return self.host.rest

    def open_channel(self, spec: Fills, buffer: int, overflow: Overflow) -> FillChannel:
        """The channel of a new ``Fills()`` subscription (its resume started)."""
        if not self._observing:
            self._observing = True
            self.ledger.order_observers.append(self._on_order)
        channel = FillChannel(
            self, spec, buffer=buffer, overflow=overflow, now_ms=int(self.clock() * 1000)
        )
        self.channels.append(channel)
        if spec.since is not None:
            self.host.spawn(self._resume, channel)
        return channel

    def unregister(self, channel: FillChannel) -> None:
        """Stop feeding ``channel``."""
        if channel in self.channels:
            self.channels.remove(channel)

    # -- fills from order changes --------------------------------------------------------

    def _on_order(self, old: Order | None, new: Order) -> None:
        if not self.channels:
            return
        order_id = new.order_id
        base = old.filled_qty if old is not None else _ZERO
        if new.filled_qty > base:
            job = self._jobs.get(order_id)
            if job is not None:  # a recovery of this order is under way: it takes this too
                job.order = new
            else:
                fill = None
                if new.source is DataSource.WEBSOCKET and not self._before_start(old, new):
                    fill = fill_from_orders(old, new, base, self._paid_at(order_id, base))
                if fill is None:
                    self._add_job(_Job(old, new, base))
                else:
                    self._note_paid(order_id, fill.cumulative, fill.price * fill.qty)
                    self._emit([fill])
        if is_final(new) and order_id not in self._jobs:
            self._paid.pop(order_id, None)

    def _before_start(self, old: Order | None, new: Order) -> bool:
        """Whether ``new`` is an order placed before the stream started that the ledger
        has not seen yet (it may have filled before: its trades tell what filled since)."""
        start = self.ledger.start_ms
        created = new.created_ms
        return old is None and start is not None and created is not None and created < start

    def _paid_at(self, order_id: str, filled: Decimal) -> Decimal | None:
        if filled == 0:
            return _ZERO
        known = self._paid.get(order_id)
        if known is None or known[0] != filled:
            return None
        return known[1]

    def _note_paid(self, order_id: str, filled: Decimal, cost: Decimal) -> None:
        known = self._paid.pop(order_id, None)
        total = cost + (known[1] if known is not None else _ZERO)
        self._paid[order_id] = (filled, total)
        while len(self._paid) > MAX_PRICED_ORDERS:
            self._paid.popitem(last=False)

    def _add_job(self, job: _Job) -> None:
        self._jobs[job.order.order_id] = job
        self._wake.set()
        if not self._job_task:
            self._job_task = True
            self.host.spawn(self._run_jobs)

    def _emit(self, fills: list[Fill]) -> None:
        if not fills:
            return
        now = trio.current_time()
        self.fills += len(fills)
        for channel in list(self.channels):
            for fill in fills:
                channel.put(fill, now)
        self._advance()

    def _advance(self) -> None:
        """Move the watermarks to the last settled reconciliation (less the skew)."""
        synced = self.ledger.synced_ms
        if synced is None or self._jobs:
            return
        mark = synced - self.skew_ms
        for channel in self.channels:
            if channel.resumed:
                channel.coverage.advance(mark)

    async def _run_jobs(self) -> None:
        try:
            while self._jobs:
                now = trio.current_time()
                job = min(self._jobs.values(), key=lambda j: j.retry_at)
                if job.retry_at > now:
                    self._wake = trio.Event()
                    with trio.move_on_at(job.retry_at):
                        await self._wake.wait()
                    continue
                await self._work(job)
        finally:
            self._job_task = False
            self._advance()

    async def _work(self, job: _Job) -> None:
        """Fetch the trades of a job's order; deliver the fills they show; keep the job
        (retried with backoff) while they do not reach its filled quantity."""
        order_id = job.order.order_id
        try:
            trades = await self.rest.get_history_trades(order_id=order_id, limit=ORDER_TRADES_LIMIT)
        except BitunixError as exc:
            self.failures += 1
            delay = job.put_off()
            logger.warning(
                "fills: the trades of order %s could not be fetched (%s: %s); retrying in %.1f s",
                order_id,
                type(exc).__name__,
                exc,
                delay,
            )
            return
        every = fills_from_trades(trades, job.order)
        start = self.ledger.start_ms
        if job.base == 0 and start is not None and self._before_start(job.old, job.order):
            # Filled before the stream started (by more than the clock skew allowed: a
            # fill is rather delivered once too many than lost): not this stream's.
            early = start - self.skew_ms
            job.base = max((f.cumulative for f in every if f.time_ms < early), default=_ZERO)
        fills = [f for f in every if job.base < f.cumulative <= job.order.filled_qty]
        if fills:
            reached = fills[-1].cumulative
            cost = sum((f.price * f.qty for f in every if f.cumulative <= reached), _ZERO)
            self._paid.pop(order_id, None)
            self._note_paid(order_id, reached, cost)
            job.base = reached
        if job.base >= job.order.filled_qty:
            del self._jobs[order_id]
            self.jobs += 1
            if is_final(job.order):
                self._paid.pop(order_id, None)
        else:  # the trade history lags behind the order: look again soon
            job.put_off()
        self._emit(fills)

    # -- resuming from a cursor ----------------------------------------------------------

    async def _resume(self, channel: FillChannel) -> None:
        cursor = channel.coverage.cursor()
        start = max(0, cursor.after_ms - self.skew_ms)
        attempt = 0
        while not channel.done:
            try:
                fills = await self._fills_since(start, cursor.after_ms)
            except BitunixError as exc:
                delay = exponential_delay(1.0, attempt, RESUME_MAX_DELAY)
                if attempt == 0:
                    self.host.notice(
                        f"fills since the cursor cannot be fetched over REST yet "
                        f"({type(exc).__name__}: {exc}); retrying"
                    )
                attempt += 1
                await trio.sleep(delay)
                continue
            now = trio.current_time()
            for fill in fills:
                channel.put(fill, now)
            channel.resumed = True
            if attempt:
                self.host.notice("fills since the cursor were fetched over REST")
            self._advance()
            return

    async def _fills_since(self, start_ms: int, after_ms: int) -> list[Fill]:
        """Every fill after ``after_ms`` (trades listed from ``start_ms``), oldest first."""
        rest = self.rest
        listing = await rest.get_history_trades(start_time=start_ms, limit=RESUME_TRADES_LIMIT)
        if len(listing) >= RESUME_TRADES_LIMIT:
            logger.warning("fills: over %d trades since the cursor", RESUME_TRADES_LIMIT)
        order_ids = list(dict.fromkeys(t.order_id for t in reversed(listing) if t.order_id))
        fills: list[Fill] = []
        for order_id in order_ids:
            trades = await rest.get_history_trades(order_id=order_id, limit=ORDER_TRADES_LIMIT)
            every = fills_from_trades(trades)
            if every and order_id not in self._jobs:  # prices the next pushed fill
                cost = sum((f.price * f.qty for f in every), _ZERO)
                self._paid.pop(order_id, None)
                self._note_paid(order_id, every[-1].cumulative, cost)
            fills += [f for f in every if f.time_ms >= after_ms]
        fills.sort(key=lambda f: (f.time_ms, f.order_id, f.cumulative))
        return fills
