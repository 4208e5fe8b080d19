"""Error rules of open_bitunix_stream (design.md section 4), each in its own test.

Exactly one typed exception leaves the block; the body's own exception leaves unchanged;
KeyboardInterrupt stays; an outer cancel scope cancels cleanly; unexpected errors become
BitunixInternalError; nothing is left running afterwards.
"""

from __future__ import annotations

import itertools
import logging
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket
from conftest import library_tasks, open_sim_stream, resting_order

from bitunix_trio._core.channels import Balance, OrderBook, Orders, Subscription, Ticker
from bitunix_trio._core.config import ReconnectPolicy
from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import (
    AuthenticationError,
    BitunixInternalError,
    ConfigurationError,
    ConnectError,
    ConnectTimeout,
    StreamFailed,
    SubscriptionRejected,
)
from bitunix_trio._core.protocol import ConnectionState
from bitunix_trio._stream.connector import WebSocketConnection
from bitunix_trio._stream.errors import StreamClosed
from bitunix_trio._stream.open import open_bitunix_stream
from bitunix_trio._stream.stream import BitunixStream
from bitunix_trio.testing import SimulatedExchange

S = ConnectionState


def open_stream(
    sim: SimulatedExchange, **kwargs: Any
) -> AbstractAsyncContextManager[BitunixStream]:
    return open_sim_stream(sim, seed=5, **kwargs)


async def settle(sim: SimulatedExchange) -> None:
    await sim.wait_for_connections(0)
    await trio.testing.wait_all_tasks_blocked()
    assert library_tasks() == []


async def test_user_exception_leaves_unchanged(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    cause = KeyError("cause")
    error = ValueError("mine")

    async def body() -> None:
        async with open_stream(memory_sim) as stream, stream.subscribe(Ticker("BTCUSDT")):
            try:
                raise cause
            except KeyError:
                raise error from cause

    with pytest.raises(ValueError) as info:
        await body()
    assert info.value is error
    assert error.__cause__ is cause
    assert error.__context__ is cause
    await settle(memory_sim)


async def test_keyboard_interrupt_stays(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    with pytest.raises(KeyboardInterrupt):
        async with open_stream(memory_sim):
            raise KeyboardInterrupt
    await settle(memory_sim)


async def test_outer_timeout_cancels_cleanly(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.move_on_after(5.0) as scope:
        async with open_stream(memory_sim) as stream, stream.subscribe(Ticker("BTCUSDT")) as t:
            async for _ in t:
                pass
    assert scope.cancelled_caught
    assert trio.current_time() == 5.0
    await settle(memory_sim)


async def test_outer_timeout_while_connecting(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async def never(nursery: trio.Nursery, url: str) -> WebSocketConnection:
        await trio.sleep_forever()
        raise AssertionError

    with trio.move_on_after(1.0) as scope:
        async with open_stream(memory_sim, connector=never):
            pytest.fail("entered")
    assert scope.cancelled_caught


async def test_wrong_credentials_raise_authentication_error_once(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    wrong = Credentials("not-a-key", "not-a-secret")
    with pytest.raises(AuthenticationError) as info:
        async with open_stream(memory_sim, credentials=wrong):
            pytest.fail("entered")
    assert "Authentication failed" in str(info.value)
    assert "not-a-secret" not in str(info.value)
    logins = [f for f in memory_sim.recorder.ws_frames() if f.op == "login"]
    assert len(logins) == 1  # no retry loop
    await settle(memory_sim)


async def test_rejected_login_raises_authentication_error(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    memory_sim.reject_next_logins(1)
    with pytest.raises(AuthenticationError, match="login rejected"):
        async with open_stream(memory_sim, credentials=memory_sim.credentials):
            pytest.fail("entered")
    await settle(memory_sim)


def login_times(sim: SimulatedExchange) -> list[float]:
    return [f.time for f in sim.recorder.ws_frames() if f.op == "login"]


async def test_relogin_refused_after_reconnect_is_retried_and_recovers(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with (
        open_stream(memory_sim, credentials=memory_sim.credentials) as stream,
        stream.subscribe(Orders()) as orders,
        stream.state_events() as changes,
    ):
        assert stream.state is S.AUTHENTICATED
        memory_sim.reject_next_logins(3)
        memory_sim.drop_all()
        # The exchange refuses three re-logins; the fourth is accepted.
        private = []
        async for change in changes:
            if change.connection == "private":
                private.append((change.old, change.new))
                if change.new is S.AUTHENTICATED:
                    break
        assert private.count((S.CONNECTED, S.RECONNECTING)) == 3  # each refusal: reconnect
        assert S.CLOSED not in {new for _, new in private}
        times = login_times(memory_sim)
        assert len(times) == 5
        gaps = [b - a for a, b in itertools.pairwise(times[1:])]
        assert all(gap > 0 for gap in gaps)  # each retry after a backoff delay
        order_id = resting_order(memory_sim, "BTCUSDT", "BUY", 1000)
        assert (await orders.receive()).order_id == order_id  # the subscription lives
    await settle(memory_sim)


async def test_relogin_refused_more_than_relogin_retries_fails_the_stream(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    policy = ReconnectPolicy(relogin_retries=2)

    async def body() -> None:
        async with (
            open_stream(memory_sim, credentials=memory_sim.credentials, reconnect=policy) as stream,
            stream.subscribe(Orders()) as orders,
        ):
            memory_sim.reject_next_logins(100)
            memory_sim.drop_all()
            await orders.receive()  # cancelled by the failure

    with pytest.raises(AuthenticationError, match="login rejected"):
        await body()
    assert len(login_times(memory_sim)) == 1 + 3  # the first login, then 1 + 2 retries refused
    await settle(memory_sim)


async def test_relogin_retries_zero_fails_at_the_first_refused_relogin(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    policy = ReconnectPolicy(relogin_retries=0)

    async def body() -> None:
        async with (
            open_stream(memory_sim, credentials=memory_sim.credentials, reconnect=policy) as stream,
            stream.subscribe(Orders()) as orders,
        ):
            assert stream.state is S.AUTHENTICATED
            memory_sim.reject_next_logins(1)
            memory_sim.drop_all()
            await orders.receive()  # cancelled by the failure

    with pytest.raises(AuthenticationError):
        await body()
    assert trio.current_time() > 0
    assert len(login_times(memory_sim)) == 2
    await settle(memory_sim)


async def test_stream_failure_wins_over_its_consequence(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    policy = ReconnectPolicy(relogin_retries=0)

    async def body() -> None:
        async with (
            open_stream(memory_sim, credentials=memory_sim.credentials, reconnect=policy) as stream,
            stream.subscribe(Orders()) as orders,
        ):
            memory_sim.reject_next_logins(1)
            memory_sim.drop_all()
            with trio.CancelScope(shield=True):
                await trio.sleep(5.0)  # the failure happens meanwhile
                assert orders.done
                await orders.receive()  # SubscriptionLost: the stream failed

    with pytest.raises(AuthenticationError):
        await body()


async def test_exchange_down_at_start_raises_connect_error(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    memory_sim.ws_down()
    with pytest.raises(ConnectError, match="HTTP 503") as info:
        async with open_stream(memory_sim, credentials=memory_sim.credentials):
            pytest.fail("entered")
    assert isinstance(info.value.__cause__, trio_websocket.ConnectionRejected)
    await settle(memory_sim)


async def test_connect_timeout(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async def never(nursery: trio.Nursery, url: str) -> WebSocketConnection:
        await trio.sleep_forever()
        raise AssertionError

    policy = ReconnectPolicy(connect_timeout=3.0)
    with pytest.raises(ConnectTimeout):
        async with open_stream(memory_sim, connector=never, reconnect=policy):
            pytest.fail("entered")
    assert trio.current_time() == 3.0


async def test_unexpected_error_at_start_is_an_internal_error(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async def broken(nursery: trio.Nursery, url: str) -> WebSocketConnection:
        raise RuntimeError("boom")

    with pytest.raises(BitunixInternalError, match="please report") as info:
        async with open_stream(memory_sim, connector=broken):
            pytest.fail("entered")
    assert isinstance(info.value.__cause__, RuntimeError)


async def test_unexpected_error_while_running_fails_the_stream(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    calls = 0

    async def flaky(nursery: trio.Nursery, url: str) -> WebSocketConnection:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("bug on reconnect")
        return await memory_sim.connector(nursery, url)

    async def body() -> None:
        async with open_stream(memory_sim, connector=flaky):
            memory_sim.drop_all()
            await trio.sleep_forever()

    with pytest.raises(BitunixInternalError) as info:
        await body()
    assert str(info.value.__cause__) == "bug on reconnect"
    await settle(memory_sim)


async def test_giving_up_raises_stream_failed(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    policy = ReconnectPolicy(max_attempts=3)

    async def body() -> None:
        async with open_stream(memory_sim, reconnect=policy):
            memory_sim.ws_down()
            await trio.sleep_forever()

    with pytest.raises(StreamFailed, match="gave up after 3") as info:
        await body()
    assert isinstance(info.value.__cause__, ConnectError)
    await settle(memory_sim)


async def test_private_channel_without_credentials(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_stream(memory_sim) as stream:
        for spec in (Orders(), Balance(), Subscription(channel="positions")):
            with pytest.raises(ConfigurationError) as info:
                stream.subscribe(spec)
            assert str(info.value) == "Cannot connect to private channels without API credentials"
        with pytest.raises(ConfigurationError):
            stream.subscribe(
                Subscription(channel="orderbook", symbol="BTCUSDT", params={"depth": 20})
            )
        async with stream.subscribe(OrderBook("BTCUSDT")) as books:
            await books.receive()  # still fine


async def test_refused_subscription_raises_at_subscribe(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_stream(memory_sim) as stream:
        memory_sim.refuse_subscriptions()
        with pytest.raises(SubscriptionRejected) as info:
            async with stream.subscribe(Ticker("BTCUSDT")):
                pytest.fail("entered")
        assert str(info.value).startswith("Subscription failed: subscribe channel > 300")
        assert info.value.spec == Ticker("BTCUSDT")
        memory_sim.refuse_subscriptions(False)
        async with stream.subscribe(Ticker("BTCUSDT")) as tickers:
            await tickers.receive()
        assert stream.state is S.CONNECTED


async def test_bad_arguments_raise_configuration_error() -> None:
    cases: list[dict[str, Any]] = [
        {"public_url": "https://fapi.bitunix.com/public/"},
        {"buffer_size": 0},
        {"close_timeout": -1},
        {"credentials": "key:secret"},
    ]
    for kwargs in cases:
        with pytest.raises(ConfigurationError):
            async with open_bitunix_stream(**kwargs):
                pytest.fail("entered")


async def test_use_after_close(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_stream(memory_sim) as stream:
        async with stream.subscribe(Ticker("BTCUSDT")) as tickers:
            pass
        with pytest.raises(StreamClosed):
            await tickers.receive()
    with pytest.raises(StreamClosed):
        stream.subscribe(Ticker("BTCUSDT"))
    assert stream.state is S.CLOSED


async def test_user_exception_group_leaves_unchanged(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    async def boom() -> None:
        raise AttributeError("in a task of the body")

    async def body() -> None:
        async with open_stream(memory_sim), trio.open_nursery() as nursery:
            nursery.start_soon(boom)

    with pytest.raises(ExceptionGroup) as info:
        await body()
    assert info.group_contains(AttributeError, match="in a task of the body", depth=1)
    await settle(memory_sim)


async def test_no_secret_in_any_log_record(
    memory_sim: SimulatedExchange,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bitunix_trio")
    secret = memory_sim.credentials.secret_key
    async with (
        open_stream(memory_sim, credentials=memory_sim.credentials) as stream,
        stream.subscribe(Orders()),
    ):
        memory_sim.drop_all()
        await memory_sim.wait_for_connections(0)
        await memory_sim.wait_for_connections(2)
    memory_sim.reject_next_logins(1)
    with pytest.raises(AuthenticationError) as info:
        async with open_stream(memory_sim, credentials=memory_sim.credentials):
            pass
    assert secret not in str(info.value)
    assert any("sending login" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert '"sign"' not in record.getMessage()
