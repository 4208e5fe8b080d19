"""Peak RSS with consumers that never read or read slowly: the buffers must stay bounded.

Run in a child process of its own (``python -m benchmarks._rss PORT FRAMES RUN``), so that
its peak resident set size is the library's alone: a book stream pushed as fast as the
socket takes it, subscribed twice with the default settings (conflating, one value
buffered); one consumer never reads, the other reads the best level of a value every
millisecond. The peak RSS is sampled after a tenth of the pushes and after all of them;
bounded memory means it does not grow with the feed. Prints one JSON line.
"""

from __future__ import annotations

import json
import resource
import sys
from functools import partial
from typing import Any

import trio

from ._loopback import LOOPBACK_REST, load_library
from ._wire import SYMBOL, FeedParams

__all__ = ["RSS_STREAMS", "main", "rss_run"]

RSS_STREAMS = ("depth_book15",)

#: The slow consumer's pause after each value, in seconds.
SLOW_PAUSE = 0.001


def _peak_kib() -> int:
    """The peak RSS of this process image. Linux's ``VmHWM``: ``ru_maxrss`` would also
    count the parent's memory, which the child shared between fork and exec."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:  # pragma: no cover - not Linux
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _current_kib() -> int:
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:  # pragma: no cover - not Linux
        return 0
    return pages * resource.getpagesize() // 1024


async def rss_run(port: int, params: FeedParams) -> dict[str, Any]:
    """The feed into a never-reading and a slow consumer; RSS figures in KiB."""
    import bitunix_trio as bt

    opener = load_library()
    url = params.url(port)
    checkpoint = max(1, params.frames // 10)
    out: dict[str, Any] = {"frames": params.frames}
    slow_taken = 0
    with trio.fail_after(60.0 + params.frames * 2e-4):
        async with opener(public_url=url, private_url=url, rest_url=LOOPBACK_REST) as stream:
            spec = bt.OrderBook(SYMBOL, depth=15)
            async with stream.subscribe(spec) as never, stream.subscribe(spec) as slow:
                out["start_kib"] = _current_kib()

                async def read_slowly() -> None:
                    nonlocal slow_taken
                    async for book in slow:
                        if book.best_bid is not None:
                            slow_taken += 1
                        await trio.sleep(SLOW_PAUSE)

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(read_slowly)
                    # The stream exposes its counters only by value: poll them.
                    while never.statistics().received < checkpoint:  # noqa: ASYNC110
                        await trio.sleep(0.01)
                    out["peak_kib_at_tenth"] = _peak_kib()
                    while never.statistics().received < params.frames:  # noqa: ASYNC110
                        await trio.sleep(0.01)
                    out["peak_kib"] = _peak_kib()
                    out["end_kib"] = _current_kib()
                    nursery.cancel_scope.cancel()
                for name, channel in (("never", never), ("slow", slow)):
                    stats = channel.statistics()
                    out[name] = {
                        "received": stats.received,
                        "taken": stats.taken,
                        "dropped": stats.dropped,
                        "buffer_used": stats.buffer_used,
                        "buffer_size": stats.buffer_size,
                        "error": stats.error,
                    }
    out["slow_taken"] = slow_taken
    out["growth_kib"] = out["peak_kib"] - out["peak_kib_at_tenth"]
    return out


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks._rss PORT FRAMES RUN``: one JSON line on stdout."""
    port, frames, run = (int(arg) for arg in (argv or sys.argv[1:])[:3])
    params = FeedParams(frames, RSS_STREAMS, 0, run)
    print(json.dumps(trio.run(partial(rss_run, port, params))))


if __name__ == "__main__":
    main()
