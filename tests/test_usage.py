"""Forgetting ``async with`` raises UsageError with the line to write.

Each misuse below also needs a ``type: ignore``: mypy reports it statically (strict mode
refuses an unneeded ignore), while the correct use gets exact types (``assert_type``).
"""

from __future__ import annotations

from typing import assert_type

import pytest
import trio.testing

import bitunix_trio as bt
from bitunix_trio.testing import SimulatedExchange


def test_usage_error_is_a_type_error_in_the_tree() -> None:
    assert issubclass(bt.UsageError, TypeError)
    assert issubclass(bt.UsageError, bt.BitunixError)


async def test_a_stream_used_without_async_with() -> None:
    stream = bt.open_bitunix_stream()
    with pytest.raises(bt.UsageError) as caught:
        stream.subscribe(bt.Ticker("BTCUSDT"))  # type: ignore[attr-defined]
    message = str(caught.value)
    assert "without 'async with'" in message
    assert "async with bitunix_trio.open_bitunix_stream(...) as stream:" in message
    assert "stream.subscribe(...)" in message
    with pytest.raises(bt.UsageError, match="cannot be awaited"):
        await stream  # type: ignore[misc]
    with (
        pytest.raises(bt.UsageError, match="'with' needs to be 'async with'"),
        stream,  # type: ignore[attr-defined]
    ):
        pass
    with pytest.raises(bt.UsageError, match="not iterable"):
        async for _ in stream:  # type: ignore[attr-defined]
            pass
    # Private and dunder lookups stay plain AttributeErrors (hasattr, copy, pickle work).
    assert not hasattr(stream, "_missing")


async def test_a_rest_client_used_without_async_with() -> None:
    rest = bt.open_rest_client()
    with pytest.raises(bt.UsageError) as caught:
        await rest.get_depth("BTCUSDT")  # type: ignore[attr-defined]
    message = str(caught.value)
    assert "async with bitunix_trio.open_rest_client(...) as rest:" in message
    assert "await rest.get_depth(...)" in message


async def test_a_subscription_used_without_async_with(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    async with bt.open_bitunix_stream(**memory_sim.stream_options()) as stream:
        assert_type(stream, bt.BitunixStream)
        subscription = stream.subscribe(bt.Ticker("BTCUSDT"))
        with pytest.raises(bt.UsageError) as caught:
            await subscription.receive()  # type: ignore[attr-defined]
        message = str(caught.value)
        assert "stream.subscribe(...) is used without 'async with'" in message
        assert "async with stream.subscribe(...) as channel:" in message
        assert "await channel.receive(...)" in message
        with pytest.raises(bt.UsageError, match="cannot be awaited"):
            await stream.subscribe(bt.Ticker("BTCUSDT"))  # type: ignore[misc]
        with pytest.raises(bt.UsageError, match="async for value in channel:"):
            async for _ in stream.subscribe(bt.Ticker("BTCUSDT")):  # type: ignore[attr-defined]
                pass
        with pytest.raises(bt.UsageError, match=r"async with stream\.state_events"):
            async for _ in stream.state_events():  # type: ignore[attr-defined]
                pass
        with pytest.raises(bt.UsageError, match="as channels:"):
            stream.subscribe_many([bt.Ticker("BTCUSDT")]).count  # type: ignore[attr-defined]  # noqa: B018
        # Used as written, nothing changes: the subscription was never entered above.
        async with stream.subscribe(bt.Ticker("BTCUSDT")) as tickers:
            tick = await tickers.receive()
        assert_type(tick, bt.TickerUpdate)
        assert tick.symbol == "BTCUSDT"
    async with bt.open_rest_client(**memory_sim.rest_options()) as rest:
        assert_type(rest, bt.BitunixRestClient)
        assert rest.authenticated
