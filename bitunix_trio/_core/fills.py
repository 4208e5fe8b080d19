"""Fills: what they are, how they are derived, and how a consumer resumes (pure, no I/O).

BitUnix has no fill channel. A fill is learnt one of two ways:

* from an order update: the filled quantity grew from ``base`` to ``filled``; the fill is
  the quantity between, priced from the cumulative average prices where the exchange gives
  them (:func:`fill_from_orders`);
* from the REST trade history (``get_history_trades``): every trade of an order, oldest
  first; the cumulative quantity after each one places it (:func:`fills_from_trades`).

Either way a fill is identified by its order and the cumulative filled quantity it brought
the order to: ``fill_id = "<order id>/<cumulative qty>"`` (``"4211/0.03"``), so the same fill
learnt from a push and from REST has the same id. A fill covers the quantities
``(cumulative - qty, cumulative]`` of its order, and :class:`FillCoverage` (one per
consumer) remembers which quantities of which order were delivered: a fill whose
quantities were all delivered is a repeat, whichever way it came (a push that covered two
trades at once, then the two trades from REST, deliver those quantities once).

**Cursors.** Every delivered fill carries a :class:`FillCursor`: a watermark (Unix ms;
every fill before it was delivered, or was before the consumer started) and the covered
quantities of the orders with fills after it. ``str(cursor)`` is a short text to store;
``FillCursor.parse(text)`` reads it back; ``Fills(since=cursor)`` starts a consumer where
that one stopped: the trades after the watermark are fetched, and only what the cursor
does not cover is delivered. The watermark advances as the stream's account
reconciliations settle (a reconciliation has seen every fill before it started), so a
cursor stays small: orders whose fills are all older than the watermark leave it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol
from urllib.parse import quote, unquote

from .enums import DataSource, Side
from .errors import ConfigurationError
from .models import Order
from .wire import ms_to_datetime

__all__ = [
    "MAX_CURSOR_ORDERS",
    "Fill",
    "FillCoverage",
    "FillCursor",
    "TradeRow",
    "fill_from_orders",
    "fill_id",
    "fills_from_trades",
    "qty_text",
]

_ZERO = Decimal(0)
_RECOVERED = DataSource.RECOVERED
#: Orders a cursor remembers at most (the oldest are forgotten first).
MAX_CURSOR_ORDERS = 10_000
#: Longest cursor text accepted by :meth:`FillCursor.parse`.
_MAX_CURSOR_TEXT = 4_000_000
_VERSION = "fc1"

Span = tuple[Decimal, Decimal]


class TradeRow(Protocol):
    """What :func:`fills_from_trades` reads of a REST trade (``bt.AccountTrade``)."""

    @property
    def trade_id(self) -> str: ...
    @property
    def order_id(self) -> str | None: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def qty(self) -> Decimal: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def fee(self) -> Decimal | None: ...
    @property
    def realized_pnl(self) -> Decimal | None: ...
    @property
    def role(self) -> str | None: ...
    @property
    def created_ms(self) -> int | None: ...


def qty_text(qty: Decimal) -> str:
    """A quantity as plain text without exponent or trailing zeros (``0.0300`` -> ``0.03``)."""
    if qty == 0:
        return "0"
    text = format(qty.normalize(), "f")
    return text


def fill_id(order_id: str, cumulative: Decimal) -> str:
    """``"<order id>/<cumulative filled qty>"``."""
    return f"{order_id}/{qty_text(cumulative)}"


@dataclass(frozen=True, slots=True)
class FillCursor:
    """Where a consumer of fills stands: store ``str(cursor)``, resume with
    ``bt.Fills(since=bt.FillCursor.parse(text))``.

    Opaque to users; ``after_ms`` is the watermark (Unix ms: fills before it were
    delivered), ``covered`` the delivered quantities of each order with fills after it,
    as ``(order id, ((low, high), ...), last fill ms)`` (``low`` excluded).
    """

    after_ms: int
    covered: tuple[tuple[str, tuple[Span, ...], int], ...] = ()

    def __str__(self) -> str:
        parts = [_VERSION, str(self.after_ms)]
        for order_id, spans, last_ms in self.covered:
            text = "_".join(f"{qty_text(low)}~{qty_text(high)}" for low, high in spans)
            parts.append(f"{quote(order_id, safe='')}={text}@{last_ms}")
        return ":".join(parts)

    def __repr__(self) -> str:
        return f"FillCursor.parse({str(self)!r})"

    @classmethod
    def parse(cls, text: str) -> FillCursor:
        """Read a cursor written by ``str(cursor)``; ConfigurationError if it is not one."""
        if not isinstance(text, str):
            raise ConfigurationError(f"a fill cursor is a string (got {type(text).__name__})")
        if len(text) > _MAX_CURSOR_TEXT:
            raise ConfigurationError("fill cursor text too long")
        parts = text.strip().split(":")
        if len(parts) < 2 or parts[0] != _VERSION:
            raise ConfigurationError(f"not a fill cursor: {text[:60]!r}")
        try:
            after_ms = _ms(parts[1])
            covered = []
            for part in parts[2:]:
                quoted, _, rest = part.partition("=")
                spans_text, _, last = rest.partition("@")
                order_id = unquote(quoted, errors="strict")
                if not order_id or not spans_text:
                    raise ValueError(part)
                spans = []
                for span in spans_text.split("_"):
                    low_text, _, high_text = span.partition("~")
                    low, high = _qty(low_text), _qty(high_text)
                    if not low < high:
                        raise ValueError(span)
                    spans.append((low, high))
                covered.append((order_id, tuple(_merge_spans(spans)), _ms(last)))
        except (ValueError, InvalidOperation, UnicodeDecodeError):
            raise ConfigurationError(f"not a fill cursor: {text[:60]!r}") from None
        return cls(after_ms, tuple(covered))


def _ms(text: str) -> int:
    if not text.isdigit() or len(text) > 15:
        raise ValueError(text)
    return int(text)


def _qty(text: str) -> Decimal:
    if not text or len(text) > 40 or not text.replace(".", "", 1).isdigit():
        raise ValueError(text)
    return Decimal(text)


def _merge_spans(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1]:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


@dataclass(frozen=True, slots=True)
class Fill:
    """One fill of one of the account's orders (``stream.subscribe(bt.Fills())``).

    Attributes:
        fill_id: ``"<order id>/<cumulative filled qty>"``: the same whichever way the fill
            was learnt (an order push, or REST trade history).
        order_id, client_id, symbol, side: the order's.
        price: the price of this fill (from REST trades, or derived from the order's
            cumulative average price before and after it).
        qty: the quantity filled.
        fee, realized_pnl: in the margin coin, where known.
        maker: whether the order was the maker (known from REST trades only).
        time: when it filled (UTC).
        source: ``WEBSOCKET`` (an order push) or ``RECOVERED`` (found over REST after a
            disconnect, or after a restart with ``Fills(since=cursor)``).
        cursor: where a consumer that has handled this fill stands: store ``str(cursor)``.
    """

    fill_id: str
    order_id: str
    client_id: str | None
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    fee: Decimal | None
    realized_pnl: Decimal | None
    maker: bool | None
    time: datetime
    source: DataSource
    cursor: FillCursor
    #: Cumulative filled quantity of the order after this fill.
    cumulative: Decimal = dataclasses.field(default=_ZERO, repr=False, compare=False)
    #: ``time`` as Unix ms.
    time_ms: int = dataclasses.field(default=0, repr=False, compare=False)


_NO_CURSOR = FillCursor(0)


def _delta(new: Decimal | None, old: Decimal | None, from_zero: bool) -> Decimal | None:
    if new is None:
        return None
    if old is None:
        return new if from_zero else None
    return new - old


def fill_from_orders(
    old: Order | None, new: Order, base: Decimal, paid: Decimal | None
) -> Fill | None:
    """The fill that took ``new``'s order from ``base`` (the filled quantity known before,
    which cost ``paid`` in all: quantity times average price; ``old``: the state known
    before, if any) to ``new.filled_qty``; None when nothing filled or its price cannot be
    told (no average price on ``new``, or ``paid`` unknown)."""
    qty = new.filled_qty - base
    if qty <= 0:
        return None
    avg = new.average_price
    if not avg:
        return None
    if base == 0:
        price = avg
    elif paid is None:
        return None
    else:
        price = (avg * new.filled_qty - paid) / qty
        if price <= 0:
            return None
    same_base = old is not None and old.filled_qty == base
    from_zero = base == 0
    fee = _delta(new.fee, old.fee if same_base and old else None, from_zero)
    pnl = _delta(new.realized_pnl, old.realized_pnl if same_base and old else None, from_zero)
    time_ms = new.updated_ms or new.ts
    return Fill(
        fill_id=fill_id(new.order_id, new.filled_qty),
        order_id=new.order_id,
        client_id=new.client_id,
        symbol=new.symbol,
        side=new.side,
        price=_tidy(price),
        qty=qty,
        fee=fee,
        realized_pnl=pnl,
        maker=None,
        time=ms_to_datetime(time_ms),
        source=DataSource.WEBSOCKET if new.source is DataSource.WEBSOCKET else _RECOVERED,
        cursor=_NO_CURSOR,
        cumulative=new.filled_qty,
        time_ms=time_ms,
    )


def _tidy(price: Decimal) -> Decimal:
    """A derived price without the noise of a long division (12 significant digits)."""
    if len(price.as_tuple().digits) <= 12:
        return price
    exponent = price.adjusted() - 11
    return price.quantize(Decimal(1).scaleb(exponent)).normalize()


def fills_from_trades(
    trades: Iterable[TradeRow],
    order: Order | None = None,
    *,
    start: Decimal = _ZERO,
    source: DataSource = DataSource.RECOVERED,
) -> list[Fill]:
    """The fills of one order from its REST trades: every trade of the order since it was
    placed (any order), the cumulative quantity after each one counted from ``start`` (0:
    the trades are all of them). ``order`` supplies the client id when trades lack it."""
    rows = sorted(trades, key=lambda t: (t.created_ms or 0, _trade_key(t.trade_id)))
    fills = []
    cumulative = start
    for trade in rows:
        if trade.qty <= 0 or trade.order_id is None:
            continue
        cumulative += trade.qty
        time_ms = trade.created_ms or 0
        role = (trade.role or "").upper()
        client_id = trade.client_id or (order.client_id if order is not None else None)
        fills.append(
            Fill(
                fill_id=fill_id(trade.order_id, cumulative),
                order_id=trade.order_id,
                client_id=client_id,
                symbol=trade.symbol,
                side=trade.side,
                price=trade.price,
                qty=trade.qty,
                fee=trade.fee,
                realized_pnl=trade.realized_pnl,
                maker=True if role == "MAKER" else False if role == "TAKER" else None,
                time=ms_to_datetime(time_ms),
                source=source,
                cursor=_NO_CURSOR,
                cumulative=cumulative,
                time_ms=time_ms,
            )
        )
    return fills


def _trade_key(trade_id: str) -> tuple[int, int, str]:
    return (0, int(trade_id), "") if trade_id.isdigit() else (1, 0, trade_id)


class FillCoverage:
    """What one consumer of fills was given (see the module): per order, the quantities
    delivered, and a watermark before which every fill counts as delivered.

    ``skew_ms``: clock disagreement allowed between the exchange's fill times and the
    watermark (an order leaves the cursor only once its last fill is that much older).
    """

    def __init__(self, cursor: FillCursor, *, skew_ms: int = 60_000) -> None:
        self.after_ms = cursor.after_ms
        self.skew_ms = skew_ms
        #: order id -> (delivered spans, time of its last fill in ms), oldest first.
        self._orders: dict[str, tuple[list[Span], int]] = {}
        for order_id, spans, last_ms in cursor.covered:
            self._orders[order_id] = (list(spans), last_ms)

    def __repr__(self) -> str:
        return f"<FillCoverage after_ms={self.after_ms} orders={len(self._orders)}>"

    def __len__(self) -> int:
        return len(self._orders)

    def covered(self, order_id: str) -> Sequence[Span]:
        """The delivered quantity spans of an order (``low`` excluded)."""
        entry = self._orders.get(order_id)
        return () if entry is None else tuple(entry[0])

    def admit(self, fill: Fill) -> Fill | None:
        """``fill`` stamped with the cursor after it, trimmed to what was not delivered
        yet; None if all of it was (a repeat)."""
        low, high = fill.cumulative - fill.qty, fill.cumulative
        entry = self._orders.get(fill.order_id)
        spans = [] if entry is None else entry[0]
        missing = _uncovered(spans, low, high)
        if missing <= 0:
            return None
        spans = _merge_spans([*spans, (low, high)])
        last_ms = max(fill.time_ms, entry[1] if entry is not None else 0)
        self._orders.pop(fill.order_id, None)
        self._orders[fill.order_id] = (spans, last_ms)
        while len(self._orders) > MAX_CURSOR_ORDERS:
            del self._orders[next(iter(self._orders))]
        changes: dict[str, object] = {"cursor": self.cursor()}
        if missing != fill.qty:
            changes["qty"] = missing
        return dataclasses.replace(fill, **changes)  # type: ignore[arg-type]

    def advance(self, after_ms: int) -> None:
        """Every fill before ``after_ms`` was delivered: move the watermark there and
        forget orders whose fills are all well before it."""
        if after_ms <= self.after_ms:
            return
        self.after_ms = after_ms
        limit = after_ms - self.skew_ms
        for order_id in [o for o, (_, last) in self._orders.items() if last < limit]:
            del self._orders[order_id]

    def cursor(self) -> FillCursor:
        """Where this consumer stands."""
        return FillCursor(
            self.after_ms,
            tuple(
                (order_id, tuple(spans), last_ms)
                for order_id, (spans, last_ms) in self._orders.items()
            ),
        )


def _uncovered(spans: Sequence[Span], low: Decimal, high: Decimal) -> Decimal:
    """How much of ``(low, high]`` the spans leave uncovered."""
    missing = high - low
    for a, b in spans:
        overlap = min(b, high) - max(a, low)
        if overlap > 0:
            missing -= overlap
    return missing
