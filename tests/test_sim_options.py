"""Pointing the library's clients at the simulated exchange in one line."""

from __future__ import annotations

import pytest
import trio.testing

import bitunix_trio as bt
from bitunix_trio.testing import SimulatedExchange


@pytest.mark.loopback
async def test_stream_and_rest_options_over_loopback(sim: SimulatedExchange) -> None:
    async with bt.open_bitunix_stream(**sim.stream_options()) as stream:
        async with stream.subscribe(bt.Ticker("ETHUSDT")) as tickers:
            tick = await tickers.receive()
        assert tick.symbol == "ETHUSDT"
        assert stream.state is bt.ConnectionState.AUTHENTICATED
    async with bt.open_rest_client(**sim.rest_options()) as rest:
        balance = await rest.get_account()
    assert balance.coin == "USDT"
    assert balance.available > 0


async def test_options_in_memory(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    options = memory_sim.stream_options()
    assert options["connector"] == memory_sim.connector
    async with (
        bt.open_bitunix_stream(**options) as stream,
        stream.subscribe(bt.OrderBook("BTCUSDT", depth=5)) as books,
    ):
        book = await books.receive()
    assert len(book.bids) == len(book.asks) == 5
    async with bt.open_rest_client(**memory_sim.rest_options()) as rest:
        positions = await rest.get_pending_positions()
    assert positions == []


async def test_overridden_options_replace_the_defaults(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    # Giving credentials as well as the exchange's options is no clash: the override wins.
    options = memory_sim.stream_options(credentials=None)
    assert options["credentials"] is None
    async with bt.open_bitunix_stream(**options) as stream:
        assert stream.state is bt.ConnectionState.CONNECTED  # public only: no login
    rest_options = memory_sim.rest_options(credentials=None, timeout=2.0)
    assert rest_options["credentials"] is None
    assert rest_options["timeout"] == 2.0
    async with bt.open_rest_client(**rest_options) as rest:
        assert not rest.authenticated


async def test_an_override_the_client_does_not_take_is_refused(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    with pytest.raises(bt.ConfigurationError, match=r"open_bitunix_stream.*'credential'"):
        memory_sim.stream_options(credential=None)
    with pytest.raises(bt.ConfigurationError, match=r"open_rest_client.*'rest_url'"):
        memory_sim.rest_options(rest_url="http://127.0.0.1:1")
