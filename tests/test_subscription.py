"""SubscriptionChannel: bounded buffer, overflow policies, abnormal ends, statistics."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from bitunix_trio._channel_errors import ConsumerTooSlow, StreamClosed, SubscriptionLost
from bitunix_trio._channels import OrderBook, Trades
from bitunix_trio._subscription import (
    Overflow,
    SubscriptionChannel,
    SubscriptionStale,
)


def channel(size: int, overflow: Overflow) -> SubscriptionChannel[int]:
    return SubscriptionChannel(Trades("BTCUSDT"), buffer=size, overflow=overflow)


async def test_values_arrive_in_order_and_async_for_ends_cleanly() -> None:
    ch = channel(10, Overflow.ERROR)
    for i in range(3):
        ch.deliver(i, 0.0)
    ch.finish()
    assert [v async for v in ch] == [0, 1, 2]


async def test_conflate_keeps_the_latest() -> None:
    ch = channel(2, Overflow.CONFLATE)
    for i in range(100):
        ch.deliver(i, float(i))
    stats = ch.statistics()
    assert (stats.received, stats.dropped, stats.buffer_used, stats.buffer_size) == (100, 98, 2, 2)
    assert [ch.receive_nowait(), ch.receive_nowait()] == [98, 99]
    with pytest.raises(trio.WouldBlock):
        ch.receive_nowait()


async def test_lossless_overflow_ends_with_consumer_too_slow_after_the_buffer() -> None:
    ch = channel(3, Overflow.ERROR)
    for i in range(10):
        ch.deliver(i, 0.0)
    assert ch.statistics().buffer_used == 3  # memory stays at the cap
    assert [await ch.receive() for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ConsumerTooSlow) as info:
        await ch.receive()
    assert isinstance(info.value, trio.BrokenResourceError)
    assert info.value.spec == Trades("BTCUSDT")
    with pytest.raises(ConsumerTooSlow):
        ch.receive_nowait()  # stays ended
    assert ch.statistics().error is not None


async def test_fail_wakes_a_waiting_receiver() -> None:
    ch = channel(3, Overflow.ERROR)
    got: list[BaseException] = []

    async def consumer() -> None:
        try:
            await ch.receive()
        except SubscriptionLost as exc:
            got.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        await trio.testing.wait_all_tasks_blocked()
        ch.fail(SubscriptionStale("no data", OrderBook("X")))
    assert isinstance(got[0], SubscriptionStale)
    assert ch.stale
    assert ch.done


async def test_deliver_wakes_a_waiting_receiver() -> None:
    ch = channel(3, Overflow.ERROR)
    async with trio.open_nursery() as nursery:

        async def later() -> None:
            await trio.testing.wait_all_tasks_blocked()
            ch.deliver(42, 1.0)

        nursery.start_soon(later)
        assert await ch.receive() == 42


async def test_close_raises_stream_closed_in_waiters_and_later_calls() -> None:
    ch = channel(3, Overflow.ERROR)
    ch.deliver(1, 0.0)
    async with trio.open_nursery() as nursery:

        async def consumer() -> None:
            assert await ch.receive() == 1
            with pytest.raises(StreamClosed):
                await ch.receive()

        nursery.start_soon(consumer)
        await trio.testing.wait_all_tasks_blocked()
        await ch.aclose()
    with pytest.raises(trio.ClosedResourceError):
        await ch.receive()
    ch.deliver(2, 0.0)  # ignored
    assert ch.statistics().received == 1


async def test_receive_is_a_checkpoint_and_cancellable() -> None:
    ch = channel(3, Overflow.ERROR)
    ch.deliver(1, 0.0)
    with trio.CancelScope() as scope:
        scope.cancel()
        await ch.receive()
    assert scope.cancelled_caught
    assert ch.receive_nowait() == 1  # nothing lost by the cancelled call
    with trio.move_on_after(0.01):
        await ch.receive()


async def test_statistics_message_age(autojump_clock: trio.testing.MockClock) -> None:
    ch = channel(3, Overflow.ERROR)
    assert ch.statistics().last_message_age is None
    ch.deliver(1, trio.current_time())
    await trio.sleep(2.5)
    stats = ch.statistics()
    assert stats.last_message_age == 2.5
    assert stats.taken == 0
    assert stats.overflow is Overflow.ERROR
