"""SubscriptionChannel: bounded buffer, overflow policies, abnormal ends, statistics."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from bitunix_trio._core.channels import OrderBook, Trades
from bitunix_trio._stream.channel import (
    BATCH_LIMIT,
    Overflow,
    SubscriptionChannel,
    SubscriptionStale,
)
from bitunix_trio._stream.errors import ConsumerTooSlow, StreamClosed, SubscriptionLost


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


async def test_receive_is_a_checkpoint_and_cancellable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ch = channel(3, Overflow.ERROR)
    ch.deliver(1, 0.0)
    with trio.CancelScope() as scope:
        scope.cancel()
        await ch.receive()
    assert scope.cancelled_caught
    assert ch.receive_nowait() == 1  # nothing lost by the cancelled call
    with trio.move_on_after(1.0) as waiting:  # virtual time: an empty channel blocks
        await ch.receive()
    assert waiting.cancelled_caught


async def test_statistics_message_age(autojump_clock: trio.testing.MockClock) -> None:
    ch = channel(3, Overflow.ERROR)
    assert ch.statistics().last_message_age is None
    ch.deliver(1, trio.current_time())
    await trio.sleep(2.5)
    stats = ch.statistics()
    assert stats.last_message_age == 2.5
    assert stats.taken == 0
    assert stats.overflow is Overflow.ERROR


async def test_a_waiting_receiver_gets_the_value_directly() -> None:
    ch = channel(3, Overflow.ERROR)
    got: list[int] = []

    async def consumer() -> None:
        got.append(await ch.receive())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        await trio.testing.wait_all_tasks_blocked()
        ch.deliver(7, 0.0)
        stats = ch.statistics()
        assert (stats.received, stats.taken, stats.buffer_used) == (1, 1, 0)
    assert got == [7]


async def test_several_waiting_receivers_are_served_oldest_first() -> None:
    ch = channel(3, Overflow.ERROR)
    got: dict[str, int | None] = {}

    async def consumer(name: str) -> None:
        try:
            got[name] = await ch.receive()
        except trio.EndOfChannel:
            got[name] = None

    async with trio.open_nursery() as nursery:
        for name in ("a", "b", "c"):
            nursery.start_soon(consumer, name)
            await trio.testing.wait_all_tasks_blocked()
        ch.deliver(1, 0.0)
        ch.deliver(2, 0.0)
        await trio.testing.wait_all_tasks_blocked()
        assert got == {"a": 1, "b": 2}
        ch.finish()  # wakes c, which finds the end
    assert got == {"a": 1, "b": 2, "c": None}


async def test_a_cancelled_waiter_takes_nothing() -> None:
    ch = channel(3, Overflow.ERROR)
    with trio.move_on_after(0) as scope:
        await ch.receive()  # parks, then the cancel is delivered through abort
    assert scope.cancelled_caught
    ch.deliver(1, 0.0)
    assert ch.statistics().buffer_used == 1
    assert await ch.receive() == 1


async def test_receive_batch_takes_everything_buffered_in_one_checkpoint() -> None:
    ch = channel(10, Overflow.ERROR)
    for i in range(5):
        ch.deliver(i, 0.0)
    assert await ch.receive_batch(max_values=2) == [0, 1]
    assert await ch.receive_batch() == [2, 3, 4]
    assert ch.statistics().taken == 5
    with pytest.raises(ValueError, match="max_values"):
        await ch.receive_batch(max_values=0)
    async with trio.open_nursery() as nursery:

        async def later() -> None:
            await trio.testing.wait_all_tasks_blocked()
            ch.deliver(5, 0.0)

        nursery.start_soon(later)
        assert await ch.receive_batch() == [5]  # waits for one when none is buffered
    ch.deliver(6, 0.0)
    ch.fail(SubscriptionLost("gone"))
    assert await ch.receive_batch() == [6]  # the values before the end first
    with pytest.raises(SubscriptionLost):
        await ch.receive_batch()


async def test_receive_batch_is_a_checkpoint() -> None:
    ch = channel(10, Overflow.ERROR)
    ch.deliver(1, 0.0)
    with trio.CancelScope() as scope:
        scope.cancel()
        await ch.receive_batch()
    assert scope.cancelled_caught
    assert ch.receive_nowait() == 1


async def test_receive_nowait_reports_how_the_channel_ended() -> None:
    ch = channel(3, Overflow.ERROR)
    with pytest.raises(trio.WouldBlock):
        ch.receive_nowait()
    ch.deliver(1, 0.0)
    ch.finish()
    assert ch.receive_nowait() == 1
    with pytest.raises(trio.EndOfChannel):
        ch.receive_nowait()
    ch.close()
    with pytest.raises(StreamClosed):
        ch.receive_nowait()


async def test_a_consumer_behind_takes_what_piled_up_in_few_steps() -> None:
    ch = channel(1000, Overflow.ERROR)
    for i in range(300):
        ch.deliver(i, 0.0)
    steps = 0

    async def other_task() -> None:
        nonlocal steps
        while True:
            steps += 1
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other_task)
        await trio.lowlevel.checkpoint()
        seen = []
        for expected in range(300):
            assert await ch.receive() == expected
            seen.append(steps)
        nursery.cancel_scope.cancel()
    # Other tasks ran, but not once per value: BATCH_LIMIT values per turn. Trio reverses
    # a scheduler batch at random, so two turns of the consumer can follow each other with
    # no step of the other task between them: at worst every pair of turns looks like one.
    turns = len(set(seen))
    least = -(-300 // BATCH_LIMIT)
    assert (least + 1) // 2 <= turns <= 300 // BATCH_LIMIT + 1
