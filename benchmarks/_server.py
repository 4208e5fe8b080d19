"""The firehose: a WebSocket server on 127.0.0.1 that serves pre-encoded pushes.

Run as a child process (``python -m benchmarks._server``) so that serving costs no time in the
interpreter being measured. Per connection it sends the greeting, waits until the client has
subscribed to every stream of its feed (``FeedParams`` in the URL), then sends the frames, as
fast as the client reads or paced, each stamped with its send time. It answers JSON pings and
unsubscribes, ignores anything else, and stays open until the client closes.

Protocol with the parent: the first stdout line is ``PORT <n>``; after each feed one JSON line
with the feed's ``run`` id, the server's CPU seconds and wall seconds while sending (so a
report can tell a client-bound figure from a server-bound one). The server exits when its
stdin closes, or after ``--max-seconds`` whatever happens.
"""

from __future__ import annotations

import argparse
import json
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import trio
import trio_websocket

from bitunix_trio._core.frames import (
    PingRequest,
    SubscribeRequest,
    UnsubscribeRequest,
    decode_client,
    encode_greeting,
    encode_pong,
    encode_unsubscribe_reply,
)

from ._wire import TEMPLATES, FeedParams, Template, now_us, schedule, template_for

__all__ = ["FirehoseProcess", "ServerStats"]

ServerStats = dict[str, Any]

#: Frames per ``send_all`` of the firehose (about 20 KiB of the default feed).
FIREHOSE_BATCH = 32


def _report(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class _Run:
    """What the connections of one run share: the keys nobody has subscribed yet, and
    whether the first connection's fault (drop, silence) has happened."""

    def __init__(self, keys: frozenset[tuple[str, str | None]]) -> None:
        self.wanted = set(keys)
        self.total = len(keys)
        self.go = trio.Event()
        self.faulted = False


_RUNS: dict[int, _Run] = {}


class _Connection:
    """One client connection: its keys, and whether it answers pings."""

    def __init__(self, ws: trio_websocket.WebSocketConnection, run: _Run) -> None:
        self.ws = ws
        self.run = run
        self.mine: set[tuple[str, str | None]] = set()
        self.subscribed = trio.Event()
        self.closed = trio.Event()
        self.silent = False


async def _client_side(conn: _Connection) -> None:
    """Read what the client sends: subscriptions start the feed; pings get their pong."""
    try:
        while True:
            await _answer(conn, await conn.ws.get_message())
    except trio_websocket.ConnectionClosed:
        conn.closed.set()


async def _answer(conn: _Connection, text: str | bytes) -> None:
    frame = decode_client(text)
    ws, run = conn.ws, conn.run
    if isinstance(frame, SubscribeRequest):
        conn.mine.update(frame.args)
        run.wanted.difference_update(frame.args)
        if not run.wanted:
            run.go.set()
        conn.subscribed.set()
    elif conn.silent:
        return
    elif isinstance(frame, PingRequest):
        await ws.send_message(encode_pong(frame.ping, int(time.time())))
    elif isinstance(frame, UnsubscribeRequest):
        await ws.send_message(encode_unsubscribe_reply(int(time.time() * 1000)))


def _ws_frame(text: str) -> bytes:
    """One unmasked WebSocket text frame (RFC 6455 section 5.2), as a server sends it."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def _batch_sender(ws: trio_websocket.WebSocketConnection) -> Callable[[list[str]], Any]:
    """Send many frames with one ``send_all``: the server must be much cheaper per frame
    than any client, or the baseline would measure the server. trio-websocket has no public
    batch send, so this writes whole frames to its stream under its own send lock."""
    stream = getattr(ws, "_stream", None)
    lock = getattr(ws, "_stream_lock", None)
    if stream is None or lock is None:  # pragma: no cover - trio-websocket changed

        async def one_by_one(texts: list[str]) -> None:
            for text in texts:
                await ws.send_message(text)

        return one_by_one

    async def batched(texts: list[str]) -> None:
        data = b"".join([_ws_frame(text) for text in texts])
        async with lock:
            try:
                await stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                raise trio_websocket.ConnectionClosed(None) from None

    return batched


def _templates(params: FeedParams, conn: _Connection) -> list[Template]:
    """What this connection sends, in order."""
    if params.symbols == 1:
        return [TEMPLATES[channel] for channel in schedule(params.frames, params.streams)]
    keys = sorted(key for key in conn.mine if key[1] is not None)
    per_key = max(1, params.frames // conn.run.total)
    cycle = [template_for(channel, symbol) for channel, symbol in keys if symbol is not None]
    return cycle * per_key


async def _feed(params: FeedParams, conn: _Connection, cut: Callable[[], Any]) -> None:
    ws, run = conn.ws, conn.run
    templates = _templates(params, conn)
    fault = 0
    if not run.faulted and (params.drop_after or params.silent_after):
        run.faulted = True
        fault = params.drop_after or params.silent_after
        templates = templates[:fault]
    send = _batch_sender(ws)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    sent = 0
    stats: dict[str, Any] = {"run": params.run_id}
    try:
        if params.pace_us <= 0:
            for start in range(0, len(templates), FIREHOSE_BATCH):
                batch = templates[start : start + FIREHOSE_BATCH]
                stamp = str(now_us())
                await send([t.prefix + stamp + t.suffix for t in batch])
                sent += len(batch)
        else:
            burst = len(params.streams) if params.symbols == 1 else 1
            next_at = trio.current_time()
            for start in range(0, len(templates), burst):
                for template in templates[start : start + burst]:
                    await ws.send_message(template.prefix + str(now_us()) + template.suffix)
                    sent += 1
                next_at += params.pace_us / 1e6
                await trio.sleep_until(next_at)
        if fault and params.drop_after:
            stats["dropped_at_us"] = now_us()
            await cut()
        elif fault:
            conn.silent = True
            stats["silent_at_us"] = now_us()
    finally:
        stats.update(
            sent=sent, cpu_s=time.process_time() - cpu0, wall_s=time.perf_counter() - wall0
        )
        _report(json.dumps(stats))


async def _handle(stream: trio.SocketStream) -> None:
    try:
        async with trio.open_nursery() as nursery:
            request = await trio_websocket.wrap_server_stream(nursery, stream)
            params = FeedParams.from_path(request.path)
            ws = await request.accept()
            await ws.send_message(encode_greeting())
            run = _RUNS.get(params.run_id)
            if run is None:
                run = _RUNS[params.run_id] = _Run(params.keys)
            conn = _Connection(ws, run)
            nursery.start_soon(_client_side, conn)
            await conn.subscribed.wait()
            await run.go.wait()

            async def cut() -> None:
                # The socket vanishes: no close frame (the client sees an abnormal end).
                nursery.cancel_scope.cancel()
                await trio.aclose_forcefully(stream)

            await _feed(params, conn, cut)
            await conn.closed.wait()
    except trio_websocket.ConnectionClosed:
        pass
    except (trio.BrokenResourceError, trio.ClosedResourceError, ValueError) as exc:
        print(f"firehose: connection ended: {exc!r}", file=sys.stderr)
    except BaseExceptionGroup as group:
        _, rest = group.split(
            (trio_websocket.ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError)
        )
        if rest is not None:
            print(f"firehose: connection failed: {rest!r}", file=sys.stderr)


async def _watch_stdin() -> None:
    """Return when the parent closes our stdin (or goes away)."""
    await trio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)


async def serve(max_seconds: float) -> None:
    """Serve until stdin closes or ``max_seconds`` have passed."""
    with trio.move_on_after(max_seconds):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, _handle, 0, host="127.0.0.1"))
            _report(f"PORT {listeners[0].socket.getsockname()[1]}")
            await _watch_stdin()
            nursery.cancel_scope.cancel()


class FirehoseProcess:
    """The firehose as a child process: ``with FirehoseProcess() as server: server.port``."""

    def __init__(self, max_seconds: float = 3600.0) -> None:
        self._max_seconds = max_seconds
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.port = 0

    def __enter__(self) -> FirehoseProcess:
        root = Path(__file__).resolve().parent.parent
        self._proc = proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._server", "--max-seconds", str(self._max_seconds)],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()
        first = self._lines.get(timeout=60)
        if first is None or not first.startswith("PORT "):
            self.__exit__(None, None, None)
            raise RuntimeError(f"the firehose did not start (said {first!r})")
        self.port = int(first.split()[1])
        return self

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)

    def stats(self, run_id: int, timeout: float = 10.0) -> ServerStats | None:
        """The server's statistics line of feed ``run_id`` (None if it does not come)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            try:
                stats: ServerStats = json.loads(line)
            except ValueError:
                continue
            if stats.get("run") == run_id:
                return stats
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def main() -> None:
    """Command line of the child process."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._server")
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    args = parser.parse_args()
    trio.run(serve, args.max_seconds)


if __name__ == "__main__":
    main()
