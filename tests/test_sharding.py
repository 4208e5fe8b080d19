"""Spreading public subscription keys over connections, 300 per connection."""

from __future__ import annotations

from bitunix_trio._core.frames import Key
from bitunix_trio._core.sharding import MAX_SUBSCRIPTIONS_PER_CONNECTION, ShardPlanner


def book_key(symbol: str) -> Key:
    return ("depth_book15", symbol)


def test_sharding_350_gives_300_and_50() -> None:
    assert MAX_SUBSCRIPTIONS_PER_CONNECTION == 300
    keys = [book_key(f"S{i}USDT") for i in range(350)]
    assert [len(g) for g in ShardPlanner.plan(keys)] == [300, 50]
    planner = ShardPlanner()
    assert [planner.assign(k) for k in keys] == [0] * 300 + [1] * 50
    assert planner.counts == (300, 50)
    assert planner.assign(keys[3]) == 0  # already assigned
    assert planner.release(keys[3]) == 0
    assert planner.assign(("ticker", "NEWUSDT")) == 0  # the freed slot is reused
    assert planner.release(("nope", None)) is None
    assert ShardPlanner.plan(keys[:3] + keys[:3], capacity=2) == [keys[:2], keys[2:3]]


def test_shard_of_follows_assign_and_release() -> None:
    planner = ShardPlanner(capacity=1)
    a, b = book_key("AUSDT"), book_key("BUSDT")
    assert planner.shard_of(a) is None
    assert (planner.assign(a), planner.assign(b)) == (0, 1)
    assert planner.shard_of(b) == 1
    assert planner.release(a) == 0
    assert planner.shard_of(a) is None
    assert planner.counts == (0, 1)


def test_open_connections_with_room_come_first() -> None:
    planner = ShardPlanner(capacity=2)
    keys = [book_key(f"K{i}USDT") for i in range(6)]
    assert [planner.assign(k) for k in keys] == [0, 0, 1, 1, 2, 2]
    for key in keys[2:5]:
        planner.release(key)  # connection 1 empty (and closed), one place free on 2
    assert planner.counts == (2, 0, 1)
    new = [book_key(f"N{i}USDT") for i in range(3)]
    assert planner.assign(new[0], open_shards=[0, 2]) == 2  # not the gap at 1
    assert planner.assign(new[1], open_shards=[0, 2]) == 1  # every open one is full
    assert planner.assign(new[2], open_shards=[0, 1, 2]) == 1
    assert planner.counts == (2, 2, 2)
    assert planner.assign(book_key("MORE"), open_shards=[0, 1, 2]) == 3
    # Without open_shards: the lowest index with room, open or not.
    other = ShardPlanner(capacity=1)
    other.assign(keys[0])
    other.assign(keys[1])
    other.release(keys[0])
    assert other.assign(keys[2]) == 0
    assert other.assign(keys[3], open_shards=[1, 5]) == 5  # an index not seen yet
