"""Recordings: every raw frame and REST response a client received, in a gzip JSON-lines file.

Format (version 1), one JSON object per line, UTF-8, gzip-compressed:

* line 1, the header: ``{"format": "bitunix-trio-recording", "version": 1, "library":
  "<version>", "symbols": [...], "channels": [...], "private": bool, "source": "<where>",
  "start": "<ISO 8601 UTC>", "start_unix": <seconds>}``;
* ``{"kind": "open", "t": T, "conn": N, "path": "/public/"}``: WebSocket ``N`` (numbered
  from 1 in opening order) opened on that path;
* ``{"kind": "ws", "t": T, "conn": N, "path": "/public/", "text": "..."}``: a message as
  the client received it, byte for byte (a binary message has ``"b64"`` instead of
  ``"text"``);
* ``{"kind": "rest", "t": T, "elapsed": S, "method": "GET", "path": "/api/...", "params":
  [[name, value], ...], "status": 200, "content_type": "...", "body": "..."}``: a REST
  response (``t`` is when the request was sent, ``elapsed`` how long the answer took);
* ``{"kind": "end", "t": T}``: the recording stopped.

``T`` is seconds since the recording started (Trio's clock). Nothing secret is written:
the client's own frames (the login carries the key and signature) and every request header
are left out, and any line that would contain the API key or secret has it replaced by
``<redacted>``.

:class:`RecordingWriter` makes the file; :meth:`RecordingWriter.connector` wraps a
:class:`~bitunix_trio._stream.connector.Connector` and :meth:`RecordingWriter.transport` an
``httpx`` transport so that what the library receives is recorded where it arrives.
:func:`load_recording` reads a file back.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
import trio

from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import ConfigurationError
from bitunix_trio._version import __version__

from .connector import Connector, WebSocketConnection

__all__ = [
    "FORMAT",
    "VERSION",
    "RecordedFrame",
    "RecordedResponse",
    "Recording",
    "RecordingWriter",
    "load_recording",
]

FORMAT = "bitunix-trio-recording"
VERSION = 1
_REDACTED = "<redacted>"


class RecordingWriter:
    """Writes a recording to ``file`` (a text file, e.g. ``gzip.open(path, "wt")``).

    The header is written at once; :meth:`close` writes the end line (it does not close
    ``file``). Times are measured from the moment the writer is made.
    """

    def __init__(
        self,
        file: IO[str],
        *,
        symbols: Sequence[str],
        channels: Sequence[str],
        private: bool,
        source: str,
        credentials: Credentials | None = None,
    ) -> None:
        self._file = file
        self._t0 = trio.current_time()
        self._ids = itertools.count(1)
        self._hidden = (
            [credentials.api_key, credentials.secret_key] if credentials is not None else []
        )
        self.frames = 0
        self.responses = 0
        self.closed = False
        start = time.time()
        self._write(
            {
                "format": FORMAT,
                "version": VERSION,
                "library": __version__,
                "symbols": list(symbols),
                "channels": list(channels),
                "private": private,
                "source": source,
                "start": datetime.fromtimestamp(start, UTC).isoformat(),
                "start_unix": start,
            }
        )

    def elapsed(self) -> float:
        """Seconds since the recording started."""
        return trio.current_time() - self._t0

    def _write(self, record: dict[str, Any]) -> None:
        if self.closed:
            return
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        for secret in self._hidden:
            if secret and secret in line:
                line = line.replace(secret, _REDACTED)
        self._file.write(line + "\n")

    def opened(self, path: str) -> int:
        """Record that a WebSocket opened on ``path``; return its connection number."""
        conn = next(self._ids)
        self._write({"kind": "open", "t": self.elapsed(), "conn": conn, "path": path})
        return conn

    def frame(self, conn: int, path: str, message: str | bytes) -> None:
        """Record a message received on connection ``conn``."""
        record: dict[str, Any] = {"kind": "ws", "t": self.elapsed(), "conn": conn, "path": path}
        if isinstance(message, str):
            record["text"] = message
        else:
            record["b64"] = base64.b64encode(message).decode("ascii")
        self.frames += 1
        self._write(record)

    def response(
        self, request: httpx.Request, response: httpx.Response, started: float, body: bytes
    ) -> None:
        """Record a REST response (``started``: when the request was sent, Trio time)."""
        self.responses += 1
        self._write(
            {
                "kind": "rest",
                "t": started - self._t0,
                "elapsed": trio.current_time() - started,
                "method": request.method,
                "path": request.url.path,
                "params": [list(pair) for pair in request.url.params.multi_items()],
                "status": response.status_code,
                "content_type": response.headers.get("content-type", ""),
                "body": body.decode("utf-8", "replace"),
            }
        )

    def close(self) -> None:
        """Write the end line; later records are ignored."""
        self._write({"kind": "end", "t": self.elapsed()})
        self.closed = True
        self._file.flush()

    def connector(self, inner: Connector) -> Connector:
        """A connector that opens sockets with ``inner`` and records every message received."""

        async def connect(nursery: trio.Nursery, url: str) -> WebSocketConnection:
            ws = await inner(nursery, url)
            path = urlsplit(url).path or "/"
            return _RecordingConnection(ws, self, self.opened(path), path)

        return connect

    def transport(self, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """An ``httpx`` transport that sends with ``inner`` and records every response."""
        return _RecordingTransport(inner, self)


class _RecordingConnection:
    """A WebSocket connection whose received messages are recorded."""

    __slots__ = ("_conn", "_path", "_writer", "_ws")

    def __init__(
        self, ws: WebSocketConnection, writer: RecordingWriter, conn: int, path: str
    ) -> None:
        self._ws = ws
        self._writer = writer
        self._conn = conn
        self._path = path

    async def receive(self) -> str | bytes:
        message = await self._ws.receive()
        self._writer.frame(self._conn, self._path, message)
        return message

    def receive_nowait(self) -> str | bytes | None:
        nowait = getattr(self._ws, "receive_nowait", None)
        message: str | bytes | None = None if nowait is None else nowait()
        if message is not None:
            self._writer.frame(self._conn, self._path, message)
        return message

    async def send(self, message: str) -> None:
        await self._ws.send(message)

    async def aclose(self) -> None:
        await self._ws.aclose()

    async def abort(self) -> None:
        await self._ws.abort()


class _RecordingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, writer: RecordingWriter) -> None:
        self._inner = inner
        self._writer = writer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = trio.current_time()
        response = await self._inner.handle_async_request(request)
        try:
            raw = b"".join([part async for part in response.aiter_raw()])
        finally:
            await response.aclose()
        # Built from the raw bytes, the copy decodes any Content-Encoding once, as usual.
        copy = httpx.Response(
            response.status_code,
            headers=response.headers,
            content=raw,
            extensions=response.extensions,
            request=request,
        )
        self._writer.response(request, copy, started, copy.content)
        return copy

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """A WebSocket message of a recording: when (seconds from the start), on which
    connection and path, and its exact text (bytes for a binary message)."""

    t: float
    conn: int
    path: str
    message: str | bytes

    @property
    def private(self) -> bool:
        """Whether it arrived on a ``/private/`` socket."""
        return self.path.rstrip("/").endswith("private")


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    """A REST response of a recording (``t``: when the request was sent)."""

    t: float
    elapsed: float
    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    status: int
    content_type: str
    body: str


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording read by :func:`load_recording`.

    ``header`` is the first line as a dict; ``frames`` and ``responses`` are in time
    order; ``duration`` is the time of the end line (or of the last record when the file
    has none, e.g. a recording cut short).
    """

    header: dict[str, Any]
    frames: tuple[RecordedFrame, ...]
    responses: tuple[RecordedResponse, ...]
    duration: float
    connections: dict[int, str] = field(default_factory=dict)

    @property
    def symbols(self) -> list[str]:
        """The symbols the recording was made for."""
        return list(self.header.get("symbols", []))

    @property
    def channels(self) -> list[str]:
        """The wire channels the recording was made for."""
        return list(self.header.get("channels", []))


def load_recording(path: str) -> Recording:
    """Read a recording file; ConfigurationError if it is not one (or is damaged)."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as file:
            lines = file.read().splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read recording {path!r}: {exc}") from None
    return parse_recording(lines, name=path)


def parse_recording(lines: Iterable[str], *, name: str = "<recording>") -> Recording:
    """Parse the lines of a recording (see :func:`load_recording`)."""
    header: dict[str, Any] | None = None
    frames: list[RecordedFrame] = []
    responses: list[RecordedResponse] = []
    connections: dict[int, str] = {}
    end: float | None = None
    last = 0.0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if header is None:
                if not isinstance(record, dict) or record.get("format") != FORMAT:
                    raise ValueError("not a bitunix-trio recording")
                if record.get("version") != VERSION:
                    raise ValueError(f"format version {record.get('version')!r} not supported")
                header = record
                continue
            kind = record["kind"]
            t = float(record["t"])
            last = max(last, t)
            if kind == "ws":
                message: str | bytes = (
                    record["text"] if "text" in record else base64.b64decode(record["b64"])
                )
                frames.append(RecordedFrame(t, int(record["conn"]), str(record["path"]), message))
            elif kind == "rest":
                responses.append(
                    RecordedResponse(
                        t=t,
                        elapsed=float(record["elapsed"]),
                        method=str(record["method"]),
                        path=str(record["path"]),
                        params=tuple((str(k), str(v)) for k, v in record["params"]),
                        status=int(record["status"]),
                        content_type=str(record["content_type"]),
                        body=str(record["body"]),
                    )
                )
            elif kind == "open":
                connections[int(record["conn"])] = str(record["path"])
            elif kind == "end":
                end = t
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"{name}, line {number}: {exc}") from None
    if header is None:
        raise ConfigurationError(f"{name}: empty, not a bitunix-trio recording")
    frames.sort(key=lambda f: f.t)
    responses.sort(key=lambda r: r.t)
    return Recording(
        header, tuple(frames), tuple(responses), last if end is None else end, connections
    )
