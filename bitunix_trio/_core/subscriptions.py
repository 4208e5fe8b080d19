"""The subscription table: every subscribed key of a stream, and who receives its values.

One :class:`Entry` per key owns everything about it: the spec, the sinks (the channels fed
with its values; their number is the reference count), the shard (the public connection
it is on, 300 keys each; None on the private one), and what the connection protocol of
that shard learns on the wire: the status (wanted, sent, live, stale, refused) and the
exchange's verdict (accepted, or refused with its text). Nothing else keeps a count, a
shard or a verdict.

Who receives a pushed value is decided by its routing key in :attr:`SubscriptionTable.entries`
(the connection protocol's ``receive_push`` looks it up there)::

    table.add(spec, sink)   -> (entry, first)    first: the connection subscribes
    table.remove(key, sink) -> (entry, last)     last: the connection unsubscribes
    table.entries[key]      -> entry             the reader delivers to entry.sinks

Shards: a key keeps its connection for as long as it is subscribed; a new key takes the
lowest open connection with room (``open_shards``), else the lowest index with room, else
a new one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .events import KeyStatus
from .frames import Key

__all__ = ["MAX_SUBSCRIPTIONS_PER_CONNECTION", "Entry", "Sink", "SubscriptionTable"]

#: The exchange serves at most this many subscriptions on one connection.
MAX_SUBSCRIPTIONS_PER_CONNECTION = 300


class Sink(Protocol):
    """Where the values of a key go (a subscription's channel): never blocks."""

    def deliver(self, value: Any, now: float) -> None:
        """Take one value received at ``now``."""


class Spec(Protocol):
    """What the table needs of a channel spec."""

    @property
    def key(self) -> Key:
        """The routing key."""

    @property
    def private(self) -> bool:
        """Whether it is served on the private connection."""

    @property
    def conflate(self) -> bool:
        """Whether it is a snapshot the exchange re-sends on a timer (periodic)."""


@dataclass(slots=True, eq=False)
class Entry:
    """One subscribed key (see the module).

    ``spec``, ``sinks`` and ``shard`` are the table's; the connection protocol of the shard
    writes the rest: ``status``, ``verdict`` (True: accepted, False: refused, None: not yet,
    on the current socket) with ``refusal`` (the exchange's text), and its wire
    book-keeping (``sent_at``, ``last``, ``count``, ``on_wire``).
    """

    key: Key
    spec: Any
    shard: int | None
    #: Periodic keys (snapshots re-sent on a timer) take part in stale and silent-socket
    #: detection; event-driven ones (trades, account) do not.
    periodic: bool = True
    sinks: list[Any] = field(default_factory=list)
    status: KeyStatus = KeyStatus.WANTED
    verdict: bool | None = None
    refusal: str | None = None
    sent_at: float = 0.0
    last: float | None = None
    count: int = 0
    on_wire: bool = False

    @property
    def refs(self) -> int:
        """The reference count: how many sinks take the key's values."""
        return len(self.sinks)


class SubscriptionTable:
    """The subscribed keys of one stream (see the module)."""

    def __init__(self, capacity: int = MAX_SUBSCRIPTIONS_PER_CONNECTION) -> None:
        self.capacity = capacity
        self._entries: dict[Key, Entry] = {}
        self._counts: list[int] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def __repr__(self) -> str:
        return f"<SubscriptionTable {len(self._entries)} keys, shards {self.counts}>"

    @property
    def entries(self) -> Mapping[Key, Entry]:
        """Every subscribed key's entry, live (pushes are routed by it)."""
        return self._entries

    def get(self, key: Key) -> Entry | None:
        """The entry of ``key``, if it is subscribed."""
        return self._entries.get(key)

    @property
    def counts(self) -> tuple[int, ...]:
        """Number of keys per public connection index."""
        return tuple(self._counts)

    def count(self, shard: int) -> int:
        """Number of keys on the public connection ``shard``."""
        return self._counts[shard] if shard < len(self._counts) else 0

    def on_shard(self, shard: int | None) -> list[Entry]:
        """The entries on connection ``shard`` (None: the private one)."""
        return [entry for entry in self._entries.values() if entry.shard == shard]

    def wanted(self) -> dict[Key, Any]:
        """Every subscribed key with its spec."""
        return {key: entry.spec for key, entry in self._entries.items()}

    # -- references --------------------------------------------------------------------

    def add(
        self, spec: Spec, sink: Sink, *, open_shards: Collection[int] = ()
    ) -> tuple[Entry, bool]:
        """``sink`` takes the values of ``spec``; True when the key is new (the connection
        of ``entry.shard`` subscribes to it)."""
        key = spec.key
        entry = self._entries.get(key)
        if entry is not None:
            entry.sinks.append(sink)
            return entry, False
        shard = None if spec.private else self._assign(open_shards)
        entry = Entry(key, spec, shard, periodic=spec.conflate, sinks=[sink])
        self._entries[key] = entry
        return entry, True

    def remove(self, key: Key, sink: Sink) -> tuple[Entry | None, bool]:
        """``sink`` no longer takes the values of ``key``; True when it was the last (the
        key leaves the table and its connection unsubscribes)."""
        entry = self._entries.get(key)
        if entry is None or sink not in entry.sinks:
            return None, False
        entry.sinks.remove(sink)
        if entry.sinks:
            return entry, False
        del self._entries[key]
        if entry.shard is not None:
            self._counts[entry.shard] -= 1
        return entry, True

    def _assign(self, open_shards: Collection[int]) -> int:
        counts = self._counts
        room = [i for i in open_shards if i >= len(counts) or counts[i] < self.capacity]
        shard = min(room, default=None)
        if shard is None:
            shard = next((i for i, n in enumerate(counts) if n < self.capacity), len(counts))
        while len(counts) <= shard:
            counts.append(0)
        counts[shard] += 1
        return shard
