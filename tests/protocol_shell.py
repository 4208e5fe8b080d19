"""A connection protocol driven the way the connection slot drives it, without Trio.

:class:`Shell` holds a :class:`ConnectionProtocol` and the subscription table it works on:
``subscribe``/``unsubscribe`` go through the table (the protocol hears of a key's first and
last reference), ``receive`` decodes a frame and hands a push to the protocol
(``receive_push``, which says who receives it) and delivers it, or hands it any other frame
(``receive_frame``), as the slot's reader does; ``next_deadline`` is when the slot's timer
or writer wakes next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bitunix_trio._core.events import ConnectionState, Event, KeyStatus
from bitunix_trio._core.frames import Key, Push, decode
from bitunix_trio._core.protocol import ConnectionProtocol
from bitunix_trio._core.subscriptions import Entry, SubscriptionTable


@dataclass(frozen=True)
class KeySpec:
    """A channel spec reduced to what the table needs."""

    key: Key
    conflate: bool = True

    @property
    def private(self) -> bool:
        return self.key[1] is None


@dataclass
class Collector:
    """A sink that keeps what it is given."""

    values: list[Any] = field(default_factory=list)

    def deliver(self, value: Any, now: float) -> None:
        self.values.append(value)


class Shell:
    """A protocol, its table and a sink per reference (see the module)."""

    def __init__(self, proto: ConnectionProtocol) -> None:
        self.proto = proto
        self.table = SubscriptionTable()
        self.sinks: dict[Key, list[Collector]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.proto, name)

    @property
    def state(self) -> ConnectionState:
        return self.proto.state

    @property
    def ready(self) -> bool:
        return self.proto.ready

    def subscribe(self, key: Key, *, periodic: bool = True) -> bool:
        """One more reference on ``key``; True if it was the first."""
        sink = Collector()
        self.sinks.setdefault(key, []).append(sink)
        entry, first = self.table.add(KeySpec(key, periodic), sink)
        if first:
            self.proto.subscribe(entry)
        return first

    def unsubscribe(self, key: Key) -> bool:
        """One reference less on ``key``; True if it was the last."""
        sinks = self.sinks.get(key)
        if not sinks:
            return False
        entry, last = self.table.remove(key, sinks.pop())
        if entry is not None and last:
            self.proto.unsubscribe(entry)
        return last

    def entry(self, key: Key) -> Entry | None:
        return self.table.get(key)

    def status(self, key: Key) -> KeyStatus | None:
        entry = self.table.get(key)
        return None if entry is None else entry.status

    def accepted(self, key: Key) -> bool | None:
        entry = self.table.get(key)
        return None if entry is None else entry.verdict

    def refs(self, key: Key) -> int:
        entry = self.table.get(key)
        return 0 if entry is None else entry.refs

    def receive(self, text: str | bytes, now: float) -> list[Event | Push]:
        """One frame as the reader takes it: the push itself (if one) first, then the
        protocol's events."""
        frame = decode(text)
        if type(frame) is Push:
            routed, events = self.proto.receive_push(frame, now)
            for entry, items in routed:
                for item in items:
                    for sink in entry.sinks:
                        sink.deliver(item, now)
            return [frame, *events]
        return list(self.proto.receive_frame(frame, now))

    def next_deadline(self) -> float:
        """When the slot's timer (``tick``) or writer (``pop_frames``) wakes next."""
        return min(self.proto.timer_deadline(), self.proto.send_deadline())
