"""Market views of the simulated exchange engine (a base class of ``ExchangeEngine``).

Every view returns a ``bitunix_trio._core.models`` value (or a REST row dict) built from the
state of ``market``, merged with the resting orders of the accounts for the book.
Unknown and unlisted (``PREVIEW``) symbols raise ``SimulatedError(20015)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bitunix_trio._core.models import (
    DataSource,
    KlineUpdate,
    MarkPriceUpdate,
    OrderBookUpdate,
    PriceType,
    Side,
    TickerSummary,
    TickerUpdate,
    Trade,
)

from .market import (
    MAX_BOOK_DEPTH,
    REST_INTERVALS,
    WS_INTERVALS,
    Candle,
    Instrument,
    SymbolMarket,
    clean,
)
from .matching import SimulatedError
from .rows import funding_rate_row, trading_pair_row
from .trading import Trading

__all__ = ["MarketViews", "bad_param", "multiple_of", "to_decimal"]

ZERO = Decimal(0)
_WS = DataSource.WEBSOCKET
_REST = DataSource.REST
_BOOK_DEPTHS = (1, 5, 15, 50)


def bad_param(what: str) -> SimulatedError:
    """A 10002 parameter error about ``what``."""
    return SimulatedError(10002, f"Parameter error: {what}")


def to_decimal(value: object, what: str) -> Decimal:
    """``value`` as a finite Decimal, or a 10002 error about ``what``."""
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise bad_param(what) from None
    if not d.is_finite():
        raise bad_param(what)
    return d


def multiple_of(value: Decimal, step: Decimal) -> bool:
    """Whether ``value`` lies on the grid of ``step``."""
    return value % step == 0


class MarketViews:
    """Market data views; ``ExchangeEngine`` provides the state they read."""

    instruments: dict[str, Instrument]
    _markets: dict[str, SymbolMarket]
    _trading: Trading
    _now_ms: int

    # ------------------------------------------------------------------ market views
    def is_listed(self, symbol: str) -> bool:
        """True for OPEN instruments (case-insensitive); unknown and PREVIEW are not."""
        inst = self.instruments.get(str(symbol).upper())
        return inst is not None and inst.status == "OPEN"

    def _market(self, symbol: str) -> SymbolMarket:
        return self._trading.market(symbol)

    def ticker(self, symbol: str) -> TickerUpdate:
        """The rolling 24 h ``ticker`` of ``symbol`` (SimulatedError 20015 if not listed)."""
        m = self._market(symbol)
        o, h, low, base, quote = m.stats_24h()
        return TickerUpdate(
            symbol=m.inst.symbol,
            last_price=m.price(m.last),
            open=m.price(o),
            high=m.price(h),
            low=m.price(low),
            base_volume=clean(base),
            quote_volume=clean(quote),
            change=(Decimal(m.last - o) * 100 / Decimal(o)).quantize(Decimal("1e-10")),
            ts=self._now_ms,
            source=_WS,
            mark_price=m.price(m.mark),
        )

    def ticker_summary(self, symbol: str) -> TickerSummary:
        """A ``tickers`` entry: the ticker plus the best bid and ask."""
        t = self.ticker(symbol)
        book = self.order_book(symbol, 1)
        bid = book.best_bid
        ask = book.best_ask
        return TickerSummary(
            symbol=t.symbol,
            last_price=t.last_price,
            open=t.open,
            high=t.high,
            low=t.low,
            base_volume=t.base_volume,
            quote_volume=t.quote_volume,
            change=t.change,
            best_bid=bid[0] if bid else None,
            best_ask=ask[0] if ask else None,
            best_bid_qty=bid[1] if bid else None,
            best_ask_qty=ask[1] if ask else None,
            ts=t.ts,
            source=_WS,
        )

    def order_book(self, symbol: str, depth: int | str | None = 15) -> OrderBookUpdate:
        """The top ``depth`` levels per side (1, 5, 15, 50; ``"max"``/None: whole book).

        The synthetic book merged with resting orders: bids descending, asks ascending,
        always exactly ``depth`` levels per side. SimulatedError 10008 for another depth.
        """
        m = self._market(symbol)
        if depth is None or depth == "max":
            n, wire_depth = MAX_BOOK_DEPTH, None
        else:
            try:
                n = int(depth)
            except (TypeError, ValueError):
                n = -1
            if n not in _BOOK_DEPTHS:
                raise SimulatedError(
                    10008,
                    f"Parameter {depth} does not match, alternative value "
                    '["1","5","15","50","max"].',
                )
            wire_depth = n
        sides: list[tuple[tuple[Decimal, Decimal], ...]] = []
        for book_side, order_side in (("bid", "BUY"), ("ask", "SELL")):
            levels: dict[int, Decimal] = dict(m.synthetic_levels(book_side, n))
            for o in self._trading.resting[m.inst.symbol]:
                if o.side == order_side and o.price is not None:
                    t = m.to_ticks(o.price)
                    levels[t] = levels.get(t, ZERO) + o.remaining
            ordered = sorted(levels.items(), reverse=book_side == "bid")[:n]
            sides.append(tuple((m.price(t), q) for t, q in ordered))
        return OrderBookUpdate(
            symbol=m.inst.symbol,
            bids=sides[0],
            asks=sides[1],
            depth=wire_depth,
            ts=self._now_ms,
            source=_WS,
        )

    def _trade(self, m: SymbolMarket, trade: Any) -> Trade:
        return Trade(
            symbol=m.inst.symbol,
            price=m.price(trade.price_ticks),
            qty=trade.qty,
            side=Side.BUY if trade.side == "buy" else Side.SELL,
            # Trade times carry the millisecond, as live (``...T05:47:52.930Z`` style).
            time=datetime.fromtimestamp(trade.ts // 1000, UTC)
            + timedelta(milliseconds=trade.ts % 1000),
            ts=self._now_ms,
            source=_WS,
        )

    def last_trades(self, symbol: str) -> list[Trade]:
        """The trades of the latest tick (plus those of orders placed since), oldest first."""
        m = self._market(symbol)
        return [self._trade(m, t) for t in m.trades]

    def trades_since(self, symbol: str, after: int = 0) -> tuple[list[Trade], int]:
        """Trades with a sequence number above ``after`` and the latest sequence number.

        Lets a server push every trade exactly once: pass back the number it returned.
        Only the last 2000 trades are kept.
        """
        m = self._market(symbol)
        return [self._trade(m, t) for seq, t in m.recent if seq > after], m.trade_seq

    def _kline(self, m: SymbolMarket, name: str, kind: str, c: Candle, source: Any) -> KlineUpdate:
        return KlineUpdate(
            symbol=m.inst.symbol,
            interval=name,
            price_type=PriceType(kind),
            open=m.price(c.open),
            high=m.price(c.high),
            low=m.price(c.low),
            close=m.price(c.close),
            base_volume=clean(c.base_volume),
            quote_volume=clean(c.quote_volume),
            open_time_ms=c.open_time,
            ts=self._now_ms,
            source=source,
        )

    def kline(self, symbol: str, interval_wire: str, price_type: str = "market") -> KlineUpdate:
        """The running candle of a WebSocket interval ("1min", "60min", "1day", ...).

        ``price_type`` is ``"market"`` (last price) or ``"mark"``. SimulatedError 10002 for
        an unknown interval or price type.
        """
        m = self._market(symbol)
        kind = str(price_type).lower()
        if interval_wire not in WS_INTERVALS or kind not in ("market", "mark"):
            raise bad_param("interval")
        return self._kline(m, interval_wire, kind, m.kline(kind, interval_wire, m.tick_ts), _WS)

    def kline_history(
        self,
        symbol: str,
        interval_rest: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 100,
        price_type: str = "market",
    ) -> list[KlineUpdate]:
        """Candles of a REST interval (``1m`` .. ``1M``) for the REST kline endpoint.

        Candles starting within ``[start_ms, end_ms]`` (end defaults to now), oldest first, at
        most ``limit`` (capped at 200): the first ones from ``start_ms`` when only the start
        is given, otherwise the latest ones up to the end. Candles before the engine's start
        are synthesized deterministically from the seed. ``price_type`` accepts ``market``/
        ``mark`` and the REST ``LAST_PRICE``/``MARK_PRICE``.
        """
        m = self._market(symbol)
        name = REST_INTERVALS.get(interval_rest)
        if name is None:
            raise SimulatedError(
                10008,
                f"Parameter {interval_rest} does not match, alternative value "
                "[" + ",".join(f'"{k}"' for k in REST_INTERVALS) + "].",
            )
        try:
            kind = PriceType.parse(price_type).value
        except (ValueError, TypeError):
            raise bad_param("type") from None
        limit = max(1, min(int(limit), 200))
        end = self._now_ms if end_ms is None else min(end_ms, self._now_ms)
        length = WS_INTERVALS[name]
        span = (length if length > 0 else 31 * 86_400_000) * (limit + 1)
        if start_ms is not None and end_ms is None:
            candles = m.kline_range(kind, name, start_ms, min(end, start_ms + span))[:limit]
        else:
            start = end - span if start_ms is None else max(start_ms, end - span)
            candles = m.kline_range(kind, name, start, end)[-limit:]
        return [self._kline(m, name, kind, c, _REST) for c in candles]

    def mark_price(self, symbol: str) -> MarkPriceUpdate:
        """Mark and index price and funding (``fr`` = last settled rate, in percent)."""
        m = self._market(symbol)
        return MarkPriceUpdate(
            symbol=m.inst.symbol,
            mark_price=m.price(m.mark),
            index_price=m.price(m.index),
            funding_rate=m.funding_rate,
            funding_time=datetime.fromtimestamp(m.last_funding_ms // 1000, UTC),
            next_funding_time=datetime.fromtimestamp(m.next_funding_ms // 1000, UTC),
            ts=self._now_ms,
            source=_WS,
        )

    def funding_rate(self, symbol: str) -> dict[str, Any]:
        """The REST ``funding_rate`` object of ``symbol``."""
        return funding_rate_row(self._market(symbol))

    def trading_pairs(self, symbols: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """REST ``trading_pairs`` rows (all instruments, PREVIEW ones included)."""
        wanted = None if symbols is None else {s.upper() for s in symbols}
        return [
            trading_pair_row(i)
            for s, i in self.instruments.items()
            if wanted is None or s in wanted
        ]
