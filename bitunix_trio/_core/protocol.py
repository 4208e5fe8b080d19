"""Sans-I/O core of one WebSocket connection: state, subscriptions, budget, heartbeat.

:class:`ConnectionProtocol` never touches a socket, a clock or a random source: the Trio
layer feeds it what happened (``connecting``, ``connected(now)``, ``receive_push(push,
now)`` for a decoded push, which gives back who receives its values, ``receive_frame(frame,
now)`` for any other frame, ``disconnected(reason)``, ``subscribe(entry)``,
``unsubscribe(entry)``, ``tick(now)``) and carries out what it asks for (the frames of
``pop_frames(now)`` until ``send_deadline()``, the :class:`Event` values it returns, a tick
at ``timer_deadline()``). One object lives as long
as its connection *slot*; each new socket is announced with ``connected``.

Connection states (h11 style; ``-`` = any state not listed)::

    state          input                            next state      output
    -------------  -------------------------------  --------------  -----------------------------
    DISCONNECTED   connecting()                     CONNECTING
    RECONNECTING   connecting()                     RECONNECTING
    CONNECTING,    connected(now)                   CONNECTED       public: ready, resubscribe
    RECONNECTING                                                    plan queued; private: wait
                                                                    for the greeting (login sent
                                                                    on it, or after ``timeout``)
    CONNECTED      LoginReply(success=True)         AUTHENTICATED   ready, resubscribe plan
    CONNECTED      LoginReply(success=False)        (unchanged,     LoginFailed: the shell closes
                                                    not ready)      or, for a re-login, retries
    CONNECTED..    tick: ping reply overdue,        (unchanged)     ConnectionDead(reason): the
    AUTHENTICATED  socket silent, no login reply                    shell drops the socket
    -              disconnected(reason)             RECONNECTING    every wanted key back to
                                                                    WANTED, budget reset
    -              close()                          CLOSED          (terminal)

``DEGRADED`` is never a connection state: the stream reports it when data comes from REST.

Subscription keys are ``(wire_channel, symbol)``; each is an
:class:`~bitunix_trio._core.subscriptions.Entry` of the stream's subscription table, which
counts its references: the protocol is told of the first (``subscribe``) and the last
(``unsubscribe``), and writes the entry's status and verdict::

    WANTED --pop_frames--> SENT --first push--> LIVE --silent stale_after--> STALE
                             '--refusal-----> REFUSED
    SENT/LIVE --disconnected--> WANTED (the resubscribe plan, sent in batches once ready)

A subscribe gets no acknowledgement, so a verdict is reached by the first push of the key
or by a *barrier*: the reply to a ping sent after the subscribe frame (the exchange answers
in order, so a refusal would have come first). The over-300 refusal names no channel; it is
charged to the oldest subscribe frame still without a verdict.

Outbound budget (:class:`~bitunix_trio._core.budget.OutboundBudget`): at most ``rate_limit``
messages (pings included) in any ``rate_period`` seconds; frames wait, never drop.
Priority: login, due heartbeat ping, unsubscribes, subscribes (batched, ``max_batch`` keys
a frame), then the barrier ping.

Heartbeat: a ping every ``interval`` seconds from the connect time, on a drift-free schedule;
a reply overdue by ``timeout`` is a dead connection. A connection whose streaming ("flowing":
periodic and at least two pushes) subscriptions all went silent for ``stale_after`` is dead
too. A periodic subscription silent for ``stale_after`` is *stale*, but only once the
connection proves alive after that moment (another key pushed, or, with nothing else
flowing, the reply to a probe ping), so a dying socket never makes subscriptions stale.
With nothing flowing (a new socket before its second push, or only silent keys), a ping is
kept in flight while a periodic key is silent: a probe every ``min(timeout, stale_after) / 2``
seconds of its silence. A silence of the whole socket then swallows one and the connection
is dead (the reply is overdue) before any key can be judged, so a socket that went quiet and
came back is never mistaken for a subscription the exchange stopped serving.

Routing: :meth:`ConnectionProtocol.receive_push` alone decides who receives a pushed value,
by the routing key of :func:`~bitunix_trio._core.frames.push_key` (or each item's
:func:`~bitunix_trio._core.frames.item_key`) in the entries of the stream's subscription
table (``entries``); the same call counts the push as a sign of life and as the verdict of
a key's first push.

The events it returns live in :mod:`bitunix_trio._core.events`; spreading public keys over
connections (300 each) is the subscription table's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .budget import RATE_LIMIT, RATE_PERIOD, OutboundBudget
from .config import DEFAULT_HEARTBEAT, HeartbeatConfig
from .events import (
    BadFrame,
    ConnectionDead,
    ConnectionState,
    Event,
    ExchangeMessage,
    KeyStatus,
    LoginFailed,
    StateChanged,
    SubscribeAccepted,
    SubscriptionRefused,
    SubscriptionStale,
)
from .frames import (
    ErrorFrame,
    Greeting,
    Key,
    LoginReply,
    Malformed,
    Pong,
    Push,
    ServerFrame,
    SubscribeRefused,
    Unknown,
    UnsubscribeReply,
    encode_login,
    encode_ping,
    encode_subscribe,
    encode_unsubscribe,
    item_key,
    push_key,
)
from .subscriptions import Entry

__all__ = ["MAX_BATCH", "ConnectionProtocol", "ConnectionState", "Routed"]

#: Keys per subscribe/unsubscribe frame.
MAX_BATCH = 100

#: Who receives the values of a push: each entry fed, with its items, in order.
Routed = Sequence[tuple[Entry, Sequence[Any]]]

_NO_EVENTS: tuple[Event, ...] = ()


class ConnectionProtocol:
    """The state machine, subscription registry, budget and heartbeat of one connection.

    Arguments:
        heartbeat: ping interval, reply timeout and stale threshold.
        login: for the private connection, a function returning the login ``args`` object
            (it is called when the login is sent, so nonce and timestamp are fresh); ``None``
            for a public connection.
        wall_clock: Unix time in seconds, for the value of JSON pings.
        rate_limit, rate_period: the outbound budget.
        max_batch: keys per subscribe or unsubscribe frame.
        entries: the stream's subscription table by key (``SubscriptionTable.entries``),
            where pushes are routed; without it, to the keys of this connection.
    """

    def __init__(
        self,
        *,
        heartbeat: HeartbeatConfig = DEFAULT_HEARTBEAT,
        login: Callable[[], Mapping[str, object]] | None = None,
        wall_clock: Callable[[], float],
        rate_limit: int = RATE_LIMIT,
        rate_period: float = RATE_PERIOD,
        max_batch: int = MAX_BATCH,
        entries: Mapping[Key, Entry] | None = None,
    ) -> None:
        self.heartbeat = heartbeat
        self.private = login is not None
        self._login = login
        self._wall_clock = wall_clock
        self._max_batch = max_batch
        self.state = ConnectionState.DISCONNECTED
        #: The entries (of the stream's subscription table) on this connection.
        self._recs: dict[Key, Entry] = {}
        #: Where pushes are routed (every key of the stream).
        self._routes: Mapping[Key, Entry] = self._recs if entries is None else entries
        self._to_sub: dict[Key, None] = {}
        self._to_unsub: dict[Key, None] = {}
        self._budget = OutboundBudget(rate_limit, rate_period)
        #: Unanswered pings: (value, sent_at, highest batch id sent before it).
        self._pings: deque[tuple[int, float, int]] = deque()
        #: Subscribe frames without a verdict: (batch id, keys).
        self._batches: deque[tuple[int, tuple[Key, ...]]] = deque()
        self._batch_id = 0
        self._barrier = False
        self._probe = False
        self._ready = False
        self._connected_at = 0.0
        self._next_ping = float("inf")
        self._greeting_deadline: float | None = None
        self._login_pending = False
        self._login_deadline: float | None = None
        #: The login on this socket was refused: nothing more happens on it.
        self._login_refused = False
        self._last_push = 0.0
        #: When the last ping went out on this socket (the probe cadence counts from it).
        self._last_ping_at = float("-inf")
        self._flowing = 0
        self._stale_check = float("inf")
        self._stale_waiting = False
        #: Set when a deadline may have moved earlier (the shell re-arms its timer).
        self.timers_dirty = False
        # Counters.
        self.messages_received = 0
        self.bad_frames = 0
        self.unmatched_pongs = 0
        self.frames_sent = 0
        self.last_message_at: float | None = None

    # -- views ---------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether subscriptions can be sent (connected, and logged in if private)."""
        return self._ready

    @property
    def wants_write(self) -> bool:
        """Whether a frame is waiting to be sent (maybe for the budget)."""
        if self.state not in (ConnectionState.CONNECTED, ConnectionState.AUTHENTICATED):
            return False
        return bool(
            self._login_pending
            or (self._ready and (self._to_sub or self._to_unsub or self._barrier or self._probe))
        )

    def __len__(self) -> int:
        return len(self._recs)

    # -- inputs: lifecycle ---------------------------------------------------------------

    def _set_state(self, new: ConnectionState, reason: str | None) -> list[Event]:
        old = self.state
        if old is new:
            return []
        self.state = new
        return [StateChanged(old, new, reason)]

    def connecting(self) -> list[Event]:
        """A connection attempt starts."""
        if self.state is ConnectionState.DISCONNECTED:
            return self._set_state(ConnectionState.CONNECTING, None)
        return []

    def connected(self, now: float) -> list[Event]:
        """A socket opened at ``now``."""
        if self.state is ConnectionState.CLOSED:
            return []
        self._login_refused = False
        self._connected_at = now
        self._next_ping = now + self.heartbeat.interval
        self._last_push = now
        self._budget.reset()
        self.timers_dirty = True
        events = self._set_state(ConnectionState.CONNECTED, None)
        if self.private:
            self._greeting_deadline = now + self.heartbeat.timeout
        else:
            self._become_ready(now)
        return events

    def _become_ready(self, now: float) -> None:
        self._ready = True
        self._last_push = now
        for key, rec in self._recs.items():
            if rec.status is KeyStatus.WANTED:
                self._to_sub[key] = None

    def disconnected(self, reason: str | None = None) -> list[Event]:
        """The socket is gone; every wanted key goes back to the resubscribe plan."""
        if self.state is ConnectionState.CLOSED:
            return []
        self._reset_socket()
        for rec in self._recs.values():
            if rec.status in (KeyStatus.SENT, KeyStatus.LIVE):
                rec.status = KeyStatus.WANTED
                rec.verdict = None
                rec.refusal = None
            rec.count = 0
            rec.last = None
            rec.on_wire = False
        return self._set_state(ConnectionState.RECONNECTING, reason)

    def _reset_socket(self) -> None:
        self._ready = False
        self._to_sub.clear()
        self._to_unsub.clear()
        self._pings.clear()
        self._batches.clear()
        self._barrier = self._probe = False
        self._next_ping = float("inf")
        self._last_ping_at = float("-inf")
        self._greeting_deadline = self._login_deadline = None
        self._login_pending = False
        self._flowing = 0
        self._stale_check = float("inf")
        self._stale_waiting = False

    def close(self, reason: str | None = None) -> list[Event]:
        """The connection is closed for good."""
        self._reset_socket()
        return self._set_state(ConnectionState.CLOSED, reason)

    # -- inputs: subscriptions -----------------------------------------------------------

    def subscribe(self, entry: Entry) -> None:
        """``entry`` is new in the table on this connection: subscribe to it (now if ready,
        else once ready)."""
        key = entry.key
        self._recs[key] = entry
        if key in self._to_unsub:
            # Still subscribed on the wire: cancel the unsubscribe instead.
            del self._to_unsub[key]
            entry.status = KeyStatus.SENT
            entry.verdict = True
            entry.on_wire = True
            entry.sent_at = self._last_push
            if entry.periodic:
                self._stale_check = min(
                    self._stale_check, entry.sent_at + self.heartbeat.stale_after
                )
            return
        if self._ready:
            self._to_sub[key] = None

    def unsubscribe(self, entry: Entry) -> None:
        """The last reference on ``entry`` is gone: unsubscribe (if it was sent)."""
        key = entry.key
        if self._recs.get(key) is not entry:
            return
        del self._recs[key]
        self._to_sub.pop(key, None)
        if entry.periodic and entry.count >= 2:
            self._flowing -= 1
        if self._ready and entry.on_wire:
            self._to_unsub[key] = None

    # -- inputs: received frames ---------------------------------------------------------

    def receive_frame(self, frame: ServerFrame, now: float) -> Sequence[Event]:
        """Take in one decoded frame other than a push (pushes go to
        :meth:`receive_push`)."""
        assert type(frame) is not Push, "pushes go through receive_push"
        self.messages_received += 1
        self.last_message_at = now
        if type(frame) is Pong:
            return self._pong(frame.pong, now)
        if type(frame) is Greeting:
            if self.private and self.state is ConnectionState.CONNECTED and not self._login_refused:
                self._greeting_deadline = None
                self._login_pending = True
            return _NO_EVENTS
        if type(frame) is LoginReply:
            return self._login_reply(frame, now)
        if type(frame) is SubscribeRefused:
            return self._refused(frame.message)
        if type(frame) is UnsubscribeReply:
            return _NO_EVENTS
        if type(frame) is ErrorFrame:
            return [ExchangeMessage(frame.message)]
        assert isinstance(frame, Malformed | Unknown)
        self.bad_frames += 1
        return [BadFrame(frame)]

    def receive_push(self, push: Push, now: float) -> tuple[Routed, Sequence[Event]]:
        """A push arrived at ``now``: who receives its values (each subscribed entry with
        its items, in order: one entry for a push of one key, a ``tickers`` push may feed
        several), and the events it brings (a key's first push is its verdict). It counts as
        a received frame: the connection is alive."""
        routed = self._route(push)
        self.messages_received += 1
        self.last_message_at = self._last_push = now
        events: Sequence[Event]
        if len(routed) == 1:
            events = self._seen(routed[0][0], now)
        else:
            events = []
            for entry, _items in routed:
                events.extend(self._seen(entry, now))
        if self._stale_waiting:
            return routed, [*events, *self._check_stale(now)]
        return routed, events

    def _route(self, push: Push) -> Routed:
        channel = push.channel
        key = push_key(channel, push.symbol)
        entries = self._routes
        if key is not None:
            entry = entries.get(key)
            return () if entry is None else ((entry, push.items),)
        routed: dict[Key, tuple[Entry, list[Any]]] = {}
        for item in push.items:
            each = item_key(channel, item)
            found = routed.get(each)
            if found is None:
                entry = entries.get(each)
                if entry is None:
                    continue
                found = routed[each] = (entry, [])
            found[1].append(item)
        return tuple(routed.values())

    def _seen(self, rec: Entry, now: float) -> Sequence[Event]:
        if self._recs.get(rec.key) is not rec:  # another connection's key
            return _NO_EVENTS
        rec.last = now
        count = rec.count = rec.count + 1
        return self._early_push(rec, count) if count <= 2 else _NO_EVENTS

    def _early_push(self, rec: Entry, count: int) -> Sequence[Event]:
        if count == 2:
            if rec.periodic:
                self._flowing += 1
                self.timers_dirty = True
            return _NO_EVENTS
        if rec.status is KeyStatus.SENT:
            rec.status = KeyStatus.LIVE
        if rec.verdict is None:
            rec.verdict = True
            return [SubscribeAccepted((rec.key,))]
        return _NO_EVENTS

    def _pong(self, value: int | None, now: float) -> Sequence[Event]:
        # The reply echoes our value: replies answer pings in order, so drop every ping up
        # to the one answered. A reply matching no ping (or without a value) is ignored.
        pings = self._pings
        if not any(ping[0] == value for ping in pings):
            self.unmatched_pongs += 1
            return _NO_EVENTS
        while True:
            sent_value, _sent, watermark = pings.popleft()
            if sent_value == value:
                break
        events: list[Event] = []
        accepted: list[Key] = []
        while self._batches and self._batches[0][0] <= watermark:
            for key in self._batches.popleft()[1]:
                rec = self._recs.get(key)
                if rec is not None and rec.verdict is None:
                    rec.verdict = True
                    accepted.append(key)
        if accepted:
            events.append(SubscribeAccepted(tuple(accepted)))
        if self._stale_waiting:
            events.extend(self._check_stale(now, pong=True))
        return events

    def _login_reply(self, frame: LoginReply, now: float) -> list[Event]:
        if not self.private or self.state is not ConnectionState.CONNECTED or self._login_refused:
            return []
        self._login_deadline = None
        if not frame.success:
            # Nothing more goes out on this socket; the shell decides between close() (a
            # first login: the key is wrong) and disconnected() (a re-login, retried).
            self._reset_socket()
            self._login_refused = True
            return [LoginFailed(frame.message)]
        events = self._set_state(ConnectionState.AUTHENTICATED, None)
        self._become_ready(now)
        return events

    def _refused(self, message: str) -> list[Event]:
        if not self._batches:
            return [ExchangeMessage(f"refusal with no subscribe waiting: {message}")]
        _batch, keys = self._batches.popleft()
        refused: list[Key] = []
        for key in keys:
            rec = self._recs.get(key)
            if rec is not None and rec.count == 0 and rec.status is KeyStatus.SENT:
                rec.status = KeyStatus.REFUSED
                rec.verdict = False
                rec.refusal = message
                rec.on_wire = False
                refused.append(key)
        return [SubscriptionRefused(tuple(refused), message)] if refused else []

    # -- timers --------------------------------------------------------------------------

    def tick(self, now: float) -> list[Event]:
        """Check every deadline at ``now``."""
        if self.state not in (ConnectionState.CONNECTED, ConnectionState.AUTHENTICATED):
            return []
        timeout = self.heartbeat.timeout
        if self._pings and now >= self._pings[0][1] + timeout:
            return [ConnectionDead(f"no reply to ping within {timeout:g} s")]
        if self._login_deadline is not None and now >= self._login_deadline:
            return [ConnectionDead(f"no login reply within {timeout:g} s")]
        if self._greeting_deadline is not None and now >= self._greeting_deadline:
            self._greeting_deadline = None
            self._login_pending = True
        stale_after = self.heartbeat.stale_after
        if self._ready and self._flowing and now >= self._last_push + stale_after:
            return [ConnectionDead(f"no data for {stale_after:g} s")]
        if now >= self._silence_probe_at():
            self._probe = True
            self.timers_dirty = True
        if self._ready and now >= self._stale_check:
            return self._check_stale(now)
        return []

    def _silence_probe_at(self) -> float:
        """When a probe ping is due because a periodic key is silent and nothing flows
        (infinity: none is, or a ping is already in flight or waiting to go)."""
        if not self._ready or self._flowing or self._pings or self._probe:
            return float("inf")
        period = min(self.heartbeat.timeout, self.heartbeat.stale_after) / 2
        silent_since = float("inf")
        for rec in self._recs.values():
            if rec.periodic and rec.status in (KeyStatus.SENT, KeyStatus.LIVE):
                since = rec.sent_at if rec.last is None else rec.last
                silent_since = min(silent_since, since)
        return max(silent_since, self._last_ping_at) + period

    def _check_stale(self, now: float, *, pong: bool = False) -> list[Event]:
        """Stale verdicts for silent periodic keys, once the connection proves alive."""
        stale_after = self.heartbeat.stale_after
        nearest = float("inf")
        waiting = False
        events: list[Event] = []
        for rec in self._recs.values():
            if not rec.periodic or rec.status not in (KeyStatus.SENT, KeyStatus.LIVE):
                continue
            since = rec.sent_at if rec.last is None else rec.last
            due = since + stale_after
            if now < due:
                nearest = min(nearest, due)
                continue
            alive = self._last_push >= due or (pong and not self._flowing)
            if alive:
                rec.status = KeyStatus.STALE
                what = f"{rec.key[0]} {rec.key[1]}" if rec.key[1] else rec.key[0]
                hint = " (unknown or delisted symbol?)" if rec.count <= 1 else ""
                events.append(
                    SubscriptionStale(rec.key, f"no data for {what} in {stale_after:g} s{hint}")
                )
            else:
                waiting = True
        self._stale_check = nearest
        self._stale_waiting = waiting
        if waiting and not self._flowing and not self._probe and not self._pings:
            self._probe = True
        return events

    def timer_deadline(self) -> float:
        """When :meth:`tick` next has something to check."""
        if self.state not in (ConnectionState.CONNECTED, ConnectionState.AUTHENTICATED):
            return float("inf")
        deadline = self._stale_check if self._ready else float("inf")
        if self._pings:
            deadline = min(deadline, self._pings[0][1] + self.heartbeat.timeout)
        for other in (self._login_deadline, self._greeting_deadline):
            if other is not None:
                deadline = min(deadline, other)
        if self._ready and self._flowing:
            deadline = min(deadline, self._last_push + self.heartbeat.stale_after)
        return min(deadline, self._silence_probe_at())

    def send_deadline(self) -> float:
        """When :meth:`pop_frames` next has a frame to give (the budget allowing)."""
        if self.state not in (ConnectionState.CONNECTED, ConnectionState.AUTHENTICATED):
            return float("inf")
        if self._login_pending or (
            self._ready and (self._to_sub or self._to_unsub or self._barrier or self._probe)
        ):
            return self._budget.slot_at(float("-inf"))
        return max(self._next_ping, self._budget.slot_at(float("-inf")))

    # -- outputs -------------------------------------------------------------------------

    def pop_frames(self, now: float) -> list[str]:
        """The frames to send now, within the budget; the rest wait for ``send_deadline``."""
        frames: list[str] = []
        if self.state not in (ConnectionState.CONNECTED, ConnectionState.AUTHENTICATED):
            return frames
        budget = self._budget
        while budget.slot_at(now) <= now:
            frame = self._next_frame(now)
            if frame is None:
                break
            budget.spend(now)
            self.frames_sent += 1
            frames.append(frame)
        return frames

    def _next_frame(self, now: float) -> str | None:
        if self._login_pending and self._login is not None:
            self._login_pending = False
            self._login_deadline = now + self.heartbeat.timeout
            self.timers_dirty = True
            return encode_login(self._login())
        if self._next_ping <= now:
            while self._next_ping <= now:
                self._next_ping += self.heartbeat.interval
            return self._ping(now)
        if not self._ready:
            return None
        if self._to_unsub:
            return encode_unsubscribe(self._take(self._to_unsub))
        if self._to_sub:
            keys = self._take(self._to_sub)
            self._batch_id += 1
            self._batches.append((self._batch_id, keys))
            for key in keys:
                rec = self._recs[key]
                rec.status = KeyStatus.SENT
                rec.sent_at = now
                rec.verdict = None
                rec.on_wire = True
                if rec.periodic:
                    self._stale_check = min(self._stale_check, now + self.heartbeat.stale_after)
            self._barrier = True
            self.timers_dirty = True
            return encode_subscribe(keys)
        if self._barrier or self._probe:
            return self._ping(now)
        return None

    def _take(self, pending: dict[Key, None]) -> tuple[Key, ...]:
        keys = []
        for key in pending:
            keys.append(key)
            if len(keys) >= self._max_batch:
                break
        for key in keys:
            del pending[key]
        return tuple(keys)

    def _ping(self, now: float) -> str:
        self._barrier = self._probe = False
        self._last_ping_at = now
        self.timers_dirty = True
        value = int(self._wall_clock())
        self._pings.append((value, now, self._batch_id))
        return encode_ping(value)
