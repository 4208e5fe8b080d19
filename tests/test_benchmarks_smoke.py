"""Smoke test of the benchmark suite: every benchmark runs with tiny sizes and writes a figures
file of the documented shape. Nothing here looks at speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ok_or_skipped(section: dict[str, Any]) -> bool:
    assert section["status"] in ("ok", "skipped"), section
    if section["status"] == "skipped":
        assert section["reason"]
        return False
    return True


@pytest.mark.loopback
def test_benchmarks_write_their_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures" / "results.json"
    args = [
        "--frames",
        "200",
        "--repeat",
        "1",
        "--quick",
        "--rss-pushes",
        "1000",
        "--out",
        str(out),
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Throughput" in proc.stdout
    assert str(out) in proc.stdout
    results = json.loads(out.read_text())
    markdown = out.with_suffix(".md").read_text()
    assert "| bitunix-trio, typed values, default transport |" in markdown
    assert "Machine: " in markdown

    assert results["schema"] == 2
    env = results["environment"]
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    assert env["trio"]
    assert env["trio_websocket"]
    assert results["settings"] == {
        "frames": 200,
        "repeat": 1,
        "quick": True,
        "pushes": 200,
        "rss_pushes": 1000,
        "rounds": 1,
    }

    strict = results["strict"]
    assert strict["pushes"] == 200
    assert set(strict["cases"]) == {
        "depth_book15/best",
        "depth_book15/all",
        "ticker/best",
        "ticker/all",
    }
    for row in strict["cases"].values():
        assert row["floor_tw"]["status"] == "ok"
        assert row["library"]["status"] == "ok"  # (every push delivered, or it failed)
        for loop in ("floor_tw", "floor_ws", "library", "library_ws"):
            if _ok_or_skipped(row[loop]):
                assert row[loop]["pushes_per_s"] > 0
        assert row["ratios"]["library/floor_tw"] > 0
    assert [t["case"] for t in strict["targets"]] == [
        "depth_book15/best",
        "ticker/best",
        "depth_book15/best",
        "ticker/best",
    ]

    for rate in results["strict_latency"]["rates"].values():
        for loop in rate["loops"].values():
            if _ok_or_skipped(loop):
                assert loop["samples"] == rate["pushes"]
                assert 0 <= loop["p50_us"] <= loop["p99_us"] <= loop["max_us"]

    fanout = results["fanout"]
    assert fanout["status"] == "ok"
    assert {c["subscriptions"]: c["connections"] for c in fanout["cases"].values()} == {
        1: 1,
        300: 1,
        1000: 4,
    }

    recovery = results["recovery"]
    assert recovery["library"]["status"] == "ok"
    assert recovery["library"]["drop_to_data_ms"] > -recovery["reconnect_delay_s"] * 1000
    assert recovery["library"]["silence_to_verdict_ms"] > -recovery["stale_after_s"] * 1000

    rss = results["rss"]
    assert rss["status"] == "ok"
    assert rss["never"]["buffer_used"] <= rss["never"]["buffer_size"] == 1
    assert rss["never"]["received"] == 1000
    assert rss["peak_kib"] > 0

    decode = results["decode"]
    assert decode["status"] == "ok"
    assert set(decode["channels"]) == {"depth_book15", "ticker", "trade", "price"}
    for row in decode["channels"].values():
        assert row["bytes"] > 0
        assert row["items"] >= 1
        assert row["json_loads_us"] > 0
        assert row["decode_us"] > 0

    throughput = results["throughput"]
    assert throughput["frames"] == 200
    variants = throughput["variants"]
    assert set(variants) == {"baseline", "decoder", "library"}
    assert variants["baseline"]["status"] == "ok"
    assert variants["decoder"]["status"] == "ok"
    assert variants["decoder"]["details"] == {"not_push": 0}
    for variant in variants.values():
        if _ok_or_skipped(variant):
            assert variant["frames_per_s"] > 0
            assert len(variant["runs_frames_per_s"]) == 1
            assert variant["ratio_to_baseline"] > 0
    assert set(throughput["budget"]) == {
        "max_overhead",
        "decoder_overhead",
        "library_overhead",
        "within_budget",
    }
    if variants["library"]["status"] == "ok":
        trades = variants["library"]["details"]["trade"]
        assert trades["error"] is None
        assert trades["taken"] == trades["received"]

    latency = results["latency"]
    assert set(latency["variants"]) == {"baseline", "library"}
    for variant in latency["variants"].values():
        if _ok_or_skipped(variant):
            assert variant["samples"] > 0
            assert 0 <= variant["p50_us"] <= variant["p99_us"] <= variant["max_us"]

    memory = results["memory"]
    if _ok_or_skipped(memory):
        assert len(memory["runs"]) == 2
        for run in memory["runs"]:
            assert run["complete"]
            assert run["peak_above_start_kib"] >= 0
            for sub in run["subscriptions"].values():
                assert sub["buffer_used"] <= sub["buffer_size"]
            assert run["subscriptions"]["depth_book15"]["buffer_size"] == 1
        assert memory["trades_ended_too_slow"]
        assert memory["bounded"]
