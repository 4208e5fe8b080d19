"""Closed candles from kline pushes: bucket arithmetic and a sans-I/O tracker.

The exchange's kline pushes carry neither the candle start nor a closed flag
(``bitunix-protocol.md`` 4.7): every push is the running candle of the bucket that
contains its ``ts``. :class:`CandleTracker` turns that into candles a consumer can trust:

* **Rollover.** The first push of a later bucket closes the bucket before it: the closed
  candle is the last value seen for that bucket, re-marked ``closed=True``.
* **Gaps.** After :meth:`CandleTracker.interrupted` (the connection was lost) the last value
  seen may not be final, and whole buckets may have closed unseen. The first live push
  after that opens a recovery: :meth:`CandleTracker.take_request` gives the range of
  bucket starts to fetch over REST (every bucket from the first one not yet closed up to
  the one before the live push), live pushes are held meanwhile, and
  :meth:`CandleTracker.recovered` delivers the fetched candles as closed
  (``source=DataSource.RECOVERED``) in order, then what was held. If REST cannot answer,
  :meth:`CandleTracker.abandoned` releases what was held and names the lost buckets.
* **Exactly once.** A bucket is closed at most once, and closed buckets only move forward:
  every closed candle is later than the previous one.

Values that do not come from the WebSocket (REST polls while degraded) pass through as
running values and close nothing. Nothing here does I/O or reads a clock.

Alignment (the exchange does not document it): buckets are counted from the Unix epoch in
UTC, except ``1week`` (Monday 00:00 UTC) and ``1month`` (calendar months, UTC); see
:func:`~bitunix_trio._core.wire.kline_open_time`.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from .enums import DataSource
from .models import KLINE_INTERVALS, KlineUpdate
from .wire import datetime_to_ms, kline_open_time, ms_to_datetime

__all__ = [
    "CandleTracker",
    "aggregate_candles",
    "bucket_start",
    "bucket_starts",
    "next_bucket_start",
    "previous_bucket_start",
]


def bucket_start(interval: str, ts: int) -> int:
    """Start (ms) of the ``interval`` bucket (WebSocket spelling) containing ``ts``."""
    return kline_open_time(ts, interval)


def next_bucket_start(interval: str, start: int) -> int:
    """Start of the bucket after the one that starts at ``start``."""
    length = KLINE_INTERVALS[interval]
    if length == 0:
        dt = ms_to_datetime(start)
        year, month = (dt.year + 1, 1) if dt.month == 12 else (dt.year, dt.month + 1)
        return datetime_to_ms(datetime(year, month, 1, tzinfo=UTC))
    return start + length


def previous_bucket_start(interval: str, start: int) -> int:
    """Start of the bucket before the one that starts at ``start``."""
    return bucket_start(interval, start - 1)


def bucket_starts(interval: str, first: int, last: int) -> list[int]:
    """Starts of the buckets from the one containing ``first`` to the one containing
    ``last`` (inclusive; empty when ``last`` is earlier)."""
    out: list[int] = []
    start = bucket_start(interval, first)
    end = bucket_start(interval, last) if last >= first else start - 1
    while start <= end:
        out.append(start)
        start = next_bucket_start(interval, start)
    return out


def aggregate_candles(candles: Iterable[KlineUpdate], interval: str) -> list[KlineUpdate]:
    """Fold shorter candles (oldest first) into candles of ``interval`` (e.g. 1min into
    3min, for which REST has no interval): first open, highest high, lowest low, last
    close, summed volumes; ``open_time_ms`` and ``ts`` are the bucket start."""
    out: list[KlineUpdate] = []
    for candle in candles:
        start = bucket_start(interval, candle.open_time_ms)
        if out and out[-1].open_time_ms == start:
            last = out[-1]
            out[-1] = dataclasses.replace(
                last,
                high=max(last.high, candle.high),
                low=min(last.low, candle.low),
                close=candle.close,
                base_volume=last.base_volume + candle.base_volume,
                quote_volume=last.quote_volume + candle.quote_volume,
            )
        else:
            out.append(
                dataclasses.replace(
                    candle,
                    interval=interval,
                    open_time_ms=start,
                    ts=start,
                )
            )
    return out


class _Phase(enum.Enum):
    LIVE = "live"
    #: The connection was lost: the next live push opens a recovery.
    INTERRUPTED = "interrupted"
    #: A REST fetch is due or under way; live pushes are held.
    RECOVERING = "recovering"


class CandleTracker:
    """Closed candles of one kline subscription (see the module docs).

    Every method returns the values to deliver, in order: running values
    (``closed=False``) and closed candles (``closed=True``).
    """

    __slots__ = (
        "_current",
        "_held",
        "_interrupted_again",
        "_last_closed",
        "_phase",
        "_range",
        "_request",
        "interval",
    )

    def __init__(self, interval: str) -> None:
        if interval not in KLINE_INTERVALS:
            raise ValueError(f"unknown kline interval {interval!r}")
        self.interval = interval
        self._phase = _Phase.LIVE
        #: The last live value of the bucket not yet closed (None: none seen).
        self._current: KlineUpdate | None = None
        #: Start of the last closed bucket (None: none closed yet).
        self._last_closed: int | None = None
        #: Live values held during a recovery, the latest of each bucket, by bucket start.
        self._held: dict[int, KlineUpdate] = {}
        #: The range of bucket starts the open recovery covers, and the same until taken.
        self._range: tuple[int, int] = (0, -1)
        self._request: tuple[int, int] | None = None
        #: The connection was lost again while recovering.
        self._interrupted_again = False

    def __repr__(self) -> str:
        return (
            f"<CandleTracker {self.interval} {self._phase.value} last_closed={self._last_closed}>"
        )

    @property
    def last_closed(self) -> int | None:
        """Start (ms) of the last bucket closed so far, if any."""
        return self._last_closed

    @property
    def recovering(self) -> bool:
        """Whether a recovery is open (live values are held until it ends)."""
        return self._phase is _Phase.RECOVERING

    # -- input -------------------------------------------------------------------------------

    def push(self, value: KlineUpdate) -> list[KlineUpdate]:
        """A value for this subscription; what to deliver now."""
        if value.source is not DataSource.WEBSOCKET:
            # A REST poll while degraded: the latest running candle, final for nothing.
            return [dataclasses.replace(value, closed=False)] if value.closed else [value]
        if self._phase is _Phase.INTERRUPTED:
            return self._resume(value)
        if self._phase is _Phase.RECOVERING:
            self._hold(value)
            return []
        return self._live(value)

    def interrupted(self) -> None:
        """The connection carrying this subscription was lost."""
        if self._phase is _Phase.LIVE:
            self._phase = _Phase.INTERRUPTED
        elif self._phase is _Phase.RECOVERING:
            self._interrupted_again = True

    def take_request(self) -> tuple[int, int] | None:
        """The bucket starts to fetch over REST, ``(first, last)`` inclusive, once per
        recovery (then :meth:`recovered` or :meth:`abandoned` must follow)."""
        request, self._request = self._request, None
        return request

    def recovered(self, candles: Sequence[KlineUpdate]) -> list[KlineUpdate]:
        """The REST candles of the requested range arrived: the closed candles of the
        range in order (``source=RECOVERED``), then the held live values."""
        if self._phase is not _Phase.RECOVERING:
            return []
        out: list[KlineUpdate] = []
        first, last = self._range
        for candle in sorted(candles, key=lambda c: c.open_time_ms):
            start = candle.open_time_ms
            if start < first or start > last:
                continue
            if self._last_closed is not None and start <= self._last_closed:
                continue
            out.append(dataclasses.replace(candle, closed=True, source=DataSource.RECOVERED))
            self._last_closed = start
        if self._last_closed is None or self._last_closed < last:
            self._last_closed = last
        return out + self._release()

    def abandoned(self) -> tuple[list[KlineUpdate], tuple[int, int] | None]:
        """REST could not answer: the held live values, and the range of buckets whose
        closed candle is lost (None if none)."""
        if self._phase is not _Phase.RECOVERING:
            return [], None
        first, last = self._range
        lost = (first, last) if first <= last else None
        if self._last_closed is None or self._last_closed < last:
            self._last_closed = last
        return self._release(), lost

    # -- internals --------------------------------------------------------------------------

    def _live(self, value: KlineUpdate) -> list[KlineUpdate]:
        start = value.open_time_ms
        if self._last_closed is not None and start <= self._last_closed:
            return []  # a bucket already closed: late, out of order
        current = self._current
        if current is None or start == current.open_time_ms:
            self._current = value
            return [value]
        if start < current.open_time_ms:
            return []  # an older bucket than the running one: out of order
        self._current = value
        self._last_closed = current.open_time_ms
        return [dataclasses.replace(current, closed=True), value]

    def _resume(self, value: KlineUpdate) -> list[KlineUpdate]:
        """The first live push after an interruption."""
        resume = value.open_time_ms
        if self._last_closed is not None and resume <= self._last_closed:
            return []
        current = self._current
        if self._last_closed is not None:
            first = next_bucket_start(self.interval, self._last_closed)
        elif current is not None:
            first = current.open_time_ms
        else:
            first = resume  # nothing seen before: nothing to recover
        if first >= resume:
            # Still in the bucket that was running (or nothing to recover): carry on.
            self._phase = _Phase.LIVE
            return self._live(value)
        self._phase = _Phase.RECOVERING
        self._interrupted_again = False
        self._current = None
        self._held = {resume: value}
        self._range = self._request = (first, previous_bucket_start(self.interval, resume))
        return []

    def _hold(self, value: KlineUpdate) -> None:
        start = value.open_time_ms
        if self._held and start < min(self._held):
            return
        self._held[start] = value

    def _release(self) -> list[KlineUpdate]:
        held = [self._held[start] for start in sorted(self._held)]
        self._held = {}
        self._phase = _Phase.LIVE
        out: list[KlineUpdate] = []
        for value in held:
            out.extend(self._live(value))
        if self._interrupted_again:
            self._interrupted_again = False
            self._phase = _Phase.INTERRUPTED
        return out
