"""The sans-I/O connection core: transitions, budget, batching, heartbeat, stale verdicts."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from protocol_shell import Shell

from bitunix_trio._core import frames as _frames
from bitunix_trio._core.config import HeartbeatConfig
from bitunix_trio._core.events import (
    BadFrame,
    ConnectionDead,
    ConnectionState,
    KeyStatus,
    LoginFailed,
    StateChanged,
    SubscribeAccepted,
    SubscriptionRefused,
    SubscriptionStale,
)
from bitunix_trio._core.frames import Key
from bitunix_trio._core.protocol import ConnectionProtocol

S = ConnectionState
HB = HeartbeatConfig(interval=15.0, timeout=5.0, stale_after=10.0)
BOOK = {"b": [["100", "1"]], "a": [["101", "2"]]}
EMPTY_BOOK = {"b": [["", ""]], "a": [["", ""]]}


def book_key(symbol: str) -> Key:
    return ("depth_book15", symbol)


def push(symbol: str, data: object = BOOK, channel: str = "depth_book15") -> str:
    return _frames.encode_push(channel, symbol, 1_700_000_000_000, data)


def pong(value: int = 1_700_000_000) -> str:
    return _frames.encode_pong(value, 1)


def login_args() -> dict[str, object]:
    return {"apiKey": "k", "timestamp": 1, "nonce": "n", "sign": "s"}


def public(**kwargs: Any) -> Shell:
    kwargs.setdefault("heartbeat", HB)
    return Shell(ConnectionProtocol(wall_clock=lambda: 1_700_000_000.0, **kwargs))


def private(**kwargs: Any) -> Shell:
    kwargs.setdefault("heartbeat", HB)
    proto = ConnectionProtocol(wall_clock=lambda: 1_700_000_000.0, login=login_args, **kwargs)
    return Shell(proto)


def ops(frames: list[str]) -> list[str]:
    return [json.loads(f)["op"] for f in frames]


def args_of(frame: str) -> list[Key]:
    return [(a["ch"], a.get("symbol")) for a in json.loads(frame)["args"]]


def state_of(proto: Shell) -> ConnectionState:
    # Through a function: mypy would otherwise keep the attribute narrowed across calls.
    return proto.state


def is_ready(proto: Shell) -> bool:
    return proto.ready


def started(proto: Shell, now: float = 0.0) -> Shell:
    proto.connecting()
    proto.connected(now)
    return proto


# -- transitions -------------------------------------------------------------------------------


def test_public_transition_table() -> None:
    p = public()
    assert p.state is S.DISCONNECTED
    table: list[tuple[str, list[object]]] = [
        ("connecting", [StateChanged(S.DISCONNECTED, S.CONNECTING)]),
        ("connected", [StateChanged(S.CONNECTING, S.CONNECTED)]),
        ("disconnected", [StateChanged(S.CONNECTED, S.RECONNECTING, "gone")]),
        ("connecting", []),
        ("connected", [StateChanged(S.RECONNECTING, S.CONNECTED)]),
        ("close", [StateChanged(S.CONNECTED, S.CLOSED, "bye")]),
        ("connecting", []),
        ("connected", []),
        ("disconnected", []),
    ]
    for name, expected in table:
        if name == "connecting":
            events = p.connecting()
        elif name == "connected":
            events = p.connected(0.0)
            assert p.ready == (state_of(p) is S.CONNECTED)
        elif name == "disconnected":
            events = p.disconnected("gone")
            assert not p.ready
        else:
            events = p.close("bye")
        assert events == expected, name
    assert state_of(p) is S.CLOSED


def test_private_logs_in_after_the_greeting() -> None:
    p = started(private())
    assert state_of(p) is S.CONNECTED
    assert not is_ready(p)
    p.subscribe(("order", None), periodic=False)
    assert p.pop_frames(0.0) == []  # nothing before the greeting
    p.receive(_frames.encode_greeting(), 0.1)
    frames = p.pop_frames(0.1)
    assert ops(frames) == ["login"]
    assert json.loads(frames[0])["args"] == [login_args()]
    assert p.pop_frames(0.1) == []  # subscriptions wait for the login reply
    events = p.receive(_frames.encode_login_reply(True), 0.2)
    assert events == [StateChanged(S.CONNECTED, S.AUTHENTICATED)]
    assert is_ready(p)
    frames = p.pop_frames(0.2)
    assert ops(frames) == ["subscribe", "ping"]
    assert args_of(frames[0]) == [("order", None)]


def test_private_login_refused_leaves_the_socket_to_the_shell() -> None:
    p = started(private())
    p.receive(_frames.encode_greeting(), 0.0)
    p.pop_frames(0.0)
    events = p.receive(_frames.encode_login_reply(False, "sign error"), 0.1)
    assert events == [LoginFailed("sign error")]
    assert not is_ready(p)
    assert p.pop_frames(0.2) == []
    # Nothing more happens on that socket: no second login, no late success.
    assert p.receive(_frames.encode_greeting(), 0.3) == []
    assert p.receive(_frames.encode_login_reply(True), 0.3) == []
    assert p.pop_frames(0.3) == []
    assert p.state is S.CONNECTED
    assert not is_ready(p)
    # The shell either closes (a first login) or reconnects (a re-login, retried).
    assert p.disconnected("login refused") == [
        StateChanged(S.CONNECTED, S.RECONNECTING, "login refused")
    ]
    p.connected(1.0)
    p.receive(_frames.encode_greeting(), 1.0)
    assert ops(p.pop_frames(1.0)) == ["login"]
    events = p.receive(_frames.encode_login_reply(True), 1.1)
    assert events == [StateChanged(S.CONNECTED, S.AUTHENTICATED)]


def test_private_without_greeting_logs_in_after_timeout_then_waits_for_reply() -> None:
    p = started(private(), 0.0)
    assert p.timer_deadline() == 5.0
    assert p.tick(4.9) == []
    assert p.pop_frames(4.9) == []
    assert p.tick(5.0) == []
    assert ops(p.pop_frames(5.0)) == ["login"]
    assert p.timer_deadline() == 10.0
    assert p.tick(9.99) == []
    assert p.tick(10.0) == [ConnectionDead("no login reply within 5 s")]


def test_garbage_is_counted_never_fatal() -> None:
    p = started(public())
    for text in ("not json", "[1]", '{"op":"what"}', '{"ch":"ticker","ts":"x"}', "\x00"):
        events = p.receive(text, 1.0)
        assert len(events) == 1
        assert isinstance(events[0], BadFrame)
    assert p.bad_frames == 5
    assert p.state is S.CONNECTED


# -- budget ------------------------------------------------------------------------------------


def test_budget_twelve_frames_leave_at_exact_times() -> None:
    p = started(public(max_batch=1))
    for i in range(12):
        p.subscribe(book_key(f"S{i:02}USDT"))
    sent: list[tuple[float, str]] = []
    now = 0.0
    while True:
        for frame in p.pop_frames(now):
            sent.append((now, frame))
        if not p.wants_write:
            break
        now = p.send_deadline()
    times = [t for t, _ in sent]
    assert times == pytest.approx([0.0] * 5 + [1.1] * 5 + [2.2] * 3)
    assert ops([f for _, f in sent]) == ["subscribe"] * 12 + ["ping"]  # then the barrier
    keys = [args_of(f)[0] for _, f in sent[:12]]
    assert keys == [book_key(f"S{i:02}USDT") for i in range(12)]  # in order, none dropped


def test_budget_never_exceeds_five_in_any_second() -> None:
    rng = random.Random(7)
    p = started(public(max_batch=1))
    sent: list[float] = []
    now = 0.0
    for step in range(300):
        now += rng.choice([0.0, 0.01, 0.2, 0.5])
        if rng.random() < 0.6:
            p.subscribe(book_key(f"K{step}USDT"))
        sent.extend(now for _ in p.pop_frames(now))
    assert len(sent) > 100
    for i in range(len(sent) - 5):
        assert sent[i + 5] - sent[i] >= 1.1 - 1e-9


def test_budget_is_per_socket_a_new_one_starts_full() -> None:
    # The exchange counts 5 messages a second per connection: the frames of a socket that
    # is gone do not delay the next socket's.
    p = started(public(max_batch=1))
    for i in range(6):
        p.subscribe(book_key(f"S{i}USDT"))
    assert len(p.pop_frames(0.0)) == 5
    p.disconnected("lost")
    p.connected(0.5)
    assert ops(p.pop_frames(0.5)) == ["subscribe"] * 5
    assert p.send_deadline() == pytest.approx(1.6)  # then the budget of this socket counts
    assert p.pop_frames(1.5) == []
    assert ops(p.pop_frames(1.6)) == ["subscribe", "ping"]


def test_heartbeat_ping_counts_against_the_budget() -> None:
    p = started(public(max_batch=1))
    for i in range(5):
        p.subscribe(book_key(f"S{i}USDT"))
    assert len(p.pop_frames(14.5)) == 5
    assert p.send_deadline() == 15.6  # the ping due at 15 waits for a slot
    assert p.pop_frames(15.0) == []
    assert ops(p.pop_frames(15.6)) == ["ping"]


# -- batching ----------------------------------------------------------------------------------


def test_resubscribe_plan_batches_everything_wanted() -> None:
    p = started(public())
    keys = [book_key(f"S{i:03}USDT") for i in range(250)]
    for key in keys:
        p.subscribe(key)
    frames = p.pop_frames(0.0)
    assert ops(frames) == ["subscribe"] * 3 + ["ping"]
    assert [len(args_of(f)) for f in frames[:3]] == [100, 100, 50]
    # Reconnect: one key left meanwhile, one was refused; the rest comes back in batches.
    p.receive(_frames.encode_subscribe_refused(), 0.1)  # charged to the first frame
    p.receive(pong(), 0.1)
    refused = [k for k in keys if p.status(k) is KeyStatus.REFUSED]
    assert refused == keys[:100]
    p.disconnected("lost")
    p.unsubscribe(keys[200])
    p.connecting()
    p.connected(5.0)
    frames = p.pop_frames(5.0)
    assert ops(frames) == ["subscribe", "subscribe", "ping"]
    resent = [k for f in frames[:2] for k in args_of(f)]
    assert resent == keys[100:200] + keys[201:]


def test_reference_counts_and_coalescing() -> None:
    p = started(public())
    key = book_key("BTCUSDT")
    assert p.subscribe(key) is True
    assert p.subscribe(key) is False
    assert p.refs(key) == 2
    assert p.unsubscribe(key) is False
    assert p.unsubscribe(key) is True  # the last one: but it was never sent
    assert p.pop_frames(0.0) == []
    p.subscribe(key)
    assert ops(p.pop_frames(0.0)) == ["subscribe", "ping"]
    p.unsubscribe(key)
    p.subscribe(key)  # back before the unsubscribe left: nothing to send
    assert p.pop_frames(0.1) == []
    p.unsubscribe(key)
    frames = p.pop_frames(0.2)
    assert ops(frames) == ["unsubscribe"]
    assert args_of(frames[0]) == [key]
    assert p.receive(_frames.encode_unsubscribe_reply(5), 0.3) == []
    assert p.unsubscribe(key) is False


def test_verdicts_first_push_barrier_and_refusal() -> None:
    p = started(public())
    a, b, c = book_key("AUSDT"), book_key("BUSDT"), book_key("CUSDT")
    p.subscribe(a)
    p.subscribe(b)
    assert ops(p.pop_frames(0.0)) == ["subscribe", "ping"]
    events = p.receive(push("AUSDT"), 0.1)
    assert events[1:] == [SubscribeAccepted((a,))]
    assert p.receive(pong(), 0.1) == [SubscribeAccepted((b,))]
    assert p.accepted(a) is True
    assert p.accepted(b) is True
    p.subscribe(c)
    assert ops(p.pop_frames(0.2)) == ["subscribe", "ping"]
    msg = "subscribe channel > 300"
    events = p.receive(_frames.encode_subscribe_refused(), 0.3)
    assert events == [SubscriptionRefused((c,), msg)]
    assert p.accepted(c) is False
    assert p.status(c) is KeyStatus.REFUSED
    assert p.receive(pong(), 0.3) == []
    # A refusal nobody waits for is reported, not fatal.
    (event,) = p.receive(_frames.encode_subscribe_refused(), 0.4)
    assert "no subscribe waiting" in str(event)


# -- heartbeat and silence ---------------------------------------------------------------------


def test_heartbeat_schedule_is_drift_free() -> None:
    p = started(public(), 100.0)
    assert p.send_deadline() == 115.0
    assert p.pop_frames(114.9) == []
    assert ops(p.pop_frames(115.7)) == ["ping"]  # sent late...
    p.receive(pong(), 115.8)
    assert p.send_deadline() == 130.0  # ...the next one is still on the grid
    assert ops(p.pop_frames(130.0)) == ["ping"]
    p.receive(pong(), 130.1)
    assert ops(p.pop_frames(161.0)) == ["ping"]  # two missed slots collapse into one
    assert p.send_deadline() == 175.0


def test_unanswered_ping_is_a_dead_connection_at_interval_plus_timeout() -> None:
    p = started(public(), 0.0)
    assert ops(p.pop_frames(15.0)) == ["ping"]
    assert p.timer_deadline() == 20.0
    assert p.tick(19.999) == []
    assert p.tick(20.0) == [ConnectionDead("no reply to ping within 5 s")]


def test_answered_ping_keeps_the_connection() -> None:
    p = started(public(), 0.0)
    p.pop_frames(15.0)
    p.receive(pong(), 15.2)
    assert p.timer_deadline() == float("inf")
    assert p.tick(20.0) == []


def test_silent_socket_with_flowing_subscriptions_is_dead() -> None:
    p = started(public(), 0.0)
    a, b = book_key("AUSDT"), book_key("BUSDT")
    p.subscribe(a)
    p.subscribe(b)
    p.pop_frames(0.0)
    p.receive(pong(), 0.0)
    for t in (0.5, 1.0, 2.0):
        p.receive(push("AUSDT"), t)
        p.receive(push("BUSDT"), t + 0.5)
    verdicts: list[tuple[float, object]] = []
    while not verdicts:
        now = p.timer_deadline()
        verdicts = [(now, e) for e in p.tick(now)]
    # A (silent since 2.0) is not declared stale while the whole socket is silent.
    assert verdicts == [(12.5, ConnectionDead("no data for 10 s"))]


def test_event_driven_channels_never_go_stale() -> None:
    p = started(public(), 0.0)
    p.subscribe(("trade", "BTCUSDT"), periodic=False)
    p.pop_frames(0.0)
    p.receive(pong(), 0.0)
    for t in (30.0, 60.0, 90.0):
        assert p.tick(t) == []
        p.pop_frames(t)
        p.receive(pong(), t)


# -- stale verdicts ----------------------------------------------------------------------------


def test_unknown_symbol_alone_is_stale_after_a_probe_ping() -> None:
    p = started(public(), 0.0)
    key = book_key("NOPEUSDT")
    p.subscribe(key)
    assert ops(p.pop_frames(0.0)) == ["subscribe", "ping"]
    p.receive(pong(), 0.0)
    p.receive(push("NOPEUSDT", EMPTY_BOOK), 0.4)  # one empty frame, then silence
    # Nothing flows: a probe every 2.5 s of the key's silence keeps a ping in flight.
    probes: list[float] = []
    events: list[object] = []
    while not events:
        now = p.next_deadline()
        assert not p.tick(now)
        for frame in p.pop_frames(now):
            assert ops([frame]) == ["ping"]
            probes.append(now)
            events += p.receive(pong(), now)  # answered at once
    assert probes == pytest.approx([2.9, 5.4, 7.9, 10.4])
    assert events == [
        SubscriptionStale(
            key, "no data for depth_book15 NOPEUSDT in 10 s (unknown or delisted symbol?)"
        )
    ]
    assert p.status(key) is KeyStatus.STALE
    assert p.next_deadline() == 15.0  # only the heartbeat is left
    assert p.tick(30.0) == []
    p.disconnected("x")
    p.connected(40.0)
    assert ops(p.pop_frames(40.0)) == []  # a stale key is not resubscribed


def run_silent_spell(
    p: Shell, symbol: str, *, first: float, silent: tuple[float, float], until: float
) -> list[tuple[float, object]]:
    """Drive ``p`` in exact time: the exchange pushes ``symbol`` every second from ``first``
    and answers each ping at once, except during ``silent`` (start, end), when it sends
    nothing at all. The events, with their times, until ``until`` or a dead connection."""
    start, end = silent
    pushes = now = first
    events: list[tuple[float, object]] = []
    while True:
        now = max(now, min(p.next_deadline(), pushes))
        if now >= until:
            return events
        quiet = start <= now < end
        if now == pushes:
            pushes += 1.0
            if not quiet:
                received = p.receive(push(symbol), now)
                events += [(now, e) for e in received if not isinstance(e, _frames.Push)]
        events += [(now, e) for e in p.tick(now)]
        for frame in p.pop_frames(now):
            if ops([frame]) == ["ping"] and not quiet:
                events += [(now, e) for e in p.receive(pong(), now)]
        if any(isinstance(e, ConnectionDead) for _, e in events):
            return events


def test_a_socket_silent_after_a_reconnect_is_dead_not_its_subscription_stale() -> None:
    # A subscription live on the previous socket; on the new one it pushes once (the
    # market ticks every second), then the whole socket is silent for 13 s and comes back
    # just before the heartbeat ping at 15, whose reply arrives before the next push.
    p = started(public(), 0.0)
    key = book_key("BTCUSDT")
    p.subscribe(key)
    p.pop_frames(0.0)
    p.receive(push("BTCUSDT"), 0.3)
    p.receive(push("BTCUSDT"), 0.6)
    p.disconnected("lost")
    p.connected(100.0)
    assert ops(p.pop_frames(100.0)) == ["subscribe", "ping"]
    p.receive(pong(), 100.0)
    events = run_silent_spell(p, "BTCUSDT", first=100.5, silent=(101.0, 114.9), until=130.0)
    assert not [e for _, e in events if isinstance(e, SubscriptionStale)]
    # The probe sent 2.5 s into the silence went unanswered: the socket is replaced.
    assert events[-1] == (108.0, ConnectionDead("no reply to ping within 5 s"))


def test_a_key_pushing_again_after_a_short_silence_stays_live() -> None:
    p = started(public(), 0.0)
    key = book_key("BTCUSDT")
    p.subscribe(key)
    p.pop_frames(0.0)
    p.receive(pong(), 0.0)
    events = run_silent_spell(p, "BTCUSDT", first=0.5, silent=(1.0, 2.9), until=60.0)
    assert events == []  # no verdict, no dead connection
    assert p.status(key) is KeyStatus.LIVE


def test_silent_key_among_flowing_ones_is_stale_at_the_next_sibling_push() -> None:
    p = started(public(), 0.0)
    a, b = book_key("AUSDT"), book_key("BUSDT")
    p.subscribe(a)
    p.subscribe(b)
    p.pop_frames(0.0)
    p.receive(pong(), 0.0)
    p.receive(push("AUSDT"), 1.0)
    p.receive(push("AUSDT"), 2.0)  # A stops here
    stale: list[object] = []
    t = 0.5
    while t < 13:
        events = p.receive(push("BUSDT"), t)
        stale += [(t, e) for e in events if isinstance(e, SubscriptionStale)]
        stale += [(t, e) for e in p.tick(t) if isinstance(e, SubscriptionStale)]
        t += 0.5
    assert stale == [(12.0, SubscriptionStale(a, "no data for depth_book15 AUSDT in 10 s"))]


def test_never_answered_subscription_is_stale() -> None:
    p = started(public(), 0.0)
    key = ("ticker", "NOPEUSDT")
    p.subscribe(key)
    p.pop_frames(1.0)
    p.receive(pong(), 1.0)
    events = run_silent_spell(p, "OTHERUSDT", first=1.0, silent=(0.0, 0.0), until=30.0)
    assert [(t, e) for t, e in events if isinstance(e, SubscriptionStale)] == events
    assert [(t, e.key) for t, e in events if isinstance(e, SubscriptionStale)] == [(11.0, key)]


def test_private_pushes_route_by_channel() -> None:
    p = started(private())
    p.receive(_frames.encode_greeting(), 0.0)
    p.pop_frames(0.0)
    p.receive(_frames.encode_login_reply(True), 0.0)
    p.subscribe(("balance", None), periodic=False)
    p.pop_frames(0.0)
    data = {"coin": "USDT", "available": "1", "frozen": "0", "margin": "0"}
    events = p.receive(_frames.encode_push("balance", None, 1, data), 0.5)
    assert isinstance(events[0], _frames.Push)
    assert events[1:] == [SubscribeAccepted((("balance", None),))]


def test_pong_must_echo_a_ping() -> None:
    p = started(public(), 0.0)
    assert ops(p.pop_frames(15.0)) == ["ping"]
    value = json.loads(_frames.encode_ping(1_700_000_000))["ping"]
    assert p.receive('{"op":"ping","pong":"x"}', 15.1) == []
    assert p.receive(_frames.encode_pong(value + 1, 1), 15.1) == []
    assert p.unmatched_pongs == 2
    assert p.timer_deadline() == 20.0  # still waiting
    p.receive(_frames.encode_pong(value, 1), 15.2)
    assert p.timer_deadline() == float("inf")
