"""``python -m benchmarks [--frames N] [--quick] [--repeat R] [--out PATH]``.

Writes ``bench-results/results.json`` (or ``--out``) and prints a table. Exits 1 if a
benchmark failed (a library that cannot be imported yet is "skipped", not a failure).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import sys
import traceback
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import trio

from . import SCHEMA_VERSION
from ._handoff import handoff_run
from ._loopback import (
    LibraryUnavailable,
    RunResult,
    bare_run,
    library_run,
    load_library,
    queue_size,
)
from ._memory import MEMORY_STREAMS, memory_run
from ._micro import decode_micro
from ._report import environment, median, percentile, render_table
from ._server import FirehoseProcess
from ._wire import DEFAULT_STREAMS, TRADES_PER_PUSH, FeedParams

T = TypeVar("T")

#: A library run may be this much slower per frame than the baseline (issue 5's budget).
MAX_OVERHEAD = 0.25

#: The smallest memory feed: enough trades to overflow the default trades buffer (256).
MIN_MEMORY_FRAMES = 1000

#: Shorter feeds are too short for the server's CPU share to mean anything.
MIN_BUSY_WALL_S = 0.05

VARIANTS: dict[str, Callable[..., Awaitable[RunResult]]] = {
    "baseline": partial(bare_run, use_decoder=False),
    "decoder": partial(bare_run, use_decoder=True),
    "library": library_run,
}

#: Run with the variants, reported apart: the library's hot path in parts (see _handoff).
PARTS: dict[str, Callable[..., Awaitable[RunResult]]] = {
    "handoff": handoff_run,
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Benchmark bitunix-trio's hot path."
    )
    parser.add_argument("--frames", type=int, help="frames per throughput run (20000; quick 5000)")
    parser.add_argument("--repeat", type=int, help="measured runs per figure (5; quick 3)")
    parser.add_argument("--quick", action="store_true", help="smaller, fewer runs")
    parser.add_argument(
        "--out", type=Path, default=Path("bench-results/results.json"), help="the JSON file"
    )
    args = parser.parse_args(argv)
    if args.frames is None:
        args.frames = 5000 if args.quick else 20000
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    if not 8 <= args.frames <= 1_000_000:
        parser.error("--frames must be between 8 and 1000000")
    if not 1 <= args.repeat <= 100:
        parser.error("--repeat must be between 1 and 100")
    return args


class Bench:
    """One benchmark session against one firehose process."""

    def __init__(self, server: FirehoseProcess, frames: int, repeat: int, quick: bool) -> None:
        self.server = server
        self.frames = frames
        self.repeat = repeat
        self.quick = quick
        self._ids = itertools.count(1)
        self.failed = False

    def feed(
        self, frames: int, streams: tuple[str, ...] = DEFAULT_STREAMS, pace_us: int = 0
    ) -> FeedParams:
        """Parameters of a new feed with a fresh run id."""
        return FeedParams(frames, streams, pace_us, next(self._ids))

    def run(self, fn: Callable[..., Awaitable[T]], params: FeedParams, **kwargs: Any) -> T:
        """One client run in a fresh Trio run."""
        gc.collect()
        return trio.run(partial(fn, self.server.port, params, **kwargs))

    def _failure(self, exc: BaseException) -> dict[str, Any]:
        if isinstance(exc, LibraryUnavailable):
            return {"status": "skipped", "reason": str(exc)}
        self.failed = True
        traceback.print_exception(exc, file=sys.stderr)
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:300]}

    # -- throughput ------------------------------------------------------------------------

    def throughput(self) -> dict[str, Any]:
        """The three variants (and the parts), interleaved run by run, after a warm-up of
        each."""
        every = {**VARIANTS, **PARTS}
        runs: dict[str, list[RunResult]] = {name: [] for name in every}
        busy: dict[str, list[float]] = {name: [] for name in every}
        errors: dict[str, dict[str, Any]] = {}
        warmup = min(self.frames, 1000)
        for round_ in range(self.repeat + 1):
            for name, fn in every.items():
                if name in errors:
                    continue
                params = self.feed(warmup if round_ == 0 else self.frames)
                try:
                    result = self.run(fn, params, latency=False)
                except Exception as exc:
                    errors[name] = self._failure(exc)
                    continue
                stats = self.server.stats(params.run_id)
                if round_ == 0:
                    continue
                runs[name].append(result)
                if stats and stats["wall_s"] >= MIN_BUSY_WALL_S:
                    busy[name].append(min(1.0, stats["cpu_s"] / stats["wall_s"]))
        variants: dict[str, Any] = {}
        for name in every:
            if name in errors:
                variants[name] = errors[name]
                continue
            fps = median([r.frames_per_s for r in runs[name]])
            variants[name] = {
                "status": "ok",
                "frames_per_s": round(fps, 1),
                "us_per_frame": round(1e6 / fps, 2) if fps else None,
                "runs_frames_per_s": [round(r.frames_per_s, 1) for r in runs[name]],
                "server_busy": round(median(busy[name]), 3) if busy[name] else None,
                "details": runs[name][-1].details,
            }
        base = variants["baseline"].get("frames_per_s")
        for variant in variants.values():
            if variant["status"] == "ok" and base:
                variant["ratio_to_baseline"] = round(variant["frames_per_s"] / base, 3)
        parts = {name: variants.pop(name) for name in PARTS}
        return {
            "frames": self.frames,
            "repeat": self.repeat,
            "warmup_frames": warmup,
            "streams": list(DEFAULT_STREAMS),
            "trades_per_push": TRADES_PER_PUSH,
            "message_queue_size": queue_size(),
            "variants": variants,
            "parts": parts,
            "budget": _budget(variants),
        }

    # -- latency ---------------------------------------------------------------------------

    def latency(self) -> dict[str, Any]:
        """Send -> consumer latency under a paced feed, bare loop and library."""
        frames = min(self.frames, 1000 if self.quick else 2000)
        pace_us = 2000
        variants: dict[str, Any] = {}
        for name in ("baseline", "library"):
            per_run: list[dict[str, int]] = []
            try:
                for _ in range(self.repeat):
                    result = self.run(
                        VARIANTS[name], self.feed(frames, pace_us=pace_us), latency=True
                    )
                    per_run.append(_percentiles(result.latencies_us or []))
            except Exception as exc:
                variants[name] = self._failure(exc)
                continue
            variants[name] = {
                "status": "ok",
                **{key: round(median([r[key] for r in per_run])) for key in per_run[0]},
                "runs": per_run,
            }
        return {
            "frames": frames,
            "repeat": self.repeat,
            "pace_us": pace_us,
            "streams": list(DEFAULT_STREAMS),
            "clock": "time.monotonic_ns, shared by the server and client processes",
            "variants": variants,
        }

    # -- memory ----------------------------------------------------------------------------

    def memory(self) -> dict[str, Any]:
        """A never-reading consumer at two feed sizes: the peak must not grow with the feed."""
        small = max(MIN_MEMORY_FRAMES, self.frames // 4)
        sizes = [small, max(self.frames, 4 * small)]
        try:
            load_library()
            runs = [self.run(memory_run, self.feed(n, MEMORY_STREAMS)) for n in sizes]
        except Exception as exc:
            return self._failure(exc)
        trades = [run["subscriptions"]["trade"] for run in runs]
        books = [run["subscriptions"]["depth_book15"] for run in runs]
        bounded = (
            all(run["complete"] for run in runs)
            and all(t["buffer_used"] <= t["buffer_size"] for t in trades)
            and all(b["buffer_used"] <= b["buffer_size"] for b in books)
        )
        return {
            "status": "ok",
            "streams": list(MEMORY_STREAMS),
            "runs": runs,
            "peak_growth_kib": round(
                runs[-1]["peak_above_start_kib"] - runs[0]["peak_above_start_kib"], 1
            ),
            "trades_ended_too_slow": all(t["error_type"] == "ConsumerTooSlow" for t in trades),
            "bounded": bounded,
        }

    # -- micro -----------------------------------------------------------------------------

    def micro(self) -> dict[str, Any]:
        """``_frames.decode`` against ``json.loads`` per channel."""
        try:
            return decode_micro(0.02 if self.quick else 0.1, self.repeat)
        except Exception as exc:
            return self._failure(exc)


def _budget(variants: dict[str, Any]) -> dict[str, Any]:
    def overhead(name: str) -> float | None:
        base, other = variants["baseline"], variants[name]
        if base["status"] != "ok" or other["status"] != "ok" or not other["frames_per_s"]:
            return None
        return round(float(base["frames_per_s"]) / float(other["frames_per_s"]) - 1, 3)

    library = overhead("library")
    return {
        "max_overhead": MAX_OVERHEAD,
        "decoder_overhead": overhead("decoder"),
        "library_overhead": library,
        "within_budget": None if library is None else library <= MAX_OVERHEAD,
    }


def _percentiles(latencies: list[int]) -> dict[str, int]:
    ordered = sorted(latencies)
    return {
        "samples": len(ordered),
        "p50_us": percentile(ordered, 0.50),
        "p90_us": percentile(ordered, 0.90),
        "p99_us": percentile(ordered, 0.99),
        "max_us": ordered[-1] if ordered else 0,
    }


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark, write the JSON, print the table; 1 if one failed."""
    args = _parse(argv)
    with FirehoseProcess() as server:
        bench = Bench(server, args.frames, args.repeat, args.quick)
        results: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "environment": environment(),
            "settings": {"frames": args.frames, "repeat": args.repeat, "quick": args.quick},
            "decode": bench.micro(),
            "throughput": bench.throughput(),
            "latency": bench.latency(),
            "memory": bench.memory(),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(render_table(results))
    print(f"figures written to {args.out}")
    return 1 if bench.failed else 0


if __name__ == "__main__":
    sys.exit(main())
