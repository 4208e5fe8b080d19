"""Record and replay: a recorded session served back by the simulated exchange.

``tests/data/demo_btcusdt_ethusdt.jsonl.gz`` was made with
``bitunix-trio record BTCUSDT ETHUSDT --demo --duration 4 --channels ticker depth_book1
trade -o ...``. Replays under ``MockClock`` are exact: a frame recorded at ``t`` reaches the
client at ``t0 + t / speed``.
"""

from __future__ import annotations

import gzip
import io
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket

from bitunix_trio import (
    ConfigurationError,
    OrderBook,
    Positions,
    RestError,
    Ticker,
    open_bitunix_stream,
    open_rest_client,
)
from bitunix_trio._cli.record import main as record_main
from bitunix_trio._core.frames import Push, decode
from bitunix_trio._stream.recording import RecordingWriter, parse_recording
from bitunix_trio.testing import (
    RecordedFrame,
    Recording,
    demo_credentials,
    load_recording,
    open_simulated_exchange,
)

RECORDING = Path(__file__).parent / "data" / "demo_btcusdt_ethusdt.jsonl.gz"


def pushes(recording: Recording, channel: str, symbol: str) -> list[RecordedFrame]:
    """The recorded pushes of one stream, in order."""
    found = []
    for frame in recording.frames:
        value = json.loads(frame.message)
        if value.get("ch") == channel and value.get("symbol") == symbol:
            found.append(frame)
    return found


def decoded(frame: RecordedFrame) -> Any:
    push = decode(frame.message)
    assert isinstance(push, Push)
    (item,) = push.items
    return item


def test_the_shipped_recording_is_small_and_complete() -> None:
    assert RECORDING.stat().st_size < 20_000
    recording = load_recording(str(RECORDING))
    assert recording.header["format"] == "bitunix-trio-recording"
    assert recording.header["version"] == 1
    assert recording.symbols == ["BTCUSDT", "ETHUSDT"]
    assert recording.channels == ["ticker", "depth_book1", "trade"]
    assert len(pushes(recording, "ticker", "BTCUSDT")) >= 8
    assert len(pushes(recording, "depth_book1", "ETHUSDT")) >= 8
    assert {r.path for r in recording.responses} >= {
        "/api/v1/futures/market/depth",
        "/api/v1/futures/market/tickers",
    }


def crossing(mids: list[Decimal]) -> int | None:
    """The bot's decision: the index of the first mid above the mean of the three before."""
    for i in range(3, len(mids)):
        if mids[i] > sum(mids[i - 3 : i]) / 3:
            return i
    return None


async def test_a_bot_reproduces_the_recorded_session_exactly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recording = load_recording(str(RECORDING))
    tickers = pushes(recording, "ticker", "BTCUSDT")
    books = pushes(recording, "depth_book1", "ETHUSDT")

    async def run_bot() -> tuple[list[tuple[float, Any]], list[tuple[float, Any]], Any]:
        seen_tickers: list[tuple[float, Any]] = []
        seen_books: list[tuple[float, Any]] = []
        async with open_simulated_exchange(replay=RECORDING, memory=True) as exchange:
            replay = exchange.replay
            assert replay is not None
            options = {**exchange.stream_options(), "credentials": None}
            async with open_bitunix_stream(rng=random.Random(1), **options) as stream:

                async def follow(spec: Any, seen: list[tuple[float, Any]]) -> None:
                    async with stream.subscribe(spec) as values:
                        async for value in values:
                            seen.append((trio.current_time() - replay.t0, value))

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(follow, Ticker("BTCUSDT"), seen_tickers)
                    nursery.start_soon(follow, OrderBook("ETHUSDT", depth=1), seen_books)
                    snapshot = await stream.rest.get_depth("BTCUSDT")
                    await replay.finished.wait()
                    await trio.sleep(1)
                    nursery.cancel_scope.cancel()
        # (The snapshot's ts is the local receive time: the levels are the recording's.)
        return seen_tickers, seen_books, (snapshot.bids, snapshot.asks)

    seen_tickers, seen_books, snapshot = await run_bot()
    # Every recorded push, decoded exactly as live, at exactly its recorded time.
    assert [value for _, value in seen_tickers] == [decoded(f) for f in tickers]
    assert [value for _, value in seen_books] == [decoded(f) for f in books]
    assert [t for t, _ in seen_tickers] == pytest.approx([f.t for f in tickers], abs=1e-9)
    assert [t for t, _ in seen_books] == pytest.approx([f.t for f in books], abs=1e-9)
    # REST market data answers from the recording.
    (depth_response,) = [
        r
        for r in recording.responses
        if r.path.endswith("/depth") and ("symbol", "BTCUSDT") in r.params
    ]
    recorded_book = json.loads(depth_response.body)["data"]
    assert str(snapshot[0][0][0]) == recorded_book["bids"][0][0]
    # The bot's decision falls on the same value, at the same moment.
    mids = [(b.best_bid[0] + b.best_ask[0]) / 2 for _, b in seen_books]
    recorded_mids = [(b.best_bid[0] + b.best_ask[0]) / 2 for b in map(decoded, books)]
    decision = crossing(mids)
    assert decision is not None
    assert decision == crossing(recorded_mids)
    # And a second run sees the very same session.
    assert await run_bot() == (seen_tickers, seen_books, snapshot)


async def test_replay_speed_divides_every_recorded_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recording = load_recording(str(RECORDING))
    expected = pushes(recording, "ticker", "ETHUSDT")
    async with (
        open_simulated_exchange(replay=recording, memory=True, speed=4) as exchange,
        trio.open_nursery() as nursery,
    ):
        assert exchange.replay is not None
        t0 = exchange.replay.t0
        ws = await exchange.connector(nursery, exchange.public_url)
        assert json.loads(await ws.receive())["op"] == "connect"
        await ws.send('{"op":"subscribe","args":[{"symbol":"ETHUSDT","ch":"ticker"}]}')
        received = []
        for _ in expected:
            text = await ws.receive()
            received.append((trio.current_time() - t0, text))
        assert [text for _, text in received] == [f.message for f in expected]
        assert [t for t, _ in received] == pytest.approx([f.t / 4 for f in expected], abs=1e-9)
        assert trio.current_time() - t0 < recording.duration / 4 + 1e-9
        # At the end: no more pushes, and the socket stays up (pings are answered).
        await exchange.replay.finished.wait()
        await ws.send('{"op":"ping","ping":1}')
        assert json.loads(await ws.receive())["pong"] == 1
        with trio.move_on_after(10):
            await ws.receive()
            pytest.fail("a frame after the end of the recording")
        await ws.aclose()


async def test_a_looping_replay_starts_over(autojump_clock: trio.testing.MockClock) -> None:
    recording = load_recording(str(RECORDING))
    expected = pushes(recording, "depth_book1", "BTCUSDT")
    async with (
        open_simulated_exchange(replay=recording, memory=True, speed=2, loop=True) as exchange,
        trio.open_nursery() as nursery,
    ):
        assert exchange.replay is not None
        t0 = exchange.replay.t0
        ws = await exchange.connector(nursery, exchange.public_url)
        await ws.receive()
        await ws.send('{"op":"subscribe","args":[{"symbol":"BTCUSDT","ch":"depth_book1"}]}')
        received = []
        for _ in range(2 * len(expected)):
            text = await ws.receive()
            received.append((trio.current_time() - t0, text))
        assert [text for _, text in received] == [f.message for f in expected] * 2
        second = [t for t, _ in received[len(expected) :]]
        assert second == pytest.approx([(recording.duration + f.t) / 2 for f in expected], abs=1e-9)
        assert not exchange.replay.finished.is_set()
        await ws.aclose()


async def test_rest_market_data_comes_from_the_recording(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recording = load_recording(str(RECORDING))
    (tickers,) = [r for r in recording.responses if r.path.endswith("/tickers")]
    async with open_simulated_exchange(replay=recording, memory=True) as exchange:
        async with exchange.rest_client() as http:
            answer = await http.get(
                "/api/v1/futures/market/tickers", params={"symbols": "BTCUSDT,ETHUSDT"}
            )
            assert answer.text == tickers.body
            missing = await http.get(
                "/api/v1/futures/market/depth", params={"symbol": "SOLUSDT", "limit": "15"}
            )
            refusal = missing.json()
            assert refusal["code"] == 404
            assert refusal["msg"] == (
                "Not in the recording: GET /api/v1/futures/market/depth?limit=15&symbol=SOLUSDT"
            )
        async with open_rest_client(**exchange.rest_options()) as rest:
            with pytest.raises(RestError, match="Not in the recording") as caught:
                await rest.get_funding_rate("SOLUSDT")
            assert caught.value.code == 404
            # The account is the simulator's, as usual.
            account = await rest.get_account()
            assert account.coin == "USDT"


async def test_loopback_replay_sends_the_recorded_texts_to_a_raw_client() -> None:
    recording = load_recording(str(RECORDING))
    expected = [f.message for f in pushes(recording, "ticker", "BTCUSDT")]
    async with open_simulated_exchange(replay=recording, speed=2) as exchange:
        assert exchange.public_url.startswith("ws://127.0.0.1:")
        assert exchange.replay is not None
        async with trio_websocket.open_websocket_url(exchange.public_url) as ws:
            assert json.loads(await ws.get_message())["op"] == "connect"
            await ws.send_message('{"op":"subscribe","args":[{"symbol":"BTCUSDT","ch":"ticker"}]}')
            await exchange.replay.finished.wait()
            # The pong is queued after every push sent before it.
            await ws.send_message('{"op":"ping","ping":7}')
            received: list[str | bytes] = []
            while json.loads(text := await ws.get_message()).get("op") != "ping":
                received.append(text)
    # Byte for byte what was recorded: all of it, or (if subscribing took longer than the
    # first frames) the rest of it from where the subscription started.
    assert received
    assert received == expected[len(expected) - len(received) :]


async def test_private_pushes_are_replayed_to_a_logged_in_client(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Record a session with an account change, in virtual time.
    buffer = io.StringIO()
    async with open_simulated_exchange(seed=3, memory=True) as live:
        writer = RecordingWriter(
            buffer,
            symbols=["BTCUSDT"],
            channels=[],
            private=True,
            source="test",
            credentials=live.credentials,
        )
        options = live.stream_options()
        options["connector"] = writer.connector(options["connector"])
        options["rest_transport"] = writer.transport(options["rest_transport"])
        async with open_bitunix_stream(rng=random.Random(2), **options) as stream:
            async with stream.subscribe(Positions()) as positions:
                await trio.sleep(1)
                live.set_position("BTCUSDT", "LONG", "0.5", "86000")
                recorded_position = await positions.receive()
            writer.close()
    text = buffer.getvalue()
    for secret in (live.credentials.api_key, live.credentials.secret_key, '"sign"'):
        assert secret not in text
    recording = parse_recording(text.splitlines())
    private = [f for f in recording.frames if f.private and '"ch":"position"' in str(f.message)]
    assert len(private) == 1

    # Replay it to a client of another account: the same push at the same moment.
    async with open_simulated_exchange(seed=9, replay=recording, memory=True) as exchange:
        assert exchange.replay is not None
        assert exchange.credentials != live.credentials
        async with (
            open_bitunix_stream(rng=random.Random(2), **exchange.stream_options()) as stream,
            stream.subscribe(Positions()) as positions,
        ):
            replayed = await positions.receive()
            assert trio.current_time() - exchange.replay.t0 == pytest.approx(private[0].t)
    assert replayed.symbol == recorded_position.symbol == "BTCUSDT"
    assert replayed.qty == recorded_position.qty == Decimal("0.5")


async def test_bad_replay_options_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="speed must be a positive number"):
        async with open_simulated_exchange(replay=RECORDING, memory=True, speed=0):
            pass
    not_a_recording = tmp_path / "x.jsonl.gz"
    with gzip.open(not_a_recording, "wt") as file:
        file.write('{"hello": 1}\n')
    with pytest.raises(ConfigurationError, match="not a bitunix-trio recording"):
        async with open_simulated_exchange(replay=not_a_recording, memory=True):
            pass
    with pytest.raises(ConfigurationError, match="cannot read recording"):
        load_recording(str(tmp_path / "missing.jsonl.gz"))


def test_record_command_writes_a_valid_file_with_no_secret(tmp_path: Path) -> None:
    output = tmp_path / "session.jsonl.gz"
    argv = ["btcusdt", "--demo", "--private", "--duration", "1.5", "--channels", "ticker"]
    assert record_main([*argv, "-o", str(output)]) == 0
    raw = gzip.decompress(output.read_bytes()).decode("utf-8")
    credentials = demo_credentials(0)
    assert credentials.api_key not in raw
    assert credentials.secret_key not in raw
    assert '"sign"' not in raw
    recording = load_recording(str(output))
    assert recording.header["private"] is True
    assert recording.header["source"] == "demo"
    assert recording.symbols == ["BTCUSDT"]
    assert 1.5 <= recording.duration < 3
    assert {f.path for f in recording.frames} == {"/public/", "/private/"}
    assert any('"ch":"ticker"' in str(f.message) for f in recording.frames)
    assert any(r.path == "/api/v1/futures/account" for r in recording.responses)
