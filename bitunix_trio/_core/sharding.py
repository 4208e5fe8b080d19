"""Sharding: public subscription keys spread over connections, 300 per connection."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from .frames import Key

__all__ = ["MAX_SUBSCRIPTIONS_PER_CONNECTION", "ShardPlanner"]

#: The exchange serves at most this many subscriptions on one connection.
MAX_SUBSCRIPTIONS_PER_CONNECTION = 300


class ShardPlanner:
    """Assigns public keys to connections, at most ``capacity`` keys per connection.

    A key keeps its connection for as long as it is assigned; a freed slot is reused by
    the next new key (lowest connection index first, open connections before others).
    """

    def __init__(self, capacity: int = MAX_SUBSCRIPTIONS_PER_CONNECTION) -> None:
        self.capacity = capacity
        self._shard_of: dict[Key, int] = {}
        self._counts: list[int] = []

    def assign(self, key: Key, open_shards: Collection[int] | None = None) -> int:
        """The connection index for ``key`` (a new index when every connection is full).

        ``open_shards``: the indices whose connections are open; the lowest of them with room is
        taken first, so that a free place on an open connection is used before another
        connection is opened (at the lowest index with room, or a new one).
        """
        shard = self._shard_of.get(key)
        if shard is not None:
            return shard
        counts = self._counts
        shard = None
        if open_shards is not None:
            room = [i for i in open_shards if i >= len(counts) or counts[i] < self.capacity]
            shard = min(room, default=None)
        if shard is None:
            shard = next((i for i, n in enumerate(counts) if n < self.capacity), len(counts))
        while len(counts) <= shard:
            counts.append(0)
        counts[shard] += 1
        self._shard_of[key] = shard
        return shard

    def release(self, key: Key) -> int | None:
        """Free ``key``'s slot; returns its connection index (None if it was not assigned)."""
        shard = self._shard_of.pop(key, None)
        if shard is not None:
            self._counts[shard] -= 1
        return shard

    def shard_of(self, key: Key) -> int | None:
        """The connection index of ``key``, if assigned."""
        return self._shard_of.get(key)

    @property
    def counts(self) -> tuple[int, ...]:
        """Number of keys per connection index."""
        return tuple(self._counts)

    @staticmethod
    def plan(
        keys: Iterable[Key], capacity: int = MAX_SUBSCRIPTIONS_PER_CONNECTION
    ) -> list[list[Key]]:
        """Split distinct ``keys`` (in order) into groups of at most ``capacity``."""
        groups: list[list[Key]] = []
        for key in dict.fromkeys(keys):
            if not groups or len(groups[-1]) >= capacity:
                groups.append([])
            groups[-1].append(key)
        return groups
