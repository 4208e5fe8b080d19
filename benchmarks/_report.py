"""The environment record and the table printed on stdout."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["environment", "median", "percentile", "render_table"]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def environment() -> dict[str, Any]:
    """Where the figures come from."""
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "trio": _version("trio"),
        "trio_websocket": _version("trio-websocket"),
        "wsproto": _version("wsproto"),
        "bitunix_trio": _version("bitunix-trio"),
        "git_commit": _git_commit(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def median(values: Sequence[float]) -> float:
    """The median (0.0 for no values)."""
    return float(statistics.median(values)) if values else 0.0


def percentile(sorted_values: Sequence[int], q: float) -> int:
    """Nearest-rank percentile of already sorted values (q in 0..1)."""
    if not sorted_values:
        return 0
    rank = max(0, min(len(sorted_values) - 1, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def _status_line(section: dict[str, Any]) -> str | None:
    status = section.get("status", "ok")
    if status == "ok":
        return None
    return f"{status}: {section.get('reason', '')}"


def _throughput(result: dict[str, Any]) -> list[str]:
    lines = [
        f"Throughput: {result['frames']} frames per run over loopback WebSocket, "
        f"median of {result['repeat']} runs",
        f"  {'variant':<44}{'frames/s':>10}{'us/frame':>10}{'vs base':>9}{'server':>8}",
    ]
    rows = [
        ("baseline: trio-websocket + json.loads", result["variants"]["baseline"]),
        ("decoder:  trio-websocket + _frames.decode", result["variants"]["decoder"]),
    ]
    if "handoff" in result.get("parts", {}):
        rows.append(("handoff:  decode + consumer tasks, no stream", result["parts"]["handoff"]))
    rows.append(("library:  open_bitunix_stream + consumers", result["variants"]["library"]))
    for label, variant in rows:
        if variant["status"] != "ok":
            lines.append(f"  {label:<44}  {_status_line(variant)}")
            continue
        busy = variant["server_busy"]
        lines.append(
            f"  {label:<44}{variant['frames_per_s']:>10,.0f}{variant['us_per_frame']:>10.1f}"
            f"{variant['ratio_to_baseline']:>8.2f}x{'-' if busy is None else f'{busy:.0%}':>8}"
        )
    budget = result["budget"]
    if budget["within_budget"] is not None:
        verdict = "yes" if budget["within_budget"] else "NO"
        lines.append(
            f"  budget (library at most {budget['max_overhead']:.0%} slower per frame): "
            f"{verdict}, library overhead {budget['library_overhead']:+.0%}, "
            f"decoder overhead {budget['decoder_overhead']:+.0%}"
        )
    lines.append("  (server: share of one CPU the firehose used while sending)")
    if "handoff" in result.get("parts", {}):
        lines.append(
            "  (handoff: the decoder loop delivering to one SubscriptionChannel and consumer task"
        )
        lines.append("   per subscription, without the stream's book-keeping and tasks)")
    return lines


def _micro(result: dict[str, Any]) -> list[str]:
    lines = [
        "Decode micro-benchmark (timeit, median us per frame)",
        f"  {'channel':<16}{'bytes':>7}{'items':>7}{'json.loads':>12}{'decode':>9}{'ratio':>8}"
        f"{'+read all':>11}",
    ]
    for channel, row in result["channels"].items():
        read = row.get("decode_read_us")
        lines.append(
            f"  {channel:<16}{row['bytes']:>7}{row['items']:>7}{row['json_loads_us']:>12.2f}"
            f"{row['decode_us']:>9.2f}{row['decode_over_json']:>7.1f}x"
            f"{'-' if read is None else f'{read:.2f}':>11}"
        )
    return lines


def _latency(result: dict[str, Any]) -> list[str]:
    lines = [
        f"Latency: paced feed, a burst of {len(result['streams'])} frames every "
        f"{result['pace_us'] / 1000:g} ms, {result['frames']} frames per run, "
        f"median of {result['repeat']} runs (us, server send -> consumer)",
        f"  {'variant':<12}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}",
    ]
    for name, variant in result["variants"].items():
        if variant["status"] != "ok":
            lines.append(f"  {name:<12}{_status_line(variant)}")
            continue
        lines.append(
            f"  {name:<12}{variant['p50_us']:>8}{variant['p90_us']:>8}"
            f"{variant['p99_us']:>8}{variant['max_us']:>8}"
        )
    return lines


def _memory(result: dict[str, Any]) -> list[str]:
    lines = ["Memory: consumer never reads (tracemalloc, from subscriptions live to feed end)"]
    if result["status"] != "ok":
        lines.append(f"  {_status_line(result)}")
        return lines
    lines.append(
        f"  {'frames':>8}{'peak KiB':>10}{'end KiB':>9}  trades (lossless)            book"
    )
    for run in result["runs"]:
        trades = run["subscriptions"]["trade"]
        book = run["subscriptions"]["depth_book15"]
        lines.append(
            f"  {run['frames']:>8}{run['peak_above_start_kib']:>10.1f}"
            f"{run['end_above_start_kib']:>9.1f}  "
            f"{trades['buffer_used']}/{trades['buffer_size']} "
            f"{trades['error_type'] or 'no error':<17}"
            f"  {book['buffer_used']}/{book['buffer_size']}, dropped {book['dropped']}"
        )
    lines.append(
        f"  bounded: {'yes' if result['bounded'] else 'NO'}; trades ended with ConsumerTooSlow: "
        f"{'yes' if result['trades_ended_too_slow'] else 'NO'}; "
        f"peak growth {result['peak_growth_kib']:+.1f} KiB"
    )
    return lines


def render_table(results: dict[str, Any]) -> str:
    """Everything in ``results`` as a readable text table."""
    env = results["environment"]
    lines = [
        f"bitunix-trio benchmarks: Python {env['python']}, trio {env['trio']}, "
        f"trio-websocket {env['trio_websocket']}, {env['cpu_count']} CPUs",
        "",
    ]
    for section, render in (
        ("throughput", _throughput),
        ("decode", _micro),
        ("latency", _latency),
        ("memory", _memory),
    ):
        result = results[section]
        if section != "memory" and result.get("status", "ok") != "ok":
            lines.append(f"{section}: {_status_line(result)}")
        else:
            lines.extend(render(result))
        lines.append("")
    return "\n".join(lines)
