"""What the simulated exchange received: every WebSocket frame and every REST request.

Tests read it to check what a client sent (``exchange.recorder.ws_frames(path="/private/")``)
without reaching into the client. Times are Trio times (``trio.current_time()``), so under
``MockClock`` they are exact; ``ts_ms`` is the same instant on the exchange's millisecond
clock. Secrets never reach the recorder: no header carrying a secret is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["ConnectionRecord", "Recorder", "RestRequestRecord", "WsFrameRecord"]


@dataclass(frozen=True, slots=True)
class WsFrameRecord:
    """One WebSocket message a client sent.

    ``connection_id`` numbers sockets in the order they were accepted (from 1); ``path`` is
    the path the socket was opened on (``"/public/"`` or ``"/private/"``, as requested);
    ``text`` is the message (bytes messages are decoded as UTF-8 with replacement).
    """

    connection_id: int
    path: str
    time: float
    ts_ms: int
    text: str

    def json(self) -> object:
        """The message parsed as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    @property
    def op(self) -> str | None:
        """The ``op`` of a JSON object message, else ``None``."""
        value = self.json()
        if isinstance(value, dict):
            op = value.get("op")
            return op if isinstance(op, str) else None
        return None


@dataclass(frozen=True, slots=True)
class RestRequestRecord:
    """One REST request the exchange answered (or refused).

    ``query`` is the raw query string, ``params`` its decoded pairs in order; ``headers``
    are lower-cased ``(name, value)`` pairs (no secret travels in a header, and any header
    whose name mentions a secret is left out); ``body`` is the raw body text; ``code`` is
    the ``code`` of the answer envelope (or the HTTP status when the answer was not an
    envelope, e.g. 503 while REST is down).
    """

    method: str
    path: str
    query: str
    params: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: str
    time: float
    ts_ms: int
    code: int | None = None

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    @property
    def api_key(self) -> str | None:
        """The ``api-key`` header, if any."""
        return self.header("api-key")


@dataclass(slots=True)
class ConnectionRecord:
    """One WebSocket connection: when it opened and how it ended.

    ``end`` is ``None`` while open, else one of ``"aborted"`` (dropped with no close frame:
    idle, rate limit, fault, too slow), ``"closed"`` (a close handshake, by either side),
    ``"rejected"`` (handshake refused), ``"lost"`` (the client went away);
    ``reason`` says why.
    """

    connection_id: int
    path: str
    opened: float
    closed: float | None = None
    end: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class Recorder:
    """Every frame and request the simulated exchange received, in arrival order."""

    frames: list[WsFrameRecord] = field(default_factory=list)
    requests: list[RestRequestRecord] = field(default_factory=list)
    connections: list[ConnectionRecord] = field(default_factory=list)

    def ws_frames(
        self, *, path: str | None = None, connection_id: int | None = None
    ) -> list[WsFrameRecord]:
        """Received WebSocket frames, optionally only those of one path or one connection.

        ``path`` matches with or without the trailing slash.
        """
        return [
            frame
            for frame in self.frames
            if (path is None or _same_path(frame.path, path))
            and (connection_id is None or frame.connection_id == connection_id)
        ]

    def ws_messages(
        self, *, path: str | None = None, connection_id: int | None = None
    ) -> list[object]:
        """The JSON values of :meth:`ws_frames` (``None`` for non-JSON frames)."""
        return [f.json() for f in self.ws_frames(path=path, connection_id=connection_id)]

    def rest_requests(
        self, *, path: str | None = None, method: str | None = None
    ) -> list[RestRequestRecord]:
        """Received REST requests, optionally only those of one path or method."""
        return [
            req
            for req in self.requests
            if (path is None or req.path == path)
            and (method is None or req.method.upper() == method.upper())
        ]

    def clear(self) -> None:
        """Forget everything recorded so far (open connections stay listed)."""
        self.frames.clear()
        self.requests.clear()
        self.connections[:] = [c for c in self.connections if c.end is None]

    # -- used by the servers -------------------------------------------------------------

    def record_frame(self, frame: WsFrameRecord) -> None:
        """Append a received WebSocket frame."""
        self.frames.append(frame)

    def record_request(self, request: RestRequestRecord) -> None:
        """Append a received REST request."""
        self.requests.append(request)

    def record_connection(self, record: ConnectionRecord) -> None:
        """Append a new connection record (updated in place when it ends)."""
        self.connections.append(record)


def _same_path(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def safe_headers(
    headers: Iterable[tuple[str, str]], secrets: Iterable[str] = ()
) -> tuple[tuple[str, str], ...]:
    """Lower-cased headers without any that could carry a secret.

    Drops headers whose name contains ``secret`` and redacts values equal to one of
    ``secrets``.
    """
    hidden = {s for s in secrets if s}
    kept: list[tuple[str, str]] = []
    for name, value in headers:
        lowered = name.lower()
        if "secret" in lowered:
            continue
        kept.append((lowered, "<redacted>" if value in hidden else value))
    return tuple(kept)
