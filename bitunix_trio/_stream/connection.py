"""One connection slot of the stream: connect, serve, detect death, reconnect.

A :class:`ConnectionSlot` owns a :class:`~bitunix_trio._core.protocol.ConnectionProtocol`
for its whole life and (re)opens sockets for it: each attempt runs a reader (receive,
decode, hand the push to the protocol, which says who receives it, deliver without
blocking), a
writer (``pop_frames`` within the 5 msg/s budget, send) and a timer (``tick`` at
``timer_deadline()``: ping overdue, silent socket, stale subscriptions); the task tree is
drawn in the README's "How it works".

The three tasks never raise out of the nursery: the first failure is recorded and the tasks
nursery cancelled, so the attempt ends with exactly that one exception (no group).
Transient failures (:class:`~bitunix_trio.TransportError`) are retried with
:class:`~bitunix_trio._core.backoff.Backoff`, and so is a re-login the exchange refuses once
the key has worked (at most ``ReconnectPolicy.relogin_retries`` in a row); anything else, a first
login refused included, is handed to the stream as fatal. A slot reports to the stream
through :class:`ConnectionEvents`; it does not hold the stream.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from bitunix_trio._core.backoff import Backoff, BackoffExhausted
from bitunix_trio._core.config import ReconnectPolicy
from bitunix_trio._core.errors import (
    AuthenticationError,
    ClockSkewError,
    ConnectionLost,
    ConnectTimeout,
    StreamFailed,
    TransportError,
)
from bitunix_trio._core.events import (
    BadFrame,
    ConnectionDead,
    ConnectionState,
    Event,
    ExchangeMessage,
    LoginFailed,
    StateChanged,
    SubscribeAccepted,
    SubscriptionRefused,
    SubscriptionStale,
)
from bitunix_trio._core.frames import (
    PRIVATE_CHANNELS,
    Key,
    Push,
    decode,
)
from bitunix_trio._core.log import logger
from bitunix_trio._core.protocol import ConnectionProtocol
from bitunix_trio._core.subscriptions import Entry
from bitunix_trio._core.text import printable

from .connector import (
    Connector,
    WebSocketConnection,
    abort,
    as_connect_error,
    close_gracefully,
    connect,
)
from .errors import first_failure

__all__ = ["ConnectionEvents", "ConnectionSlot", "ConnectionStatistics"]

_INF = float("inf")

#: The most messages the reader handles in one step when the transport has them already.
DRAIN_LIMIT = 64


def _nothing() -> None:
    """``receive_nowait`` of a connection that has none: nothing without waiting."""


def _cancelled_now() -> bool:
    return trio.current_effective_deadline() == -_INF


@dataclass(frozen=True, slots=True)
class ConnectionStatistics:
    """Counters of one connection."""

    name: str
    url: str
    state: ConnectionState
    subscriptions: int
    messages_received: int
    malformed: int
    frames_sent: int
    reconnects: int
    failed_attempts: int
    last_message_age: float | None
    last_error: str | None


class ConnectionEvents(Protocol):
    """What a connection reports to its stream (the supervisor implements it)."""

    def connection_state(self, slot: ConnectionSlot, event: StateChanged) -> None:
        """``slot`` changed state."""

    def connection_ready(self, slot: ConnectionSlot, reconnect: bool) -> None:
        """``slot`` is connected (and logged in); ``reconnect`` after a loss."""

    def connection_down(self, slot: ConnectionSlot, error: BaseException) -> None:
        """``slot`` lost its socket and reconnects."""

    def subscriptions_refused(
        self, slot: ConnectionSlot, keys: Iterable[Key], message: str
    ) -> None:
        """The exchange refused ``keys`` on ``slot``."""

    def subscription_stale(self, slot: ConnectionSlot, key: Key, reason: str) -> None:
        """``key`` went silent while ``slot`` is alive."""

    def admit_private(self, items: Sequence[Any], now: float) -> Sequence[Any]:
        """The private pushed values to deliver (those consumers have not seen yet)."""

    def connection_failed(self, exc: BaseException) -> None:
        """A fatal error: the stream stops."""


class ConnectionSlot:
    """One logical connection of the stream (``public#N`` or ``private``)."""

    def __init__(
        self,
        events: ConnectionEvents,
        *,
        name: str,
        shard: int | None,
        url: str,
        protocol: ConnectionProtocol,
        connector: Connector,
        policy: ReconnectPolicy,
        rng: random.Random,
        close_timeout: float,
    ) -> None:
        #: Where this connection's events go (the stream's supervisor).
        self.events = events
        self.name = name
        #: The public connection index, None for the private connection.
        self.shard = shard
        self.url = url
        self.proto = protocol
        self.connector = connector
        self.policy = policy
        self.backoff = Backoff(policy, rng)
        self.close_timeout = close_timeout
        #: Set (and replaced) whenever a verdict may have been reached or can no longer come.
        self._verdict_wake = trio.Event()
        #: Set once the first connection attempt has succeeded or failed.
        self.first_attempt = trio.Event()
        self.finished = trio.Event()
        self.connected_at: float | None = None
        self.reconnects = 0
        self.failed_attempts = 0
        self.last_error: BaseException | None = None
        self.ever_ready = False
        #: Re-logins refused in a row (reset by a login that succeeds).
        self.relogin_failures = 0
        self._ready = trio.Event()
        self._write_wake = trio.Event()
        self._timer_wake = trio.Event()
        self._failure: Exception | None = None
        self._tasks_scope: trio.CancelScope | None = None
        self._run_scope = trio.CancelScope()
        self._closing = False
        self._started = False

    def __repr__(self) -> str:
        return f"<ConnectionSlot {self.name} {self.proto.state.name}>"

    # -- control from the stream ---------------------------------------------------------

    def statistics(self, now: float) -> ConnectionStatistics:
        """Counters of this connection at ``now``."""
        proto = self.proto
        last = proto.last_message_at
        return ConnectionStatistics(
            name=self.name,
            url=self.url,
            state=proto.state,
            subscriptions=len(proto),
            messages_received=proto.messages_received,
            malformed=proto.bad_frames,
            frames_sent=proto.frames_sent,
            reconnects=self.reconnects,
            failed_attempts=self.failed_attempts,
            last_message_age=None if last is None else now - last,
            last_error=None if self.last_error is None else str(self.last_error),
        )

    def poke(self) -> None:
        """Wake the writer and the timer (the protocol changed)."""
        self._write_wake.set()
        self._timer_wake.set()

    def shutdown(self) -> None:
        """Stop for good: close the socket cleanly (if connected) and do not reconnect."""
        self._closing = True
        if self._tasks_scope is not None:
            self._tasks_scope.cancel()
        else:
            self._run_scope.cancel()

    def drop(self, reason: str) -> bool:
        """Abort the open socket (no close handshake) as if it had been lost, so the slot
        reconnects as after any loss; False when no socket is open (nothing to drop)."""
        if self._tasks_scope is None or self._closing:
            return False
        self._record(ConnectionLost(None, reason))
        return True

    def release_waiters(self) -> None:
        """Let every subscribe() waiting for a verdict on this slot look again."""
        self._verdict_wake.set()
        self._verdict_wake = trio.Event()

    async def wait_verdict(self, entry: Entry) -> None:
        """Wait until the exchange's verdict on ``entry`` is in (``entry.verdict``), or
        until none can come on this socket (not ready, lost, closed)."""
        while self.proto.ready and entry.verdict is None and not self.finished.is_set():
            await self._verdict_wake.wait()

    # -- the loop ------------------------------------------------------------------------

    async def run(
        self,
        *,
        initial: bool = False,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Connect and serve until shut down; retry transient failures with backoff.

        With ``initial``, a failure of the first attempt is raised (to ``nursery.start``);
        later, fatal errors go to the stream and this returns.
        """
        try:
            with self._run_scope:
                await self._loop(initial, task_status)
        except Exception as exc:
            if initial and not self._started:
                raise
            self.events.connection_failed(exc)
        finally:
            self._handle(self.proto.close("stream closed"))
            self.release_waiters()
            self.first_attempt.set()
            self.finished.set()

    async def _loop(self, initial: bool, task_status: trio.TaskStatus[None]) -> None:
        while True:
            self._handle(self.proto.connecting())
            logger.debug("%s: connecting to %s", self.name, self.url)
            try:
                await self._attempt(task_status)
            except TransportError as exc:
                error: TransportError | AuthenticationError = exc
            except AuthenticationError as exc:
                # A first login refused fails at once (a wrong key); a re-login refused
                # after the key has worked is retried, a bounded number of times in a row.
                if not self.ever_ready or self.relogin_failures >= self.policy.relogin_retries:
                    self._handle(self.proto.close("login refused"))
                    raise
                self.relogin_failures += 1
                error = exc
            else:
                return
            finally:
                self.first_attempt.set()
            if self._closing:
                return
            if initial and not self._started:
                raise error
            self.last_error = error
            self._handle(self.proto.disconnected(str(error)))
            self.release_waiters()
            self.events.connection_down(self, error)
            now = trio.current_time()
            try:
                delay = self.backoff.next_delay(now)
            except BackoffExhausted as exc:
                raise StreamFailed(f"{self.name}: {exc}; last error: {error}") from error
            self.failed_attempts += 1
            logger.warning("%s: %s; reconnecting in %.2f s", self.name, error, delay)
            await trio.sleep(delay)

    async def _attempt(self, task_status: trio.TaskStatus[None]) -> None:
        """One socket: connect, serve until it fails; raises the one reason it ended."""
        self._failure = None
        try:
            async with trio.open_nursery() as ws_nursery:
                try:
                    await self._serve(ws_nursery, task_status)
                except Exception as exc:
                    self._record(exc)
                ws_nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            leaf = first_failure(group)
            if self._failure is None:
                self._failure = as_connect_error(leaf, self.url)
        failure = self._failure
        if failure is not None:
            raise failure

    def _record(self, exc: Exception) -> None:
        if self._failure is None:
            self._failure = exc
        if self._tasks_scope is not None:
            self._tasks_scope.cancel()

    async def _serve(self, ws_nursery: trio.Nursery, task_status: trio.TaskStatus[None]) -> None:
        deadline = trio.current_time() + self.policy.connect_timeout
        ws = await connect(self.connector, ws_nursery, self.url, deadline=deadline)
        try:
            async with trio.open_nursery() as tasks:
                self._tasks_scope = tasks.cancel_scope
                now = trio.current_time()
                if self.connected_at is not None or self.ever_ready:
                    self.reconnects += 1
                self.connected_at = now
                self.backoff.connected(now)
                self._ready = trio.Event()
                self._handle(self.proto.connected(now))
                tasks.start_soon(self._guard, self._reader, ws)
                tasks.start_soon(self._guard, self._writer, ws)
                tasks.start_soon(self._guard, self._timer)
                with trio.move_on_at(deadline):
                    await self._ready.wait()
                if not self.proto.ready:
                    raise ConnectTimeout(f"{self.name}: no login reply from {self.url}")
                self.first_attempt.set()
                if not self._started:
                    self._started = True
                    task_status.started()
                await trio.sleep_forever()
        except Exception as exc:
            # The body's own error (a login timeout, say) leaves the nursery wrapped in a
            # group of Exceptions only: record the error itself, so a transient one is
            # retried like any other rather than taken for a bug.
            self._record(first_failure(exc) if isinstance(exc, ExceptionGroup) else exc)
        finally:
            self._tasks_scope = None
            self.connected_at = None
            if self._closing and self._failure is None and not _cancelled_now():
                await close_gracefully(ws, self.close_timeout)
            else:
                await abort(ws)

    async def _guard(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        try:
            await fn(*args)
        except Exception as exc:
            self._record(exc)

    # -- tasks ---------------------------------------------------------------------------

    async def _reader(self, ws: WebSocketConnection) -> None:
        # The hot path: one decode, one receive_push (a routing key, a dict lookup, the key's
        # liveness) per frame, a non-blocking deliver per value; protocol book-keeping
        # only on the rare frames.
        # Messages the transport has already received are handled in the same step (at
        # most DRAIN_LIMIT, then the other tasks get their turn): one Trio checkpoint per
        # burst rather than per message.
        proto = self.proto
        receive_frame = proto.receive_frame
        receive_push = proto.receive_push
        receive = ws.receive  # raises ConnectionLost when the socket ends
        nowait: Callable[[], str | bytes | None] = getattr(ws, "receive_nowait", _nothing)
        current_time = trio.lowlevel.current_clock().current_time  # half trio.current_time
        handle = self._handle
        private_channels = PRIVATE_CHANNELS
        admit_private = self.events.admit_private
        while True:
            text: str | bytes | None = await receive()
            left = DRAIN_LIMIT
            while text is not None:
                now = current_time()
                frame = decode(text)
                if type(frame) is Push:
                    routed, events = receive_push(frame, now)
                    if frame.channel in private_channels:
                        admitted = admit_private(frame.items, now)
                        routed = [(entry, admitted) for entry, _items in routed]
                    for entry, items in routed:
                        sinks = entry.sinks
                        for item in items:
                            for sink in sinks:
                                sink.deliver(item, now)
                    if events:
                        handle(events)
                else:
                    events = receive_frame(frame, now)
                    if events:
                        handle(events)
                    if proto.wants_write:
                        self._write_wake.set()
                if proto.timers_dirty:
                    self.poke()
                left -= 1
                text = nowait() if left else None

    async def _writer(self, ws: WebSocketConnection) -> None:
        proto = self.proto
        while True:
            self._write_wake = wake = trio.Event()
            lost = await self._send_frames(ws, proto.pop_frames(trio.current_time()))
            if lost is not None:
                # Raised here, outside the frame that held the frames (a login is a
                # replayable credential), with no chained context.
                raise lost
            if proto.timers_dirty:
                self._timer_wake.set()
            with trio.move_on_at(proto.send_deadline()):
                await wake.wait()

    async def _send_frames(
        self, ws: WebSocketConnection, frames: Sequence[str]
    ) -> ConnectionLost | None:
        """Send ``frames`` in order; the reason the connection ended, if it did."""
        for frame in frames:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s: sending %s", self.name, _describe(frame))
            try:
                await ws.send(frame)
            except ConnectionLost as exc:
                # A fresh error: the one raised holds the frames of the send (and whatever
                # a connector chained to it) in its traceback.
                return ConnectionLost(exc.close_code, exc.reason)
        return None

    async def _timer(self) -> None:
        proto = self.proto
        while True:
            self._timer_wake = wake = trio.Event()
            proto.timers_dirty = False
            self._handle(proto.tick(trio.current_time()))
            if proto.wants_write or proto.timers_dirty:
                self._write_wake.set()
            with trio.move_on_at(proto.timer_deadline()):
                await wake.wait()

    # -- protocol events -----------------------------------------------------------------

    def _handle(self, events: Sequence[Event]) -> None:
        for event in events:
            kind = type(event)
            if kind is StateChanged:
                assert isinstance(event, StateChanged)
                self.events.connection_state(self, event)
                if self.proto.ready and not self._ready.is_set():
                    # Ready (connected, and logged in if private): hooks run right now.
                    self._ready.set()
                    logger.info("%s: connected to %s", self.name, self.url)
                    reconnect = self.ever_ready
                    self.ever_ready = True
                    self.relogin_failures = 0
                    self.events.connection_ready(self, reconnect)
            elif kind is SubscribeAccepted:
                self.release_waiters()
            elif kind is SubscriptionRefused:
                assert isinstance(event, SubscriptionRefused)
                message = printable(event.message)
                logger.warning("%s: subscription refused: %s", self.name, message)
                self.events.subscriptions_refused(self, event.keys, message)
                self.release_waiters()
            elif kind is SubscriptionStale:
                assert isinstance(event, SubscriptionStale)
                logger.warning("%s: stale subscription: %s", self.name, event.reason)
                self.events.subscription_stale(self, event.key, event.reason)
            elif kind is ConnectionDead:
                assert isinstance(event, ConnectionDead)
                raise ConnectionLost(None, f"connection dead: {event.reason}")
            elif kind is LoginFailed:
                assert isinstance(event, LoginFailed)
                text = "Authentication failed"
                if event.message and "timestamp" in event.message.lower():
                    raise ClockSkewError(
                        f"{text}: {printable(event.message)}: the login timestamp is off the "
                        "exchange's clock; synchronise the local clock"
                    )
                raise AuthenticationError(
                    f"{text}: {printable(event.message)}" if event.message else text
                )
            elif kind is BadFrame:
                assert isinstance(event, BadFrame)
                logger.warning(
                    "%s: ignoring a bad frame (%s): %.100r",
                    self.name,
                    printable(event.frame.reason),
                    event.frame.text,
                )
            elif kind is ExchangeMessage:
                assert isinstance(event, ExchangeMessage)
                logger.warning("%s: exchange says: %s", self.name, printable(event.message))


def _describe(frame: str) -> str:
    """A loggable summary of an outgoing frame (never the login's content)."""
    if frame.startswith('{"op":"login"'):
        return "login"
    return frame if len(frame) <= 200 else frame[:200] + "..."
