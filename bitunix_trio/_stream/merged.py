"""One stream of messages from many subscriptions: ``stream.subscribe_merged(specs)``.

Every spec gets a tap in the stream's routing table, taking the place a subscription's
channel would take: the reader hands each value to the tap, which wraps it in a
:class:`StreamMessage` and puts it in the one bounded :class:`MergedChannel` (klines pass a
candle stage first, so closed candles come as in :class:`~bitunix_trio.Kline`
subscriptions). Messages are therefore in the order the values arrived, across specs. No
task is started: leaving the block detaches the taps and closes the channel.

Overflow (the buffer is full and a message arrives):

* ``"conflate"`` (default): drop a *snapshot* message to make room: first the oldest one
  that a newer message of the same spec supersedes, else the oldest snapshot. Snapshots are
  tickers, order books, prices and running candles. Lossless messages (trades, account
  events, closed candles, anything of a ``closed_only`` kline) are never dropped: when only
  they are buffered, an arriving snapshot is dropped, and an arriving lossless message
  ends the merged subscription with ConsumerTooSlow (after the buffered ones).
* ``"error"``: any overflow ends it with ConsumerTooSlow.

A spec that ends abnormally (refused, stale, the stream failed) ends the merged
subscription with that error, after the messages before it. Account specs give changes
only here (no snapshot, as with ``snapshot=False``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Protocol

from bitunix_trio._core.channels import ChannelSpec, Fills, Kline, Subscription
from bitunix_trio._core.config import check_buffer_size
from bitunix_trio._core.enums import DataSource
from bitunix_trio._core.errors import ConfigurationError
from bitunix_trio._core.models import KlineUpdate
from bitunix_trio._core.usage import AsyncWithOnly

from .candles import CandleFeed, CandleStage
from .channel import Overflow, SubscriptionChannel
from .errors import ConsumerTooSlow, StreamClosed, SubscriptionLost

__all__ = ["MergeHost", "MergedChannel", "MergedContext", "StreamMessage", "check_merged_specs"]


class MergeHost(Protocol):
    """What a merged subscription needs of its stream (its supervisor)."""

    @property
    def closed(self) -> bool:
        """Whether the stream is closed."""

    @property
    def buffer_size(self) -> int:
        """The stream's default buffer of lossless subscriptions."""

    @property
    def candles(self) -> CandleFeed:
        """The stream's candle feed."""

    def route(
        self, spec: ChannelSpec[Any], channel: SubscriptionChannel[Any]
    ) -> SubscriptionChannel[Any]:
        """Put ``channel`` in the subscription table for ``spec``."""

    async def verdicts(self, channels: Sequence[SubscriptionChannel[Any]]) -> None:
        """Wait for the exchange's verdict on each channel's key."""

    def detach(self, channel: SubscriptionChannel[Any]) -> None:
        """Take ``channel`` out of the table."""


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One value of a merged subscription (``stream.subscribe_merged``).

    Attributes:
        channel: the wire channel (``"ticker"``, ``"depth_book5"``, ``"trade"``,
            ``"market_kline_1min"``, ``"order"``...).
        symbol: the value's symbol (the spec's for values without one; None for balances).
        data: the value, as a single subscription would yield it (``TickerUpdate``,
            ``OrderBookUpdate``, ``Trade``, ``KlineUpdate``, ``Order``...).
        source: where it came from (WebSocket, REST poll, recovery).
        received_at: Trio time at which it arrived.
        spec: the channel spec it was subscribed with (``Subscription`` resolved).
    """

    channel: str
    symbol: str | None
    data: Any
    source: DataSource
    received_at: float
    spec: ChannelSpec[Any] | None = None

    @property
    def lossless(self) -> bool:
        """Whether the message is never dropped when the buffer is full."""
        if self.spec is None or self.spec.lossless:
            return True
        data = self.data
        return isinstance(data, KlineUpdate) and data.closed


class MergedChannel(SubscriptionChannel[StreamMessage]):
    """The messages of a merged subscription, in arrival order (a ``trio.abc.ReceiveChannel``
    like every subscription; see the module for its overflow policy)."""

    __slots__ = ()

    def deliver(self, value: StreamMessage, now: float) -> None:
        """Hand over one message without blocking (when full, the policy decides)."""
        if self._done:
            return
        if self._waiters or len(self._buffer) < self._size:
            SubscriptionChannel.deliver(self, value, now)
            return
        self._received += 1
        self._last = now
        self._dropped += 1
        if self._conflate:
            victim = self._victim(value)
            if victim is not None:
                del self._buffer[victim]
                self._buffer.append(value)
                return
            if not value.lossless:
                return  # only lossless messages wait: this snapshot gives way
        self.fail(ConsumerTooSlow(f"Consumer too slow: merged buffer full ({value.channel})"))

    def _victim(self, incoming: StreamMessage) -> int | None:
        """Index of the snapshot to drop: the oldest superseded one, else the oldest."""
        oldest: int | None = None
        latest: dict[object, int] = {}
        for index, message in enumerate(self._buffer):
            if not message.lossless:
                latest[message.spec] = index
                if oldest is None:
                    oldest = index
        if not incoming.lossless:
            latest[incoming.spec] = len(self._buffer)
        for index, message in enumerate(self._buffer):
            if not message.lossless and latest[message.spec] > index:
                return index
        return oldest


class _Tap(SubscriptionChannel[Any]):
    """A spec's place in the routing table: forwards values to the merged channel."""

    __slots__ = ("_merged", "_stage")

    def __init__(self, stream: MergeHost, spec: ChannelSpec[Any], merged: MergedChannel):
        super().__init__(spec, buffer=1, overflow=Overflow.ERROR)
        self._merged = merged
        self._stage: CandleStage | None = None
        if isinstance(spec, Kline):
            self._stage = CandleStage(stream.candles, spec, self._forward)

    def deliver(self, value: Any, now: float) -> None:
        if self._done:
            return
        self._received += 1
        self._last = now
        if self._stage is not None:
            self._stage.push(value, now)
        else:
            self._forward(value, now)

    def _forward(self, value: Any, now: float) -> None:
        spec = self.spec
        symbol = getattr(value, "symbol", None) or spec.symbol
        source = getattr(value, "source", DataSource.WEBSOCKET)
        self._merged.deliver(
            StreamMessage(spec.wire_channel, symbol, value, source, now, spec), now
        )

    def fail(self, error: SubscriptionLost, *, wake: bool = True) -> None:
        super().fail(error, wake=wake)
        self._merged.fail(error, wake=wake)

    def close(self) -> None:
        if self._stage is not None:
            self._stage.close()
        super().close()


def check_merged_specs(specs: object) -> list[object]:
    """The specs of ``subscribe_merged`` as a list (ConfigurationError unless an iterable of
    at least one spec)."""
    if isinstance(specs, ChannelSpec | Subscription | str) or not isinstance(specs, Iterable):
        raise ConfigurationError(
            f"subscribe_merged takes a list of channel specs, e.g. "
            f"[bt.Ticker('BTCUSDT'), bt.Trades('BTCUSDT')] (got {specs!r})"
        )
    items = list(specs)
    if not items:
        raise ConfigurationError("subscribe_merged needs at least one channel spec")
    for item in items:
        spec = item.resolve() if isinstance(item, Subscription) else item
        if isinstance(spec, Fills):
            raise ConfigurationError(
                "Fills() cannot be merged: subscribe to it with stream.subscribe(bt.Fills())"
            )
    return items


class MergedContext(AsyncWithOnly):
    """``async with stream.subscribe_merged(specs) as messages`` (made by
    ``BitunixStream.subscribe_merged``)."""

    _call = "stream.subscribe_merged(...)"
    _target = "messages"
    _noun = "channel of messages"
    _target_type: ClassVar[type | None] = MergedChannel
    _iterable = True

    def __init__(
        self,
        stream: MergeHost,
        specs: list[ChannelSpec[Any]],
        buffer: int | None,
        overflow: Overflow | str | None,
    ) -> None:
        try:
            policy = Overflow.CONFLATE if overflow is None else Overflow(overflow)
        except ValueError:
            raise ConfigurationError(
                f"overflow must be 'conflate' or 'error', got {overflow!r}"
            ) from None
        size = stream.buffer_size if buffer is None else check_buffer_size(buffer)
        self._stream = stream
        self._specs = list(dict.fromkeys(specs))  # each spec once
        self._merged = MergedChannel(tuple(self._specs), buffer=size, overflow=policy)
        self._taps: list[SubscriptionChannel[Any]] = []

    async def __aenter__(self) -> MergedChannel:
        stream = self._stream
        if stream.closed:
            raise StreamClosed("the stream is closed")
        try:
            for spec in self._specs:
                tap = _Tap(stream, spec, self._merged)
                self._taps.append(tap)
                stream.route(spec, tap)
            await stream.verdicts(self._taps)
        except BaseException:
            self._leave()
            raise
        self._merged.entered = True
        return self._merged

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._leave()

    def _leave(self) -> None:
        for tap in self._taps:
            self._stream.detach(tap)
        self._merged.close()
