"""Closed candles in the stream: the Trio side of :mod:`bitunix_trio._core.candles`.

Every kline subscription gets a :class:`CandleStage` between the reader and its channel:
the stage runs a :class:`~bitunix_trio._core.candles.CandleTracker` over the delivered values
and emits running values and closed candles (only closed ones for
``Kline(..., closed_only=True)``). The stream's :class:`CandleFeed` tells the stages of a
connection when it is lost (an ``on_down`` hook); the first push after it comes back opens
a recovery, and the feed fetches the missed buckets with ``get_klines`` in a task of the
stream's supervisor, cancelled when the subscription ends::

    reader -> channel.deliver -> stage (tracker) -> channel buffer
                                   └─ recovery task: REST klines -> stage -> channel buffer

3-minute candles, which the REST endpoint lacks, are folded from 1-minute ones. When REST
fails three times, the held values are released and a notice (a state event) names the
candles that could not be recovered.

A kline subscription's channel is a :class:`CandleChannel`. A conflating candle channel
conflates running values only: a closed candle is never
replaced (up to the stream's ``buffer_size`` of them, then ConsumerTooSlow).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import trio

from bitunix_trio._core.candles import CandleTracker, aggregate_candles, next_bucket_start
from bitunix_trio._core.channels import Kline
from bitunix_trio._core.errors import BitunixError
from bitunix_trio._core.models import KlineUpdate
from bitunix_trio._core.wire import ms_to_datetime

from .channel import Overflow, SubscriptionChannel
from .errors import ConsumerTooSlow

if TYPE_CHECKING:
    from bitunix_trio._core.enums import PriceType
    from bitunix_trio._core.frames import Key

    from .connection import ConnectionSlot

__all__ = [
    "CandleChannel",
    "CandleFeed",
    "CandleHost",
    "CandleStage",
    "KlineSource",
    "fetch_closed",
]

#: REST attempts per recovery, and the seconds to wait after each failed one.
RECOVERY_DELAYS = (1.0, 2.0)
#: Most candles one REST kline request returns.
REST_PAGE = 200
#: Pages fetched at most per recovery (REST_PAGE candles each).
MAX_PAGES = 50

Emit = Callable[[KlineUpdate, float], None]


class KlineSource(Protocol):
    """The REST call a recovery makes (``BitunixRestClient`` has it)."""

    async def get_klines(
        self,
        symbol: str,
        interval: str = "1min",
        *,
        start_time: object = None,
        end_time: object = None,
        limit: int = 100,
        price_type: PriceType | str = ...,
    ) -> list[KlineUpdate]:
        """Candles of ``symbol`` between the times, oldest first."""


class CandleHost(Protocol):
    """What the candle feed needs of its stream."""

    @property
    def rest(self) -> KlineSource:
        """The REST client."""

    def spawn(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` as a child of the supervisor."""

    def notice(self, message: str, connection: str | None = None) -> None:
        """Publish a notice as a state event."""

    def on_connection(self, slot: ConnectionSlot, key: Key) -> bool:
        """Whether the public ``key`` is carried by ``slot``."""

    def add_hooks(
        self, *, on_down: Callable[[ConnectionSlot, BaseException], None] | None = None
    ) -> None:
        """Be told of every connection loss."""


async def fetch_closed(rest: KlineSource, spec: Kline, first: int, last: int) -> list[KlineUpdate]:
    """The REST candles of ``spec`` whose buckets start in ``[first, last]``, oldest first
    (1-minute candles folded for ``3min``; paged by ``REST_PAGE``)."""
    interval = spec.interval
    rest_interval = "1min" if interval == "3min" else interval
    lo, hi = first, next_bucket_start(interval, last) - 1
    found: dict[int, KlineUpdate] = {}
    for _ in range(MAX_PAGES):
        if lo > hi:
            break
        rows = await rest.get_klines(
            spec.symbol,
            rest_interval,
            start_time=lo,
            end_time=hi,
            limit=REST_PAGE,
            price_type=spec.price_type,
        )
        rows = [row for row in rows if lo <= row.open_time_ms <= hi]
        for row in rows:
            found[row.open_time_ms] = row
        if len(rows) < REST_PAGE:
            break
        # A full page: the earliest or the latest of the range (the exchange does not say
        # which); ask for what is left on the other side.
        oldest = min(row.open_time_ms for row in rows)
        if oldest > lo:
            hi = oldest - 1
        else:
            lo = max(row.open_time_ms for row in rows) + 1
    candles = [found[start] for start in sorted(found)]
    if rest_interval != interval:
        candles = aggregate_candles(candles, interval)
    return [c for c in candles if first <= c.open_time_ms <= last]


class CandleStage:
    """The candle tracker of one kline subscription and its recovery (see the module)."""

    __slots__ = ("_emit", "_feed", "closed", "recovery", "spec", "tracker")

    def __init__(self, feed: CandleFeed, spec: Kline, emit: Emit) -> None:
        self._feed = feed
        self.spec = spec
        self.tracker = CandleTracker(spec.interval)
        self._emit = emit
        #: The cancel scope of the recovery under way, if one is.
        self.recovery: trio.CancelScope | None = None
        self.closed = False
        feed.register(self)

    def push(self, value: KlineUpdate, now: float) -> None:
        """A value delivered for the subscription."""
        self.emit_all(self.tracker.push(value), now)
        request = self.tracker.take_request()
        if request is not None:
            self._feed.recover(self, *request)

    def emit_all(self, values: list[KlineUpdate], now: float) -> None:
        """Hand ``values`` to the channel (only closed candles with ``closed_only``)."""
        if self.closed:
            return
        closed_only = self.spec.closed_only
        for value in values:
            if value.closed or not closed_only:
                self._emit(value, now)

    def close(self) -> None:
        """The subscription ended: stop any recovery."""
        if not self.closed:
            self.closed = True
            if self.recovery is not None:
                self.recovery.cancel()
            self._feed.unregister(self)


class CandleFeed:
    """The candle stages of one stream (see the module)."""

    def __init__(self, stream: CandleHost) -> None:
        self.stream = stream
        self.stages: dict[Key, list[CandleStage]] = {}
        #: Recoveries started, and how many of them gave up.
        self.recoveries = 0
        self.abandoned = 0
        stream.add_hooks(on_down=self._on_down)

    def register(self, stage: CandleStage) -> None:
        """Track ``stage`` (its key's connection losses interrupt it)."""
        self.stages.setdefault(stage.spec.key, []).append(stage)

    def unregister(self, stage: CandleStage) -> None:
        """Stop tracking ``stage``."""
        stages = self.stages.get(stage.spec.key)
        if stages is not None and stage in stages:
            stages.remove(stage)
            if not stages:
                del self.stages[stage.spec.key]

    def _on_down(self, slot: ConnectionSlot, error: BaseException) -> None:
        for key, stages in self.stages.items():
            if self.stream.on_connection(slot, key):
                for stage in stages:
                    stage.tracker.interrupted()

    def recover(self, stage: CandleStage, first: int, last: int) -> None:
        """Fetch the closed candles of buckets ``first..last`` for ``stage`` in a task."""
        self.recoveries += 1
        scope = trio.CancelScope()
        stage.recovery = scope
        self.stream.spawn(self._recover, stage, scope, first, last)

    async def _recover(
        self, stage: CandleStage, scope: trio.CancelScope, first: int, last: int
    ) -> None:
        with scope:
            error: BitunixError | None = None
            for delay in (*RECOVERY_DELAYS, None):
                try:
                    candles = await fetch_closed(self.stream.rest, stage.spec, first, last)
                except BitunixError as exc:
                    error = exc
                    if delay is not None:
                        await trio.sleep(delay)
                    continue
                stage.emit_all(stage.tracker.recovered(candles), trio.current_time())
                return
            self.abandoned += 1
            values, lost = stage.tracker.abandoned()
            stage.emit_all(values, trio.current_time())
            if lost is not None:
                self.stream.notice(
                    f"{stage.spec!r}: the candles from {_iso(lost[0])} to {_iso(lost[1])} "
                    f"closed while disconnected and could not be fetched over REST "
                    f"({type(error).__name__}: {error})"
                )


def _iso(ms: int) -> str:
    return ms_to_datetime(ms).isoformat().replace("+00:00", "Z")


class CandleChannel(SubscriptionChannel[KlineUpdate]):
    """The channel of a kline subscription: values pass a :class:`CandleStage` first."""

    __slots__ = ("_closed_limit", "_stage")

    def __init__(
        self, feed: CandleFeed, spec: Kline, *, buffer: int, overflow: Overflow, closed_limit: int
    ) -> None:
        super().__init__(spec, buffer=buffer, overflow=overflow)
        self._closed_limit = max(buffer, closed_limit)
        self._stage = CandleStage(feed, spec, self._put)

    def deliver(self, value: KlineUpdate, now: float) -> None:
        """A value from the reader (or a REST poll): through the candle tracker."""
        if not self._done:
            self._stage.push(value, now)

    def _put(self, value: KlineUpdate, now: float) -> None:
        if self._done:
            return
        if not self._conflate or self._waiters or self._stage.spec.closed_only:
            SubscriptionChannel.deliver(self, value, now)
            return
        # Conflate running values only: a closed candle replaces the running value of its
        # bucket, a running value the one before it; closed candles stay.
        self._received += 1
        self._last = now
        buffer = self._buffer
        if buffer and not buffer[-1].closed:
            buffer.pop()
            self._dropped += 1
        if value.closed and len(buffer) >= self._closed_limit:
            self._dropped += 1
            self.fail(ConsumerTooSlow(spec=self.spec))
            return
        buffer.append(value)

    def close(self) -> None:
        """Close this end and stop any recovery."""
        self._stage.close()
        super().close()
