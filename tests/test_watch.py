"""``python -m bitunix_trio watch``: plain lines, through a forced reconnect (demo only)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from bitunix_trio._exceptions import ConfigurationError
from bitunix_trio._frames import Push, decode
from bitunix_trio._watch import format_value, main, watch


async def test_demo_keeps_streaming_through_a_reconnect(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lines: list[str] = []
    await watch(
        ["btcusdt", "ETHUSDT"],
        demo=True,
        memory=True,
        channels=["book", "ticker", "trades", "price"],
        depth=5,
        duration=4.0,
        drop_after=2.0,
        print_fn=lines.append,
    )
    assert lines[0].startswith("watching depth_book5, ticker, trade, price of BTCUSDT, ETHUSDT")
    drop = next(i for i, line in enumerate(lines) if "drops every connection" in line)
    after = lines[drop:]
    lost = next(i for i, line in enumerate(after) if "CONNECTED -> RECONNECTING" in line)
    back = next(i for i, line in enumerate(after) if "RECONNECTING -> CONNECTED" in line)
    assert lost < back
    assert "close code 1006" in after[lost]
    resumed = [line for line in after[back:] if "depth_book5   BTCUSDT" in line]
    assert resumed
    assert "bid " in resumed[0]
    assert " ask " in resumed[0]
    assert resumed[0].endswith("[CONNECTED]")
    for kind in ("ticker        ETHUSDT    last ", "price         BTCUSDT    mark "):
        assert any(kind in line for line in lines[:drop]), kind
    assert any(" @ " in line for line in lines)  # trades


async def test_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match="unknown channel 'bids'"):
        await watch(["BTCUSDT"], demo=True, channels=["bids"])
    with pytest.raises(ConfigurationError, match="at least one symbol"):
        await watch([], demo=True)


def test_main_runs_the_demo_over_loopback() -> None:
    lines: list[str] = []
    argv = ["BTCUSDT", "--demo", "--duration", "1.2", "--drop-after", "0.6", "--depth", "5"]
    assert main(argv, print_fn=lines.append) == 0
    assert any("depth_book5   BTCUSDT" in line for line in lines)
    assert any("RECONNECTING -> CONNECTED" in line for line in lines)


def test_main_reports_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["BTCUSDT", "--demo", "--channels", "nope"]) == 1
    assert "unknown channel 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["BTCUSDT", "--depth", "20"])


def test_a_book_with_an_unreadable_level_is_shown_not_fatal() -> None:
    text = (
        '{"ch":"depth_book1","symbol":"BTCUSDT","ts":1790126515693,'
        '"data":{"b":[["abc","1"]],"a":[["86699.7","0.7"]]}}'
    )
    frame = decode(text)
    assert isinstance(frame, Push)
    line = format_value("depth_book1", frame.items[0], "CONNECTED")
    assert "unreadable book" in line
    assert "BTCUSDT" in line
