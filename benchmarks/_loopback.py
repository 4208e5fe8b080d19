"""Clients of the firehose: one run of each variant, for throughput or latency.

Every run is timed the same way: from the send time of the first frame (stamped by the server
on the shared monotonic clock) to the moment the consumer is done with the last one. The first
and the last frames are trades, which no variant may drop.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import trio
import trio_websocket

from bitunix_trio import MarkPrice, OrderBook, Ticker, Trades
from bitunix_trio._core.frames import Push, decode, encode_subscribe

from ._wire import SYMBOL, TRADES_PER_PUSH, FeedParams, count_by_stream, now_us

__all__ = [
    "LOOPBACK_REST",
    "SPECS",
    "Consumers",
    "LibraryUnavailable",
    "RunResult",
    "bare_run",
    "deadline",
    "library_run",
    "load_library",
    "open_feed",
    "queue_size",
    "receive_size",
    "subscription_stats",
]

#: Dummy REST address for the stream (never used by these benchmarks, but never the internet).
LOOPBACK_REST = "http://127.0.0.1:9"

SPECS: dict[str, Any] = {
    "trade": Trades(SYMBOL),
    "depth_book15": OrderBook(SYMBOL, depth=15),
    "ticker": Ticker(SYMBOL),
    "price": MarkPrice(SYMBOL),
}


class LibraryUnavailable(Exception):
    """``open_bitunix_stream`` cannot be imported."""


@dataclass
class RunResult:
    """What one run measured.

    Attributes:
        frames: frames the server sent.
        elapsed_s: first frame sent -> last frame consumed.
        latencies_us: per consumed value, when recorded.
        details: anything else worth keeping (drops, malformed frames, statistics).
    """

    frames: int
    elapsed_s: float
    latencies_us: list[int] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def frames_per_s(self) -> float:
        """Frames per second over the run."""
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0


def queue_size() -> int:
    """trio-websocket's message queue size as the library configures it (the bare loops use
    the same, so that only the hot path differs)."""
    try:
        connector = importlib.import_module("bitunix_trio._stream.connector")
    except ImportError:
        return int(trio_websocket._impl.MESSAGE_QUEUE_SIZE)
    return int(getattr(connector, "MESSAGE_QUEUE_SIZE", trio_websocket._impl.MESSAGE_QUEUE_SIZE))


def receive_size() -> int:
    """The bytes trio-websocket reads at once as the library configures it (the bare loops
    read the same)."""
    try:
        connector = importlib.import_module("bitunix_trio._stream.connector")
    except ImportError:
        return int(trio_websocket._impl.RECEIVE_BYTES)
    return int(getattr(connector, "RECEIVE_BUFFER_SIZE", trio_websocket._impl.RECEIVE_BYTES))


def load_library() -> Callable[..., Any]:
    """``open_bitunix_stream``, or raise LibraryUnavailable with the reason."""
    try:
        module = importlib.import_module("bitunix_trio._stream.open")
        opener: Callable[..., Any] = module.open_bitunix_stream
    except (ImportError, AttributeError) as exc:
        raise LibraryUnavailable(
            f"bitunix_trio._stream.open.open_bitunix_stream is not available ({exc})"
        ) from exc
    return opener


def deadline(params: FeedParams) -> float:
    """A generous bound on one run, so that nothing can hang."""
    return 30.0 + params.frames * 1e-3 + params.frames * params.pace_us * 1e-6


@asynccontextmanager
async def open_feed(
    port: int, params: FeedParams
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """A bare trio-websocket connection to the firehose, greeted and subscribed to every
    stream of the feed (the library's message queue and read sizes, so that only the hot
    path differs)."""
    async with trio_websocket.open_websocket_url(
        params.url(port),
        message_queue_size=queue_size(),
        receive_buffer_size=receive_size(),
        connect_timeout=10,
        disconnect_timeout=5,
    ) as ws:
        await ws.get_message()  # greeting
        await ws.send_message(encode_subscribe(sorted(params.keys)))
        yield ws


class Consumers:
    """The consumer tasks of a run that hands values to subscription channels: ``trades``
    takes the trades and sets ``done`` with the last one; ``drain`` empties any other
    channel. Both record latencies when asked to."""

    def __init__(self, params: FeedParams, *, latency: bool) -> None:
        self.expected = count_by_stream(params.frames, params.streams)["trade"] * TRADES_PER_PUSH
        self.latencies: list[int] | None = [] if latency else None
        self.done = trio.Event()
        self._first = self._end = 0

    @property
    def elapsed_s(self) -> float:
        """First trade sent -> last trade taken."""
        return (self._end - self._first) / 1e6

    async def trades(self, channel: Any) -> None:
        """Take trades until the last one expected."""
        latencies = self.latencies
        taken = 0
        async for trade in channel:
            if taken == 0:
                self._first = trade.ts
            taken += 1
            if latencies is not None:
                latencies.append(now_us() - trade.ts)
            if taken == self.expected:
                self._end = now_us()
                self.done.set()
                return

    async def drain(self, channel: Any) -> None:
        """Take (and drop) every value of a channel other than trades."""
        latencies = self.latencies
        if latencies is None:
            async for _ in channel:
                pass
        else:
            async for value in channel:
                latencies.append(now_us() - value.ts)


# --- bare trio-websocket loops -------------------------------------------------------------


async def bare_run(port: int, params: FeedParams, *, use_decoder: bool, latency: bool) -> RunResult:
    """A bare receive loop: ``json.loads`` (or ``decode``) each frame, nothing else."""
    latencies: list[int] | None = [] if latency else None
    with trio.fail_after(deadline(params)):
        async with open_feed(port, params) as ws:
            if use_decoder:
                first, end, bad = await _decoder_loop(ws, params.frames, latencies)
            else:
                first, end, bad = await _json_loop(ws, params.frames, latencies)
    return RunResult(params.frames, (end - first) / 1e6, latencies, {"not_push": bad})


async def _json_loop(
    ws: trio_websocket.WebSocketConnection, n: int, latencies: list[int] | None
) -> tuple[int, int, int]:
    get, loads = ws.get_message, json.loads
    first: int = loads(await get())["ts"]
    if latencies is None:
        for _ in range(n - 1):
            loads(await get())
    else:
        latencies.append(now_us() - first)
        for _ in range(n - 1):
            obj = loads(await get())
            latencies.append(now_us() - obj["ts"])
    return first, now_us(), 0


async def _decoder_loop(
    ws: trio_websocket.WebSocketConnection, n: int, latencies: list[int] | None
) -> tuple[int, int, int]:
    get = ws.get_message
    bad = 0
    frame = decode(await get())
    if type(frame) is not Push:
        raise RuntimeError(f"the first frame did not decode to a Push: {frame!r}")
    first = frame.ts
    if latencies is None:
        for _ in range(n - 1):
            if type(decode(await get())) is not Push:
                bad += 1
    else:
        latencies.append(now_us() - first)
        for _ in range(n - 1):
            frame = decode(await get())
            if type(frame) is Push:
                latencies.append(now_us() - frame.ts)
            else:
                bad += 1
    return first, now_us(), bad


# --- the library ---------------------------------------------------------------------------


async def library_run(
    port: int, params: FeedParams, *, latency: bool, buffer_size: int | None = None
) -> RunResult:
    """``open_bitunix_stream`` subscribed to every stream of the feed, one consumer task per
    subscription channel; done when the last trade has been taken."""
    opener = load_library()
    url = params.url(port)
    consumers = Consumers(params, latency=latency)
    options: dict[str, Any] = {"public_url": url, "private_url": url, "rest_url": LOOPBACK_REST}
    if buffer_size is not None:
        options["buffer_size"] = buffer_size

    with trio.fail_after(deadline(params)):
        async with opener(**options) as stream:
            specs = [SPECS[channel] for channel in params.streams]
            async with stream.subscribe_many(specs) as channels:
                async with trio.open_nursery() as nursery:
                    for channel_name, channel in zip(params.streams, channels, strict=True):
                        consumer = consumers.trades if channel_name == "trade" else consumers.drain
                        nursery.start_soon(consumer, channel)
                    await consumers.done.wait()
                    nursery.cancel_scope.cancel()
                stats = {
                    name: subscription_stats(c)
                    for name, c in zip(params.streams, channels, strict=True)
                }
    return RunResult(params.frames, consumers.elapsed_s, consumers.latencies, stats)


def subscription_stats(channel: Any) -> dict[str, Any]:
    """A subscription's statistics as plain JSON values."""
    stats = channel.statistics()
    keep = ("received", "taken", "dropped", "buffer_used", "buffer_size", "error")
    out = {name: getattr(stats, name, None) for name in keep}
    overflow = getattr(stats, "overflow", None)
    out["overflow"] = getattr(overflow, "value", overflow)
    return out
