"""``await stream.reconnect()``: every connection dropped on purpose, and back."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from conftest import open_sim_stream

from bitunix_trio import ConnectionState, StreamClosed, Ticker
from bitunix_trio._stream.stream import StateChange
from bitunix_trio.testing import SimulatedExchange


async def test_reconnect_drops_every_connection_and_waits_until_all_are_back(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    opened = memory_sim.credentials
    async with (
        open_sim_stream(memory_sim, seed=1, credentials=opened) as stream,
        stream.subscribe(Ticker("BTCUSDT")) as ticks,
        stream.state_events() as events,
    ):
        await ticks.receive()
        assert memory_sim.connection_count == 2
        before = {c.connection_id for c in memory_sim.connections}
        await stream.reconnect()
        assert stream.state is ConnectionState.AUTHENTICATED
        after = {c.connection_id for c in memory_sim.connections}
        assert len(after) == 2
        assert not before & after  # two new sockets
        statistics = stream.statistics()
        assert {c.name: c.reconnects for c in statistics.connections} == {
            "public#0": 1,
            "private": 1,
        }
        changes: list[StateChange] = []
        while True:
            try:
                changes.append(events.receive_nowait())
            except trio.WouldBlock:
                break
        stream_wide = [(c.old, c.new) for c in changes if c.connection is None]
        assert stream_wide[0] == (ConnectionState.AUTHENTICATED, ConnectionState.RECONNECTING)
        assert stream_wide[-1][1] is ConnectionState.AUTHENTICATED
        lost = [c for c in changes if c.new is ConnectionState.RECONNECTING and c.connection]
        assert {c.connection for c in lost} == {"public#0", "private"}
        assert all(c.reason == "reconnect requested" for c in lost)
        # The subscription was replayed: data flows on the new socket.
        start = trio.current_time()
        tick = await ticks.receive()
        assert tick.symbol == "BTCUSDT"
        assert trio.current_time() - start < 1.0


async def test_reconnect_after_the_stream_closed_is_an_error(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    async with open_sim_stream(memory_sim, seed=1) as stream:
        pass
    with pytest.raises(StreamClosed):
        await stream.reconnect()
