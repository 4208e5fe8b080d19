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

__all__ = ["environment", "median", "percentile", "render_markdown", "render_table"]


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
        "websockets": _version("websockets"),
        "msgspec": _version("msgspec"),
        "bitunix_trio": _version("bitunix-trio"),
        "git_commit": _git_commit(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "load_average": [round(x, 2) for x in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
        "nice": os.nice(0) if hasattr(os, "nice") else None,
    }


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


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


# --- the strict sections, as Markdown -------------------------------------------------------

_LOOP_LABELS = {
    "floor_tw": "trio-websocket + `json.loads` (the floor)",
    "floor_ws": "websockets (Trio) + `json.loads` (the fast floor)",
    "library": "bitunix-trio, typed values, default transport",
    "library_ws": "bitunix-trio, typed values, `connector=bt.websockets_connector`",
}
_RATIO_OF = {"library": "library/floor_tw", "library_ws": "library_ws/floor_ws"}


def _k(value: float) -> str:
    return f"{value / 1000:.1f}k"


def _md_strict(strict: dict[str, Any]) -> list[str]:
    cases = list(strict["cases"])
    lines = [
        f"### Throughput: one stream, every push delivered ({strict['pushes']:,} pushes per run, "
        f"median of {strict['rounds']} interleaved rounds; pushes/s)",
        "",
        "| receive loop | " + " | ".join(c.replace("/", ", read ") for c in cases) + " |",
        "|---|" + "---|" * len(cases),
    ]
    for loop in strict["loops"]:
        cells = []
        for case in cases:
            row = strict["cases"][case]
            cell = row[loop]
            if cell["status"] != "ok":
                cells.append(cell["status"])
                continue
            text = _k(cell["pushes_per_s"])
            ratio = row["ratios"].get(_RATIO_OF.get(loop, ""))
            if ratio is not None:
                text += f" ({ratio:.2f})"
            cells.append(text)
        lines.append(f"| {_LOOP_LABELS[loop]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Client CPU per push (µs; in brackets the floor's CPU over the library's, the ratio "
        "the rates would have with a core each):",
        "",
        "| receive loop | " + " | ".join(c.replace("/", ", read ") for c in cases) + " |",
        "|---|" + "---|" * len(cases),
    ]
    for loop in strict["loops"]:
        cells = []
        for case in cases:
            row = strict["cases"][case]
            cell = row[loop]
            if cell["status"] != "ok":
                cells.append(cell["status"])
                continue
            text = f"{cell['cpu_us_per_push']:.1f}"
            ratio = row.get("cpu_ratios", {}).get(_RATIO_OF.get(loop, ""))
            if ratio is not None:
                text += f" ({ratio:.2f})"
            cells.append(text)
        lines.append(f"| {_LOOP_LABELS[loop]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "In brackets: the ratio to the floor of the same transport. The library subscribes "
        'with a buffer larger than the run and `overflow="error"`; "best" reads the best '
        'bid and ask (a ticker\'s last price), "all" every level of both sides (every '
        "field of a ticker).",
        "",
        "Targets: "
        + "; ".join(
            f"{t['case']} {t['ratio']} >= {t['at_least']}: "
            + ("-" if t["value"] is None else f"{t['value']:.2f} {'met' if t['met'] else 'MISSED'}")
            for t in strict["targets"]
        ),
    ]
    return lines


def _md_latency(latency: dict[str, Any]) -> list[str]:
    rates = list(latency["rates"])
    header = " | ".join(f"{int(r):,}/s p50 | {int(r):,}/s p99" for r in rates)
    lines = [
        f"### Latency: server send to consumer, a book stream read at the best level (µs, "
        f"median of {latency['rounds']} rounds)",
        "",
        f"| receive loop | {header} |",
        "|---|" + "---|" * (2 * len(rates)),
    ]
    for loop in _LOOP_LABELS:
        cells = []
        for rate in rates:
            cell = latency["rates"][rate]["loops"].get(loop, {"status": "-"})
            if cell["status"] != "ok":
                cells += [cell["status"], ""]
            else:
                cells += [f"{cell['p50_us']:,}", f"{cell['p99_us']:,}"]
        lines.append(f"| {_LOOP_LABELS[loop]} | " + " | ".join(cells) + " |")
    lines += ["", f"Pacing: {latency['pacing']}."]
    return lines


def _md_fanout(fanout: dict[str, Any]) -> list[str]:
    lines = [
        "### Fan-out: tickers of many symbols, one consumer task per subscription (client "
        "CPU per push: a long run minus a short one, so connecting and subscribing cancel out)",
        "",
    ]
    if fanout["status"] != "ok":
        return [*lines, str(_status_line(fanout))]
    lines += [
        "| subscriptions | connections | µs per push | vs one subscription |",
        "|---|---|---|---|",
    ]
    for case in fanout["cases"].values():
        lines.append(
            f"| {case['subscriptions']:,} | {case['connections']} | "
            f"{case['cpu_us_per_push']:.1f} | {case['vs_one']:.2f} |"
        )
    return lines


def _md_recovery(recovery: dict[str, Any]) -> list[str]:
    lines = [
        "### Recovery (ms, the configured times subtracted: reconnect delay "
        f"{recovery['reconnect_delay_s'] * 1000:g} ms, stale_after "
        f"{recovery['stale_after_s'] * 1000:g} ms; median of {recovery['rounds']})",
        "",
        "| transport | dropped socket to data again | silent socket to the verdict |",
        "|---|---|---|",
    ]
    for loop in ("library", "library_ws"):
        cell = recovery.get(loop, {"status": "-"})
        label = "default" if loop == "library" else "websockets_connector"
        if cell["status"] != "ok":
            lines.append(f"| {label} | {cell['status']} | |")
        else:
            lines.append(
                f"| {label} | {cell['drop_to_data_ms']:.1f} | {cell['silence_to_verdict_ms']:.1f} |"
            )
    return lines


def _md_rss(rss: dict[str, Any]) -> list[str]:
    lines = [
        "### Memory: a book stream, one consumer that never reads, one slow (1 ms a value)",
        "",
    ]
    if rss["status"] != "ok":
        return [*lines, str(_status_line(rss))]
    lines += [
        f"Peak RSS {rss['peak_kib_at_tenth'] / 1024:.1f} MiB after {rss['frames'] // 10:,} "
        f"pushes, {rss['peak_kib'] / 1024:.1f} MiB after {rss['frames']:,} "
        f"(growth {rss['growth_kib'] / 1024:+.1f} MiB; bounded: "
        f"{'yes' if rss['bounded'] else 'NO'}); the slow consumer took "
        f"{rss['slow_taken']:,}, the rest conflated away.",
    ]
    return lines


def _md_machine(env: dict[str, Any]) -> list[str]:
    load = env.get("load_average")
    return [
        f"Machine: {env.get('cpu_model') or env['machine']}, {env['cpu_count']} CPUs, "
        f"{env['platform']}; Python {env['python']}, trio {env['trio']}, trio-websocket "
        f"{env['trio_websocket']}, websockets {env.get('websockets')}, msgspec "
        f"{env.get('msgspec')}; bitunix-trio {env.get('git_commit')}, {env['created']}"
        + (f"; load average at start {load[0]:.2f}" if load else "")
        + (f"; nice {env['nice']}" if env.get("nice") is not None else "")
        + ".",
    ]


def render_markdown(results: dict[str, Any]) -> str:
    """The strict sections of ``results`` as Markdown (the README shows the latest)."""
    lines: list[str] = []
    for section, render in (
        ("strict", _md_strict),
        ("strict_latency", _md_latency),
        ("fanout", _md_fanout),
        ("recovery", _md_recovery),
        ("rss", _md_rss),
    ):
        if section in results:
            lines += [*render(results[section]), ""]
    lines += _md_machine(results["environment"])
    return "\n".join(lines) + "\n"


def render_table(results: dict[str, Any]) -> str:
    """Everything in ``results`` as a readable text table."""
    env = results["environment"]
    lines = [
        f"bitunix-trio benchmarks: Python {env['python']}, trio {env['trio']}, "
        f"trio-websocket {env['trio_websocket']}, {env['cpu_count']} CPUs",
        "",
        render_markdown(results),
    ]
    for section, render in (
        ("throughput", _throughput),
        ("decode", _micro),
        ("latency", _latency),
        ("memory", _memory),
    ):
        if section not in results:
            continue
        result = results[section]
        if section != "memory" and result.get("status", "ok") != "ok":
            lines.append(f"{section}: {_status_line(result)}")
        else:
            lines.extend(render(result))
        lines.append("")
    return "\n".join(lines)
