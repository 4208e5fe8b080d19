"""``bitunix-trio check``: the self-test, green on the simulated exchange, and one clear line
for each common failure."""

from __future__ import annotations

import socket
from functools import partial

import pytest
import trio
import trio.testing

from bitunix_trio import Credentials
from bitunix_trio._cli.check import check, main, public_channels
from bitunix_trio.testing import SimulatedExchange


def _options(exchange: SimulatedExchange) -> dict[str, object]:
    return {**exchange.stream_options(), "credentials": None}


def _verdict(lines: list[str]) -> str:
    assert lines[-1].startswith(("PASS: ", "FAIL: ")), lines
    return lines[-1]


@pytest.mark.loopback
def test_check_demo_is_green_over_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--demo"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert (
        lines[0]
        == "checking public, private, reconnect on the simulated exchange (demo) with BTCUSDT"
    )
    assert _verdict(lines).startswith("PASS: all 14 checks passed in ")
    assert out.err == ""


def test_check_demo_in_memory_has_one_timed_line_per_check() -> None:
    lines: list[str] = []
    clock = trio.testing.MockClock(autojump_threshold=0)
    assert main(["all", "--demo"], print_fn=lines.append, memory=True, clock=clock) == 0
    checks = lines[1:-1]
    names = [line.split()[1:3] for line in checks]
    expected_public = [["public", "connect"]] + [
        ["public", name.split()[0]] for name, _ in public_channels("BTCUSDT")
    ]
    assert names == [
        *expected_public,
        ["private", "login"],
        ["private", "account"],
        ["reconnect", "reconnect"],
        ["reconnect", "data"],
    ]
    for line in checks:
        assert line.startswith("ok    "), line
        assert " s  " in line, line  # the timing
    for line in checks[1:10]:  # the simulated exchange pushes every 310 ms
        assert "   0.310 s  " in line, line
    assert " @ " in next(x for x in checks if " trades " in x)
    book15 = next(line for line in checks if " book 15 " in line)
    assert "15+15 levels" in book15
    assert "available 10000 USDT, 0 open positions" in next(x for x in checks if "account" in x)
    assert _verdict(lines).startswith("PASS: all 14 checks passed")


@pytest.mark.parametrize("which", ["public", "private", "reconnect"])
def test_each_group_alone(which: str) -> None:
    lines: list[str] = []
    clock = trio.testing.MockClock(autojump_threshold=0)
    assert main([which, "--demo"], print_fn=lines.append, memory=True, clock=clock) == 0
    assert lines[0].startswith(f"checking {which} on ")
    assert {line.split()[1] for line in lines[1:-1]} == {which}


async def test_wrong_keys(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    lines: list[str] = []
    wrong = Credentials("wrong-api-key-0001", "wrong-secret-key-0001")
    ok = await check(
        "private",
        stream_options=_options(memory_sim),
        load_credentials=lambda: wrong,
        print_fn=lines.append,
    )
    assert not ok
    assert len(lines) == 3
    assert lines[1].startswith("FAIL  private    login ")
    assert "the exchange refused the API keys: Authentication failed" in lines[1]
    assert _verdict(lines).startswith(
        "FAIL: the exchange refused the API keys (Authentication failed"
    )
    assert "check BITUNIX_API_KEY and BITUNIX_SECRET_KEY" in lines[-1]
    assert "wrong-secret-key-0001" not in "\n".join(lines)


async def test_missing_keys(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    lines: list[str] = []
    ok = await check(
        "private",
        stream_options=_options(memory_sim),
        load_credentials=partial(Credentials.from_env, {}),
        print_fn=lines.append,
    )
    assert not ok
    assert lines[1].startswith("FAIL  private    credentials ")
    assert _verdict(lines).startswith(
        "FAIL: the private checks need API keys: environment variables BITUNIX_API_KEY and "
        "BITUNIX_SECRET_KEY are not set"
    )
    assert memory_sim.recorder.requests == []  # nothing was sent anywhere


def test_main_private_without_keys_is_one_clear_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BITUNIX_API_KEY", raising=False)
    monkeypatch.delenv("BITUNIX_SECRET_KEY", raising=False)
    assert main(["private"]) == 1  # the real exchange, but nothing is sent: no keys
    out = capsys.readouterr()
    assert out.err == ""
    lines = out.out.splitlines()
    assert len(lines) == 3
    assert "BITUNIX_API_KEY and BITUNIX_SECRET_KEY are not set" in lines[-1]


async def test_unknown_symbol(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    lines: list[str] = []
    ok = await check(
        "public", symbol="nopeusdt", stream_options=_options(memory_sim), print_fn=lines.append
    )
    assert not ok
    assert lines[0] == "checking public on fapi.bitunix.com with NOPEUSDT"
    assert lines[1].startswith("ok    public     connect ")
    channel_lines = lines[2:-1]
    assert len(channel_lines) == len(public_channels("NOPEUSDT"))
    for line in channel_lines:
        assert line.startswith("FAIL  public "), line
        assert "no data" in line, line
    assert _verdict(lines).startswith(
        "FAIL: no data for NOPEUSDT on any public channel: unknown or delisted symbol? "
        "(9 of 10 checks failed in "
    )
    assert trio.current_time() <= 15.0 + 1  # each check waits at most --timeout


async def test_exchange_unreachable(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    memory_sim.ws_down()
    lines: list[str] = []
    ok = await check("public", stream_options=_options(memory_sim), print_fn=lines.append)
    assert not ok
    assert len(lines) == 3
    assert lines[1].startswith("FAIL  public     connect ")
    assert "rejected the WebSocket handshake (HTTP 503)" in lines[1]
    assert _verdict(lines).startswith("FAIL: cannot reach the exchange (no network?): ")


@pytest.mark.loopback
async def test_no_network_is_one_line() -> None:
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = {
        "public_url": f"ws://127.0.0.1:{port}/public/",
        "private_url": f"ws://127.0.0.1:{port}/private/",
        "rest_url": f"http://127.0.0.1:{port}",
    }
    lines: list[str] = []
    ok = await check(
        "all",
        stream_options=options,
        load_credentials=lambda: Credentials("some-api-key-01", "some-secret-01"),
        print_fn=lines.append,
    )
    assert not ok
    connect_lines = lines[1:-1]
    assert [line.split()[1:3] for line in connect_lines] == [
        ["public", "connect"],
        ["private", "connect"],
        ["reconnect", "connect"],
    ]
    assert f"cannot connect to ws://127.0.0.1:{port}/public/" in connect_lines[0]
    assert lines[-1].startswith(
        f"FAIL: cannot reach the exchange (no network?): cannot connect to ws://127.0.0.1:{port}/"
    )


async def test_a_reconnect_that_does_not_come_back(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    attempts = 0

    async def first_connect_only(nursery: trio.Nursery, url: str) -> object:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            raise OSError(111, "Connection refused")
        return await memory_sim.connector(nursery, url)

    lines: list[str] = []
    options = {**_options(memory_sim), "connector": first_connect_only}
    ok = await check("reconnect", stream_options=options, wait=5, print_fn=lines.append)
    assert not ok
    assert len(lines) == 3
    assert lines[1].startswith("FAIL  reconnect  reconnect ")
    assert lines[1].endswith("not connected again after 5 s")
    assert attempts > 2  # it kept trying


def test_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["everything"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'everything'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--timeout", "0"])
    assert exit_info.value.code == 2
    assert "argument --timeout: seconds must be more than zero" in capsys.readouterr().err


def test_help_shows_every_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for default in ("(default: all)", "(default: BTCUSDT)", "(default: 15)", "(default: the real"):
        assert default in text, default
