"""The WebSocket side of the simulated exchange (``/public/`` and ``/private/``).

Served with ``trio.serve_tcp`` (or over ``trio.testing.memory_stream_pair()``) and
trio-websocket's ``wrap_server_stream``, over :class:`AbortableStream`, so the exchange can
drop a socket the way the real one does: the TCP stream just ends, no close frame, and the
client sees 1006.

Behaviour (``bitunix-protocol.md`` sections 2, 6, 8 and 9):

* on open, the greeting ``{"op":"connect","data":{"result":true}}`` on both paths;
* a JSON ping ``{"op":"ping","ping":N}`` is answered ``{"op":"ping","pong":N,"ping":S}``
  with ``S`` the exchange second at which the socket opened;
* subscribe gets no acknowledgement; the first push comes on the first market tick at
  least 0.1 s later (so 0.1 to 0.41 s), then one push per stream per tick (every 310 ms,
  every stream of a socket at the same instant, unchanged frames re-sent; ``trade`` only
  when the tick had trades; ``ticker`` and ``tickers`` only every 4th then 5th tick in
  turn, about 0.7 a second as probed live); duplicates are deduplicated; streams past 300
  on a socket are refused with
  ``{"op":"subscribe","data":{"msg":"subscribe channel > 300",...}}`` (the first 300 keep
  streaming);
* unsubscribe is answered ``{"op":"unsubscribe","ts":...,"data":"success"}``;
* unknown channels, unknown ``op``, bad JSON: no answer, the socket stays open; an
  unknown, PREVIEW or missing symbol gets one frame of empty ``["",""]`` levels on depth
  channels (nothing on others), then silence; lowercase symbols are accepted and pushes
  say upper case;
* ``login`` on ``/private/`` is checked against the real signature (timestamp in seconds
  or milliseconds, signed as the decimal text sent) and refused with ``"timestamp
  expired"`` when its timestamp is more than ``freshness_window`` (60 s) off the
  exchange's clock (nonces are not checked for reuse: the vendor's Java client logs in
  with the same literal nonce every time); after a successful login the
  ``order``, ``position``, ``balance`` and ``tpsl`` pushes follow without any subscribe
  (a private subscribe is accepted silently); public channels are not served on
  ``/private/`` and login is ignored on ``/public/``;
* a protocol-level (RFC 6455) ping as a client's first frame gets no pong, and the socket
  is cut (no close frame) 1.5 s later, as live; later protocol pings get their pong;
* a socket with no JSON ping for 60 s is dropped with no close frame; so is a client that
  sends more than 5 messages within any 1 s, and a client too slow to take its pushes.

All timing uses ``trio.current_time()``/``trio.sleep_until`` so ``MockClock`` tests are
exact; exchange milliseconds are ``start_ms + (trio_time - t0) * 1000``.
"""

from __future__ import annotations

import collections
import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import trio
import trio_websocket

from bitunix_trio._core import frames as _frames
from bitunix_trio._core import models as _models
from bitunix_trio._core import signing as _signing
from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.wire import to_wire
from bitunix_trio.testing._engine.engine import ExchangeEngine

from .faults import AbortableStream, FaultState
from .recorder import ConnectionRecord, Recorder, WsFrameRecord

__all__ = [
    "ConnectionInfo",
    "SimClock",
    "WsServer",
    "WsSettings",
    "market_data",
    "valid_public_channel",
]

StreamKey = tuple[str, str | None]

PUBLIC_PATHS = frozenset({"/public/", "/public"})
PRIVATE_PATHS = frozenset({"/private/", "/private"})
_DEPTH_LEVELS = {"depth_book1": 1, "depth_book5": 5, "depth_book15": 15, "depth_books": 15}
_PLAIN_PUBLIC = frozenset({"ticker", "tickers", "trade", "price"})
_KLINE_PREFIXES = {"market_kline_": "market", "mark_kline_": "mark"}
#: ``ticker``/``tickers`` push about 0.7 times a second (probed live), not every tick:
#: after its first push a stream waits 4 then 5 ticks in turn (1.4 s on average).
_TICKER_CHANNELS = frozenset({"ticker", "tickers"})
_TICKER_GAPS = (4, 5)


def valid_public_channel(channel: str) -> bool:
    """Whether ``channel`` is a public wire channel the exchange serves."""
    if channel in _DEPTH_LEVELS or channel in _PLAIN_PUBLIC:
        return True
    return _kline_parts(channel) is not None


def _kline_parts(channel: str) -> tuple[str, str] | None:
    for prefix, price_type in _KLINE_PREFIXES.items():
        if channel.startswith(prefix):
            interval = channel[len(prefix) :]
            if interval in _models.KLINE_INTERVALS:
                return interval, price_type
    return None


def is_depth_channel(channel: str) -> bool:
    """Whether ``channel`` is an order-book channel."""
    return channel in _DEPTH_LEVELS


def empty_depth_data(channel: str) -> dict[str, Any]:
    """The data of the one frame an unknown symbol gets on a depth channel."""
    levels = _DEPTH_LEVELS.get(channel, 15)
    return {"b": [["", ""]] * levels, "a": [["", ""]] * levels}


def _wire(value: object) -> Any:
    """An engine value as push data (engine values are models, or already wire dicts)."""
    if isinstance(value, dict | list):
        return value
    return to_wire(value)


def market_data(engine: ExchangeEngine, channel: str, symbol: str) -> Any | None:
    """The push data of public stream ``(channel, symbol)`` now; None when nothing to push."""
    if channel in _DEPTH_LEVELS:
        depth: int | str = "max" if channel == "depth_books" else _DEPTH_LEVELS[channel]
        return _wire(engine.order_book(symbol, depth))
    if channel == "ticker":
        return _wire(engine.ticker(symbol))
    if channel == "tickers":
        return [_wire(engine.ticker_summary(symbol))]
    if channel == "price":
        return _wire(engine.mark_price(symbol))
    if channel == "trade":
        trades = engine.last_trades(symbol)
        return [_wire(t) for t in trades] if trades else None
    parts = _kline_parts(channel)
    if parts is not None:
        return _wire(engine.kline(symbol, parts[0], parts[1]))
    return None


class _FirstFrameGate(trio.abc.HalfCloseableStream):
    """Holds back a protocol-level ping sent as a client's first WebSocket frame.

    trio-websocket answers every ping by itself; the live exchange answers none sent as
    the first frame and cuts the socket about 1.5 s later. The gate reads the bytes after
    the HTTP handshake: when the first frame's opcode is ping (0x9), nothing from then on
    reaches trio-websocket and ``first_ping`` is set (the server cuts the socket).
    """

    def __init__(self, stream: AbortableStream) -> None:
        self._stream = stream
        self._head: bytes | None = b""  # the handshake's tail; None once it has ended
        self._watching = True
        self._held = False
        self.first_ping = trio.Event()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        while True:
            data = await self._stream.receive_some(max_bytes)
            if self._held and data:
                continue  # everything after the ping is dropped until the cut
            if not self._watching or not data:
                return data
            keep = bytes(data)
            if self._head is None:
                first = 0  # the handshake ended with the previous chunk
            else:
                end = (self._head + keep).find(b"\r\n\r\n")
                if end < 0:
                    self._head = (self._head + keep)[-3:]
                    return data
                first = end + 4 - len(self._head)  # index in ``keep`` of the first frame
                if first >= len(keep):
                    self._head = None
                    return data
            self._watching = False
            if keep[first] & 0x0F == 0x9:
                self._held = True
                self.first_ping.set()
                if first == 0:
                    continue
                return keep[:first]
            return data


class SimClock:
    """Maps Trio time to the exchange's millisecond clock.

    ``t0`` is the Trio time at which the exchange opened and ``start_ms`` the exchange time
    then (Unix milliseconds); ``tick_ms`` is the market cadence. ``skew_ms`` shifts the clock
    the exchange judges request timestamps by (and dates its HTTP answers with) away from
    the market clock: zero unless a clock-skew fault is on.
    """

    def __init__(self, start_ms: int, tick_ms: int) -> None:
        self.t0 = trio.current_time()
        self.start_ms = start_ms
        self.tick_ms = tick_ms
        self.skew_ms = 0

    def judge_ms(self, t: float) -> int:
        """The exchange's own wall clock at Trio time ``t`` (market clock plus skew)."""
        return self.ms_at(t) + self.skew_ms

    def ms_at(self, t: float) -> int:
        """The exchange millisecond of Trio time ``t``."""
        return self.start_ms + round((t - self.t0) * 1000)

    def now_ms(self) -> int:
        """The exchange millisecond now."""
        return self.ms_at(trio.current_time())

    def tick_time(self, k: int) -> float:
        """The Trio time of market tick ``k`` (tick 0 is the opening)."""
        return self.t0 + k * self.tick_ms / 1000

    def tick_ms_of(self, k: int) -> int:
        """The exchange millisecond of market tick ``k``."""
        return self.start_ms + k * self.tick_ms


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """A snapshot of one live WebSocket connection."""

    connection_id: int
    path: str
    opened: float
    api_key: str | None
    streams: tuple[StreamKey, ...]

    @property
    def private(self) -> bool:
        """Whether this is a ``/private/`` socket."""
        return self.path.rstrip("/").endswith("private")

    @property
    def authenticated(self) -> bool:
        """Whether a login succeeded on this socket."""
        return self.api_key is not None


@dataclass(slots=True)
class _StreamState:
    first_due: float
    listed: bool
    empty_sent: bool = False
    trade_cursor: int = 0
    next_tick: int = 0
    pushes: int = 0


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


_Item = str | _Close


@dataclass(slots=True, eq=False)
class _Session:
    connection_id: int
    path: str
    private: bool
    opened: float
    open_second: int
    stream: AbortableStream
    ws: trio_websocket.WebSocketConnection
    send: trio.MemorySendChannel[list[_Item]]
    receive: trio.MemoryReceiveChannel[list[_Item]]
    record: ConnectionRecord
    idle_deadline: float
    streams: dict[StreamKey, _StreamState] = field(default_factory=dict)
    api_key: str | None = None
    received: collections.deque[float] = field(default_factory=collections.deque)

    def info(self) -> ConnectionInfo:
        return ConnectionInfo(
            self.connection_id, self.path, self.opened, self.api_key, tuple(self.streams)
        )


@dataclass(slots=True)
class WsSettings:
    """Tunable limits of the WebSocket side (defaults are the real exchange's)."""

    idle_timeout: float | None = 60.0
    max_messages_per_second: int | None = 5
    max_streams: int = 300
    first_push_delay: float = 0.1
    send_queue_ticks: int = 32
    handshake_timeout: float = 10.0
    close_timeout: float = 5.0
    #: Seconds a login timestamp may be off the exchange's clock (None: any age).
    freshness_window: float | None = 60.0
    #: A protocol-level ping as a client's first frame: no pong, the socket cut this long
    #: after (None: answered like any ping, as trio-websocket does by itself).
    first_frame_ping_cut: float | None = 1.5


class WsServer:
    """Serves WebSocket connections for one simulated exchange."""

    def __init__(
        self,
        engine: ExchangeEngine,
        clock: SimClock,
        faults: FaultState,
        recorder: Recorder,
        settings: WsSettings | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.faults = faults
        self.recorder = recorder
        self.settings = settings or WsSettings()
        self._sessions: dict[int, _Session] = {}
        self._ids = itertools.count(1)
        self._known_keys: set[str] = set()
        self._tick = 0
        self._changed = trio.Event()

    # -- introspection ---------------------------------------------------------------

    @property
    def tick(self) -> int:
        """The number of market ticks so far."""
        return self._tick

    def connections(self) -> tuple[ConnectionInfo, ...]:
        """Snapshots of the live connections, oldest first."""
        return tuple(s.info() for s in self._sessions.values())

    async def wait_changed(self) -> None:
        """Wait until a connection opens or closes."""
        await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def remember_key(self, api_key: str) -> None:
        """Drain (and so discard while nobody listens) the private events of ``api_key``."""
        self._known_keys.add(api_key)

    # -- faults ------------------------------------------------------------------------

    def drop_all(self, reason: str = "dropped") -> None:
        """Cut every socket with no close frame."""
        for session in list(self._sessions.values()):
            self._abort(session, reason)

    def close_all(self, code: int, reason: str) -> None:
        """Close every socket with a close frame (after what is already queued)."""
        for session in list(self._sessions.values()):
            self._enqueue(session, [_Close(code, reason)], control=True)

    def send_text(self, text: str) -> None:
        """Queue one text frame, exactly as given, on every socket."""
        for session in list(self._sessions.values()):
            self._enqueue(session, [text], control=True)

    def send_garbage(self, n: int) -> None:
        """Queue ``n`` garbage frames on every socket."""
        for session in list(self._sessions.values()):
            batch: list[_Item] = [self.faults.next_garbage() for _ in range(n)]
            self._enqueue(session, batch, control=True)

    # -- market cadence ----------------------------------------------------------------

    async def run_ticker(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """The one market clock of the exchange: advance the engine and push, every tick."""
        task_status.started()
        while True:
            k = self._tick + 1
            await trio.sleep_until(self.clock.tick_time(k))
            self._tick = k
            now_ms = self.clock.tick_ms_of(k)
            self.engine.advance(now_ms)
            self._push_tick(trio.current_time(), now_ms, k)
            self.flush_private()

    def _push_tick(self, now: float, now_ms: int, k: int) -> None:
        cache: dict[tuple[str, str | None, int], str | None] = {}
        for session in list(self._sessions.values()):
            batch: list[_Item] = []
            for key, state in session.streams.items():
                if now < state.first_due or k < state.next_tick:
                    continue
                if key[0] in _TICKER_CHANNELS:
                    state.next_tick = k + _TICKER_GAPS[state.pushes % len(_TICKER_GAPS)]
                    state.pushes += 1
                if not state.listed:
                    if not state.empty_sent:
                        state.empty_sent = True
                        if is_depth_channel(key[0]):
                            batch.append(
                                _frames.encode_push(
                                    key[0], key[1], now_ms, empty_depth_data(key[0])
                                )
                            )
                    continue
                cursor = state.trade_cursor
                cache_key = (key[0], key[1], cursor)
                if cache_key not in cache:
                    cache[cache_key] = self._frame_for(key, now_ms, cursor)
                text = cache[cache_key]
                if key[0] == "trade" and key[1] is not None:
                    state.trade_cursor = self._trade_seq(key[1])
                if text is not None:
                    batch.append(text)
            if batch:
                self._enqueue(session, batch)

    def _trade_seq(self, symbol: str) -> int:
        return self.engine.trades_since(symbol, sys.maxsize)[1]

    def _frame_for(self, key: StreamKey, now_ms: int, trade_cursor: int) -> str | None:
        channel, symbol = key
        if symbol is None:
            return None
        if channel == "trade":
            trades = self.engine.trades_since(symbol, trade_cursor)[0]
            if not trades:
                return None
            return _frames.encode_push(channel, symbol, now_ms, [_wire(t) for t in trades])
        data = market_data(self.engine, channel, symbol)
        if data is None:
            return None
        envelope_symbol = None if channel == "tickers" else symbol
        return _frames.encode_push(channel, envelope_symbol, now_ms, data)

    def flush_private(self) -> None:
        """Push the queued private events of every logged-in account now.

        Events of accounts with no logged-in socket are drained and discarded (the real
        exchange does not replay what a disconnected client missed).
        """
        keys = {s.api_key for s in self._sessions.values() if s.api_key} | self._known_keys
        now_ms = self.clock.now_ms()
        for api_key in sorted(k for k in keys if k):
            events = self.engine.drain_private_events(api_key)
            if not events:
                continue
            texts: list[_Item] = [
                _frames.encode_push(channel, None, now_ms, data) for channel, data in events
            ]
            for session in list(self._sessions.values()):
                if session.api_key == api_key:
                    self._enqueue(session, list(texts))

    def send_recorded(self, text: str, *, private: bool, keys: frozenset[StreamKey] | None) -> None:
        """Send ``text`` unchanged to the sockets that want it (a recording being replayed).

        ``private``: to every logged-in ``/private/`` socket. Otherwise to every
        ``/public/`` socket subscribed to one of ``keys`` (every one when ``keys`` is None).
        """
        for session in list(self._sessions.values()):
            if session.private != private:
                continue
            if private:
                if session.api_key is None:
                    continue
            elif keys is not None and keys.isdisjoint(session.streams):
                continue
            self._enqueue(session, [text])

    # -- connections -------------------------------------------------------------------

    async def serve_stream(self, stream: trio.abc.Stream) -> None:
        """Serve one client transport (a TCP stream or one end of a memory stream pair)."""
        abortable = AbortableStream(stream)
        gate = _FirstFrameGate(abortable)
        try:
            async with trio.open_nursery() as nursery:
                if self.settings.first_frame_ping_cut is not None:
                    nursery.start_soon(self._cut_after_first_ping, gate, abortable)
                await self._serve(nursery, abortable, gate)
                nursery.cancel_scope.cancel()
        finally:
            abortable.abort()

    async def _cut_after_first_ping(self, gate: _FirstFrameGate, stream: AbortableStream) -> None:
        await gate.first_ping.wait()
        assert self.settings.first_frame_ping_cut is not None
        await trio.sleep(self.settings.first_frame_ping_cut)
        for session in list(self._sessions.values()):
            if session.stream is stream:
                self._finish(session, "aborted", "protocol ping as the first frame")
        stream.abort()

    async def _serve(
        self, nursery: trio.Nursery, stream: AbortableStream, gate: _FirstFrameGate
    ) -> None:
        request: trio_websocket.WebSocketRequest | None = None
        with trio.move_on_after(self.settings.handshake_timeout):
            # trio-websocket's annotation says SocketStream, but any trio Stream works.
            wrapped: Any = gate
            request = await trio_websocket.wrap_server_stream(nursery, wrapped)
        if request is None:
            return
        now = trio.current_time()
        path = request.path.split("?", 1)[0]
        connection_id = next(self._ids)
        record = ConnectionRecord(connection_id, path, now)
        self.recorder.record_connection(record)
        if path not in PUBLIC_PATHS and path not in PRIVATE_PATHS:
            await self._reject(request, stream, record, 404, b"Not Found", "unknown path")
            return
        if self.faults.refusing_websockets:
            await self._reject(request, stream, record, 503, b"Service Unavailable", "down")
            return
        ws = await request.accept()
        send, receive = trio.open_memory_channel[list[_Item]](self.settings.send_queue_ticks)
        idle = self.settings.idle_timeout
        session = _Session(
            connection_id=connection_id,
            path=path,
            private=path in PRIVATE_PATHS,
            opened=now,
            open_second=self.clock.ms_at(now) // 1000,
            stream=stream,
            ws=ws,
            send=send,
            receive=receive,
            record=record,
            idle_deadline=now + idle if idle is not None else float("inf"),
        )
        self._sessions[connection_id] = session
        self._notify()
        try:
            self._enqueue(session, [_frames.encode_greeting()], control=True)
            nursery.start_soon(self._sender, session)
            if idle is not None:
                nursery.start_soon(self._watchdog, session)
            await self._reader(session)
        finally:
            del self._sessions[connection_id]
            if record.end is None:
                record.end = "lost"
                record.reason = "client went away"
                record.closed = trio.current_time()
            self._notify()

    async def _reject(
        self,
        request: trio_websocket.WebSocketRequest,
        stream: AbortableStream,
        record: ConnectionRecord,
        status: int,
        body: bytes,
        reason: str,
    ) -> None:
        record.end = "rejected"
        record.reason = reason
        record.closed = trio.current_time()
        with trio.move_on_after(self.settings.close_timeout):
            await request.reject(status, body=body)
            await stream.aclose()

    def _finish(self, session: _Session, end: str, reason: str) -> None:
        if session.record.end is None:
            session.record.end = end
            session.record.reason = reason
            session.record.closed = trio.current_time()

    def _abort(self, session: _Session, reason: str) -> None:
        self._finish(session, "aborted", reason)
        session.stream.abort()

    def _enqueue(self, session: _Session, batch: list[_Item], *, control: bool = False) -> None:
        """Queue frames for a socket; a socket whose queue is full is dropped (too slow)."""
        if self.faults.silent and not any(isinstance(i, _Close) for i in batch):
            return
        try:
            session.send.send_nowait(batch)
        except trio.WouldBlock:
            if control and any(isinstance(i, _Close) for i in batch):
                self._abort(session, "close requested while the client was not reading")
            else:
                self._abort(session, "client too slow")
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    async def _sender(self, session: _Session) -> None:
        async for batch in session.receive:
            for item in batch:
                if isinstance(item, _Close):
                    self._finish(session, "closed", f"closed by the exchange ({item.code})")
                    with trio.move_on_after(self.settings.close_timeout):
                        await session.ws.aclose(item.code, item.reason or None)
                    session.stream.abort()
                    return
                try:
                    await session.ws.send_message(item)
                except trio_websocket.ConnectionClosed:
                    return

    async def _watchdog(self, session: _Session) -> None:
        while True:
            await trio.sleep_until(session.idle_deadline)
            if trio.current_time() >= session.idle_deadline:
                self._abort(session, "idle: no ping")
                return

    async def _reader(self, session: _Session) -> None:
        limit = self.settings.max_messages_per_second
        while True:
            try:
                message = await session.ws.get_message()
            except trio_websocket.ConnectionClosed as exc:
                reason = exc.reason
                if reason is not None and reason.code != 1006:
                    self._finish(session, "closed", f"closed by the client ({reason.code})")
                return
            now = trio.current_time()
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            self.recorder.record_frame(
                WsFrameRecord(session.connection_id, session.path, now, self.clock.ms_at(now), text)
            )
            if limit is not None:
                received = session.received
                received.append(now)
                while received and now - received[0] >= 1.0:
                    received.popleft()
                if len(received) > limit:
                    self._abort(session, f"more than {limit} messages in 1 s")
                    return
            self._handle(session, text, now)

    # -- client frames -----------------------------------------------------------------

    def _handle(self, session: _Session, text: str, now: float) -> None:
        frame = _frames.decode_client(text)
        if isinstance(frame, _frames.PingRequest):
            if self.settings.idle_timeout is not None:
                session.idle_deadline = now + self.settings.idle_timeout
            if not self.faults.no_pong:
                self._enqueue(
                    session, [_frames.encode_pong(frame.ping, session.open_second)], control=True
                )
        elif isinstance(frame, _frames.SubscribeRequest):
            if not session.private:
                self._subscribe(session, frame.args, now)
        elif isinstance(frame, _frames.UnsubscribeRequest):
            for key in frame.args:
                session.streams.pop(_normal_key(key), None)
            reply = _frames.encode_unsubscribe_reply(self.clock.ms_at(now))
            self._enqueue(session, [reply], control=True)
        elif isinstance(frame, _frames.LoginRequest) and session.private:
            self._login(session, frame)
        # Malformed / Unknown: silence, the socket stays open.

    def _subscribe(self, session: _Session, keys: Sequence[StreamKey], now: float) -> None:
        if self.faults.refuse_subscriptions:
            self._enqueue(session, [_frames.encode_subscribe_refused()], control=True)
            return
        refused = False
        for raw in keys:
            key = _normal_key(raw)
            channel, symbol = key
            if not valid_public_channel(channel) or key in session.streams:
                continue
            if len(session.streams) >= self.settings.max_streams:
                refused = True
                continue
            listed = symbol is not None and self.engine.is_listed(symbol)
            state = _StreamState(now + self.settings.first_push_delay, listed)
            if listed and channel == "trade" and symbol is not None:
                state.trade_cursor = self._trade_seq(symbol)
            session.streams[key] = state
        if refused:
            self._enqueue(session, [_frames.encode_subscribe_refused()], control=True)

    def _login(self, session: _Session, frame: _frames.LoginRequest) -> None:
        ok, message = self._check_login(frame)
        if ok:
            session.api_key = frame.api_key
            self._known_keys.add(session.api_key)
            # Events from before this login are not replayed.
            self.engine.drain_private_events(session.api_key)
        self._enqueue(session, [_frames.encode_login_reply(ok, message)], control=True)

    def _check_login(self, frame: _frames.LoginRequest) -> tuple[bool, str | None]:
        if self.faults.take_login_rejection():
            return False, "login rejected"
        account = self.engine.account_by_key(frame.api_key)
        if account is None:
            return False, "apiKey not exist"
        try:
            credentials = Credentials(account.api_key, account.secret_key)
        except ValueError:
            return False, "apiKey not exist"
        ok = _signing.verify_ws_login(
            credentials,
            api_key=frame.api_key,
            timestamp=frame.timestamp,
            nonce=frame.nonce,
            sign=frame.sign,
        )
        if not ok:
            return False, "sign error"
        window = self.settings.freshness_window
        if window is not None and not _signing.verify_ws_login(
            credentials,
            api_key=frame.api_key,
            timestamp=frame.timestamp,
            nonce=frame.nonce,
            sign=frame.sign,
            now=self.clock.judge_ms(trio.current_time()) / 1000,
            max_skew=window,
        ):
            return False, "timestamp expired"
        return True, None


def _normal_key(key: StreamKey) -> StreamKey:
    channel, symbol = key
    return channel, symbol.upper() if symbol else None
