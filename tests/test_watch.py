"""``bitunix-trio watch``: plain lines, through a forced reconnect (demo), and clean exits."""

from __future__ import annotations

import subprocess
import sys

import pytest
import trio
import trio.testing

from bitunix_trio._cli.common import CommandFailed
from bitunix_trio._cli.watch import format_value, main, watch
from bitunix_trio._core.errors import ConfigurationError
from bitunix_trio._core.frames import Push, decode


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
    assert lines[0].startswith("watching book, ticker, trades, price of BTCUSDT, ETHUSDT")
    drop = next(i for i, line in enumerate(lines) if "drops every connection" in line)
    after = lines[drop:]
    lost = next(i for i, line in enumerate(after) if "CONNECTED -> RECONNECTING" in line)
    back = next(i for i, line in enumerate(after) if "RECONNECTING -> CONNECTED" in line)
    assert lost < back
    assert "close code 1006" in after[lost]
    resumed = [line for line in after[back:] if "book          BTCUSDT" in line]
    assert resumed
    assert "bid " in resumed[0]
    assert " ask " in resumed[0]
    assert resumed[0].endswith("[CONNECTED]")
    for kind in ("ticker        ETHUSDT    last ", "price         BTCUSDT    mark "):
        assert any(kind in line for line in lines[:drop]), kind
    assert any("trades        BTCUSDT    " in line and " @ " in line for line in lines)


def _book_blocks(lines: list[str]) -> list[list[str]]:
    """Each book line with the level lines that follow it."""
    blocks: list[list[str]] = []
    for line in lines:
        if "  book " in line:
            blocks.append([line])
        elif blocks and line.startswith(" ") and line.strip().startswith("bid "):
            blocks[-1].append(line)
    return blocks


@pytest.mark.parametrize("depth", [1, 5, 15])
async def test_depth_prints_that_many_levels(
    autojump_clock: trio.testing.MockClock, depth: int
) -> None:
    lines: list[str] = []
    await watch(
        ["BTCUSDT"], demo=True, memory=True, channels=["book"], depth=depth, duration=1.0,
        print_fn=lines.append,
    )  # fmt: skip
    blocks = _book_blocks(lines)
    assert blocks
    for block in blocks:
        assert len(block) == depth
        bids = [float(line.split("bid ")[1].split(" x ")[0]) for line in block]
        asks = [float(line.split("ask ")[1].split(" x ")[0]) for line in block]
        assert bids == sorted(bids, reverse=True)
        assert asks == sorted(asks)
        assert bids[0] < asks[0]


async def test_kline_and_tickers_channels_named_as_typed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lines: list[str] = []
    await watch(
        ["BTCUSDT"],
        demo=True,
        memory=True,
        channels=["kline", "tickers", "trade"],
        interval="5m",
        duration=1.0,
        print_fn=lines.append,
    )
    assert lines[0].startswith("watching kline, tickers, trade of BTCUSDT")
    kline = next(line for line in lines if "  kline " in line)
    assert "BTCUSDT    5min o " in kline
    assert all(f" {part} " in kline for part in ("h", "l", "c"))
    tickers = next(line for line in lines if "  tickers " in line)
    assert " last " in tickers
    assert " bid " in tickers
    assert " ask " in tickers
    assert any("  trade         BTCUSDT    " in line for line in lines)
    assert not any("market_kline" in line or "depth_book" in line for line in lines)


async def test_an_unknown_symbol_ends_the_watch_with_one_line(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lines: list[str] = []
    with pytest.raises(CommandFailed, match=r"^every subscription ended \(the last: no data"):
        await watch(["NOPEUSDT"], demo=True, memory=True, print_fn=lines.append)
    ended = [line for line in lines if "ended: " in line]
    assert len(ended) == 2
    assert all("unknown or delisted symbol?" in line for line in ended)
    assert trio.current_time() < 60  # not until Ctrl-C


async def test_one_symbol_ending_leaves_the_others_running(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lines: list[str] = []
    await watch(
        ["NOPEUSDT", "BTCUSDT"],
        demo=True,
        memory=True,
        channels=["ticker"],
        duration=30.0,
        drop_after=None,
        print_fn=lines.append,
    )
    stale = next(i for i, line in enumerate(lines) if "NOPEUSDT   ended: " in line)
    assert any("ticker        BTCUSDT    last" in line for line in lines[stale:])


def test_main_exits_1_with_one_line_when_every_subscription_ended(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines: list[str] = []
    clock = trio.testing.MockClock(autojump_threshold=0)
    argv = ["NOPEUSDT", "--demo", "--channels", "ticker"]
    assert main(argv, print_fn=lines.append, memory=True, clock=clock) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: every subscription ended (the last: no data for ticker")
    assert "Traceback" not in "\n".join(lines)


async def test_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match="unknown channel 'bids'"):
        await watch(["BTCUSDT"], demo=True, channels=["bids"])
    with pytest.raises(ConfigurationError, match="at least one symbol"):
        await watch([], demo=True)
    with pytest.raises(ConfigurationError, match="duration must be zero or more"):
        await watch(["BTCUSDT"], demo=True, duration=-1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["BTCUSDT", "--duration", "-1"], "argument --duration: seconds must be more than zero"),
        (["BTCUSDT", "--duration", "soon"], "argument --duration: not a number of seconds"),
        (["BTCUSDT", "--drop-after", "-2"], "argument --drop-after: seconds must be zero or more"),
        (["BTCUSDT", "--depth", "20"], "argument --depth: invalid choice"),
        ([], "the following arguments are required: SYMBOL"),
    ],
)
def test_main_rejects_bad_arguments_with_a_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_main_reports_an_unknown_channel(capsys: pytest.CaptureFixture[str]) -> None:
    clock = trio.testing.MockClock(autojump_threshold=0)
    assert main(["BTCUSDT", "--demo", "--channels", "nope"], memory=True, clock=clock) == 1
    assert capsys.readouterr().err == (
        "error: unknown channel 'nope'; choose from book, ticker, trades, price, kline, tickers\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--demo", "ETHUSDT", "--duration", "1"],  # the order the noxfile's demo session uses
        ["BTCUSDT", "--depth", "5", "ETHUSDT", "--demo", "--duration", "1"],
    ],
)
def test_main_takes_options_and_symbols_in_any_order(argv: list[str]) -> None:
    lines: list[str] = []
    clock = trio.testing.MockClock(autojump_threshold=0)
    assert main(argv, print_fn=lines.append, memory=True, clock=clock) == 0
    symbols = [arg for arg in argv if arg.endswith("USDT")]
    assert lines[0].startswith(f"watching book, ticker of {', '.join(symbols)} ")
    for symbol in symbols:
        assert any(f"book          {symbol}" in line for line in lines)


def test_help_shows_every_default_and_the_demo_drop(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for default in (
        "(default: book,ticker)",
        "(default: 1)",
        "(default: 1min)",
        "(default: run until Ctrl-C)",
        "(default: 5)",
        "(default: the real exchange)",
    ):
        assert default in text, default
    assert "drops every connection once, 5 s in by default (--drop-after), on purpose" in text


@pytest.mark.loopback
def test_main_runs_the_demo_over_loopback() -> None:
    lines: list[str] = []
    argv = ["BTCUSDT", "--demo", "--duration", "4", "--drop-after", "0.5", "--depth", "5"]
    assert main(argv, print_fn=lines.append) == 0
    assert any("book          BTCUSDT" in line for line in lines)
    assert any("RECONNECTING -> CONNECTED" in line for line in lines)


@pytest.mark.loopback
async def test_a_closed_pipe_ends_quietly() -> None:
    command = [sys.executable, "-m", "bitunix_trio", "watch", "--demo", "BTCUSDT"]
    process = await trio.lowlevel.open_process(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stderr is not None
    output = b""
    with trio.fail_after(60):
        while output.count(b"\n") < 3:  # like `| head -3`
            chunk = await process.stdout.receive_some()
            assert chunk, output
            output += chunk
        await process.stdout.aclose()
        code = await process.wait()
        errors = b""
        while chunk := await process.stderr.receive_some():
            errors += chunk
    await process.stderr.aclose()
    assert errors == b""
    assert code == 1


def test_a_book_with_an_unreadable_level_is_shown_not_fatal() -> None:
    text = (
        '{"ch":"depth_book1","symbol":"BTCUSDT","ts":1790126515693,'
        '"data":{"b":[["abc","1"]],"a":[["86699.7","0.7"]]}}'
    )
    frame = decode(text)
    assert isinstance(frame, Push)
    lines = format_value("book", frame.items[0], "CONNECTED")
    assert len(lines) == 1
    assert "unreadable book" in lines[0]
    assert "BTCUSDT" in lines[0]
