"""Sharding: public subscription keys spread over connections, 300 per connection."""

from __future__ import annotations

from collections.abc import Iterable

from ._events import Key

__all__ = ["MAX_SUBSCRIPTIONS_PER_CONNECTION", "ShardPlanner"]

#: The exchange serves at most this many subscriptions on one connection.
MAX_SUBSCRIPTIONS_PER_CONNECTION = 300


class ShardPlanner:
    """Assigns public keys to connections, at most ``capacity`` keys per connection.

    A key keeps its connection for as long as it is assigned; a freed slot is reused by
    the next new key (lowest connection index first).
    """

    def __init__(self, capacity: int = MAX_SUBSCRIPTIONS_PER_CONNECTION) -> None:
        self.capacity = capacity
        self._shard_of: dict[Key, int] = {}
        self._counts: list[int] = []

    def assign(self, key: Key) -> int:
        """The connection index for ``key`` (a new index when every connection is full)."""
        shard = self._shard_of.get(key)
        if shard is not None:
            return shard
        for index, count in enumerate(self._counts):
            if count < self.capacity:
                shard = index
                break
        else:
            shard = len(self._counts)
            self._counts.append(0)
        self._counts[shard] += 1
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
