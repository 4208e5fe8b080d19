"""The receive side of one subscription: a bounded, non-blocking buffer with a policy.

The reader task calls :meth:`SubscriptionChannel.deliver` for every value; it never blocks.
When the buffer is full the channel's :class:`Overflow` policy decides: ``CONFLATE`` drops
the oldest value (only the latest order book, ticker or price matters), ``ERROR`` ends the
subscription with :class:`~bitunix_trio.ConsumerTooSlow` (trades and account events are
never dropped silently). Either way memory stays bounded and other subscriptions carry on.

An abnormal end (:meth:`SubscriptionChannel.fail`) is raised by ``receive()`` once the values
buffered before it have been taken, so the error marks the exact point where data is missing.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import outcome
import trio

from bitunix_trio._core.errors import ConfigurationError
from bitunix_trio._core.usage import AsyncWithOnly

from .errors import ConsumerTooSlow, StreamClosed, SubscriptionLost

if TYPE_CHECKING:
    from bitunix_trio._core.channels import ChannelSpec
    from bitunix_trio._core.events import StateChange

__all__ = [
    "Overflow",
    "StateEventsContext",
    "SubscribeContext",
    "SubscribeManyContext",
    "SubscriptionChannel",
    "SubscriptionStale",
    "SubscriptionStatistics",
]

T = TypeVar("T")

_current_task = trio.lowlevel.current_task
_reschedule = trio.lowlevel.reschedule
_wait_task_rescheduled = trio.lowlevel.wait_task_rescheduled
_checkpoint_if_cancelled = trio.lowlevel.checkpoint_if_cancelled
_cancel_shielded_checkpoint = trio.lowlevel.cancel_shielded_checkpoint
_ABORT_SUCCEEDED = trio.lowlevel.Abort.SUCCEEDED
_Value = outcome.Value
#: The most buffered values ``receive()`` returns in a row without a schedule point.
BATCH_LIMIT = 64
#: What a waiting receive() is woken with when the subscription ends (it looks again).
_WOKEN_VALUE = object()


class Overflow(enum.Enum):
    """What a subscription does when its buffer is full and another value arrives."""

    #: Drop the oldest buffered value and keep the new one (snapshots: book, ticker, price).
    CONFLATE = "conflate"
    #: End the subscription with ConsumerTooSlow (trades, account data: nothing is skipped).
    ERROR = "error"


class SubscriptionStale(SubscriptionLost):
    """The exchange sent nothing for this subscription for ``stale_after`` seconds while its
    connection was alive (typically an unknown or delisted symbol)."""


@dataclass(frozen=True, slots=True)
class SubscriptionStatistics:
    """A snapshot of one subscription's counters.

    Attributes:
        spec: what was subscribed (None for a stream's state events).
        received: values delivered to the channel (including dropped ones).
        taken: values the consumer received.
        dropped: values dropped by conflation (or arriving after a ConsumerTooSlow end).
        buffer_used: values waiting in the buffer.
        buffer_size: the buffer's capacity.
        overflow: the overflow policy.
        last_message_age: seconds since the last value arrived (None: nothing yet).
        stale: whether it was reported stale.
        error: why it ended abnormally, if it did.
    """

    spec: object
    received: int
    taken: int
    dropped: int
    buffer_used: int
    buffer_size: int
    overflow: Overflow
    last_message_age: float | None
    stale: bool
    error: str | None


class SubscriptionChannel(trio.abc.ReceiveChannel[T], Generic[T]):
    """A subscription's values: a :class:`trio.abc.ReceiveChannel` (``async for`` works).

    Made by ``stream.subscribe(...)``; the stream feeds it. ``receive()`` raises
    :class:`~bitunix_trio.SubscriptionLost` (or :class:`~bitunix_trio.ConsumerTooSlow`,
    :class:`SubscriptionStale`) when the subscription ended abnormally, after the values
    received before that, and :class:`~bitunix_trio.StreamClosed` once it is closed.

    Throughput: ``receive()`` hands over a value that was already buffered without letting
    other tasks run first (up to :data:`BATCH_LIMIT` in a row; it is always a cancellation
    point), so a consumer that fell behind catches up without a task switch per value.
    :meth:`receive_batch` takes everything buffered as one list; :meth:`receive_nowait`
    never waits.
    """

    __slots__ = (
        "_buffer",
        "_closed",
        "_conflate",
        "_done",
        "_dropped",
        "_error",
        "_finished",
        "_last",
        "_received",
        "_run",
        "_size",
        "_taken",
        "_waiters",
        "entered",
        "overflow",
        "spec",
    )

    def __init__(self, spec: Any, *, buffer: int, overflow: Overflow) -> None:
        self.spec = spec
        self.overflow = overflow
        self.entered = False
        self._size = buffer
        self._conflate = overflow is Overflow.CONFLATE
        self._buffer: deque[T] = deque()
        # Tasks waiting in receive(), oldest first. They exist only while the buffer is
        # empty: deliver() hands a value straight to the first one.
        self._waiters: deque[trio.lowlevel.Task] = deque()
        self._error: SubscriptionLost | None = None
        self._finished = False
        self._closed = False
        self._done = False
        self._received = 0
        self._run = 0
        self._taken = 0
        self._dropped = 0
        self._last: float | None = None

    def __repr__(self) -> str:
        return f"<SubscriptionChannel {self.spec!r} {len(self._buffer)}/{self._size}>"

    # -- producer side -------------------------------------------------------------------

    def deliver(self, value: T, now: float) -> None:
        """Hand over one value without blocking (the policy decides when full)."""
        if self._done:
            return
        self._received += 1
        self._last = now
        waiters = self._waiters
        if waiters:
            self._taken += 1
            _reschedule(waiters.popleft(), _Value(value))
            return
        buffer = self._buffer
        if len(buffer) >= self._size:
            self._dropped += 1
            if not self._conflate:
                self.fail(ConsumerTooSlow(spec=self.spec))
                return
            buffer.popleft()
        buffer.append(value)

    def _wake_all(self) -> None:
        waiters = self._waiters
        while waiters:
            _reschedule(waiters.popleft(), _Value(_WOKEN_VALUE))

    def fail(self, error: SubscriptionLost, *, wake: bool = True) -> None:
        """End abnormally: ``receive()`` raises ``error`` once the buffer is drained.

        With ``wake=False`` a task already waiting in ``receive()`` keeps waiting (the
        stream uses it when it is about to cancel everything anyway).
        """
        if self._error is None and not self._finished:
            self._done = True
            self._error = error
            if wake:
                self._wake_all()

    def finish(self) -> None:
        """End cleanly: ``receive()`` raises ``trio.EndOfChannel`` once the buffer is drained."""
        if self._error is None:
            self._done = True
            self._finished = True
            self._wake_all()

    def discard_buffered(self) -> int:
        """Drop every buffered value (counted as dropped); returns how many.

        Used when buffered snapshots are known to be older than what comes next (an order
        book after a reconnect starts from the new socket's first snapshot).
        """
        count = len(self._buffer)
        self._buffer.clear()
        self._dropped += count
        return count

    @property
    def done(self) -> bool:
        """Whether no more values will be delivered (ended, failed or closed)."""
        return self._done

    # -- consumer side -------------------------------------------------------------------

    def _ended(self) -> BaseException:
        """What an empty channel raises: how it ended, or WouldBlock while it goes on."""
        if self._closed:
            return StreamClosed("subscription is closed")
        if self._error is not None:
            return self._error
        if self._finished:
            return trio.EndOfChannel()
        return trio.WouldBlock()

    def _park(self) -> Callable[[object], trio.lowlevel.Abort]:
        """Queue the current task for the next value; the abort function that unqueues it."""
        task = _current_task()
        waiters = self._waiters
        waiters.append(task)

        def abort(_: object) -> trio.lowlevel.Abort:
            waiters.remove(task)
            return _ABORT_SUCCEEDED

        return abort

    def receive_nowait(self) -> T:
        """The next buffered value without waiting (and without a checkpoint), or raise
        ``trio.WouldBlock`` if none is buffered (or how the subscription ended)."""
        if self._buffer and not self._closed:
            self._taken += 1
            return self._buffer.popleft()
        raise self._ended()

    async def receive(self) -> T:
        """The next value, waiting for one if needed.

        Always a cancellation point. A value that was already buffered is returned without
        letting other tasks run first, up to :data:`BATCH_LIMIT` in a row: a consumer that
        fell behind takes what piled up in one step instead of one task switch per value.
        """
        buffer = self._buffer
        while True:
            if buffer and not self._closed:
                await _checkpoint_if_cancelled()
                self._taken += 1
                value = buffer.popleft()
                run = self._run
                if run < BATCH_LIMIT:
                    self._run = run + 1
                    return value
                self._run = 0
                await _cancel_shielded_checkpoint()  # after the pop: a cancel loses nothing
                return value
            self._run = 0
            if self._done:
                await _checkpoint_if_cancelled()
                raise self._ended()
            # Parking is the checkpoint (a pending cancel is delivered through abort);
            # deliver() sends the value itself, an end sends _WOKEN_VALUE.
            value = await _wait_task_rescheduled(self._park())
            if value is not _WOKEN_VALUE:
                return value

    async def receive_batch(self, max_values: int | None = None) -> list[T]:
        """Every buffered value (at most ``max_values``), oldest first, waiting for one if
        none is buffered: one checkpoint for the lot.

        For consumers that keep up by taking what piled up while they were busy; ends
        (abnormal, clean or closed) are raised as by :meth:`receive`, once the values
        before them have been taken.
        """
        if max_values is not None and max_values < 1:
            raise ConfigurationError(f"max_values must be at least 1 (got {max_values})")
        first = await self.receive()
        buffer = self._buffer
        count = len(buffer) if max_values is None else min(len(buffer), max_values - 1)
        if not count:
            return [first]
        batch = [first]
        if count == len(buffer):
            batch.extend(buffer)
            buffer.clear()
        else:
            popleft = buffer.popleft
            batch.extend([popleft() for _ in range(count)])
        self._taken += count
        return batch

    def close(self) -> None:
        """Close this end; a task waiting in ``receive()`` gets StreamClosed."""
        if not self._closed:
            self._done = True
            self._closed = True
            self._buffer.clear()
            self._wake_all()

    async def aclose(self) -> None:
        """Close this end (see :meth:`close`)."""
        self.close()
        await trio.lowlevel.checkpoint()

    # -- views ---------------------------------------------------------------------------

    @property
    def stale(self) -> bool:
        """Whether the subscription was reported stale."""
        return isinstance(self._error, SubscriptionStale)

    @property
    def error(self) -> SubscriptionLost | None:
        """The abnormal end, if any."""
        return self._error

    def statistics(self) -> SubscriptionStatistics:
        """Counters of this subscription (see :class:`SubscriptionStatistics`)."""
        last = self._last
        return SubscriptionStatistics(
            spec=self.spec,
            received=self._received,
            taken=self._taken,
            dropped=self._dropped,
            buffer_used=len(self._buffer),
            buffer_size=self._size,
            overflow=self.overflow,
            last_message_age=None if last is None else trio.current_time() - last,
            stale=self.stale,
            error=None if self._error is None else str(self._error),
        )


class Subscriber(Protocol):
    """What the subscription contexts need of their stream (its supervisor)."""

    def attach(
        self, spec: ChannelSpec[Any], buffer: int | None, overflow: Overflow | str | None
    ) -> SubscriptionChannel[Any]:
        """A new channel of ``spec`` (its connection subscribes if needed)."""

    async def verdicts(self, channels: Sequence[SubscriptionChannel[Any]]) -> None:
        """Wait for the exchange's verdict on each channel's key."""

    def detach(self, channel: SubscriptionChannel[Any]) -> None:
        """Close ``channel`` (the last one of a key unsubscribes)."""

    def add_listener(self, channel: SubscriptionChannel[Any]) -> None:
        """``channel`` receives every state change from now on (StreamClosed if closed)."""

    def remove_listener(self, channel: SubscriptionChannel[Any]) -> None:
        """``channel`` no longer receives state changes."""


class SubscribeContext(AsyncWithOnly, Generic[T]):
    """``async with stream.subscribe(spec) as channel`` (made by ``BitunixStream.subscribe``)."""

    _call = "stream.subscribe(...)"
    _target = "channel"
    _noun = "subscription's channel"
    _target_type: ClassVar[type | None] = SubscriptionChannel
    _iterable = True

    def __init__(self, stream: Subscriber, specs: list[ChannelSpec[Any]], opts: Any) -> None:
        self._stream = stream
        self._specs = specs
        self._opts = opts
        self._channels: list[SubscriptionChannel[Any]] = []

    async def _enter(self) -> list[SubscriptionChannel[Any]]:
        stream = self._stream
        try:
            for spec in self._specs:
                self._channels.append(stream.attach(spec, *self._opts))
            await stream.verdicts(self._channels)
        except BaseException:
            for channel in self._channels:
                stream.detach(channel)
            raise
        return self._channels

    async def __aenter__(self) -> SubscriptionChannel[T]:
        return (await self._enter())[0]

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for channel in self._channels:
            self._stream.detach(channel)


class SubscribeManyContext(SubscribeContext[Any]):
    """``async with stream.subscribe_many(specs) as channels`` (a tuple of channels)."""

    _call = "stream.subscribe_many(...)"
    _target = "channels"
    _noun = "tuple of channels"
    _target_type: ClassVar[type | None] = tuple
    _iterable = False

    async def __aenter__(self) -> tuple[SubscriptionChannel[Any], ...]:  # type: ignore[override]
        return tuple(await self._enter())


class StateEventsContext(AsyncWithOnly):
    """``async with stream.state_events() as changes``."""

    _call = "stream.state_events()"
    _target = "changes"
    _noun = "channel of state changes"
    _target_type: ClassVar[type | None] = SubscriptionChannel
    _iterable = True

    def __init__(self, stream: Subscriber, buffer: int) -> None:
        self._stream = stream
        self._channel: SubscriptionChannel[StateChange] = SubscriptionChannel(
            None, buffer=buffer, overflow=Overflow.ERROR
        )

    async def __aenter__(self) -> SubscriptionChannel[StateChange]:
        self._stream.add_listener(self._channel)
        await trio.lowlevel.checkpoint()
        return self._channel

    async def __aexit__(self, *exc_info: object) -> None:
        self._channel.close()
        self._stream.remove_listener(self._channel)
