"""The stream's supervisor: what a running stream is, behind its public handle.

:class:`StreamSupervisor` is built complete by ``open_bitunix_stream`` (connections, the
subscription table, the REST fallback, the account snapshots) and runs for the block's
lifetime (:meth:`StreamSupervisor.running`). Everything that happens to the stream goes
through it: the handle (``BitunixStream``) and the subscription contexts attach and detach
channels, the connections report their events (``ConnectionEvents``), the fallback and
the feeds deliver values, publish notices and run tasks (the small protocols
``FallbackStream``, ``TaskHost``, ``CandleHost``). None of them holds the handle.

The state of the stream aggregates its connections': CONNECTED (or AUTHENTICATED with
credentials) when all are ready, else DEGRADED while REST feeds the subscriptions, else
RECONNECTING or CONNECTING; CLOSED once the block is left.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from bitunix_trio._core.channels import AccountSpec, ChannelSpec, Fills, Kline, resolve_spec
from bitunix_trio._core.config import HeartbeatConfig, ReconnectPolicy, check_buffer_size
from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import ConfigurationError, SubscriptionRejected
from bitunix_trio._core.events import ConnectionState, StateChange, StateChanged
from bitunix_trio._core.frames import Key
from bitunix_trio._core.ledger import AccountLedger
from bitunix_trio._core.log import logger
from bitunix_trio._core.subscriptions import SubscriptionTable
from bitunix_trio._core.text import printable
from bitunix_trio._fallback.fallback import FallbackOptions, StreamFallback

from .account import AccountSnapshots
from .candles import CandleChannel, CandleFeed
from .channel import Overflow, SubscriptionChannel, SubscriptionStale
from .connection import ConnectionSlot, ConnectionStatistics
from .connector import Connector
from .errors import (
    StreamClosed,
    SubscriptionLost,
    collapse,
    first_failure,
    reraise,
    wrap_unexpected,
)
from .fills import FillFeed
from .pool import ConnectionPool

if TYPE_CHECKING:
    from bitunix_trio._rest.client import BitunixRestClient

__all__ = ["StreamStatistics", "StreamSupervisor"]

NO_CREDENTIALS = "Cannot connect to private channels without API credentials"
#: Default buffer of a conflating subscription: only the latest value is kept.
DEFAULT_CONFLATE_BUFFER = 1
_BOOK_CHANNELS = frozenset({"depth_book1", "depth_book5", "depth_book15", "depth_books"})


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


def _caused_by(error: BaseException | None, cause: BaseException) -> bool:
    return isinstance(error, SubscriptionLost) and error.__cause__ is cause


class StreamSupervisor:
    """A running stream (see the module); ``open_bitunix_stream`` builds it."""

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
        rest: BitunixRestClient,
        ledger: AccountLedger,
        fallback: FallbackOptions,
    ) -> None:
        self.credentials = credentials
        self.buffer_size = buffer_size
        self.wall_clock = wall_clock
        self._rest: BitunixRestClient | None = rest
        #: Every subscribed key: its spec, channels, connection, status and verdict.
        self.table = SubscriptionTable()
        self.pool = ConnectionPool(
            self,
            self.table,
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
        self.state = ConnectionState.CONNECTING
        self.closed = False
        #: The error that stopped the stream, if one did.
        self.fatal: BaseException | None = None
        self._listeners: list[SubscriptionChannel[StateChange]] = []
        self._degraded: str | None = None
        self._scope: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None
        self._pending: list[Callable[[], Any]] = []
        self._ready_hooks: list[Callable[[ConnectionSlot, bool], None]] = []
        self._down_hooks: list[Callable[[ConnectionSlot, BaseException], None]] = []
        self._retired_hooks: list[Callable[[ConnectionSlot], None]] = []
        #: REST behind the WebSocket: polling while down, account reconciliation.
        self.fallback = StreamFallback(
            self, rest, ledger, fallback, private=credentials is not None, clock=wall_clock
        )
        self.spawn(self.fallback.run)
        #: Snapshots of the account subscriptions (with credentials).
        self.snapshots: AccountSnapshots | None = None
        if credentials is not None:
            self.snapshots = AccountSnapshots(self, ledger, self.fallback.reconcile)
        #: Closed candles of the kline subscriptions.
        self.candles = CandleFeed(self)
        #: Fills of the Fills() subscriptions (made on the first one).
        self.fills: FillFeed | None = None

    def __repr__(self) -> str:
        return f"<StreamSupervisor {self.state.name} {len(self.table)} keys>"

    @property
    def rest(self) -> BitunixRestClient:
        """The REST client opened with the stream."""
        if self._rest is None:
            raise StreamClosed("the REST client is not available")
        return self._rest

    # -- subscriptions -------------------------------------------------------------------

    def check_spec(self, spec: object) -> ChannelSpec[Any]:
        """``spec`` as a channel spec this stream can serve (or the error why not)."""
        if self.closed:
            raise StreamClosed("the stream is closed")
        resolved = resolve_spec(spec)
        if resolved.private and self.credentials is None:
            raise ConfigurationError(NO_CREDENTIALS)
        return resolved

    def attach(
        self, spec: ChannelSpec[Any], buffer: int | None, overflow: Overflow | str | None
    ) -> SubscriptionChannel[Any]:
        """A new channel of ``spec`` in the table (its connection subscribes if needed)."""
        if self.closed:
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
            size = DEFAULT_CONFLATE_BUFFER if policy is Overflow.CONFLATE else self.buffer_size
        else:
            size = check_buffer_size(buffer)
        return self.route(spec, self._open_channel(spec, size, policy))

    def _open_channel(
        self, spec: ChannelSpec[Any], buffer: int, overflow: Overflow
    ) -> SubscriptionChannel[Any]:
        if isinstance(spec, Fills):
            if self.fills is None:
                reconciler = self.fallback.reconciler
                assert reconciler is not None
                self.fills = FillFeed(self, self.fallback.ledger, reconciler.clock)
            return self.fills.open_channel(spec, buffer, overflow)
        if isinstance(spec, AccountSpec):
            assert self.snapshots is not None
            return self.snapshots.open_channel(spec, buffer, overflow)
        if isinstance(spec, Kline):
            return CandleChannel(
                self.candles, spec, buffer=buffer, overflow=overflow, closed_limit=self.buffer_size
            )
        return SubscriptionChannel(spec, buffer=buffer, overflow=overflow)

    def route(
        self, spec: ChannelSpec[Any], channel: SubscriptionChannel[Any]
    ) -> SubscriptionChannel[Any]:
        """Put ``channel`` in the subscription table for ``spec`` (its connection subscribes
        to a new key)."""
        entry, first = self.table.add(spec, channel, open_shards=self.pool.open_shards())
        slot = self.pool.slot_for(entry)
        if first:
            slot.proto.subscribe(entry)
        slot.poke()
        return channel

    def detach(self, channel: SubscriptionChannel[Any]) -> None:
        """Close ``channel`` and take it out of the table (the last one unsubscribes)."""
        channel.close()
        entry, last = self.table.remove(channel.spec.key, channel)
        if entry is None or not last:
            return
        slot = self.pool.slot_of(entry)
        if slot is not None:
            slot.proto.unsubscribe(entry)
            self.pool.released(entry)
            slot.poke()

    async def verdicts(self, channels: Sequence[SubscriptionChannel[Any]]) -> None:
        """Wait for the exchange's verdict on each channel's key (SubscriptionRejected if
        it refused one); while reconnecting, return at once."""
        for channel in channels:
            spec = channel.spec
            entry = self.table.get(spec.key)
            assert entry is not None
            slot = self.pool.slot_of(entry)
            assert slot is not None
            await slot.first_attempt.wait()
            await slot.wait_verdict(entry)
            if entry.verdict is False:
                message = printable(entry.refusal or "refused")
                raise SubscriptionRejected(f"Subscription failed: {message}", spec=spec)
            channel.entered = True
        await trio.lowlevel.checkpoint()

    def add_listener(self, channel: SubscriptionChannel[StateChange]) -> None:
        """``channel`` receives every state change from now on."""
        if self.closed:
            raise StreamClosed("the stream is closed")
        self._listeners.append(channel)

    def remove_listener(self, channel: SubscriptionChannel[StateChange]) -> None:
        """``channel`` no longer receives state changes."""
        if channel in self._listeners:
            self._listeners.remove(channel)

    # -- services to the fallback and the feeds -------------------------------------------

    def deliver(self, key: Key, value: object) -> int:
        """Hand ``value`` (e.g. from REST, ``source`` set) to every channel of ``key``."""
        now = trio.current_time()
        entry = self.table.get(key)
        sinks = () if entry is None else entry.sinks
        for sink in sinks:
            sink.deliver(value, now)
        return len(sinks)

    def wanted(self) -> dict[Key, ChannelSpec[Any]]:
        """Every subscribed key with its spec."""
        return self.table.wanted()

    def is_live(self, key: Key) -> bool:
        """Whether the public connection of ``key`` is up and serving it."""
        slot = self.pool.public_slot_of(key)
        return slot is not None and slot.proto.ready

    def on_connection(self, slot: ConnectionSlot, key: Key) -> bool:
        """Whether the public ``key`` is carried by ``slot``."""
        return self.pool.public_slot_of(key) is slot

    def set_degraded(self, reason: str | None) -> None:
        """Report (``reason``) or clear (None) degraded mode; shown while not all connected."""
        self._degraded = reason
        self.update_state(reason)

    def clear_degraded(self, why: str | None) -> None:
        """Leave degraded mode (if in it), saying ``why``."""
        if self._degraded is not None:
            self._degraded = None
            self.update_state(why)

    def notice(self, message: str, connection: str | None = None) -> None:
        """Publish a notice as a state event with ``old == new`` (e.g. "trades cannot be
        back-filled while degraded")."""
        logger.info("stream: %s", message)
        state = self.state
        self._publish(StateChange(state, state, message, connection, trio.current_time()))

    def add_hooks(
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

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` as a child of the supervisor (from its start, if called before);
        an exception from it is fatal."""

        async def guarded() -> None:
            try:
                await fn(*args)
            except Exception as exc:
                self.connection_failed(exc)

        if self._nursery is None:
            self._pending.append(guarded)
        else:
            self._nursery.start_soon(guarded)

    # -- the connections' events (ConnectionEvents) ------------------------------------------

    def connection_state(self, slot: ConnectionSlot, event: StateChanged) -> None:
        """``slot`` changed state."""
        now = trio.current_time()
        why = event.reason
        if event.new is ConnectionState.CLOSED:
            why = self.pool.close_reason(slot) or why  # an idle shard, not the stream
        self._publish(StateChange(event.old, event.new, why, slot.name, now))
        reason = None if why is None else f"{slot.name}: {why}"
        self.update_state(reason, now)

    def connection_ready(self, slot: ConnectionSlot, reconnect: bool) -> None:
        """``slot`` is connected (and logged in); ``reconnect`` after a loss."""
        if reconnect and slot.shard is not None:
            # Books buffered before this socket are older than its first snapshot.
            for entry in self.table.on_shard(slot.shard):
                if entry.key[0] in _BOOK_CHANNELS:
                    for channel in entry.sinks:
                        channel.discard_buffered()
        for hook in self._ready_hooks:
            hook(slot, reconnect)

    def connection_down(self, slot: ConnectionSlot, error: BaseException) -> None:
        """``slot`` lost its socket (it reconnects)."""
        for hook in self._down_hooks:
            hook(slot, error)

    def connection_retired(self, slot: ConnectionSlot) -> None:
        """The idle shard ``slot`` is closed for good."""
        for hook in self._retired_hooks:
            hook(slot)

    def subscriptions_refused(
        self, slot: ConnectionSlot, keys: Iterable[Key], message: str
    ) -> None:
        """The exchange refused ``keys`` on ``slot``: their entered channels end."""
        for key in keys:
            for channel in self._sinks(key):
                if channel.entered:
                    cause = SubscriptionRejected(
                        f"Subscription failed: {message}", spec=channel.spec
                    )
                    lost = SubscriptionLost(f"Subscription failed: {message}", channel.spec)
                    lost.__cause__ = cause
                    channel.fail(lost)

    def subscription_stale(self, slot: ConnectionSlot, key: Key, reason: str) -> None:
        """``key`` went silent on a live ``slot``: its channels end."""
        for channel in self._sinks(key):
            channel.fail(SubscriptionStale(reason, channel.spec))

    def admit_private(self, items: Sequence[Any], now: float) -> Sequence[Any]:
        """The private pushed values consumers have not seen yet."""
        return self.fallback.admit_private(items, now)

    def connection_failed(self, exc: BaseException) -> None:
        """A fatal error: record it (the first one wins) and stop the whole stream."""
        if self.fatal is None:
            error = wrap_unexpected(exc)
            self.fatal = error
            logger.error("stream failed: %s", error)
            # The body is cancelled: waiting consumers see Cancelled (and the block raises
            # the error); a later receive() under a shield sees SubscriptionLost.
            for entry in self.table:
                for channel in entry.sinks:
                    lost = SubscriptionLost(f"stream failed: {error}", channel.spec)
                    lost.__cause__ = error
                    channel.fail(lost, wake=False)
        if self._scope is not None:
            self._scope.cancel()

    def _sinks(self, key: Key) -> list[SubscriptionChannel[Any]]:
        entry = self.table.get(key)
        return [] if entry is None else list(entry.sinks)

    # -- state -----------------------------------------------------------------------------

    def _publish(self, change: StateChange) -> None:
        for listener in self._listeners:
            listener.deliver(change, change.time)

    def update_state(self, reason: str | None, now: float | None = None) -> None:
        """Publish the stream's state if it changed (``reason`` says why)."""
        new = self._aggregate()
        old = self.state
        if new is not old:
            self.state = new
            logger.info("stream: %s -> %s%s", old.name, new.name, f" ({reason})" if reason else "")
            time_now = trio.current_time() if now is None else now
            self._publish(StateChange(old, new, reason, None, time_now))

    def _aggregate(self) -> ConnectionState:
        if self.closed:
            return ConnectionState.CLOSED
        slots = self.pool.slots()
        # An extra shard opened for new subscriptions does not take the stream back to
        # CONNECTING while it makes its first connection (it counts once that fails).
        slots = [
            slot
            for slot in slots
            if slot.ever_ready
            or slot.proto.state is not ConnectionState.CONNECTING
            or not self.pool.is_extra_shard(slot)
        ]
        if slots and all(slot.proto.ready for slot in slots):
            if self.pool.private is not None:
                return ConnectionState.AUTHENTICATED
            return ConnectionState.CONNECTED
        if self._degraded is not None:
            return ConnectionState.DEGRADED
        if any(slot.proto.state is ConnectionState.RECONNECTING for slot in slots):
            return ConnectionState.RECONNECTING
        return ConnectionState.CONNECTING

    def statistics(self) -> StreamStatistics:
        """Counters of the stream, its connections and subscriptions."""
        now = trio.current_time()
        connections = [slot.statistics(now) for slot in self.pool.slots()]
        channels = [c for entry in self.table for c in entry.sinks]
        # Totals include what connections closed for being idle had counted.
        messages, malformed, reconnects = self.pool.retired_counts
        return StreamStatistics(
            state=self.state,
            connections=tuple(connections),
            subscriptions=len(channels),
            messages_received=messages + sum(c.messages_received for c in connections),
            malformed=malformed + sum(c.malformed for c in connections),
            reconnects=reconnects + sum(c.reconnects for c in connections),
            dropped=sum(c.statistics().dropped for c in channels),
        )

    # -- lifetime ----------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the stream for the block: entering waits for the first connections (and
        login); leaving closes every socket cleanly, then cancels what is left.

        Exactly one exception leaves: a failure while entering as itself, the body's own
        unchanged, ``KeyboardInterrupt`` as itself, a fatal error of the stream (which
        cancels the body) as itself; a group that should never happen becomes
        ``BitunixInternalError``.
        """
        user_error: BaseException | None = None
        try:
            async with trio.open_nursery() as nursery:
                self._scope = nursery.cancel_scope
                await nursery.start(self._supervise)
                try:
                    yield
                except BaseException as exc:
                    user_error = exc
                    raise
                finally:
                    graceful = self.fatal is None and trio.current_effective_deadline() > -float(
                        "inf"
                    )
                    self.close()
                    if graceful:
                        await self.pool.shutdown()
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            fatal = self.fatal
            if fatal is not None and _caused_by(user_error, fatal):
                reraise(fatal)  # the body only saw a consequence of the stream's failure
            collapse(group, user_error)
        finally:
            self.close()
            self._rest = None
        if self.fatal is not None:
            raise self.fatal

    async def _supervise(self, *, task_status: trio.TaskStatus[None]) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for task in self._pending:
                    nursery.start_soon(task)
                self._pending.clear()
                await self.pool.start(nursery)
                task_status.started()
        except BaseExceptionGroup as group:
            reraise(first_failure(group))

    def close(self) -> None:
        """The stream is closed: CLOSED is published and state listeners end."""
        if not self.closed:
            self.closed = True
            self.update_state("stream closed")
            for listener in self._listeners:
                listener.finish()
