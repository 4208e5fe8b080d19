"""Market data from REST while the WebSocket is down (see ``_fallback.fallback``).

:func:`poll_market` feeds market subscriptions from REST until cancelled: tickers (one
``get_tickers`` call per round for every ticker subscription), order books (``get_depth``),
klines (the latest candle of ``get_klines``) and mark prices (from the funding rate
endpoint), marked ``source=DataSource.REST``. Trades cannot be back-filled (the exchange has
no public trades endpoint): that is reported once per subscription.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any, NoReturn, Protocol

import trio

from bitunix_trio._core.backoff import DEFAULT_MAX_BACKOFF, exponential_delay
from bitunix_trio._core.channels import (
    ChannelSpec,
    Kline,
    MarkPrice,
    OrderBook,
    Ticker,
    Tickers,
    Trades,
)
from bitunix_trio._core.config import check_seconds
from bitunix_trio._core.errors import (
    AuthenticationError,
    BitunixError,
    ConfigurationError,
    ExchangeError,
    RateLimited,
)
from bitunix_trio._core.frames import Deliver
from bitunix_trio._core.log import logger
from bitunix_trio._core.models import (
    DataSource,
    KlineUpdate,
    MarkPriceUpdate,
    OrderBookUpdate,
    PriceType,
    TickerSummary,
    TickerUpdate,
)
from bitunix_trio._core.wire import ms_to_datetime
from bitunix_trio._rest.replies import RateLimiter
from bitunix_trio._rest.results import FundingRate

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_POLL_RATE",
    "TRADES_UNAVAILABLE",
    "MarketRest",
    "mark_price_from_funding",
    "poll_market",
]

#: Seconds between two polling rounds.
DEFAULT_POLL_INTERVAL = 1.0
#: Requests per second the poller sends at most (half of the exchange's 10/s).
DEFAULT_POLL_RATE = 5.0

#: Why a trades subscription gets nothing while the WebSocket is down.
TRADES_UNAVAILABLE = "trades cannot be back-filled over REST (no public trades endpoint)"

#: Parameter errors: asking again will not help.
_REFUSED_PARAMETERS = frozenset({10002, 10008})


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


def _round_failure(exc: BitunixError) -> bool:
    """Whether an error says REST as a whole is unusable now (not just this request)."""
    if isinstance(exc, RateLimited | AuthenticationError):
        return True
    return not isinstance(exc, ExchangeError | ConfigurationError)


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
    check_seconds(interval, "interval")
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
            delay = exponential_delay(interval, failures - 1, max_backoff)
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
