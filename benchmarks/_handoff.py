"""The hand-off part of the hot path, measured on its own.

``handoff_run`` is the decoder loop plus the library's fan-out and nothing else: every decoded
value is delivered to the subscription's :class:`~bitunix_trio._stream.channel.SubscriptionChannel`
(same buffer size and overflow policy as the library's defaults), each read by its own
consumer task exactly as in ``library_run``. No stream: no protocol book-keeping, no writer,
timer or heartbeat task. Between the decoder, this and the library, a report can tell the cost
of decoding, of handing values to consumer tasks, and of the stream machinery apart.
"""

from __future__ import annotations

from typing import Any

import trio
import trio_websocket

from bitunix_trio._core.config import DEFAULT_BUFFER_SIZE
from bitunix_trio._core.frames import Push, decode
from bitunix_trio._stream.channel import Overflow, SubscriptionChannel

from ._loopback import Consumers, RunResult, deadline, open_feed, subscription_stats
from ._wire import SYMBOL, FeedParams

__all__ = ["handoff_run"]


async def handoff_run(port: int, params: FeedParams, *, latency: bool) -> RunResult:
    """Decode every frame and deliver its values to per-subscription channels read by one
    consumer task each; done when the last trade has been taken."""
    consumers = Consumers(params, latency=latency)
    # The library's defaults: lossless trades keep DEFAULT_BUFFER_SIZE, snapshots conflate to 1.
    channels: dict[tuple[str, str | None], SubscriptionChannel[Any]] = {
        (name, SYMBOL): SubscriptionChannel[Any](
            name,
            buffer=DEFAULT_BUFFER_SIZE if name == "trade" else 1,
            overflow=Overflow.ERROR if name == "trade" else Overflow.CONFLATE,
        )
        for name in params.streams
    }

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

    with trio.fail_after(deadline(params)):
        async with open_feed(port, params) as ws, trio.open_nursery() as nursery:
            for (name, _), channel in channels.items():
                consumer = consumers.trades if name == "trade" else consumers.drain
                nursery.start_soon(consumer, channel)
            nursery.start_soon(reader, ws)
            await consumers.done.wait()
            nursery.cancel_scope.cancel()
    stats = {name: subscription_stats(channel) for (name, _), channel in channels.items()}
    return RunResult(params.frames, consumers.elapsed_s, consumers.latencies, stats)
