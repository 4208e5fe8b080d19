"""``python -m benchmarks [--frames N] [--pushes N] [--quick] [--repeat R] [--out PATH]``.

Writes ``bench-results/results.json`` (or ``--out``) and, beside it, ``results.md`` (the
strict comparison as Markdown tables), and prints a table. Exits 1 if a benchmark failed
(a library or transport that cannot be imported is "skipped", not a failure).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import subprocess
import sys
import time
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
from ._report import environment, median, percentile, render_markdown, render_table
from ._rss import RSS_STREAMS
from ._server import FirehoseProcess
from ._strict import CHANNELS, LOOPS, READS, data_again_at, fanout_run, loop_run, recovery_run
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

#: Rates of the strict latency feeds (pushes per second) and how long each runs (seconds).
LATENCY_RATES = {1000: 3.0, 10000: 1.5}

#: Fan-out cases: (subscriptions, pushes per subscription); one subscription is the reference.
FANOUT_CASES = ((1, 40000), (300, 150), (1000, 60))

#: Recovery settings: the reconnect delay and the silence that makes a connection dead.
RECOVERY_DELAY = 0.1
RECOVERY_STALE_AFTER = 0.5
#: Pushes per second of the recovery feeds, and how many before the fault.
RECOVERY_PACE_US = 1000
RECOVERY_FAULT_AFTER = 300

#: Peak RSS growth (KiB) from a tenth of the memory feed to its end that still counts as flat.
RSS_FLAT_KIB = 8 * 1024

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
    parser.add_argument("--pushes", type=int, help="pushes per strict run (50000; quick: --frames)")
    parser.add_argument(
        "--rss-pushes", type=int, help="pushes of the peak-RSS feed (1000000; quick: 4000)"
    )
    parser.add_argument(
        "--rounds", type=int, help="interleaved rounds of the strict runs (3; quick 1)"
    )
    parser.add_argument("--quick", action="store_true", help="smaller, fewer runs")
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        help="run only these sections (comma-separated: strict, strict_latency, fanout, "
        "recovery, rss, decode, throughput, latency, memory)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("bench-results/results.json"), help="the JSON file"
    )
    args = parser.parse_args(argv)
    if args.frames is None:
        args.frames = 5000 if args.quick else 20000
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    if args.pushes is None:
        args.pushes = args.frames if args.quick else 50_000
    if args.rss_pushes is None:
        args.rss_pushes = 4000 if args.quick else 1_000_000
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if not 8 <= args.pushes <= 1_000_000 or not 100 <= args.rss_pushes <= 10_000_000:
        parser.error("--pushes must be 8..1000000, --rss-pushes 100..10000000")
    if not 1 <= args.rounds <= 100:
        parser.error("--rounds must be between 1 and 100")
    if not 8 <= args.frames <= 1_000_000:
        parser.error("--frames must be between 8 and 1000000")
    if not 1 <= args.repeat <= 100:
        parser.error("--repeat must be between 1 and 100")
    return args


class Bench:
    """One benchmark session against one firehose process."""

    def __init__(self, server: FirehoseProcess, args: argparse.Namespace) -> None:
        self.server = server
        self.frames: int = args.frames
        self.repeat: int = args.repeat
        self.quick: bool = args.quick
        self.pushes: int = args.pushes
        self.rss_pushes: int = args.rss_pushes
        self.rounds: int = args.rounds
        self._ids = itertools.count(1)
        self.failed = False

    def feed(
        self,
        frames: int,
        streams: tuple[str, ...] = DEFAULT_STREAMS,
        pace_us: int = 0,
        **options: int,
    ) -> FeedParams:
        """Parameters of a new feed with a fresh run id."""
        return FeedParams(frames, streams, pace_us, next(self._ids), **options)

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

    # -- the strict comparison -------------------------------------------------------------

    def strict(self) -> dict[str, Any]:
        """Every loop on every stream and read, one after the other in each round."""
        cases = [(c, r) for c in CHANNELS for r in READS]
        runs: dict[tuple[str, str, str], list[RunResult]] = {
            (c, r, loop): [] for c, r in cases for loop in LOOPS
        }
        errors: dict[str, dict[str, Any]] = {}
        for round_ in range(self.rounds + 1):
            for channel, read in cases:
                for loop in LOOPS:
                    if loop in errors:
                        continue
                    frames = min(self.pushes, 2000) if round_ == 0 else self.pushes
                    if round_ == 0 and (channel, read) != cases[0]:
                        continue  # one warm-up run per loop
                    params = self.feed(frames, (channel,))
                    try:
                        cpu0 = time.process_time()
                        result = self.run(loop_run, params, loop=loop, channel=channel, read=read)
                        result.details["cpu_s"] = time.process_time() - cpu0
                        _check_lossless(result, frames)
                    except Exception as exc:
                        errors[loop] = self._failure(exc)
                        continue
                    if round_:
                        runs[(channel, read, loop)].append(result)
        table: dict[str, Any] = {}
        for channel, read in cases:
            row: dict[str, Any] = {}
            for loop in LOOPS:
                if loop in errors:
                    row[loop] = errors[loop]
                    continue
                results = runs[(channel, read, loop)]
                fps = median([r.frames_per_s for r in results])
                cpu = median([r.details["cpu_s"] / r.frames * 1e6 for r in results])
                row[loop] = {
                    "status": "ok",
                    "pushes_per_s": round(fps, 1),
                    "us_per_push": round(1e6 / fps, 2) if fps else None,
                    "cpu_us_per_push": round(cpu, 2),
                    "runs_pushes_per_s": [round(r.frames_per_s, 1) for r in results],
                }
            row["ratios"] = _ratios(row)
            row["cpu_ratios"] = _cpu_ratios(row)
            table[f"{channel}/{read}"] = row
        return {
            "pushes": self.pushes,
            "rounds": self.rounds,
            "loops": list(LOOPS),
            "cases": table,
            "targets": _targets(table),
        }

    def strict_latency(self) -> dict[str, Any]:
        """Server send -> consumer at fixed rates, a book stream read at the best level."""
        rates: dict[str, Any] = {}
        for rate, seconds in LATENCY_RATES.items():
            pushes = 200 if self.quick else int(rate * seconds)
            per_loop: dict[str, list[dict[str, int]]] = {loop: [] for loop in LOOPS}
            errors: dict[str, dict[str, Any]] = {}
            for _ in range(self.rounds):
                for loop in LOOPS:
                    if loop in errors:
                        continue
                    params = self.feed(pushes, ("depth_book15",), pace_us=1_000_000 // rate)
                    try:
                        result = self.run(
                            loop_run,
                            params,
                            loop=loop,
                            channel="depth_book15",
                            read="best",
                            latency=True,
                        )
                    except Exception as exc:
                        errors[loop] = self._failure(exc)
                        continue
                    per_loop[loop].append(_percentiles(result.latencies_us or []))
            loops: dict[str, Any] = {}
            for loop in LOOPS:
                if loop in errors:
                    loops[loop] = errors[loop]
                    continue
                per_run = per_loop[loop]
                loops[loop] = {
                    "status": "ok",
                    **{key: round(median([r[key] for r in per_run])) for key in per_run[0]},
                }
            rates[str(rate)] = {"pushes": pushes, "pace_us": 1_000_000 // rate, "loops": loops}
        return {
            "rounds": self.rounds,
            "stream": "depth_book15",
            "clock": "time.monotonic_ns, shared by the server and client processes",
            "pacing": "the server sleeps until each push is due; Trio's timers have a "
            "resolution of 1 ms (epoll), so 10,000/s comes as about ten pushes per ms",
            "rates": rates,
        }

    def fanout(self) -> dict[str, Any]:
        """Per-push cost with one subscription, 300 on one connection, 1,000 over four: the
        client's CPU time of a long run minus that of a short one (connecting and
        subscribing cancel out) over the difference in pushes."""
        per_push: dict[int, list[float]] = {subs: [] for subs, _ in FANOUT_CASES}
        connections: dict[int, int] = {}
        try:
            load_library()
            for _ in range(self.rounds):
                for subs, per_key in FANOUT_CASES:
                    long_key = max(4, per_key // 50) if self.quick else per_key
                    short_key = max(2, long_key // 10)
                    cpu: list[float] = []
                    for keys in (short_key, long_key):
                        params = self.feed(subs * keys, ("ticker",), symbols=subs)
                        cpu0 = time.process_time()
                        result = self.run(fanout_run, params)
                        cpu.append(time.process_time() - cpu0)
                        connections[subs] = result.details["connections"]
                    pushes = subs * (long_key - short_key)
                    per_push[subs].append((cpu[1] - cpu[0]) / pushes * 1e6)
        except Exception as exc:
            return self._failure(exc)
        cases: dict[str, Any] = {}
        base = None
        for subs, values in per_push.items():
            us = median(values)
            base = base or us
            cases[str(subs)] = {
                "subscriptions": subs,
                "connections": connections[subs],
                "cpu_us_per_push": round(us, 2),
                "runs_cpu_us_per_push": [round(v, 2) for v in values],
                "vs_one": round(us / base, 2) if base else None,
            }
        worst = max(case["vs_one"] or 0 for case in cases.values())
        return {
            "status": "ok",
            "stream": "ticker",
            "rounds": self.rounds,
            "cases": cases,
            "worst_vs_one": worst,
        }

    def recovery(self) -> dict[str, Any]:
        """A dropped socket to data again, a silent one to the verdict (configured times
        subtracted), for both transports."""
        out: dict[str, Any] = {
            "reconnect_delay_s": RECOVERY_DELAY,
            "stale_after_s": RECOVERY_STALE_AFTER,
            "rounds": self.rounds,
        }
        for loop in ("library", "library_ws"):
            drops: list[float] = []
            silences: list[float] = []
            try:
                for _ in range(self.rounds):
                    for fault in ("drop_after", "silent_after"):
                        params = self.feed(
                            RECOVERY_FAULT_AFTER + 100,
                            ("depth_book15",),
                            pace_us=RECOVERY_PACE_US,
                            **{fault: RECOVERY_FAULT_AFTER},
                        )
                        result = self.run(
                            recovery_run,
                            params,
                            loop=loop,
                            initial_delay=RECOVERY_DELAY,
                            stale_after=RECOVERY_STALE_AFTER,
                        )
                        stats = self.server.stats(params.run_id) or {}
                        if fault == "drop_after":
                            at = data_again_at(result["arrivals"], stats["dropped_at_us"])
                            if at is None:
                                raise RuntimeError("no data after the drop")
                            drops.append((at - stats["dropped_at_us"]) / 1e3 - RECOVERY_DELAY * 1e3)
                        else:
                            silent = result["verdict_at_us"] - stats["silent_at_us"]
                            silences.append(silent / 1e3 - RECOVERY_STALE_AFTER * 1e3)
            except Exception as exc:
                out[loop] = self._failure(exc)
                continue
            out[loop] = {
                "status": "ok",
                "drop_to_data_ms": round(median(drops), 2),
                "silence_to_verdict_ms": round(median(silences), 2),
                "runs_drop_ms": [round(d, 2) for d in drops],
                "runs_silence_ms": [round(s, 2) for s in silences],
            }
        return out

    def rss(self) -> dict[str, Any]:
        """Peak RSS of a child process fed ``rss_pushes`` book pushes, one consumer never
        reading and one slow."""
        try:
            load_library()
            params = self.feed(self.rss_pushes, RSS_STREAMS)
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks._rss",
                    str(self.server.port),
                    str(params.frames),
                    str(params.run_id),
                ],
                capture_output=True,
                text=True,
                timeout=120 + params.frames * 2e-4,
                check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"the RSS run failed: {proc.stderr[-1000:]}")
            run: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        except Exception as exc:
            return self._failure(exc)
        bounded = (
            run["growth_kib"] <= RSS_FLAT_KIB
            and run["never"]["buffer_used"] <= run["never"]["buffer_size"]
            and run["slow"]["buffer_used"] <= run["slow"]["buffer_size"]
        )
        return {"status": "ok", "flat_kib": RSS_FLAT_KIB, "bounded": bounded, **run}


def _check_lossless(result: RunResult, frames: int) -> None:
    details = result.details
    if "taken" in details and (details["taken"] != frames or details["dropped"]):
        raise RuntimeError(f"the library did not deliver every push: {details}")


def _ratio(row: dict[str, Any], name: str, floor: str) -> float | None:
    a, b = row.get(name, {}), row.get(floor, {})
    if a.get("status") != "ok" or b.get("status") != "ok" or not b["pushes_per_s"]:
        return None
    return round(float(a["pushes_per_s"]) / float(b["pushes_per_s"]), 3)


def _cpu_ratios(row: dict[str, Any]) -> dict[str, float | None]:
    """Floor CPU / library CPU per push: what the throughput ratio would be with a core
    to itself (less exposed to other load on the machine than wall-clock rates)."""

    def ratio(name: str, floor: str) -> float | None:
        a, b = row.get(name, {}), row.get(floor, {})
        if a.get("status") != "ok" or b.get("status") != "ok" or not a["cpu_us_per_push"]:
            return None
        return round(float(b["cpu_us_per_push"]) / float(a["cpu_us_per_push"]), 3)

    return {
        "library/floor_tw": ratio("library", "floor_tw"),
        "library_ws/floor_ws": ratio("library_ws", "floor_ws"),
    }


def _ratios(row: dict[str, Any]) -> dict[str, float | None]:
    return {
        "library/floor_tw": _ratio(row, "library", "floor_tw"),
        "library_ws/floor_ws": _ratio(row, "library_ws", "floor_ws"),
        "library_ws/floor_tw": _ratio(row, "library_ws", "floor_tw"),
        "floor_ws/floor_tw": _ratio(row, "floor_ws", "floor_tw"),
    }


#: The targets: (case, ratio, at least).
TARGETS = (
    ("depth_book15/best", "library/floor_tw", 0.8),
    ("ticker/best", "library/floor_tw", 0.9),
    ("depth_book15/best", "library_ws/floor_ws", 0.8),
    ("ticker/best", "library_ws/floor_ws", 0.8),
)


def _targets(table: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for case, ratio, least in TARGETS:
        value = table.get(case, {}).get("ratios", {}).get(ratio)
        out.append(
            {
                "case": case,
                "ratio": ratio,
                "at_least": least,
                "value": value,
                "met": None if value is None else value >= least,
            }
        )
    return out


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
        bench = Bench(server, args)
        results: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "environment": environment(),
            "settings": {
                "frames": args.frames,
                "repeat": args.repeat,
                "quick": args.quick,
                "pushes": args.pushes,
                "rss_pushes": args.rss_pushes,
                "rounds": args.rounds,
            },
        }
        sections: dict[str, Callable[[], dict[str, Any]]] = {
            "strict": bench.strict,
            "strict_latency": bench.strict_latency,
            "fanout": bench.fanout,
            "recovery": bench.recovery,
            "rss": bench.rss,
            "decode": bench.micro,
            "throughput": bench.throughput,
            "latency": bench.latency,
            "memory": bench.memory,
        }
        for name, section in sections.items():
            if args.only is None or name in args.only:
                results[name] = section()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    markdown = args.out.with_suffix(".md")
    markdown.write_text(render_markdown(results))
    print(render_table(results))
    print(f"figures written to {args.out} and {markdown}")
    return 1 if bench.failed else 0


if __name__ == "__main__":
    sys.exit(main())
