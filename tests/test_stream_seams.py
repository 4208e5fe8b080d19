"""The seams REST degradation and recovery build on: delivering values from another task,
the DEGRADED state, hooks after every (re)connect and on every loss, supervised tasks."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest
import trio
import trio.testing
from conftest import open_sim_stream

from bitunix_trio._core.channels import OrderBook, Orders, Ticker
from bitunix_trio._core.errors import BitunixInternalError
from bitunix_trio._core.models import DataSource
from bitunix_trio._core.protocol import ConnectionState
from bitunix_trio._stream.connection import ConnectionSlot
from bitunix_trio._stream.stream import BitunixStream, StateChange
from bitunix_trio.testing import SimulatedExchange

S = ConnectionState


def state_of(stream: BitunixStream) -> ConnectionState:
    return stream.state  # through a function: mypy keeps attributes narrowed


async def test_deliver_from_another_task_marked_as_rest(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with (
        open_sim_stream(memory_sim, seed=2) as stream,
        stream.subscribe(Ticker("BTCUSDT")) as tickers,
    ):
        ws_value = await tickers.receive()
        assert ws_value.source is DataSource.WEBSOCKET
        assert stream._supervisor.wanted() == {Ticker("BTCUSDT").key: Ticker("BTCUSDT")}
        rest_value = dataclasses.replace(ws_value, source=DataSource.REST)
        assert stream._supervisor.deliver(Ticker("BTCUSDT").key, rest_value) == 1
        assert stream._supervisor.deliver(Ticker("ETHUSDT").key, rest_value) == 0  # nobody listens
        assert (await tickers.receive()).source is DataSource.REST


async def test_degraded_state_while_a_connection_is_down(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with (
        open_sim_stream(memory_sim, seed=2) as stream,
        stream.state_events() as changes,
    ):
        stream._supervisor.set_degraded("polling REST")  # shown only while not everything is up
        assert stream.state is S.CONNECTED
        memory_sim.ws_down()
        seen: list[StateChange] = []
        while len(seen) < 1:
            change = await changes.receive()
            if change.connection is None:
                seen.append(change)
        assert (seen[0].old, seen[0].new) == (S.CONNECTED, S.DEGRADED)
        stream._supervisor.notice("trades cannot be back-filled")
        while (notice := await changes.receive()).old is not notice.new:
            pass
        assert (notice.new, notice.reason) == (S.DEGRADED, "trades cannot be back-filled")
        stream._supervisor.set_degraded(None)
        assert state_of(stream) is S.RECONNECTING
        stream._supervisor.set_degraded("polling REST")
        assert state_of(stream) is S.DEGRADED
        memory_sim.ws_down(False)
        async for change in changes:
            if change.connection is None and change.new is S.CONNECTED:
                assert change.old is S.DEGRADED
                break


async def test_hooks_after_every_connect_and_loss(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    events: list[tuple[str, str, object]] = []

    def on_ready(slot: ConnectionSlot, reconnected: bool) -> None:
        events.append(("ready", slot.name, reconnected))

    def on_down(slot: ConnectionSlot, error: BaseException) -> None:
        events.append(("down", slot.name, type(error).__name__))

    async with (
        open_sim_stream(memory_sim, seed=2, credentials=memory_sim.credentials) as stream,
        stream.subscribe(Orders()),
    ):
        stream._supervisor.add_hooks(on_ready=on_ready, on_down=on_down)
        memory_sim.drop_all()
        await memory_sim.wait_for_connections(0)
        await memory_sim.wait_for_connections(2)
        await trio.testing.wait_all_tasks_blocked()
        assert stream.state is S.AUTHENTICATED
    assert sorted(events) == [
        ("down", "private", "ConnectionLost"),
        ("down", "public#0", "ConnectionLost"),
        ("ready", "private", True),
        ("ready", "public#0", True),
    ]


async def test_spawned_task_failure_is_fatal(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    ran = trio.Event()

    async def poller() -> None:
        ran.set()
        await trio.sleep(1.0)
        raise RuntimeError("poller bug")

    async def body() -> None:
        async with open_sim_stream(memory_sim, seed=2) as stream:
            stream._supervisor.spawn(poller)
            async with stream.subscribe(OrderBook("BTCUSDT")) as books:
                async for _ in books:
                    pass

    with pytest.raises(BitunixInternalError) as info:
        await body()
    assert ran.is_set()
    assert str(info.value.__cause__) == "poller bug"
    assert trio.current_time() == 1.0


async def test_private_values_pass_the_admission_filter(
    memory_sim: SimulatedExchange,
    autojump_clock: trio.testing.MockClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from decimal import Decimal

    from bitunix_trio._core.channels import Balance

    seen: list[object] = []

    def admit(items: Sequence[Any], now: float) -> Sequence[Any]:
        seen.extend(items)
        return [item for item in items if item.available != Decimal(50)]

    async with (
        open_sim_stream(memory_sim, seed=2, credentials=memory_sim.credentials) as stream,
        stream.subscribe(Balance(snapshot=False)) as balances,
    ):
        monkeypatch.setattr(stream._supervisor.fallback, "admit_private", admit)
        start = memory_sim.credit("USDT", Decimal(0)).available
        memory_sim.credit("USDT", Decimal(-start + 50))  # 50: filtered out
        memory_sim.credit("USDT", Decimal(100))  # 150: delivered
        assert (await balances.receive()).available == start
        assert (await balances.receive()).available == Decimal(150)
        assert len(seen) == 3


async def test_discard_buffered_counts_as_dropped(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with (
        open_sim_stream(memory_sim, seed=2) as stream,
        stream.subscribe(OrderBook("BTCUSDT"), buffer=10) as books,
    ):
        await trio.sleep(1.0)
        assert books.discard_buffered() == 3
        stats = books.statistics()
        assert (stats.buffer_used, stats.dropped) == (0, 3)
        assert (await books.receive()).ts > 0
