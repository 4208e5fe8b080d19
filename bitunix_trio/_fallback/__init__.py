"""REST behind the WebSocket: market data while it is down, account reconciliation after.

The Trio half of graceful degradation and recovery; the decisions are in ``_core.ledger``.
Everything is written against small protocols (the REST methods it calls) and plain
callables (where values go), so it runs without a stream;
:class:`~bitunix_trio._fallback.fallback.StreamFallback` ties it to one stream:

* ``poller``: :func:`~bitunix_trio._fallback.poller.poll_market` feeds market subscriptions from
  REST while the WebSocket is down: tickers (one ``get_tickers`` call per round for every
  ticker subscription), order books (``get_depth``), klines (the latest candle of
  ``get_klines``) and mark prices (from the funding rate endpoint), marked
  ``source=DataSource.REST``. Trades cannot be back-filled (the exchange has no public
  trades endpoint): that is reported once per subscription.
* ``reconciliation``: :func:`~bitunix_trio._fallback.reconciliation.reconcile_account`
  fetches pending orders, finished orders, positions and balances, diffs them against an
  :class:`~bitunix_trio._core.ledger.AccountLedger`, looks up the final state of orders that
  vanished, and delivers each difference once, marked ``source=DataSource.RECOVERED``.
  :class:`~bitunix_trio._fallback.reconciliation.Reconciler` runs it on request (after
  every reconnect), every
  ``interval`` seconds, and when the private socket has been quiet for ``quiet_after``
  seconds while orders are open.

Rate limits: every request waits for the REST client's limiter (the exchange's 10
requests/s); the poller also paces itself (``max_rate``, 5/s by default) so orders and
reconciliation keep room. Rounds start every ``interval`` seconds, or back to back when a
round takes longer (many subscriptions): never faster. Failures (REST down, rate limited,
timeouts) are logged and retried with exponential backoff, never fatal; with both the
WebSocket and REST down nothing spins.
"""
