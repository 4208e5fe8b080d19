"""``open_bitunix_stream``: the streaming client, and its ``BitunixStream`` handle.

::

    async with open_bitunix_stream(credentials) as stream:
        async with stream.subscribe(OrderBook("BTCUSDT", depth=15)) as books:
            async for book in books:
                ...

Task tree (everything lives inside the ``async with`` block)::

    open_bitunix_stream: nursery, lifetime = the block
     ├─ the block's body
     └─ supervisor (nursery.start: entering waits for the first connect and login)
         ├─ public#0, public#1, ...  (300 subscriptions each; see _supervisor)
         ├─ private                  (when credentials are given)
         └─ fallback                 (REST polling while degraded, account recovery;
                                      see _resilience)

Seams for the fallback (library-internal): ``_deliver(key, value)`` hands a value to every
channel of a key; ``_wanted()`` lists the subscribed specs; ``_set_degraded(reason)`` and
``_notice(message)`` publish state; ``_add_hooks(on_ready=, on_down=)`` run after every
(re)connect and re-login and on every loss; ``_admit_private`` filters private values before
delivery; ``_spawn(fn)`` runs a task under the supervisor.

Error rules: exactly one exception leaves the block. A failure while entering (cannot
connect, wrong credentials) is raised as itself; the body's own exception leaves unchanged;
``KeyboardInterrupt`` stays ``KeyboardInterrupt``; an outer cancel scope cancels cleanly; a
fatal error while running (credentials revoked, reconnects exhausted) cancels the body and
leaves as itself; a group that should never happen becomes ``BitunixInternalError``.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

import trio

from ._channel_errors import StreamClosed, SubscriptionLost
from ._channels import ChannelSpec, Subscription, resolve_spec
from ._config import (
    DEFAULT_BUFFER_SIZE,
    DEFAULT_HEARTBEAT,
    DEFAULT_RECONNECT_POLICY,
    HeartbeatConfig,
    ReconnectPolicy,
    check_buffer_size,
)
from ._connector import DEFAULT_CLOSE_TIMEOUT, Connector, check_ws_url, default_connector
from ._credentials import Credentials
from ._events import ConnectionState, Key, StateChanged
from ._exceptions import (
    AuthenticationError,
    ConfigurationError,
    SubscriptionRejected,
)
from ._poller import DEFAULT_POLL_INTERVAL
from ._protocol import ConnectionProtocol
from ._reconciler import DEFAULT_QUIET_AFTER, DEFAULT_RECONCILE_INTERVAL
from ._sharding import ShardPlanner
from ._signing import new_nonce, ws_login_args
from ._subscription import (
    Overflow,
    StateEventsContext,
    SubscribeContext,
    SubscribeManyContext,
    SubscriptionChannel,
    SubscriptionStale,
)
from ._supervisor import (
    ConnectionSlot,
    ConnectionStatistics,
    collapse,
    first_failure,
    logger,
    reraise,
    wrap_unexpected,
)

if TYPE_CHECKING:
    from ._resilience import StreamFallback
    from ._rest import BitunixRestClient

__all__ = [
    "BitunixStream",
    "ConnectionStatistics",
    "StateChange",
    "StreamStatistics",
    "open_bitunix_stream",
]

T = TypeVar("T")
NO_CREDENTIALS = "Cannot connect to private channels without API credentials"
#: Default buffer of a conflating subscription: only the latest value is kept.
DEFAULT_CONFLATE_BUFFER = 1
#: Seconds a public connection stays down before REST polling feeds its subscriptions.
DEFAULT_FALLBACK_GRACE = 5.0
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
        self._public_url = public_url
        self._private_url = private_url
        self._connector = connector
        self._policy = reconnect
        self._heartbeat = heartbeat
        self._buffer_size = buffer_size
        self._rng = rng
        self._wall_clock = wall_clock
        self._close_timeout = close_timeout
        #: Routing table read by every reader: key -> channels of that key.
        self._routes: dict[Key, list[SubscriptionChannel[Any]]] = {}
        self._planner = ShardPlanner()
        self._public: list[ConnectionSlot] = []
        self._private: ConnectionSlot | None = None
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

    def __repr__(self) -> str:
        return f"<BitunixStream {self._state.name} {len(self._routes)} keys>"

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
        """
        return SubscribeContext(self, [self._check_spec(spec)], (buffer, overflow))

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

    def state_events(self, *, buffer: int = DEFAULT_STATE_BUFFER) -> StateEventsContext:
        """``async with stream.state_events() as changes``: every :class:`StateChange` from
        now on (stream-wide ones have ``connection=None``)."""
        return StateEventsContext(self, check_buffer_size(buffer))

    def statistics(self) -> StreamStatistics:
        """Counters of the stream, its connections and subscriptions."""
        now = trio.current_time()
        connections = [slot.statistics(now) for slot in self._slots()]
        channels = [c for sinks in self._routes.values() for c in sinks]
        return StreamStatistics(
            state=self._state,
            connections=tuple(connections),
            subscriptions=len(channels),
            messages_received=sum(c.messages_received for c in connections),
            malformed=sum(c.malformed for c in connections),
            reconnects=sum(c.reconnects for c in connections),
            dropped=sum(c.statistics().dropped for c in channels),
        )

    # -- seams for REST degradation and recovery --------------------------------------------

    def _deliver(self, key: Key, value: object) -> int:
        """Hand ``value`` (e.g. from REST, ``source`` set) to every channel of ``key``."""
        now = trio.current_time()
        sinks = self._routes.get(key, ())
        for sink in sinks:
            sink.deliver(value, now)
        return len(sinks)

    def _wanted(self) -> dict[Key, ChannelSpec[Any]]:
        """Every subscribed key with its spec."""
        return {key: sinks[0].spec for key, sinks in self._routes.items() if sinks}

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
    ) -> None:
        """Call ``on_ready(slot, reconnected)`` after every (re)connect (and re-login), and
        ``on_down(slot, error)`` when a connection is lost; both synchronous."""
        if on_ready is not None:
            self._ready_hooks.append(on_ready)
        if on_down is not None:
            self._down_hooks.append(on_down)

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
            policy = Overflow.CONFLATE if spec.conflate else Overflow.ERROR
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
        channel: SubscriptionChannel[Any] = SubscriptionChannel(spec, buffer=size, overflow=policy)
        key = spec.key
        slot = self._slot_for(key, spec.private)
        self._routes.setdefault(key, []).append(channel)
        if slot.proto.subscribe(key, periodic=spec.conflate) and slot.proto.ready:
            slot.verdicts.setdefault(key, trio.Event())
        slot.refusals.pop(key, None)
        slot.poke()
        return channel

    def _detach(self, channel: SubscriptionChannel[Any]) -> None:
        channel.close()
        spec = channel.spec
        key = spec.key
        sinks = self._routes.get(key)
        if sinks is None or channel not in sinks:
            return
        sinks.remove(channel)
        if not sinks:
            del self._routes[key]
        slot = self._private if spec.private else self._public_slot_of(key)
        if slot is not None and slot.proto.unsubscribe(key):
            if not spec.private:
                self._planner.release(key)
            slot.poke()

    async def _verdicts(self, channels: list[SubscriptionChannel[Any]]) -> None:
        for channel in channels:
            spec = channel.spec
            key = spec.key
            slot = self._private if spec.private else self._public_slot_of(key)
            assert slot is not None
            await slot.first_attempt.wait()
            if slot.proto.ready and slot.proto.accepted(key) is None:
                await slot.verdicts.setdefault(key, trio.Event()).wait()
            if slot.proto.accepted(key) is False:
                message = slot.refusals.get(key, "refused")
                raise SubscriptionRejected(f"Subscription failed: {message}", spec=spec)
            channel.entered = True
        await trio.lowlevel.checkpoint()

    def _slot_for(self, key: Key, private: bool) -> ConnectionSlot:
        if private:
            assert self._private is not None
            return self._private
        index = self._planner.assign(key)
        if index == len(self._public):
            slot = self._new_public_slot(index)
            assert self._supervisor is not None
            self._supervisor.start_soon(slot.run)
        return self._public[index]

    def _public_slot_of(self, key: Key) -> ConnectionSlot | None:
        index = self._planner.shard_of(key)
        return None if index is None else self._public[index]

    def _slots(self) -> list[ConnectionSlot]:
        return [*self._public, *([self._private] if self._private else [])]

    def _new_slot(self, name: str, url: str, login: Any) -> ConnectionSlot:
        protocol = ConnectionProtocol(
            heartbeat=self._heartbeat, login=login, wall_clock=self._wall_clock
        )
        return ConnectionSlot(
            self,
            name=name,
            url=url,
            protocol=protocol,
            connector=self._connector,
            policy=self._policy,
            rng=self._rng,
            close_timeout=self._close_timeout,
        )

    def _new_public_slot(self, index: int) -> ConnectionSlot:
        slot = self._new_slot(f"public#{index}", self._public_url, None)
        self._public.append(slot)
        return slot

    def _login_args(self) -> Mapping[str, object]:
        assert self._credentials is not None
        timestamp = int(self._wall_clock())
        return ws_login_args(self._credentials, nonce=new_nonce(), timestamp=timestamp)

    # -- events from the slots -------------------------------------------------------------

    def _publish(self, change: StateChange) -> None:
        for listener in self._listeners:
            listener.deliver(change, change.time)

    def _slot_state(self, slot: ConnectionSlot, event: StateChanged) -> None:
        now = trio.current_time()
        self._publish(StateChange(event.old, event.new, event.reason, slot.name, now))
        reason = None if event.reason is None else f"{slot.name}: {event.reason}"
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
        slots = self._slots()
        if slots and all(slot.proto.ready for slot in slots):
            if self._private is not None:
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

    def _slot_refused(self, slot: ConnectionSlot, keys: Iterable[Key], message: str) -> None:
        for key in keys:
            for channel in self._routes.get(key, ()):
                if channel.entered:
                    cause = SubscriptionRejected(
                        f"Subscription failed: {message}", spec=channel.spec
                    )
                    lost = SubscriptionLost(f"Subscription failed: {message}", channel.spec)
                    lost.__cause__ = cause
                    channel.fail(lost)

    def _slot_stale(self, slot: ConnectionSlot, key: Key, reason: str) -> None:
        for channel in self._routes.get(key, ()):
            channel.fail(SubscriptionStale(reason, channel.spec))

    def _fail(self, exc: BaseException) -> None:
        """A fatal error: record it (the first one wins) and stop the whole stream."""
        if self._fatal is None:
            error = wrap_unexpected(exc)
            self._fatal = error
            logger.error("stream failed: %s", error)
            # The body is cancelled: waiting consumers see Cancelled (and the block raises
            # the error); a later receive() under a shield sees SubscriptionLost.
            for sinks in self._routes.values():
                for channel in sinks:
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
                await self._start_initial(supervisor)
                task_status.started()
        except BaseExceptionGroup as group:
            reraise(first_failure(group))

    async def _start_initial(self, supervisor: trio.Nursery) -> None:
        slots = [self._new_public_slot(0)]
        if self._credentials is not None:
            self._private = self._new_slot("private", self._private_url, self._login_args)
            slots.append(self._private)
        failures: dict[int, Exception] = {}

        async def start(index: int, slot: ConnectionSlot) -> None:
            try:
                await supervisor.start(_run_initial, slot)
            except Exception as exc:
                failures[index] = exc

        async with trio.open_nursery() as starter:
            for index, slot in enumerate(slots):
                starter.start_soon(start, index, slot)
        if failures:
            auth = [e for e in failures.values() if isinstance(e, AuthenticationError)]
            raise auth[0] if auth else failures[min(failures)]

    async def _shutdown(self) -> None:
        """Close every connection cleanly (bounded by the close timeout)."""
        slots = self._slots()
        for slot in slots:
            slot.shutdown()
        with trio.move_on_after(self._close_timeout + 0.5):
            for slot in slots:
                await slot.finished.wait()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._update_state("stream closed", None)
            for listener in self._listeners:
                listener.finish()


async def _run_initial(slot: ConnectionSlot, *, task_status: trio.TaskStatus[None]) -> None:
    await slot.run(initial=True, task_status=task_status)


def _caused_by(error: BaseException | None, cause: BaseException) -> bool:
    return isinstance(error, SubscriptionLost) and error.__cause__ is cause


def _check_seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


@asynccontextmanager
async def open_bitunix_stream(
    credentials: Credentials | None = None,
    public_url: str = "wss://fapi.bitunix.com/public/",
    private_url: str = "wss://fapi.bitunix.com/private/",
    rest_url: str = "https://fapi.bitunix.com",
    *,
    connector: Connector | None = None,
    reconnect: ReconnectPolicy = DEFAULT_RECONNECT_POLICY,
    heartbeat: HeartbeatConfig = DEFAULT_HEARTBEAT,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    rng: random.Random | None = None,
    rest_transport: Any = None,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
    wall_clock: Callable[[], float] = time.time,
    fallback_grace: float | None = DEFAULT_FALLBACK_GRACE,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    reconcile_interval: float | None = DEFAULT_RECONCILE_INTERVAL,
    reconcile_quiet_after: float | None = DEFAULT_QUIET_AFTER,
) -> AsyncIterator[BitunixStream]:
    """Open a stream to the BitUnix futures exchange for the duration of the block.

    Entering connects the public socket (and, with ``credentials``, the private one and
    logs in); a failure there is raised from the ``async with`` (:class:`ConnectError`,
    :class:`ConnectTimeout`, :class:`AuthenticationError`). Then the stream reconnects by
    itself, with backoff, and replays every subscription; consumers see it only as state
    events.

    Arguments:
        credentials: :class:`Credentials`, needed for the private channels (orders,
            positions, balance, tpsl) and private REST calls.
        public_url, private_url, rest_url: the exchange's endpoints.
        connector: how to open a WebSocket (default: trio-websocket over TCP/TLS; the
            simulated exchange offers ``exchange.connector``).
        reconnect: :class:`ReconnectPolicy` (backoff, connect timeout, giving up).
        heartbeat: :class:`HeartbeatConfig` (ping interval, reply timeout, stale threshold).
        buffer_size: default buffer of lossless subscriptions (trades, account data).
        rng: the random source of backoff jitter (seed it for reproducible schedules).
        rest_transport: an ``httpx`` transport for ``stream.rest`` (tests, the simulator).
        close_timeout: seconds a clean close of a socket may take.
        wall_clock: Unix time, for ping values and login timestamps.
        fallback_grace: once a public connection has been down this many seconds, its
            market subscriptions are fed from REST (``DataSource.REST``) every
            ``poll_interval`` seconds until it is back, and the stream is ``DEGRADED``;
            None: never.
        reconcile_interval, reconcile_quiet_after: with credentials, the account channels
            are reconciled with REST after every (re)login, every ``reconcile_interval``
            seconds and after ``reconcile_quiet_after`` quiet seconds with orders open
            (None: not that one). Recovered values carry ``DataSource.RECOVERED``; each
            change reaches consumers once.
    """
    if credentials is not None and not isinstance(credentials, Credentials):
        raise ConfigurationError(
            f"credentials must be a Credentials or None, got {type(credentials).__name__}"
        )
    check_ws_url(public_url, "public_url")
    check_ws_url(private_url, "private_url")
    if not isinstance(reconnect, ReconnectPolicy):
        raise ConfigurationError("reconnect must be a ReconnectPolicy")
    if not isinstance(heartbeat, HeartbeatConfig):
        raise ConfigurationError("heartbeat must be a HeartbeatConfig")
    buffer_size = check_buffer_size(buffer_size, name="buffer_size")
    close_timeout = _check_seconds(close_timeout, "close_timeout")
    from ._resilience import StreamFallback, check_fallback_options

    grace, poll, every, quiet = check_fallback_options(
        fallback_grace, poll_interval, reconcile_interval, reconcile_quiet_after
    )
    stream = BitunixStream(
        credentials=credentials,
        public_url=public_url,
        private_url=private_url,
        connector=default_connector if connector is None else connector,
        reconnect=reconnect,
        heartbeat=heartbeat,
        buffer_size=buffer_size,
        rng=random.Random() if rng is None else rng,
        wall_clock=wall_clock,
        close_timeout=close_timeout,
    )
    from ._rest import open_rest_client

    user_error: BaseException | None = None
    async with open_rest_client(credentials, rest_url, transport=rest_transport) as rest:
        stream._rest = rest
        fallback = StreamFallback(
            stream,
            grace=grace,
            poll_interval=poll,
            reconcile_interval=every,
            reconcile_quiet_after=quiet,
            private=credentials is not None,
            clock=wall_clock,
        )
        stream._fallback = fallback
        if credentials is not None:
            stream._admit_private = fallback.admit_private
        stream._spawn(fallback.run)
        try:
            async with trio.open_nursery() as nursery:
                stream._nursery = nursery
                await nursery.start(stream._supervise)
                try:
                    yield stream
                except BaseException as exc:
                    user_error = exc
                    raise
                finally:
                    graceful = stream._fatal is None and trio.current_effective_deadline() > -float(
                        "inf"
                    )
                    stream._close()
                    if graceful:
                        await stream._shutdown()
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            fatal = stream._fatal
            if fatal is not None and _caused_by(user_error, fatal):
                reraise(fatal)  # the body only saw a consequence of the stream's failure
            collapse(group, user_error)
        finally:
            stream._close()
            stream._rest = None
    if stream._fatal is not None:
        raise stream._fatal
