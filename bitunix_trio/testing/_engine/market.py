"""The simulated market of one instrument: price walk, synthetic book, trades, candles.

Sans-I/O and deterministic. Prices are kept as integer numbers of ticks; every random draw
comes from a per-symbol :class:`random.Random` seeded from the engine seed and the symbol,
and the number of draws per tick never depends on what accounts do, so the market's path
depends only on the seed and the tick count.

Per tick (:meth:`SymbolMarket.step`): the reference price moves by a Gaussian number of
ticks, a new spread and a new book seed are drawn (the synthetic book's sizes are derived
lazily from that seed), the taker flow of the tick is drawn (side and size of a few trades,
which the engine executes against the merged book), and the mark and index prices move
around the mid. Funding settles every eight hours (00:00, 08:00, 16:00 UTC).
"""

from __future__ import annotations

import calendar
import math
import random
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from itertools import islice

__all__ = [
    "DEFAULT_INSTRUMENTS",
    "DEFAULT_SYMBOLS",
    "FUNDING_INTERVAL_MS",
    "INSTRUMENT_CATALOGUE",
    "MAX_BOOK_DEPTH",
    "REST_INTERVALS",
    "WS_INTERVALS",
    "Candle",
    "Instrument",
    "MarketTrade",
    "SymbolMarket",
    "bucket_start",
    "clean",
    "instruments_for",
    "next_bucket_start",
]

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
#: The epoch was a Thursday; weekly candles start on Monday 00:00 UTC.
_MONDAY_OFFSET = 4 * DAY
FUNDING_INTERVAL_MS = 8 * HOUR
#: Levels per side of the whole synthetic book (REST ``limit=max``).
MAX_BOOK_DEPTH = 200
#: Month candles are calendar months; this marker stands for their length.
MONTH = -1

#: WebSocket kline interval names -> length in ms (``MONTH`` for calendar months).
WS_INTERVALS: dict[str, int] = {
    "1min": MINUTE,
    "3min": 3 * MINUTE,
    "5min": 5 * MINUTE,
    "15min": 15 * MINUTE,
    "30min": 30 * MINUTE,
    "60min": HOUR,
    "2h": 2 * HOUR,
    "4h": 4 * HOUR,
    "6h": 6 * HOUR,
    "8h": 8 * HOUR,
    "12h": 12 * HOUR,
    "1day": DAY,
    "3day": 3 * DAY,
    "1week": WEEK,
    "1month": MONTH,
}
#: REST kline interval names -> the WebSocket name of the same interval.
REST_INTERVALS: dict[str, str] = {
    "1m": "1min",
    "5m": "5min",
    "15m": "15min",
    "30m": "30min",
    "1h": "60min",
    "2h": "2h",
    "4h": "4h",
    "6h": "6h",
    "8h": "8h",
    "12h": "12h",
    "1d": "1day",
    "3d": "3day",
    "1w": "1week",
    "1M": "1month",
}

#: Fraction of the price the reference moves per tick (one standard deviation).
_TICK_VOLATILITY = 0.00012
#: Typical notional (quote coin) of one synthetic book level.
_LEVEL_NOTIONAL = 60_000.0


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable contract.

    ``price`` is where the market starts; prices are multiples of ``tick_size`` and
    quantities multiples of ``lot_size`` (at least ``min_qty``). ``status`` is the REST
    ``symbolStatus``: only ``OPEN`` instruments are listed (``PREVIEW`` ones behave like
    unknown symbols on every channel and endpoint).
    """

    symbol: str
    base: str
    quote: str
    price: Decimal
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal
    max_leverage: int
    status: str = "OPEN"


def _inst(
    symbol: str, price: str, tick: str, lot: str, leverage: int, *, status: str = "OPEN"
) -> Instrument:
    base = symbol.removesuffix("USDT")
    if base[:4] == "1000" and base[4:].isalpha():
        base = base[4:]  # "1000PEPEUSDT" quotes 1,000 PEPE; ``base`` names the token
    return Instrument(
        symbol,
        base,
        "USDT",
        Decimal(price),
        Decimal(tick),
        Decimal(lot),
        Decimal(lot),
        leverage,
        status,
    )


#: Known perpetuals: start price, tick size, lot (= minimum quantity), maximum leverage,
#: as listed on the exchange (prices of late 2025; the market walks away from them).
INSTRUMENT_CATALOGUE: dict[str, Instrument] = {
    i.symbol: i
    for i in (
        _inst("BTCUSDT", "86700", "0.1", "0.0001", 125),
        _inst("ETHUSDT", "3100", "0.01", "0.001", 100),
        _inst("SOLUSDT", "140", "0.001", "0.01", 75),
        _inst("XRPUSDT", "2.1", "0.0001", "1", 75),
        _inst("BNBUSDT", "870", "0.01", "0.01", 75),
        _inst("DOGEUSDT", "0.15", "0.00001", "1", 75),
        _inst("ADAUSDT", "0.42", "0.0001", "1", 75),
        _inst("TRXUSDT", "0.28", "0.00001", "1", 50),
        _inst("LINKUSDT", "13.5", "0.001", "0.1", 75),
        _inst("AVAXUSDT", "13.6", "0.001", "0.1", 50),
        _inst("SUIUSDT", "1.65", "0.0001", "1", 50),
        _inst("LTCUSDT", "82", "0.01", "0.01", 75),
        _inst("DOTUSDT", "2.2", "0.001", "0.1", 50),
        _inst("BCHUSDT", "560", "0.01", "0.01", 75),
        _inst("TONUSDT", "1.6", "0.0001", "0.1", 50),
        _inst("NEARUSDT", "1.9", "0.001", "0.1", 50),
        _inst("APTUSDT", "1.7", "0.001", "0.01", 50),
        _inst("ARBUSDT", "0.21", "0.0001", "1", 50),
        _inst("OPUSDT", "0.33", "0.0001", "0.1", 50),
        _inst("UNIUSDT", "5.8", "0.001", "0.1", 50),
        _inst("AAVEUSDT", "180", "0.01", "0.01", 50),
        _inst("ATOMUSDT", "2.4", "0.001", "0.1", 50),
        _inst("ETCUSDT", "13", "0.001", "0.1", 50),
        _inst("1000PEPEUSDT", "0.0045", "0.0000001", "100", 50),
        _inst("NEWUSDT", "1", "0.0001", "1", 20, status="PREVIEW"),
    )
}  # fmt: skip

#: The symbols a simulated exchange lists unless told otherwise: every catalogue entry
#: (24 listed perpetuals and the PREVIEW ``NEWUSDT``, which behaves like an unknown symbol).
DEFAULT_SYMBOLS: tuple[str, ...] = tuple(INSTRUMENT_CATALOGUE)


def instruments_for(symbols: Iterable[str]) -> tuple[Instrument, ...]:
    """The instruments of ``symbols`` (upper-cased, duplicates dropped, order kept).

    Catalogue symbols get their catalogue values; any other ``<BASE>USDT`` name gets a
    generic listed instrument (price 1, tick 0.0001, lot 1, leverage 50). Raises
    ``ValueError`` for a name that is not a USDT perpetual or for an empty list.
    """
    chosen: dict[str, Instrument] = {}
    for raw in symbols:
        symbol = raw.strip().upper()
        if not (symbol.endswith("USDT") and 5 <= len(symbol) <= 24 and symbol.isalnum()):
            raise ValueError(f"not a USDT perpetual symbol: {raw!r} (e.g. BTCUSDT)")
        if symbol not in chosen:
            chosen[symbol] = INSTRUMENT_CATALOGUE.get(symbol) or _inst(
                symbol, "1", "0.0001", "1", 50
            )
    if not chosen:
        raise ValueError("at least one symbol is needed")
    return tuple(chosen.values())


DEFAULT_INSTRUMENTS: tuple[Instrument, ...] = instruments_for(DEFAULT_SYMBOLS)


@dataclass(frozen=True, slots=True)
class MarketTrade:
    """One public trade: price in ticks, quantity, taker side ``"buy"``/``"sell"``."""

    price_ticks: int
    qty: Decimal
    side: str
    ts: int


@dataclass(slots=True)
class Candle:
    """One candle; prices in ticks, volumes as Decimal."""

    open_time: int
    open: int
    high: int
    low: int
    close: int
    base_volume: Decimal = Decimal(0)
    quote_volume: Decimal = Decimal(0)

    def add(self, low: int, high: int, close: int, base: Decimal, quote: Decimal) -> None:
        """Fold one tick's range, close and volume into the candle."""
        if high > self.high:
            self.high = high
        if low < self.low:
            self.low = low
        self.close = close
        if base:
            self.base_volume += base
            self.quote_volume += quote


_LONGER_INTERVALS = [(n, length) for n, length in WS_INTERVALS.items() if n != "1min"]


def _copy(c: Candle) -> Candle:
    return Candle(c.open_time, c.open, c.high, c.low, c.close, c.base_volume, c.quote_volume)


def bucket_start(interval_ms: int, ts: int) -> int:
    """Start (ms) of the candle of length ``interval_ms`` (or ``MONTH``) containing ``ts``."""
    if interval_ms == MONTH:
        d = datetime.fromtimestamp(ts // 1000, UTC)
        return calendar.timegm((d.year, d.month, 1, 0, 0, 0)) * 1000
    if interval_ms == WEEK:
        return (ts - _MONDAY_OFFSET) // WEEK * WEEK + _MONDAY_OFFSET
    return ts // interval_ms * interval_ms


def next_bucket_start(interval_ms: int, start: int) -> int:
    """Start of the candle after the one starting at ``start``."""
    if interval_ms == MONTH:
        d = datetime.fromtimestamp(start // 1000, UTC)
        year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
        return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000
    return start + interval_ms


_ONE = Decimal(1)
_ZERO = Decimal(0)


def clean(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (``86700.0`` -> ``86700``)."""
    if value == value.to_integral_value():
        return value.quantize(_ONE)
    return value.normalize()


@dataclass(slots=True)
class _LazySide:
    """One side of the synthetic book, generated level by level as far as it is read."""

    levels: list[tuple[int, Decimal]]
    rng: random.Random | None  # None once complete
    start: int
    step: int


@dataclass(slots=True)
class _Stats24h:
    """Synthetic 24 h statistics for the time before the market started."""

    open: int
    high: int
    low: int
    base_volume: Decimal
    quote_volume: Decimal


@dataclass(slots=True)
class _History:
    """A smooth deterministic price path for candles before the start."""

    amplitudes: tuple[float, float, float]
    periods: tuple[float, float, float]
    phases: tuple[float, float, float]

    def value(self, ts: int) -> float:
        return sum(
            a * math.sin(ts / p + ph)
            for a, p, ph in zip(self.amplitudes, self.periods, self.phases, strict=True)
        )


@dataclass(slots=True)
class SymbolMarket:
    """The market state of one instrument (see the module docstring)."""

    inst: Instrument
    seed: int
    start_ms: int
    rng: random.Random = field(init=False)
    ref: int = field(init=False)  # best synthetic bid, in ticks
    spread: int = 1
    book_seed: int = 0
    tick_ts: int = 0
    last: int = field(init=False)  # last trade price, ticks
    mark: int = field(init=False)
    index: int = field(init=False)
    funding_rate: Decimal = Decimal(0)  # last settled, percent
    next_funding_rate: Decimal = Decimal(0)  # accruing, percent
    last_funding_ms: int = 0
    next_funding_ms: int = 0
    flow: list[tuple[str, Decimal]] = field(default_factory=list)
    trades: list[MarketTrade] = field(default_factory=list)
    consumed: dict[tuple[str, int], Decimal] = field(default_factory=dict)
    candles: dict[tuple[str, str], dict[int, Candle]] = field(default_factory=dict)
    minutes: deque[Candle] = field(default_factory=deque)
    trade_seq: int = 0
    recent: deque[tuple[int, MarketTrade]] = field(default_factory=lambda: deque(maxlen=2000))
    level_qty: float = 0.0
    _book_cache: dict[str, _LazySide] = field(default_factory=dict)
    _minute: dict[str, Candle] = field(default_factory=dict)
    _pre: _Stats24h = field(init=False)
    _history: _History = field(init=False)

    def __post_init__(self) -> None:
        inst = self.inst
        self.rng = random.Random(f"bitunix-sim:{self.seed}:{inst.symbol}")
        rng = self.rng
        ticks = int(inst.price / inst.tick_size)
        self.ref = ticks
        self.last = ticks
        self.mark = ticks
        self.index = ticks
        self.tick_ts = self.start_ms
        self.level_qty = _LEVEL_NOTIONAL / float(inst.price)
        self.book_seed = rng.getrandbits(64)
        self.funding_rate = self._draw_rate()
        self.next_funding_rate = self._draw_rate()
        self.last_funding_ms = self.start_ms // FUNDING_INTERVAL_MS * FUNDING_INTERVAL_MS
        self.next_funding_ms = self.last_funding_ms + FUNDING_INTERVAL_MS
        open_ = round(ticks * (1 + rng.uniform(-0.03, 0.03)))
        high = round(max(open_, ticks) * (1 + rng.uniform(0.001, 0.02)))
        low = round(min(open_, ticks) * (1 - rng.uniform(0.001, 0.02)))
        base = self.round_qty(self.level_qty * rng.uniform(30000, 60000))
        mid_price = (open_ + ticks) / 2 * float(inst.tick_size)
        quote = (base * Decimal(repr(mid_price))).quantize(Decimal("0.00001"))
        self._pre = _Stats24h(open_, high, low, base, quote)
        self._history = _History(
            (rng.uniform(0.01, 0.03), rng.uniform(0.005, 0.015), rng.uniform(0.001, 0.004)),
            (rng.uniform(5, 9) * DAY, rng.uniform(0.5, 1.5) * DAY, rng.uniform(1, 3) * HOUR),
            (rng.uniform(0, 6.3), rng.uniform(0, 6.3), rng.uniform(0, 6.3)),
        )

    # ----------------------------------------------------------------- conversions
    def price(self, ticks: int) -> Decimal:
        """Ticks -> price (no trailing zeros)."""
        return clean(Decimal(ticks) * self.inst.tick_size)

    def to_ticks(self, price: Decimal) -> int:
        """Price -> ticks (rounded to the nearest tick)."""
        return int((price / self.inst.tick_size).to_integral_value())

    def round_qty(self, qty: float | Decimal) -> Decimal:
        """Round down to the lot size (at least one lot)."""
        lot = self.inst.lot_size
        q = (Decimal(repr(qty)) / lot).to_integral_value(ROUND_DOWN) * lot
        return max(q, lot)

    @property
    def best_bid(self) -> int:
        """Best synthetic bid, ticks."""
        return self.ref

    @property
    def best_ask(self) -> int:
        """Best synthetic ask, ticks."""
        return self.ref + self.spread

    # ----------------------------------------------------------------- evolution
    def _draw_rate(self) -> Decimal:
        return Decimal(round(self.rng.uniform(-0.012, 0.012), 6)).quantize(Decimal("0.000001"))

    def step(self, ts: int) -> bool:
        """Advance one tick at time ``ts``; returns True if funding settled."""
        rng = self.rng
        sigma = max(0.6, self.ref * _TICK_VOLATILITY)
        self.ref = max(10, self.ref + round(rng.gauss(0.0, sigma)))
        u = rng.random()
        self.spread = 1 if u < 0.7 else 2 if u < 0.9 else 3
        self.book_seed = rng.getrandbits(64)
        n = rng.choices((0, 1, 2, 3, 4), (30, 30, 20, 12, 8))[0]
        self.flow = [
            (
                "buy" if rng.random() < 0.5 else "sell",
                self.round_qty(self.level_qty * rng.uniform(0.005, 0.2)),
            )
            for _ in range(n)
        ]
        jitter = max(1, round(self.ref * 0.00005))
        mid = self.ref + self.spread // 2
        self.mark = mid + rng.randint(-jitter, jitter)
        self.index = mid + rng.randint(-jitter, jitter)
        self.tick_ts = ts
        self.trades = []
        self.consumed = {}
        self._book_cache = {}
        settled = False
        if ts >= self.next_funding_ms:
            self.funding_rate = self.next_funding_rate
            self.next_funding_rate = self._draw_rate()
            self.last_funding_ms = ts // FUNDING_INTERVAL_MS * FUNDING_INTERVAL_MS
            self.next_funding_ms = self.last_funding_ms + FUNDING_INTERVAL_MS
            settled = True
        return settled

    def move_to(self, price: Decimal) -> None:
        """Admin: put the best synthetic bid at ``price`` now (book rebuilt, same sizes)."""
        ticks = max(1, self.to_ticks(price))
        self.ref = ticks
        self.mark = self.index = ticks + self.spread // 2
        self.consumed = {}
        self._book_cache = {}

    def set_levels(self, bids: list[tuple[int, Decimal]], asks: list[tuple[int, Decimal]]) -> None:
        """Admin: replace the synthetic book until the next tick (best first, ticks/qty)."""
        if bids:
            self.ref = bids[0][0]
        if bids and asks:
            self.spread = max(1, asks[0][0] - bids[0][0])
        self.consumed = {}
        self._book_cache = {
            "bid": _LazySide(list(bids), None, 0, -1),
            "ask": _LazySide(list(asks), None, 0, 1),
        }

    # ----------------------------------------------------------------- synthetic book
    def _raw_levels(self, side: str, n: int) -> list[tuple[int, Decimal]]:
        """At least ``n`` generated levels of ``side`` (fewer if the book ends)."""
        lazy = self._book_cache.get(side)
        if lazy is None:
            start, step = (self.best_bid, -1) if side == "bid" else (self.best_ask, 1)
            seeded = random.Random(self.book_seed ^ (1 if side == "bid" else 2))
            lazy = self._book_cache[side] = _LazySide([], seeded, start, step)
        levels = lazy.levels
        rng = lazy.rng
        while len(levels) < n and rng is not None:
            i = len(levels)
            ticks = lazy.start + lazy.step * i
            if ticks <= 0 or i >= MAX_BOOK_DEPTH:
                lazy.rng = rng = None
                break
            size = self.level_qty * rng.uniform(0.05, 1.6) * (1 + i * 0.08)
            levels.append((ticks, self.round_qty(size)))
        return levels

    def iter_levels(self, side: str) -> Iterator[tuple[int, Decimal]]:
        """The synthetic levels of ``side`` (``"bid"``/``"ask"``) best first, lazily, as
        (ticks, qty left after what was taken this tick); emptied levels are skipped."""
        consumed = self.consumed
        i = 0
        while True:
            levels = self._raw_levels(side, i + 1)
            if i >= len(levels):
                return
            ticks, qty = levels[i]
            i += 1
            left = qty - consumed.get((side, ticks), _ZERO) if consumed else qty
            if left > 0:
                yield ticks, left

    def synthetic_levels(self, side: str, depth: int = MAX_BOOK_DEPTH) -> list[tuple[int, Decimal]]:
        """The first ``depth`` levels of :meth:`iter_levels` (the whole book has
        ``MAX_BOOK_DEPTH`` levels per side)."""
        return list(islice(self.iter_levels(side), depth))

    def consume(self, side: str, ticks: int, qty: Decimal) -> None:
        """Take ``qty`` of synthetic liquidity at ``ticks`` on ``side`` for this tick."""
        key = (side, ticks)
        self.consumed[key] = self.consumed.get(key, Decimal(0)) + qty

    # ----------------------------------------------------------------- trades and candles
    def record_trade(self, ticks: int, qty: Decimal, side: str, ts: int) -> MarketTrade:
        """A public trade happened: last price, candles and 24 h statistics follow."""
        trade = MarketTrade(ticks, qty, side, ts)
        self.trades.append(trade)
        self.trade_seq += 1
        self.recent.append((self.trade_seq, trade))
        self._fold("market", ts, ticks, ticks, ticks, qty, qty * self.price(ticks))
        self.last = ticks
        return trade

    def close_tick(self) -> None:
        """End of a tick: candles see the last and mark prices even without trades."""
        ts = self.tick_ts
        self._fold("market", ts, self.last, self.last, self.last, Decimal(0), Decimal(0))
        self._fold("mark", ts, self.mark, self.mark, self.mark, Decimal(0), Decimal(0))

    def _fold(
        self, kind: str, ts: int, low: int, high: int, close: int, base: Decimal, quote: Decimal
    ) -> None:
        """Fold a price/volume into the running minute of ``kind``.

        Only the minute candle is updated per tick; when a minute closes it is folded into
        the buckets of every longer interval (``candles``), and reads of a running longer
        candle add the running minute on top (see :meth:`kline`).
        """
        cur = self._minute.get(kind)
        if cur is None or ts >= cur.open_time + MINUTE or ts < cur.open_time:
            if cur is not None:
                self._close_minute(kind, cur)
            start = ts - ts % MINUTE
            cur = self._new_candle(kind, "1min", MINUTE, start)
            self._minute[kind] = cur
            book = self.candles.get((kind, "1min"))
            if book is None:
                book = self.candles[(kind, "1min")] = {}
            book[start] = cur
            if kind == "market":
                self.minutes.append(cur)
                while self.minutes and self.minutes[0].open_time <= ts - DAY:
                    self.minutes.popleft()
        cur.add(low, high, close, base, quote)

    def _close_minute(self, kind: str, minute: Candle) -> None:
        for name, length in _LONGER_INTERVALS:
            start = bucket_start(length, minute.open_time)
            book = self.candles.get((kind, name))
            if book is None:
                book = self.candles[(kind, name)] = {}
            candle = book.get(start)
            if candle is None:
                if start < self.start_ms:
                    candle = self._new_candle(kind, name, length, start)
                else:
                    o = minute.open
                    candle = Candle(start, o, o, o, o)
                book[start] = candle
            candle.add(
                minute.low, minute.high, minute.close, minute.base_volume, minute.quote_volume
            )

    def _new_candle(self, kind: str, name: str, length: int, start: int) -> Candle:
        if start >= self.start_ms:
            # continues from the previous close of this series
            prev = self.last if kind == "market" else self.mark
            return Candle(start, prev, prev, prev, prev)
        synth = self.synthetic_candle(kind, name, start)
        # the part of the bucket before the start is synthetic, the rest is real
        end = next_bucket_start(length, start)
        frac = Decimal(self.start_ms - start) / Decimal(end - start)
        return Candle(
            start,
            synth.open,
            max(synth.open, synth.high if frac > Decimal("0.5") else synth.open),
            min(synth.open, synth.low if frac > Decimal("0.5") else synth.open),
            synth.open,
            (synth.base_volume * frac).quantize(self.inst.lot_size),
            (synth.quote_volume * frac).quantize(Decimal("0.00001")),
        )

    def _path(self, ts: int) -> int:
        """The synthetic pre-start price path, ticks (equal to the start price at start)."""
        h = self._history
        start_ticks = int(self.inst.price / self.inst.tick_size)
        return max(1, round(start_ticks * (1 + h.value(ts) - h.value(self.start_ms))))

    def synthetic_candle(self, kind: str, name: str, start: int) -> Candle:
        """A deterministic candle for a bucket before the market started."""
        length = WS_INTERVALS[name]
        end = next_bucket_start(length, start)
        o, c = self._path(start), self._path(min(end, self.start_ms))
        rng = random.Random(f"bitunix-sim:{self.seed}:{self.inst.symbol}:{name}:{start}")
        span = (end - start) / DAY
        wiggle = max(1, round(max(o, c) * 0.004 * math.sqrt(span)))
        high = max(o, c) + rng.randint(0, wiggle)
        low = max(1, min(o, c) - rng.randint(0, wiggle))
        if kind == "mark":
            return Candle(start, o, high, low, c)
        base = self.round_qty(self.level_qty * 30 * (end - start) / MINUTE * rng.uniform(0.5, 1.5))
        quote = (base * self.price((o + c) // 2)).quantize(Decimal("0.00001"))
        return Candle(start, o, high, low, c, base, quote)

    def kline(self, kind: str, name: str, ts: int) -> Candle:
        """The candle of interval ``name`` containing ``ts`` (synthetic before the start).

        Returns a candle the caller may keep (a copy for running candles).
        """
        length = WS_INTERVALS[name]
        start = bucket_start(length, ts)
        closed = self.candles.get((kind, name), {}).get(start)
        cur = self._minute.get(kind)
        if name == "1min" or cur is None or bucket_start(length, cur.open_time) != start:
            if closed is not None:
                return _copy(closed)
            if start < self.start_ms:
                return self.synthetic_candle(kind, name, start)
            prev = self.last if kind == "market" else self.mark
            return Candle(start, prev, prev, prev, prev)
        # a running candle: the closed minutes of the bucket plus the running minute
        if closed is None:
            if start < self.start_ms:
                candle = self._new_candle(kind, name, length, start)
            else:
                candle = Candle(start, cur.open, cur.open, cur.open, cur.open)
        else:
            candle = _copy(closed)
        candle.add(cur.low, cur.high, cur.close, cur.base_volume, cur.quote_volume)
        return candle

    def kline_range(self, kind: str, name: str, start_ms: int, end_ms: int) -> list[Candle]:
        """Candles whose start lies in ``[start_ms, end_ms]``, oldest first."""
        length = WS_INTERVALS[name]
        out: list[Candle] = []
        t = bucket_start(length, start_ms)
        if t < start_ms:
            t = next_bucket_start(length, t)
        while t <= end_ms and t <= self.tick_ts:
            out.append(self.kline(kind, name, t))
            t = next_bucket_start(length, t)
        return out

    def stats_24h(self) -> tuple[int, int, int, Decimal, Decimal]:
        """Rolling 24 h (open, high, low, base volume, quote volume); prices in ticks."""
        now = self.tick_ts
        window_start = now - DAY
        base = Decimal(0)
        quote = Decimal(0)
        high = low = self.last
        open_ = None
        if window_start < self.start_ms:
            pre = self._pre
            frac = Decimal(self.start_ms - window_start) / Decimal(DAY)
            base += (pre.base_volume * frac).quantize(self.inst.lot_size)
            quote += (pre.quote_volume * frac).quantize(Decimal("0.00001"))
            high, low, open_ = max(high, pre.high), min(low, pre.low), pre.open
        for candle in self.minutes:
            if candle.open_time <= window_start:
                continue
            if open_ is None:
                open_ = candle.open
            base += candle.base_volume
            quote += candle.quote_volume
            high = max(high, candle.high)
            low = min(low, candle.low)
        if open_ is None:
            open_ = self.last
        return open_, high, low, base, quote
