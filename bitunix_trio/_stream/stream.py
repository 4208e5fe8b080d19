"""The ``BitunixStream`` handle: subscriptions, routing, state (made by ``open_bitunix_stream``).

Task tree (everything lives inside the ``async with`` block; see ``open``)::

    open_bitunix_stream: nursery, lifetime = the block
     ├─ the block's body
     └─ supervisor (nursery.start: entering waits for the first connect and login)
         ├─ public#0, public#1, ...  (300 subscriptions each; a shard other than the
         │                            first closes after a few idle seconds; see
         │                            pool and connection)
         ├─ private                  (when credentials are given)
         ├─ idle closer              (closes those idle shards; see pool)
         └─ fallback                 (REST polling while degraded, account recovery;
                                      see _fallback.fallback)

Seams for the fallback (library-internal): ``_deliver(key, value)`` hands a value to every
channel of a key; ``_wanted()`` lists the subscribed specs; ``_set_degraded(reason)`` and
``_notice(message)`` publish state; ``_add_hooks(on_ready=, on_down=, on_retired=)`` run
after every (re)connect and re-login, on every loss, and when an idle shard is closed for
good; ``_admit_private`` filters private values before delivery; ``_spawn(fn)`` runs a
task under the supervisor; ``_pool`` knows which connection carries a key.

The state of the stream aggregates its connections': CONNECTED (or AUTHENTICATED with
credentials) when all are ready, else DEGRADED while REST feeds the subscriptions, else
RECONNECTING or CONNECTING; CLOSED once the block is left.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

import trio

from bitunix_trio._core.channels import AccountSpec, ChannelSpec, Subscription, resolve_spec
from bitunix_trio._core.config import HeartbeatConfig, ReconnectPolicy, check_buffer_size
from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import ConfigurationError, SubscriptionRejected
from bitunix_trio._core.events import ConnectionState, StateChanged
from bitunix_trio._core.frames import Key
from bitunix_trio._core.log import logger
from bitunix_trio._core.subscriptions import SubscriptionTable
from bitunix_trio._core.text import printable

from .account import AccountSubscribeContext
from .candles import open_channel
from .channel import (
    Overflow,
    StateEventsContext,
    SubscribeContext,
    SubscribeManyContext,
    SubscriptionChannel,
    SubscriptionStale,
)
from .connection import ConnectionSlot, ConnectionStatistics
from .connector import Connector
from .errors import StreamClosed, SubscriptionLost, first_failure, reraise, wrap_unexpected
from .merged import MergedContext, check_merged_specs
from .pool import ConnectionPool

if TYPE_CHECKING:
    from bitunix_trio._fallback.fallback import StreamFallback
    from bitunix_trio._rest.client import BitunixRestClient

    from .candles import CandleFeed
    from .fills import FillFeed

__all__ = [
    "BitunixStream",
    "ConnectionStatistics",
    "StateChange",
    "StreamStatistics",
]

T = TypeVar("T")
NO_CREDENTIALS = "Cannot connect to private channels without API credentials"
#: Default buffer of a conflating subscription: only the latest value is kept.
DEFAULT_CONFLATE_BUFFER = 1
#: Default buffer of a state_events() channel.
DEFAULT_STATE_BUFFER = 256


@dataclass(frozen=True, slots=True)
class StateChange:
    """A state transition of the stream (``connection`` None) or of one connection.

    ``connection`` names the connection (``"public#0"``, ``"private"``); ``time`` is Trio's
    clock; ``reason`` says why, when known (the error that closed a connection...). A
    notice about the stream (say, that trades cannot be back-filled while degraded) comes
    as a change with ``old == new``.
    """

    old: ConnectionState
    new: ConnectionState
    reason: str | None
    connection: str | None
    time: float


@dataclass(frozen=True, slots=True)
class StreamStatistics:
    """Counters of the whole stream (sums over its connections and subscriptions)."""

    state: ConnectionState
    connections: tuple[ConnectionStatistics, ...]
    subscriptions: int
    messages_received: int
    malformed: int
    reconnects: int
    dropped: int


class BitunixStream:
    """A running stream; made by :func:`open_bitunix_stream` (no public constructor)."""

    def __init__(
        self,
        *,
        credentials: Credentials | None,
        public_url: str,
        private_url: str,
        connector: Connector,
        reconnect: ReconnectPolicy,
        heartbeat: HeartbeatConfig,
        buffer_size: int,
        rng: random.Random,
        wall_clock: Callable[[], float],
        close_timeout: float,
    ) -> None:
        self._credentials = credentials
        self._buffer_size = buffer_size
        #: Every subscribed key: its spec, channels, connection, status and verdict.
        self._table = SubscriptionTable()
        self._pool = ConnectionPool(
            self,
            self._table,
            credentials=credentials,
            public_url=public_url,
            private_url=private_url,
            connector=connector,
            reconnect=reconnect,
            heartbeat=heartbeat,
            rng=rng,
            wall_clock=wall_clock,
            close_timeout=close_timeout,
        )
        self._listeners: list[SubscriptionChannel[StateChange]] = []
        self._state = ConnectionState.CONNECTING
        self._degraded: str | None = None
        self._closed = False
        self._fatal: BaseException | None = None
        self._nursery: trio.Nursery | None = None
        self._supervisor: trio.Nursery | None = None
        self._rest: BitunixRestClient | None = None
        self._fallback: StreamFallback | None = None
        self._pending: list[Callable[[], Any]] = []
        #: Filter of private pushed values before delivery: (items, now) -> items to deliver
        #: (account recovery uses it so that a recovered update is not delivered twice).
        self._admit_private: Callable[[Sequence[Any], float], Sequence[Any]] | None = None
        self._ready_hooks: list[Callable[[ConnectionSlot, bool], None]] = []
        self._down_hooks: list[Callable[[ConnectionSlot, BaseException], None]] = []
        self._retired_hooks: list[Callable[[ConnectionSlot], None]] = []
        #: Closed candles of the kline subscriptions (made on the first one).
        self._candles: CandleFeed | None = None
        #: Fills of the Fills() subscriptions (made on the first one).
        self._fills: FillFeed | None = None

    def __repr__(self) -> str:
        return f"<BitunixStream {self._state.name} {len(self._table)} keys>"

    # -- public API ----------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The state of the stream as a whole (CONNECTED, AUTHENTICATED, RECONNECTING...)."""
        return self._state

    @property
    def rest(self) -> BitunixRestClient:
        """The REST client opened with the stream (same credentials, ``rest_url``)."""
        if self._rest is None:
            raise StreamClosed("the REST client is not available")
        return self._rest

    @overload
    def subscribe(
        self,
        spec: AccountSpec[T],
        *,
        buffer: int | None = None,
        overflow: Overflow | str | None = None,
    ) -> AccountSubscribeContext[T]: ...

    @overload
    def subscribe(
        self,
        spec: ChannelSpec[T],
        *,
        buffer: int | None = None,
        overflow: Overflow | str | None = None,
    ) -> SubscribeContext[T]: ...

    @overload
    def subscribe(
        self,
        spec: Subscription,
        *,
        buffer: int | None = None,
        overflow: Overflow | str | None = None,
    ) -> SubscribeContext[Any]: ...

    def subscribe(
        self,
        spec: ChannelSpec[Any] | Subscription,
        *,
        buffer: int | None = None,
        overflow: Overflow | str | None = None,
    ) -> SubscribeContext[Any]:
        """Subscribe to ``spec`` for the duration of an ``async with`` block.

        The block's value is a :class:`SubscriptionChannel` (a ``trio.abc.ReceiveChannel``).
        Entering waits until the exchange took the subscription (its first data, or the
        answer to a later ping) and raises :class:`~bitunix_trio.SubscriptionRejected` if it
        refused it; while reconnecting it returns at once (the subscription is replayed).
        Several blocks may subscribe to the same spec; the last to leave unsubscribes.

        ``buffer`` is the number of values kept for a slow consumer (default: 1 for
        conflating channels, ``buffer_size`` of the stream for the others); ``overflow``
        (``"conflate"`` or ``"error"``) overrides the channel's policy.

        ``Orders()``, ``Positions()`` and ``Balance()`` start with a snapshot of the account
        (see :class:`AccountChannel`; ``snapshot=False`` for changes only).
        """
        checked = self._check_spec(spec)
        if isinstance(checked, AccountSpec):
            return AccountSubscribeContext(self, [checked], (buffer, overflow))
        return SubscribeContext(self, [checked], (buffer, overflow))

    def subscribe_many(
        self,
        specs: Iterable[ChannelSpec[Any] | Subscription],
        *,
        buffer: int | None = None,
        overflow: Overflow | str | None = None,
    ) -> SubscribeManyContext:
        """Like :meth:`subscribe` for many specs at once (sent in batched frames); the block's
        value is a tuple of channels in the order of ``specs``."""
        checked = [self._check_spec(spec) for spec in specs]
        return SubscribeManyContext(self, checked, (buffer, overflow))

    def subscribe_merged(
        self,
        specs: Iterable[ChannelSpec[Any] | Subscription],
        *,
        buffer: int | None = None,
        overflow: Overflow | str | None = None,
    ) -> MergedContext:
        """Subscribe to ``specs`` (channel specs or ``Subscription`` values, any mix) as one
        stream of :class:`StreamMessage` in arrival order, for an ``async with`` block.

        ``async with stream.subscribe_merged(specs) as messages``: ``messages`` is a
        ``trio.abc.ReceiveChannel`` of ``StreamMessage(channel, symbol, data, source,
        received_at, spec)``; entering waits for the exchange as :meth:`subscribe` does.
        ``buffer`` (default: the stream's ``buffer_size``) bounds it; when it is full,
        ``overflow="conflate"`` (default) drops snapshot messages (tickers, books, prices,
        running candles; superseded ones first) and never a lossless one (trades, account
        events, closed candles): with only those buffered, the block's channel ends with
        ConsumerTooSlow; ``overflow="error"`` ends it on any overflow.
        """
        checked = [self._check_spec(spec) for spec in check_merged_specs(specs)]
        return MergedContext(self, checked, buffer, overflow)

    def state_events(self, *, buffer: int = DEFAULT_STATE_BUFFER) -> StateEventsContext:
        """``async with stream.state_events() as changes``: every :class:`StateChange` from
        now on (stream-wide ones have ``connection=None``)."""
        return StateEventsContext(self, check_buffer_size(buffer))

    def statistics(self) -> StreamStatistics:
        """Counters of the stream, its connections and subscriptions."""
        now = trio.current_time()
        connections = [slot.statistics(now) for slot in self._pool.slots()]
        channels = [c for entry in self._table for c in entry.sinks]
        # Totals include what connections closed for being idle had counted.
        messages, malformed, reconnects = self._pool.retired_counts
        return StreamStatistics(
            state=self._state,
            connections=tuple(connections),
            subscriptions=len(channels),
            messages_received=messages + sum(c.messages_received for c in connections),
            malformed=malformed + sum(c.malformed for c in connections),
            reconnects=reconnects + sum(c.reconnects for c in connections),
            dropped=sum(c.statistics().dropped for c in channels),
        )

    async def reconnect(self) -> None:
        """Drop every open connection now and wait until each is back.

        The sockets are aborted without a close handshake, as when the network drops
        them; each connection then reconnects after its backoff delay, logs in again and
        replays its subscriptions, exactly as after a real loss (subscribers see state
        events only). Returns once every dropped connection is ready again; wrap the call
        in ``trio.move_on_after`` to bound the wait. Raises
        :class:`~bitunix_trio.StreamClosed` if the stream closes meanwhile.
        """
        async with self.state_events() as changes:
            before = {slot: slot.reconnects for slot in self._pool.slots()}
            dropped = [slot for slot in before if slot.drop("reconnect requested")]

            def back() -> bool:
                return all(
                    slot.finished.is_set() or (slot.reconnects > before[slot] and slot.proto.ready)
                    for slot in dropped
                )

            if back():
                return
            async for _ in changes:
                if back():
                    return
        raise StreamClosed("the stream closed while reconnecting")

    # -- seams for REST degradation and recovery --------------------------------------------

    def _deliver(self, key: Key, value: object) -> int:
        """Hand ``value`` (e.g. from REST, ``source`` set) to every channel of ``key``."""
        now = trio.current_time()
        entry = self._table.get(key)
        sinks = () if entry is None else entry.sinks
        for sink in sinks:
            sink.deliver(value, now)
        return len(sinks)

    def _wanted(self) -> dict[Key, ChannelSpec[Any]]:
        """Every subscribed key with its spec."""
        return self._table.wanted()

    def _set_degraded(self, reason: str | None) -> None:
        """Report (``reason``) or clear (None) degraded mode; shown while not all connected."""
        self._degraded = reason
        self._update_state(reason, None)

    def _notice(self, message: str, connection: str | None = None) -> None:
        """Publish a notice as a state event with ``old == new`` (e.g. "trades cannot be
        back-filled while degraded")."""
        logger.info("stream: %s", message)
        state = self._state
        self._publish(StateChange(state, state, message, connection, trio.current_time()))

    def _add_hooks(
        self,
        *,
        on_ready: Callable[[ConnectionSlot, bool], None] | None = None,
        on_down: Callable[[ConnectionSlot, BaseException], None] | None = None,
        on_retired: Callable[[ConnectionSlot], None] | None = None,
    ) -> None:
        """Call ``on_ready(slot, reconnected)`` after every (re)connect (and re-login),
        ``on_down(slot, error)`` when a connection is lost, and ``on_retired(slot)`` when a
        public connection left without subscriptions is closed for good; all synchronous."""
        if on_ready is not None:
            self._ready_hooks.append(on_ready)
        if on_down is not None:
            self._down_hooks.append(on_down)
        if on_retired is not None:
            self._retired_hooks.append(on_retired)

    def _spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` as a child of the supervisor (from its start, if called before);
        an exception from it is fatal."""

        async def guarded() -> None:
            try:
                await fn(*args)
            except Exception as exc:
                self._fail(exc)

        if self._supervisor is None:
            self._pending.append(guarded)
        else:
            self._supervisor.start_soon(guarded)

    async def reconcile(self) -> list[Any]:
        """Reconcile the account channels with REST now (pending and finished orders,
        positions, balances); the differences are delivered on the orders, positions and
        balance subscriptions marked ``DataSource.RECOVERED``, and returned.

        This also happens by itself after every (re)login and periodically (see
        ``reconcile_interval``). Needs credentials (ConfigurationError otherwise).
        """
        if self._fallback is None:
            raise ConfigurationError("reconciling the account needs API credentials")
        return list(await self._fallback.reconcile())

    # -- subscriptions -------------------------------------------------------------------

    def _check_spec(self, spec: object) -> ChannelSpec[Any]:
        if self._closed:
            raise StreamClosed("the stream is closed")
        resolved = resolve_spec(spec)
        if resolved.private and self._credentials is None:
            raise ConfigurationError(NO_CREDENTIALS)
        return resolved

    def _attach(
        self, spec: ChannelSpec[Any], buffer: int | None, overflow: Overflow | str | None
    ) -> SubscriptionChannel[Any]:
        if self._closed:
            raise StreamClosed("the stream is closed")
        if overflow is None:
            policy = Overflow.ERROR if spec.lossless else Overflow.CONFLATE
        else:
            try:
                policy = Overflow(overflow)
            except ValueError:
                raise ConfigurationError(
                    f"overflow must be 'conflate' or 'error', got {overflow!r}"
                ) from None
        if buffer is None:
            size = DEFAULT_CONFLATE_BUFFER if policy is Overflow.CONFLATE else self._buffer_size
        else:
            size = check_buffer_size(buffer)
        return self._route(spec, open_channel(self, spec, size, policy))

    def _route(
        self, spec: ChannelSpec[Any], channel: SubscriptionChannel[Any]
    ) -> SubscriptionChannel[Any]:
        """Put ``channel`` in the subscription table for ``spec`` (its connection subscribes
        to a new key)."""
        entry, first = self._table.add(spec, channel, open_shards=self._pool.open_shards())
        slot = self._pool.slot_for(entry)
        if first:
            slot.proto.subscribe(entry)
        slot.poke()
        return channel

    def _detach(self, channel: SubscriptionChannel[Any]) -> None:
        channel.close()
        entry, last = self._table.remove(channel.spec.key, channel)
        if entry is None or not last:
            return
        slot = self._pool.slot_of(entry)
        if slot is not None:
            slot.proto.unsubscribe(entry)
            self._pool.released(entry)
            slot.poke()

    async def _verdicts(self, channels: list[SubscriptionChannel[Any]]) -> None:
        for channel in channels:
            spec = channel.spec
            entry = self._table.get(spec.key)
            assert entry is not None
            slot = self._pool.slot_of(entry)
            assert slot is not None
            await slot.first_attempt.wait()
            await slot.wait_verdict(entry)
            if entry.verdict is False:
                message = printable(entry.refusal or "refused")
                raise SubscriptionRejected(f"Subscription failed: {message}", spec=spec)
            channel.entered = True
        await trio.lowlevel.checkpoint()

    # -- events from the slots -------------------------------------------------------------

    def _publish(self, change: StateChange) -> None:
        for listener in self._listeners:
            listener.deliver(change, change.time)

    def _slot_state(self, slot: ConnectionSlot, event: StateChanged) -> None:
        now = trio.current_time()
        why = event.reason
        if event.new is ConnectionState.CLOSED:
            why = self._pool.close_reason(slot) or why  # an idle shard, not the stream
        self._publish(StateChange(event.old, event.new, why, slot.name, now))
        reason = None if why is None else f"{slot.name}: {why}"
        self._update_state(reason, now)

    def _update_state(self, reason: str | None, now: float | None) -> None:
        new = self._aggregate()
        old = self._state
        if new is not old:
            self._state = new
            logger.info("stream: %s -> %s%s", old.name, new.name, f" ({reason})" if reason else "")
            time_now = trio.current_time() if now is None else now
            self._publish(StateChange(old, new, reason, None, time_now))

    def _aggregate(self) -> ConnectionState:
        if self._closed:
            return ConnectionState.CLOSED
        slots = self._pool.slots()
        # An extra shard opened for new subscriptions does not take the stream back to
        # CONNECTING while it makes its first connection (it counts once that fails).
        slots = [
            slot
            for slot in slots
            if slot.ever_ready
            or slot.proto.state is not ConnectionState.CONNECTING
            or not self._pool.is_extra_shard(slot)
        ]
        if slots and all(slot.proto.ready for slot in slots):
            if self._pool.private is not None:
                return ConnectionState.AUTHENTICATED
            return ConnectionState.CONNECTED
        if self._degraded is not None:
            return ConnectionState.DEGRADED
        if any(slot.proto.state is ConnectionState.RECONNECTING for slot in slots):
            return ConnectionState.RECONNECTING
        return ConnectionState.CONNECTING

    def _slot_ready(self, slot: ConnectionSlot, reconnect: bool) -> None:
        for hook in self._ready_hooks:
            hook(slot, reconnect)

    def _slot_down(self, slot: ConnectionSlot, error: BaseException) -> None:
        for hook in self._down_hooks:
            hook(slot, error)

    def _slot_retired(self, slot: ConnectionSlot) -> None:
        for hook in self._retired_hooks:
            hook(slot)

    def _slot_refused(self, slot: ConnectionSlot, keys: Iterable[Key], message: str) -> None:
        for key in keys:
            for channel in self._sinks(key):
                if channel.entered:
                    cause = SubscriptionRejected(
                        f"Subscription failed: {message}", spec=channel.spec
                    )
                    lost = SubscriptionLost(f"Subscription failed: {message}", channel.spec)
                    lost.__cause__ = cause
                    channel.fail(lost)

    def _sinks(self, key: Key) -> list[SubscriptionChannel[Any]]:
        entry = self._table.get(key)
        return [] if entry is None else list(entry.sinks)

    def _slot_stale(self, slot: ConnectionSlot, key: Key, reason: str) -> None:
        for channel in self._sinks(key):
            channel.fail(SubscriptionStale(reason, channel.spec))

    def _fail(self, exc: BaseException) -> None:
        """A fatal error: record it (the first one wins) and stop the whole stream."""
        if self._fatal is None:
            error = wrap_unexpected(exc)
            self._fatal = error
            logger.error("stream failed: %s", error)
            # The body is cancelled: waiting consumers see Cancelled (and the block raises
            # the error); a later receive() under a shield sees SubscriptionLost.
            for entry in self._table:
                for channel in entry.sinks:
                    lost = SubscriptionLost(f"stream failed: {error}", channel.spec)
                    lost.__cause__ = error
                    channel.fail(lost, wake=False)
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    # -- lifetime ----------------------------------------------------------------------------

    async def _supervise(self, *, task_status: trio.TaskStatus[None]) -> None:
        try:
            async with trio.open_nursery() as supervisor:
                self._supervisor = supervisor
                for task in self._pending:
                    supervisor.start_soon(task)
                self._pending.clear()
                await self._pool.start(supervisor)
                task_status.started()
        except BaseExceptionGroup as group:
            reraise(first_failure(group))

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._update_state("stream closed", None)
            for listener in self._listeners:
                listener.finish()
