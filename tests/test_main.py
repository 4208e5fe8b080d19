"""``bitunix-trio`` / ``python -m bitunix_trio``: the command dispatcher."""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import trio

from bitunix_trio import ConnectError, __version__
from bitunix_trio.__main__ import main
from bitunix_trio._cli import COMMANDS
from bitunix_trio._cli.common import CommandFailed, run_command


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "watch SYMBOL" in out
    assert "check [public|private|reconnect|all]" in out
    assert "sim [--port N]" in out
    assert "record SYMBOL" in out
    assert "--version" in out


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(capsys: pytest.CaptureFixture[str], flag: str) -> None:
    assert main([flag]) == 0
    assert capsys.readouterr().out == f"bitunix-trio {__version__}\n"


def test_version_through_python_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bitunix_trio", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"bitunix-trio {__version__}\n", "")


def test_unknown_command_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trade"]) == 2
    assert "unknown command 'trade'" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_has_help(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bitunix_trio", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"python -m bitunix_trio {command}" in done.stdout


@pytest.mark.loopback
# hypercorn leaves the socket whose bind failed to the garbage collector: collected here
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(("option", "name"), [("--port", "WebSocket"), ("--rest-port", "REST")])
def test_sim_on_a_busy_port_names_the_port(
    capsys: pytest.CaptureFixture[str], option: str, name: str
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["sim", option, str(port)]) == 1
        gc.collect()
    out = capsys.readouterr()
    assert (
        out.err
        == f"error: cannot listen on 127.0.0.1, port {port} ({name}): Address already in use\n"
    )
    assert "Stopped." not in out.out


async def _fails_in_a_nursery(exc: BaseException) -> None:
    async def fail() -> None:
        raise exc

    async with trio.open_nursery() as nursery:
        nursery.start_soon(fail)


@pytest.mark.parametrize(
    ("exc", "code", "err"),
    [
        (ConnectError("cannot connect to wss://x/public/: Network is unreachable"), 1,
         "error: cannot connect to wss://x/public/: Network is unreachable\n"),
        (CommandFailed("every subscription ended"), 1, "error: every subscription ended\n"),
        (KeyboardInterrupt(), 130, ""),
    ],
)  # fmt: skip
def test_expected_failures_are_one_line_even_from_a_nursery(
    capsys: pytest.CaptureFixture[str], exc: BaseException, code: int, err: str
) -> None:
    assert run_command(partial(_fails_in_a_nursery, exc)) == code
    assert capsys.readouterr().err == err


def test_a_bug_keeps_its_traceback() -> None:
    with pytest.raises(BaseExceptionGroup) as info:
        run_command(partial(_fails_in_a_nursery, ZeroDivisionError("bug")))
    assert info.group_contains(ZeroDivisionError)


def test_the_console_script() -> None:
    script = Path(sys.executable).parent / "bitunix-trio"
    if not script.exists():  # pragma: no cover - the package is not installed here
        pytest.skip("the bitunix-trio script is not installed next to this Python")
    version = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (version.returncode, version.stdout) == (0, f"bitunix-trio {__version__}\n")
    usage = subprocess.run(
        [str(script), "check", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert usage.returncode == 0
    assert usage.stdout.startswith("usage: bitunix-trio check ")
