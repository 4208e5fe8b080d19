"""``python -m bitunix_trio sim``: serves, prints the URLs and demo credentials, stops cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest
import trio
import trio_websocket

from bitunix_trio.testing import SimulatedExchange, demo_credentials, serve_sim
from bitunix_trio.testing._cli import main


@pytest.mark.loopback
async def test_serve_sim_prints_urls_and_serves() -> None:
    lines: list[str] = []
    async with trio.open_nursery() as nursery:
        exchange: SimulatedExchange = await nursery.start(
            lambda task_status: serve_sim(seed=3, print_fn=lines.append, task_status=task_status)
        )
        text = "\n".join(lines)
        creds = demo_credentials(3)
        assert exchange.credentials == creds
        for expected in (
            exchange.public_url,
            exchange.private_url,
            exchange.rest_url,
            creds.api_key,
            creds.secret_key,
        ):
            assert expected in text
        assert exchange.public_url.startswith("ws://127.0.0.1:")
        assert exchange.public_url.endswith("/public/")
        async with trio_websocket.open_websocket_url(exchange.public_url) as ws:
            assert json.loads(await ws.get_message())["op"] == "connect"
        async with httpx.AsyncClient(base_url=exchange.rest_url) as client:
            response = await client.get("/api/v1/futures/market/trading_pairs")
            assert response.json()["code"] == 0
        nursery.cancel_scope.cancel()


def test_main_help_and_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--help"]) == 0
    assert "--rest-port" in capsys.readouterr().out
    assert main(["--port", "not-a-port"]) == 2
    assert "invalid int value" in capsys.readouterr().err


@pytest.mark.loopback
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
async def test_a_signal_stops_the_server_cleanly(signum: signal.Signals) -> None:
    command = [sys.executable, "-m", "bitunix_trio", "sim", "--seed", "5"]
    process = await trio.lowlevel.open_process(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stderr is not None
    output = b""
    try:
        with trio.fail_after(30):
            while b"Press Ctrl-C" not in output:
                chunk = await process.stdout.receive_some()
                assert chunk, output
                output += chunk
            process.send_signal(signum)
            code = await process.wait()
            rest = b""
            while chunk := await process.stdout.receive_some():
                rest += chunk
            errors = await process.stderr.receive_some()
    finally:
        if process.returncode is None:  # never leave the server running after a failure
            process.kill()
            await process.wait()
        await process.stdout.aclose()
        await process.stderr.aclose()
    assert code == 0, errors
    assert demo_credentials(5).api_key in output.decode()
    assert b"ws://127.0.0.1:" in output
    assert b"Stopped." in rest
