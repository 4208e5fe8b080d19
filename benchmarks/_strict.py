"""The strict comparison: one stream, every push delivered, four receive loops side by side.

The firehose serves one stream (``depth_book15`` or ``ticker``) as fast as the socket takes
it. Four loops consume it, in the same process layout, interleaved round by round:

* ``floor_tw``: a bare trio-websocket receive loop that ``json.loads`` each message (the
  floor of the default transport);
* ``floor_ws``: the same loop over websockets' Trio implementation (the floor of the fast
  transport);
* ``library``: ``open_bitunix_stream`` on its default transport, subscribed with a buffer
  larger than the run and ``overflow="error"``, so every push reaches the consumer (a lost
  one would end the run with ConsumerTooSlow);
* ``library_ws``: the same with ``connector=bitunix_trio.websockets_connector``.

The consumer reads either the best level (``best_bid``/``best_ask``; a ticker's last price)
or every level (every ``(price, qty)`` of both sides; every field of a ticker). The floors
read the same places of the decoded JSON (strings: converting them is the library's work).

Also here: latency from the server's send to the consumer on a paced feed, fan-out (many
subscriptions, one consumer task each), and recovery (a dropped socket, a silent one).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import trio

from ._loopback import LOOPBACK_REST, RunResult, deadline, load_library, open_feed
from ._wire import SYMBOL, FeedParams, now_us

__all__ = [
    "CHANNELS",
    "LOOPS",
    "READS",
    "data_again_at",
    "fanout_run",
    "loop_run",
    "recovery_run",
]

#: The streams of the strict comparison.
CHANNELS = ("depth_book15", "ticker")
#: How much of each value the consumer reads.
READS = ("best", "all")
#: The receive loops compared, in the order they run in each round.
LOOPS = ("floor_tw", "floor_ws", "library", "library_ws")


class _Upper(random.Random):
    """A random source whose draws are the upper bound: the reconnect delay is exactly the
    policy's bound, so that it can be subtracted from a recovery time."""

    def uniform(self, a: float, b: float) -> float:
        return b


# --- what the consumer reads ---------------------------------------------------------------


def _read_json(channel: str, read: str) -> Callable[[Any], None]:
    """Read the pushed JSON object's ``data`` the way the consumer reads the typed value."""
    if channel == "ticker":
        if read == "best":

            def ticker_best(obj: Any) -> None:
                obj["data"]["la"]

            return ticker_best

        def ticker_all(obj: Any) -> None:
            data = obj["data"]
            for name in ("la", "o", "h", "l", "b", "q", "r"):
                data[name]

        return ticker_all
    if read == "best":

        def book_best(obj: Any) -> None:
            data = obj["data"]
            data["b"][0]
            data["a"][0]

        return book_best

    def book_all(obj: Any) -> None:
        data = obj["data"]
        for _price, _qty in data["b"]:
            pass
        for _price, _qty in data["a"]:
            pass

    return book_all


def _read_value(channel: str, read: str) -> Callable[[Any], object]:
    """Read a typed value: the best level (or last price), or every level (every field)."""
    if channel == "ticker":
        if read == "best":

            def ticker_best(value: Any) -> object:
                return value.last_price

            return ticker_best

        def ticker_all(value: Any) -> object:
            return (
                value.last_price,
                value.open,
                value.high,
                value.low,
                value.base_volume,
                value.quote_volume,
                value.change,
            )

        return ticker_all
    if read == "best":

        def book_best(value: Any) -> object:
            return value.best_bid, value.best_ask

        return book_best

    def book_all(value: Any) -> object:
        for _price, _qty in value.bids:
            pass
        for _price, _qty in value.asks:
            pass
        return None

    return book_all


def _spec(channel: str, symbol: str = SYMBOL) -> Any:
    import bitunix_trio as bt

    if channel == "ticker":
        return bt.Ticker(symbol)
    return bt.OrderBook(symbol, depth=15)


def _connector(loop: str) -> Any:
    if loop == "library_ws":
        import bitunix_trio as bt

        return bt.websockets_connector
    return None


# --- the bare loops ------------------------------------------------------------------------


async def _floor_tw(
    port: int, params: FeedParams, read: Callable[[Any], None], latencies: list[int] | None
) -> tuple[int, int]:
    async with open_feed(port, params) as ws:
        return await _json_loop(ws.get_message, params.frames, read, latencies)


async def _floor_ws(
    port: int, params: FeedParams, read: Callable[[Any], None], latencies: list[int] | None
) -> tuple[int, int]:
    from websockets.trio.client import connect

    from bitunix_trio._core.frames import encode_subscribe
    from bitunix_trio._stream.connector import MAX_MESSAGE_SIZE, MESSAGE_QUEUE_SIZE

    async with connect(
        params.url(port),
        compression=None,
        ping_interval=None,
        ping_timeout=None,
        max_size=MAX_MESSAGE_SIZE,
        max_queue=MESSAGE_QUEUE_SIZE,
        proxy=None,
    ) as ws:
        await ws.recv()  # greeting
        await ws.send(encode_subscribe(sorted(params.keys)))
        return await _json_loop(ws.recv, params.frames, read, latencies)


async def _json_loop(
    get: Callable[[], Any], n: int, read: Callable[[Any], None], latencies: list[int] | None
) -> tuple[int, int]:
    loads = json.loads
    obj = loads(await get())
    read(obj)
    first: int = obj["ts"]
    if latencies is None:
        for _ in range(n - 1):
            read(loads(await get()))
    else:
        latencies.append(now_us() - first)
        for _ in range(n - 1):
            obj = loads(await get())
            read(obj)
            latencies.append(now_us() - obj["ts"])
    return first, now_us()


# --- the library ---------------------------------------------------------------------------


def _options(port: int, params: FeedParams, loop: str, **extra: Any) -> dict[str, Any]:
    url = params.url(port)
    options: dict[str, Any] = {
        "public_url": url,
        "private_url": url,
        "rest_url": LOOPBACK_REST,
        **extra,
    }
    connector = _connector(loop)
    if connector is not None:
        options["connector"] = connector
    return options


async def _library(
    port: int,
    params: FeedParams,
    loop: str,
    channel_name: str,
    read: Callable[[Any], object],
    latencies: list[int] | None,
) -> tuple[int, int, dict[str, Any]]:
    opener = load_library()
    n = params.frames
    async with (
        opener(**_options(port, params, loop)) as stream,
        stream.subscribe(_spec(channel_name), buffer=n + 16, overflow="error") as channel,
    ):
        first = end = taken = 0
        async for value in channel:
            read(value)
            if taken == 0:
                first = value.ts
            taken += 1
            if latencies is not None:
                latencies.append(now_us() - value.ts)
            if taken == n:
                end = now_us()
                break
        stats = channel.statistics()
        details = {"received": stats.received, "taken": stats.taken, "dropped": stats.dropped}
    return first, end, details


async def loop_run(
    port: int,
    params: FeedParams,
    *,
    loop: str,
    channel: str,
    read: str,
    latency: bool = False,
) -> RunResult:
    """One run of ``loop`` over a one-stream feed; every push consumed."""
    latencies: list[int] | None = [] if latency else None
    details: dict[str, Any] = {}
    with trio.fail_after(deadline(params)):
        if loop == "floor_tw":
            first, end = await _floor_tw(port, params, _read_json(channel, read), latencies)
        elif loop == "floor_ws":
            first, end = await _floor_ws(port, params, _read_json(channel, read), latencies)
        else:
            first, end, details = await _library(
                port, params, loop, channel, _read_value(channel, read), latencies
            )
    return RunResult(params.frames, (end - first) / 1e6, latencies, details)


# --- fan-out -------------------------------------------------------------------------------


#: The fan-out runs are timed between these shares of all pushes consumed: the steady
#: state, without subscribing, the first pushes of each key and the last stragglers.
FANOUT_WINDOW = (0.1, 0.9)


async def fanout_run(port: int, params: FeedParams, *, loop: str = "library") -> RunResult:
    """Every key of a many-symbol feed subscribed (the stream opens as many connections as
    it needs), one consumer task per subscription reading each value, until each has taken
    its share; timed in the steady state (FANOUT_WINDOW; a consumer that fell behind
    drains its buffer at once, so this rate can flatter: the benchmark reports CPU)."""
    opener = load_library()
    keys = sorted(params.keys)
    per_key = params.frames // len(keys)
    total = per_key * len(keys)
    low, high = (max(1, int(total * share)) for share in FANOUT_WINDOW)
    specs = [_spec(channel, symbol) for channel, symbol in keys if symbol is not None]
    read = _read_value(params.streams[0], "best")
    done = trio.Event()
    left = [len(specs)]
    taken_total = [0]
    marks: dict[int, int] = {}

    async def consume(channel: Any) -> None:
        taken = 0
        async for value in channel:
            read(value)
            taken += 1
            count = taken_total[0] = taken_total[0] + 1
            if count in (low, high):
                marks[count] = now_us()
            if taken == per_key:
                break
        left[0] -= 1
        if not left[0]:
            done.set()

    with trio.fail_after(deadline(params) + 30.0):
        async with (
            opener(**_options(port, params, loop)) as stream,
            stream.subscribe_many(specs, buffer=per_key + 16, overflow="error") as channels,
        ):
            async with trio.open_nursery() as nursery:
                for channel in channels:
                    nursery.start_soon(consume, channel)
                await done.wait()
            connections = len(stream.statistics().connections)
    return RunResult(
        high - low,
        (marks[high] - marks[low]) / 1e6,
        None,
        {"subscriptions": len(specs), "connections": connections, "per_key": per_key},
    )


# --- recovery ------------------------------------------------------------------------------


async def recovery_run(
    port: int, params: FeedParams, *, loop: str, initial_delay: float, stale_after: float
) -> dict[str, Any]:
    """A paced book feed whose first connection is cut (``params.drop_after``) or goes
    silent (``params.silent_after``). Returns when the client knows: for a drop, the
    arrival of the first value from the new connection; for a silence, the stream's
    verdict (the connection leaves CONNECTED). Times on the shared monotonic clock (µs)."""
    import bitunix_trio as bt

    opener = load_library()
    reconnect = bt.ReconnectPolicy(initial_delay=initial_delay, max_delay=max(initial_delay, 1.0))
    heartbeat = bt.HeartbeatConfig(interval=30.0, timeout=5.0, stale_after=stale_after)
    options = _options(port, params, loop, reconnect=reconnect, heartbeat=heartbeat, rng=_Upper())
    fault = params.drop_after or params.silent_after
    out: dict[str, Any] = {}
    with trio.fail_after(deadline(params) + 30.0):
        async with AsyncExitStack() as stack:
            stream = await stack.enter_async_context(opener(**options))
            changes = await stack.enter_async_context(stream.state_events())
            channel = await stack.enter_async_context(
                stream.subscribe(_spec("depth_book15"), buffer=params.frames + 16, overflow="error")
            )
            taken = 0
            if params.silent_after:
                async with trio.open_nursery() as nursery:

                    async def drain() -> None:
                        async for _ in channel:
                            pass

                    nursery.start_soon(drain)
                    async for change in changes:
                        if change.connection is None and change.old in (
                            bt.ConnectionState.CONNECTED,
                            bt.ConnectionState.AUTHENTICATED,
                        ):
                            out["verdict_at_us"] = now_us()
                            out["reason"] = change.reason
                            break
                    nursery.cancel_scope.cancel()
            else:
                arrivals: list[tuple[int, int]] = []
                async for value in channel:
                    arrivals.append((value.ts, now_us()))
                    taken += 1
                    if taken >= fault + 20:
                        break
                out["arrivals"] = arrivals
    return out


def data_again_at(arrivals: list[tuple[int, int]], dropped_at: int) -> int | None:
    """When the first value sent after ``dropped_at`` arrived (None: none did)."""
    for ts, arrival in arrivals:
        if ts > dropped_at:
            return arrival
    return None
