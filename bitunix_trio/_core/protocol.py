"""Sans-I/O core of one WebSocket connection: state, subscriptions, budget, heartbeat.

:class:`ConnectionProtocol` never touches a socket, a clock or a random source: the Trio
layer feeds it what happened (``connecting``, ``connected(now)``, ``receive_text(text, now)``
or ``receive_frame(frame, now)``, ``disconnected(reason)``, ``subscribe``, ``unsubscribe``,
``tick(now)``) and carries out what it asks for (the frames of ``pop_frames(now)``, the
:class:`Event` values it returns, a sleep until ``next_deadline()``). One object lives as long
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

Subscription keys are ``(wire_channel, symbol)``. Per key, with a reference count::

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

The events it returns live in :mod:`bitunix_trio._core.events`; spreading public keys over
connections (300 each) is :class:`~bitunix_trio._core.sharding.ShardPlanner`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

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
    decode,
    encode_login,
    encode_ping,
    encode_subscribe,
    encode_unsubscribe,
    item_key,
    push_key,
)

__all__ = ["MAX_BATCH", "ConnectionProtocol", "ConnectionState"]

#: Keys per subscribe/unsubscribe frame.
MAX_BATCH = 100

_NO_EVENTS: tuple[Event, ...] = ()


@dataclass(slots=True, eq=False)
class _Rec:
    """Book-keeping of one key on this connection."""

    key: Key
    periodic: bool
    refs: int = 0
    status: KeyStatus = KeyStatus.WANTED
    sent_at: float = 0.0
    last: float | None = None
    count: int = 0
    accepted: bool | None = None
    on_wire: bool = False


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
    ) -> None:
        self.heartbeat = heartbeat
        self.private = login is not None
        self._login = login
        self._wall_clock = wall_clock
        self._max_batch = max_batch
        self.state = ConnectionState.DISCONNECTED
        self._recs: dict[Key, _Rec] = {}
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
        self.pushes_received = 0
        self.bad_frames = 0
        self.unmatched_pongs = 0
        self.frames_sent = 0
        self.connections = 0
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

    def status(self, key: Key) -> KeyStatus | None:
        """Where ``key`` stands, or None if it is not subscribed here."""
        rec = self._recs.get(key)
        return None if rec is None else rec.status

    def accepted(self, key: Key) -> bool | None:
        """The verdict on ``key`` on the current socket: True, False (refused) or None."""
        rec = self._recs.get(key)
        return None if rec is None else rec.accepted

    def refs(self, key: Key) -> int:
        """Reference count of ``key``."""
        rec = self._recs.get(key)
        return 0 if rec is None else rec.refs

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
        self.connections += 1
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
                rec.accepted = None
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

    def subscribe(self, key: Key, *, periodic: bool = True) -> bool:
        """Take a reference on ``key``; True if it is new here (a subscribe will be sent).

        ``periodic`` keys (market snapshots the exchange re-sends on a timer) take part in
        stale and silent-socket detection; event-driven ones (trades, account) do not.
        """
        rec = self._recs.get(key)
        if rec is not None:
            rec.refs += 1
            return False
        rec = self._recs[key] = _Rec(key, periodic)
        rec.refs = 1
        if key in self._to_unsub:
            # Still subscribed on the wire: cancel the unsubscribe instead.
            del self._to_unsub[key]
            rec.status = KeyStatus.SENT
            rec.accepted = True
            rec.on_wire = True
            rec.sent_at = self._last_push
            if periodic:
                self._stale_check = min(self._stale_check, rec.sent_at + self.heartbeat.stale_after)
            return False
        if self._ready:
            self._to_sub[key] = None
        return True

    def unsubscribe(self, key: Key) -> bool:
        """Drop a reference on ``key``; True if it was the last (an unsubscribe is queued)."""
        rec = self._recs.get(key)
        if rec is None:
            return False
        rec.refs -= 1
        if rec.refs > 0:
            return False
        del self._recs[key]
        self._to_sub.pop(key, None)
        if rec.periodic and rec.count >= 2:
            self._flowing -= 1
        if self._ready and rec.on_wire:
            self._to_unsub[key] = None
        return True

    # -- inputs: received frames ---------------------------------------------------------

    def receive_text(self, text: str | bytes, now: float) -> list[Event | Push]:
        """Decode and take in one frame; pushes are returned among the events."""
        frame = decode(text)
        events: list[Event | Push] = list(self.receive_frame(frame, now))
        if type(frame) is Push:
            events.insert(0, frame)
        return events

    def receive_frame(self, frame: ServerFrame, now: float) -> Sequence[Event]:
        """Take in one decoded frame (the reader routes pushes itself)."""
        if type(frame) is Push:
            return self._push(frame, now)
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

    def _push(self, push: Push, now: float) -> Sequence[Event]:
        channel = push.channel
        key = push_key(channel, push.symbol)
        if key is not None:
            return self.push_received(key, now)
        # tickers (or a push without a symbol): one key per item
        self.messages_received += 1
        self.pushes_received += 1
        self.last_message_at = self._last_push = now
        events: list[Event] = []
        for each in {item_key(channel, item) for item in push.items}:
            events.extend(self._seen(each, now))
        if self._stale_waiting:
            events.extend(self._check_stale(now))
        return events

    def push_received(self, key: Key, now: float) -> Sequence[Event]:
        """A push for ``key`` arrived (the reader's fast path; counts as a received frame)."""
        self.messages_received += 1
        self.pushes_received += 1
        self.last_message_at = self._last_push = now
        events = self._seen(key, now)
        if self._stale_waiting:
            return [*events, *self._check_stale(now)]
        return events

    def _seen(self, key: Key, now: float) -> Sequence[Event]:
        rec = self._recs.get(key)
        if rec is None:
            return _NO_EVENTS
        rec.last = now
        count = rec.count = rec.count + 1
        return self._early_push(rec, count) if count <= 2 else _NO_EVENTS

    def _early_push(self, rec: _Rec, count: int) -> Sequence[Event]:
        if count == 2:
            if rec.periodic:
                self._flowing += 1
                self.timers_dirty = True
            return _NO_EVENTS
        if rec.status is KeyStatus.SENT:
            rec.status = KeyStatus.LIVE
        if rec.accepted is None:
            rec.accepted = True
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
                if rec is not None and rec.accepted is None:
                    rec.accepted = True
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
                rec.accepted = False
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

    def next_deadline(self) -> float:
        """The earliest time at which :meth:`tick` or :meth:`pop_frames` has work."""
        return min(self.timer_deadline(), self.send_deadline())

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
                rec.accepted = None
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
