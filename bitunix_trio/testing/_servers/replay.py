"""Serving a recording back: ``open_simulated_exchange(replay=FILE)``.

A recording (``bitunix-trio record``, format in :mod:`bitunix_trio._stream.recording`) is served
by the simulated exchange in place of its own market:

* **Pushes.** Every recorded push is sent at its recorded time (from the moment the
  exchange opened), divided by ``speed``, byte for byte as recorded: a public push to
  every ``/public/`` socket subscribed to its ``(channel, symbol)`` (``tickers``: to
  sockets subscribed to ``tickers`` of one of its symbols) at that moment, whatever the
  recorded connection was; a private push (``order``, ``position``, ``balance``,
  ``tpsl``) to every ``/private/`` socket logged in to the exchange (with its
  credentials). A recorded frame that is neither a push nor a reply (text that is not
  JSON, a JSON value with no ``op``) goes to every socket of its path. Replies the client
  caused (greeting, pong, login, unsubscribe) are not replayed: the exchange answers its
  clients itself, as usual. The exchange's own market does not tick.
* **REST.** A ``GET`` whose path and parameters were recorded is answered with the body
  recorded for the latest request sent at or before the current recording time (the
  first one before that), whatever the account; private ones still need a valid
  signature. A market path (``/api/v1/futures/market/...``) never recorded with those
  parameters answers ``{"code": 404, "msg": "Not in the recording: ..."}``. Everything
  else (orders, other private calls) is served by the simulated account as usual. Only
  responses recorded with HTTP 200 are served.
* **The end.** After the last frame the exchange sends no more pushes; sockets stay
  open (pings are answered) and REST keeps answering with the last recorded responses;
  :attr:`Replay.finished` is set. With ``loop=True`` the recording starts over at once
  (time ``duration`` is time 0 again), forever.

Under ``trio.testing.MockClock`` over memory streams the frames reach the client at
exactly ``t0 + t / speed``; over loopback they follow the wall clock.
"""

from __future__ import annotations

import bisect
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import trio

from bitunix_trio._core.errors import ConfigurationError
from bitunix_trio._core.frames import PRIVATE_CHANNELS
from bitunix_trio._stream.recording import RecordedResponse, Recording, load_recording
from bitunix_trio.testing._engine.engine import SimulatedError

from .rest import RestApp, _Request
from .ws import StreamKey, WsServer

__all__ = ["MARKET_PREFIX", "Replay", "ReplayRestApp", "open_replay"]

#: REST paths under this prefix are market data, answered only from the recording.
MARKET_PREFIX = "/api/v1/futures/market/"


@dataclass(frozen=True, slots=True)
class _Frame:
    t: float
    text: str
    private: bool
    keys: frozenset[StreamKey] | None  # None: every socket of the path


def _route(text: str, private: bool) -> tuple[bool, frozenset[StreamKey] | None] | None:
    """Where a recorded message goes: (private, keys); None when it is not replayed."""
    try:
        obj = json.loads(text)
    except ValueError:
        return private, None
    if not isinstance(obj, dict):
        return private, None
    if "op" in obj:
        return None
    channel = obj.get("ch")
    if not isinstance(channel, str):
        return private, None
    if channel in PRIVATE_CHANNELS:
        return True, None
    if channel == "tickers":
        data = obj.get("data")
        items = data if isinstance(data, list) else []
        symbols = {i.get("s") for i in items if isinstance(i, dict)}
        return False, frozenset(("tickers", s.upper()) for s in symbols if isinstance(s, str))
    symbol = obj.get("symbol")
    if not isinstance(symbol, str):
        return False, frozenset()
    return False, frozenset({(channel, symbol.upper())})


class Replay:
    """A recording being served (``exchange.replay``).

    Attributes:
        recording: the :class:`~bitunix_trio.testing.Recording` served.
        speed: how many times faster than recorded.
        loop: whether it starts over at the end.
        finished: set once the last frame was sent (never with ``loop``).
        frames_sent: how many recorded frames were sent (to at least zero sockets).
    """

    def __init__(self, recording: Recording, *, speed: float = 1.0, loop: bool = False) -> None:
        try:
            valid = math.isfinite(speed) and speed > 0
        except TypeError:
            valid = False
        if not valid:
            raise ConfigurationError(f"replay speed must be a positive number, got {speed!r}")
        self.recording = recording
        self.speed = float(speed)
        self.loop = loop
        self.finished = trio.Event()
        self.frames_sent = 0
        self.t0 = trio.current_time()
        frames: list[_Frame] = []
        for frame in recording.frames:
            text = frame.message
            if not isinstance(text, str):
                text = text.decode("utf-8", "replace")
            route = _route(text, frame.private)
            if route is not None:
                frames.append(_Frame(frame.t, text, route[0], route[1]))
        self._frames = tuple(frames)
        self._responses: dict[tuple[str, str, str], list[RecordedResponse]] = {}
        self._paths: set[tuple[str, str]] = set()
        for response in recording.responses:
            if response.status != 200:
                continue
            key = (response.method.upper(), response.path, _query(response.params))
            self._responses.setdefault(key, []).append(response)
            self._paths.add((response.method.upper(), response.path))
        self._times = {key: [r.t for r in rs] for key, rs in self._responses.items()}

    def __repr__(self) -> str:
        return (
            f"<Replay {len(self._frames)} frames, {self.recording.duration:.3f} s, "
            f"speed {self.speed:g}{', loop' if self.loop else ''}>"
        )

    @property
    def duration(self) -> float:
        """Seconds of the recording (at recorded speed)."""
        return self.recording.duration

    def position(self) -> float:
        """The recording time being served now (seconds from its start)."""
        elapsed = (trio.current_time() - self.t0) * self.speed
        if self.loop and self.duration > 0:
            return elapsed % self.duration
        return elapsed

    async def run(
        self, ws: WsServer, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Send the recorded frames through ``ws`` at their times (see the module doc)."""
        task_status.started()
        offset = 0.0
        while True:
            for frame in self._frames:
                await trio.sleep_until(self.t0 + (offset + frame.t) / self.speed)
                ws.send_recorded(frame.text, private=frame.private, keys=frame.keys)
                self.frames_sent += 1
            if not self.loop or self.duration <= 0:
                break
            offset += self.duration
        self.finished.set()

    def response(self, method: str, path: str, params: Sequence[tuple[str, str]]) -> str | None:
        """The recorded body for a request now; None when this request was never recorded."""
        key = (method.upper(), path, _query(params))
        responses = self._responses.get(key)
        if not responses:
            return None
        index = bisect.bisect_right(self._times[key], self.position()) - 1
        return responses[max(index, 0)].body

    def recorded_path(self, method: str, path: str) -> bool:
        """Whether some request of ``method`` to ``path`` was recorded."""
        return (method.upper(), path) in self._paths


def _query(params: Sequence[tuple[str, str]]) -> str:
    return urlencode(sorted(params))


def open_replay(
    source: str | os.PathLike[str] | Recording, *, speed: float = 1.0, loop: bool = False
) -> Replay:
    """A :class:`Replay` of a recording file (or of a loaded :class:`Recording`)."""
    recording = source if isinstance(source, Recording) else load_recording(os.fspath(source))
    return Replay(recording, speed=speed, loop=loop)


class ReplayRestApp(RestApp):
    """The REST app of a replay exchange: recorded answers first (see the module doc)."""

    replay: Replay | None = None

    def handle(self, request: _Request, now: float) -> tuple[int, bytes]:
        """Answer from the recording when it has this request, else as the simulator does."""
        replay = self.replay
        if replay is None or self.faults.throttle_rest:
            return super().handle(request, now)
        params = sorted(request.params.items())
        body = replay.response(request.method, request.path, params)
        market = request.path.startswith(MARKET_PREFIX)
        if body is None:
            if not market:
                return super().handle(request, now)
            query = urlencode(params)
            where = f"{request.method} {request.path}" + (f"?{query}" if query else "")
            return self._envelope(404, None, f"Not in the recording: {where}")
        if not market:
            try:
                self._authenticate(request, now)
            except SimulatedError as exc:
                return self._envelope(exc.code, None, exc.msg)
        code = _code_of(body)
        return code, body.encode("utf-8")


def _code_of(body: str) -> int:
    try:
        value = json.loads(body)
    except ValueError:
        return 200
    code = value.get("code") if isinstance(value, dict) else None
    return code if isinstance(code, int) else 200
