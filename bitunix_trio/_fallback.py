"""REST behind the WebSocket: market data while it is down, account reconciliation after.

The Trio half of graceful degradation and recovery; the decisions are in ``_reconcile``.
Everything is written against small protocols (the REST methods it calls) and plain
callables (where values go), so it runs without a stream:

* ``_poller``: :func:`~bitunix_trio._poller.poll_market` feeds market subscriptions from
  REST while the WebSocket is down: tickers (one ``get_tickers`` call per round for every
  ticker subscription), order books (``get_depth``), klines (the latest candle of
  ``get_klines``) and mark prices (from the funding rate endpoint), marked
  ``source=DataSource.REST``. Trades cannot be back-filled (the exchange has no public
  trades endpoint): that is reported once per subscription.
* ``_reconciler``: :func:`~bitunix_trio._reconciler.reconcile_account` fetches pending
  orders, finished orders, positions and balances, diffs them against an
  :class:`~bitunix_trio._reconcile.AccountLedger`, looks up the final state of orders that
  vanished, and delivers each difference once, marked ``source=DataSource.RECOVERED``.
  :class:`~bitunix_trio._reconciler.Reconciler` (and ``periodic_reconciliation``) runs it
  on request (after every reconnect), every ``interval`` seconds, and when the private
  socket has been quiet for ``quiet_after`` seconds while orders are open.

Rate limits: every request waits for the REST client's limiter (the exchange's 10
requests/s); the poller also paces itself (``max_rate``, 5/s by default) so orders and
reconciliation keep room. Rounds start every ``interval`` seconds, or back to back when a
round takes longer (many subscriptions): never faster. Failures (REST down, rate limited,
timeouts) are logged and retried with exponential backoff, never fatal; with both the
WebSocket and REST down nothing spins.

This module holds what both halves share: their logger, the backoff of failed rounds and
the type of the ``deliver`` callable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ._reconcile import Key

__all__ = ["DEFAULT_MAX_BACKOFF", "Deliver", "backoff_delay", "logger"]

logger = logging.getLogger("bitunix_trio.fallback")

#: Longest wait between failed polling rounds or reconciliations.
DEFAULT_MAX_BACKOFF = 30.0

#: Where values go: ``deliver(key, value)``.
Deliver = Callable[[Key, object], object]


def backoff_delay(base: float, failures: int, cap: float) -> float:
    """The wait after ``failures`` earlier failures in a row: ``base * 2**failures``, at
    most ``cap``."""
    return min(cap, base * 2.0 ** min(failures, 32))
