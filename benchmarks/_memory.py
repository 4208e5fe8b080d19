"""Memory with a consumer that never reads: the buffers must stay bounded.

The library is subscribed to a trades stream (lossless: it must end with ConsumerTooSlow once
its buffer is full) and a book stream (conflating: one latest value) of a firehose feed, and
nothing ever reads. Traced with ``tracemalloc`` from the moment the subscriptions are live
until the book subscription has seen every book frame of the feed.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import trio

from ._loopback import LOOPBACK_REST, SPECS, load_library, subscription_stats
from ._wire import FeedParams, count_by_stream

__all__ = ["MEMORY_STREAMS", "memory_run"]

MEMORY_STREAMS = ("trade", "depth_book15")


async def memory_run(port: int, params: FeedParams) -> dict[str, Any]:
    """One feed into a stream whose consumer never reads: tracemalloc figures and the
    subscriptions' statistics."""
    opener = load_library()
    url = params.url(port)
    books = count_by_stream(params.frames, params.streams)["depth_book15"]
    limit = 30.0 + params.frames * 5e-3  # tracemalloc makes everything several times slower
    tracemalloc.start()
    try:
        with trio.fail_after(limit + 30.0):
            async with opener(public_url=url, private_url=url, rest_url=LOOPBACK_REST) as stream:
                specs = [SPECS[channel] for channel in params.streams]
                async with stream.subscribe_many(specs) as channels:
                    tracemalloc.reset_peak()
                    start, _ = tracemalloc.get_traced_memory()
                    book = channels[params.streams.index("depth_book15")]
                    complete = False
                    with trio.move_on_after(limit):
                        # The stream exposes its counters only by value: poll them.
                        while book.statistics().received < books:  # noqa: ASYNC110
                            await trio.sleep(0.005)
                        complete = True
                    current, peak = tracemalloc.get_traced_memory()
                    subs = {
                        name: {**subscription_stats(channel), "error_type": _error_type(channel)}
                        for name, channel in zip(params.streams, channels, strict=True)
                    }
                    received = stream.statistics().messages_received
    finally:
        tracemalloc.stop()
    return {
        "frames": params.frames,
        "complete": complete,
        "messages_received": received,
        "start_kib": round(start / 1024, 1),
        "peak_above_start_kib": round((peak - start) / 1024, 1),
        "end_above_start_kib": round((current - start) / 1024, 1),
        "subscriptions": subs,
    }


def _error_type(channel: Any) -> str | None:
    error = getattr(channel, "error", None)
    return None if error is None else type(error).__name__
