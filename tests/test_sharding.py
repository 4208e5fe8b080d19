"""Spreading public subscription keys over connections, 300 per connection."""

from __future__ import annotations

from bitunix_trio._events import Key
from bitunix_trio._sharding import MAX_SUBSCRIPTIONS_PER_CONNECTION, ShardPlanner


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
