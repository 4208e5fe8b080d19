"""The hand-off part of the hot path, measured on its own.

``handoff_run`` is the decoder loop plus the library's fan-out and nothing else: every decoded
value is delivered to the subscription's :class:`~bitunix_trio._subscription.SubscriptionChannel`
(same buffer size and overflow policy as the library's defaults), each read by its own
consumer task exactly as in ``library_run``. No stream: no protocol book-keeping, no writer,
timer or heartbeat task. Between the decoder, this and the library, a report can tell the cost
of decoding, of handing values to consumer tasks, and of the stream machinery apart.
"""

from __future__ import annotations

from typing import Any

import trio
import trio_websocket

from bitunix_trio._config import DEFAULT_BUFFER_SIZE
from bitunix_trio._frames import Push, decode, encode_subscribe
from bitunix_trio._subscription import Overflow, SubscriptionChannel

from ._loopback import RunResult, queue_size, subscription_stats
from ._wire import SYMBOL, TRADES_PER_PUSH, FeedParams, count_by_stream, now_us

__all__ = ["handoff_run"]


async def handoff_run(port: int, params: FeedParams, *, latency: bool) -> RunResult:
    """Decode every frame and deliver its values to per-subscription channels read by one
    consumer task each; done when the last trade has been taken."""
    keys: list[tuple[str, str | None]] = sorted(params.keys)
    expected = count_by_stream(params.frames, params.streams)["trade"] * TRADES_PER_PUSH
    latencies: list[int] | None = [] if latency else None
    marks: dict[str, int] = {}
    done = trio.Event()
    # The library's defaults: lossless trades keep DEFAULT_BUFFER_SIZE, snapshots conflate to 1.
    channels: dict[tuple[str, str | None], SubscriptionChannel[Any]] = {
        (name, SYMBOL): SubscriptionChannel[Any](
            name,
            buffer=DEFAULT_BUFFER_SIZE if name == "trade" else 1,
            overflow=Overflow.ERROR if name == "trade" else Overflow.CONFLATE,
        )
        for name in params.streams
    }

    async def trades(channel: SubscriptionChannel[Any]) -> None:
        taken = 0
        async for trade in channel:
            if taken == 0:
                marks["first"] = trade.ts
            taken += 1
            if latencies is not None:
                latencies.append(now_us() - trade.ts)
            if taken == expected:
                marks["end"] = now_us()
                done.set()
                return

    async def drain(channel: SubscriptionChannel[Any]) -> None:
        if latencies is None:
            async for _ in channel:
                pass
        else:
            async for value in channel:
                latencies.append(now_us() - value.ts)

    async def reader(ws: trio_websocket.WebSocketConnection) -> None:
        get_message = ws.get_message
        current_time = trio.lowlevel.current_clock().current_time
        while True:
            frame = decode(await get_message())
            if type(frame) is Push:
                channel = channels.get((frame.channel, frame.symbol))
                if channel is not None:
                    now = current_time()
                    for item in frame.items:
                        channel.deliver(item, now)

    with trio.fail_after(30.0 + params.frames * 1e-3):
        async with trio_websocket.open_websocket_url(
            params.url(port),
            message_queue_size=queue_size(),
            connect_timeout=10,
            disconnect_timeout=5,
        ) as ws:
            await ws.get_message()  # greeting
            await ws.send_message(encode_subscribe(keys))
            async with trio.open_nursery() as nursery:
                for (name, _), channel in channels.items():
                    nursery.start_soon(trades if name == "trade" else drain, channel)
                nursery.start_soon(reader, ws)
                await done.wait()
                nursery.cancel_scope.cancel()
    stats = {name: subscription_stats(channel) for (name, _), channel in channels.items()}
    return RunResult(params.frames, (marks["end"] - marks["first"]) / 1e6, latencies, stats)
