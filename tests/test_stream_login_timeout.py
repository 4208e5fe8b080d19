"""A login that gets no reply is a transient failure: retried, never mistaken for a bug."""

from __future__ import annotations

import random

import trio
import trio.testing

import bitunix_trio as bt
from bitunix_trio.testing import SimulatedExchange


async def test_unanswered_login_is_retried(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    async with (
        bt.open_bitunix_stream(
            **memory_sim.stream_options(),
            rng=random.Random(1),
            reconnect=bt.ReconnectPolicy(connect_timeout=5.0),
        ) as stream,
        stream.state_events() as changes,
    ):
        assert stream.state is bt.ConnectionState.AUTHENTICATED
        memory_sim.go_silent()  # the exchange accepts sockets but answers nothing
        memory_sim.drop_all()
        await trio.sleep(60)  # logins time out again and again meanwhile
        private = stream.statistics().connections[-1]
        assert private.name == "private"
        assert private.last_error is not None
        assert "no login reply" in private.last_error
        memory_sim.go_silent(False)
        async for change in changes:
            if change.new is bt.ConnectionState.AUTHENTICATED and change.connection is None:
                break
        async with stream.subscribe(bt.Orders()) as orders:
            assert orders.statistics().error is None
