"""The connections of one stream: public ones sharded by 300 subscriptions, one private.

:class:`ConnectionPool` makes the stream's
:class:`~bitunix_trio._stream.connection.ConnectionSlot` s, starts them under the supervisor
(``public#0``, and ``private`` with credentials, when the stream starts: entering the block
waits for them; ``public#1``... when a subscription does not fit on the open ones) with an
idle closer (:meth:`ConnectionPool.close_idle`), and knows which one carries a key (the
task tree is drawn in the README's "How it works").

Public keys are spread by the subscription table (``Entry.shard``); a key keeps its
connection for as long as it is subscribed, and a new key takes a free place on an open
connection before another one is opened. A shard left without subscriptions is kept for a
grace period (so that leaving and subscribing again does not churn sockets), then shut down
like at the end of the stream: its tasks cancelled through their cancel scope, the socket
closed with a close handshake. The first public connection stays: it carries the stream's
state even with no subscription.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import trio

from bitunix_trio._core.config import HeartbeatConfig, ReconnectPolicy
from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import AuthenticationError
from bitunix_trio._core.frames import Key
from bitunix_trio._core.log import logger
from bitunix_trio._core.protocol import ConnectionProtocol
from bitunix_trio._core.signing import new_nonce, ws_login_args
from bitunix_trio._core.subscriptions import Entry, SubscriptionTable

from .connection import ConnectionEvents, ConnectionSlot
from .connector import Connector

__all__ = ["IDLE_SHARD_GRACE", "ConnectionPool", "PoolEvents"]

#: Seconds a public connection other than the first stays open with no subscription.
IDLE_SHARD_GRACE = 5.0


class PoolEvents(ConnectionEvents, Protocol):
    """What the pool and its connections report to the stream."""

    def connection_retired(self, slot: ConnectionSlot) -> None:
        """The idle shard ``slot`` is closed for good."""


class ConnectionPool:
    """The connection slots of one stream (see the module docs)."""

    def __init__(
        self,
        events: PoolEvents,
        table: SubscriptionTable,
        *,
        credentials: Credentials | None,
        public_url: str,
        private_url: str,
        connector: Connector,
        reconnect: ReconnectPolicy,
        heartbeat: HeartbeatConfig,
        rng: random.Random,
        wall_clock: Callable[[], float],
        close_timeout: float,
        idle_grace: float = IDLE_SHARD_GRACE,
    ) -> None:
        self._events = events
        self._credentials = credentials
        self._public_url = public_url
        self._private_url = private_url
        self._connector = connector
        self._policy = reconnect
        self._heartbeat = heartbeat
        self._rng = rng
        self._wall_clock = wall_clock
        self._close_timeout = close_timeout
        self.idle_grace = idle_grace
        self._table = table
        #: Open public connections by shard index.
        self._public: dict[int, ConnectionSlot] = {}
        #: The private connection (None without credentials, or before the start).
        self.private: ConnectionSlot | None = None
        self._supervisor: trio.Nursery | None = None
        #: Shards (not the first) with no subscription, since this Trio time.
        self._idle_since: dict[int, float] = {}
        self._idle_wake = trio.Event()
        #: Connections shut down for having no subscription, still closing: the reason.
        self._retiring: dict[ConnectionSlot, str] = {}
        #: What closed shards counted (messages, malformed, reconnects): the stream's totals
        #: keep them.
        self.retired_counts = (0, 0, 0)

    def slots(self) -> list[ConnectionSlot]:
        """Every open connection: the public ones in order, then the private one."""
        public = [self._public[index] for index in sorted(self._public)]
        return [*public, *([self.private] if self.private else [])]

    def is_extra_shard(self, slot: ConnectionSlot) -> bool:
        """Whether ``slot`` is a public connection other than the first one."""
        return slot is not self.private and self._public.get(0) is not slot

    def close_reason(self, slot: ConnectionSlot) -> str | None:
        """Why ``slot`` was shut down while the stream goes on (None: it was not)."""
        return self._retiring.get(slot)

    # -- keys ------------------------------------------------------------------------------

    def open_shards(self) -> list[int]:
        """The indices of the open public connections."""
        return list(self._public)

    def slot_for(self, entry: Entry) -> ConnectionSlot:
        """The connection that carries ``entry`` (opened now if its shard is new)."""
        index = entry.shard
        if index is None:
            assert self.private is not None
            return self.private
        self._idle_since.pop(index, None)
        slot = self._public.get(index)
        if slot is None:
            slot = self._new_public_slot(index)
            assert self._supervisor is not None
            self._supervisor.start_soon(slot.run)
        return slot

    def slot_of(self, entry: Entry) -> ConnectionSlot | None:
        """The connection ``entry`` is on."""
        return self.private if entry.shard is None else self._public.get(entry.shard)

    def public_slot_of(self, key: Key) -> ConnectionSlot | None:
        """The public connection ``key`` is on, if it is subscribed."""
        entry = self._table.get(key)
        if entry is None or entry.shard is None:
            return None
        return self._public.get(entry.shard)

    def released(self, entry: Entry) -> None:
        """The last reference on the public ``entry`` is gone: a shard left without
        subscriptions starts its grace period."""
        index = entry.shard
        if index is not None and index > 0 and self._table.count(index) == 0:
            self._idle_since[index] = trio.current_time()
            self._idle_wake.set()

    # -- slots -----------------------------------------------------------------------------

    def _new_slot(self, name: str, url: str, login: Any, shard: int | None) -> ConnectionSlot:
        protocol = ConnectionProtocol(
            heartbeat=self._heartbeat,
            login=login,
            wall_clock=self._wall_clock,
            entries=self._table.entries,
        )
        return ConnectionSlot(
            self._events,
            name=name,
            shard=shard,
            url=url,
            protocol=protocol,
            connector=self._connector,
            policy=self._policy,
            rng=self._rng,
            close_timeout=self._close_timeout,
        )

    def _new_public_slot(self, index: int) -> ConnectionSlot:
        slot = self._new_slot(f"public#{index}", self._public_url, None, index)
        self._public[index] = slot
        return slot

    def _retire(self, index: int) -> None:
        """Shut the idle shard ``index`` down (cleanly); its place opens a new one if needed."""
        del self._idle_since[index]
        slot = self._public.pop(index)
        for closed in [s for s in self._retiring if s.finished.is_set()]:
            del self._retiring[closed]
        reason = f"no subscription for {self.idle_grace:g} s"
        self._retiring[slot] = reason
        logger.info("%s: %s; closing it", slot.name, reason)
        counts = slot.statistics(trio.current_time())
        messages, malformed, reconnects = self.retired_counts
        self.retired_counts = (
            messages + counts.messages_received,
            malformed + counts.malformed,
            reconnects + counts.reconnects,
        )
        self._events.connection_retired(slot)
        slot.shutdown()

    def _login_args(self) -> Mapping[str, object]:
        assert self._credentials is not None
        timestamp = int(self._wall_clock())
        return ws_login_args(self._credentials, nonce=new_nonce(), timestamp=timestamp)

    # -- lifetime --------------------------------------------------------------------------

    async def start(self, supervisor: trio.Nursery) -> None:
        """Start the first public connection (and the private one) under ``supervisor`` and
        wait until each has connected (and logged in); raise the failure of the first one
        that could not (an :class:`AuthenticationError` first)."""
        self._supervisor = supervisor
        supervisor.start_soon(self.close_idle)
        slots = [self._new_public_slot(0)]
        if self._credentials is not None:
            self.private = self._new_slot("private", self._private_url, self._login_args, None)
            slots.append(self.private)
        failures: dict[int, Exception] = {}

        async def start(index: int, slot: ConnectionSlot) -> None:
            try:
                await supervisor.start(_run_initial, slot)
            except Exception as exc:
                failures[index] = exc

        async with trio.open_nursery() as starter:
            for index, slot in enumerate(slots):
                starter.start_soon(start, index, slot)
        if failures:
            auth = [e for e in failures.values() if isinstance(e, AuthenticationError)]
            raise auth[0] if auth else failures[min(failures)]

    async def close_idle(self) -> None:
        """Shut down every shard that has had no subscription for ``idle_grace`` seconds
        (at that exact time), until cancelled."""
        while True:
            self._idle_wake = wake = trio.Event()
            now = trio.current_time()
            due = math.inf
            for index, since in list(self._idle_since.items()):
                at = since + self.idle_grace
                if at <= now:
                    self._retire(index)
                else:
                    due = min(due, at)
            with trio.move_on_at(due):
                await wake.wait()

    async def shutdown(self) -> None:
        """Close every connection cleanly (bounded by the close timeout)."""
        slots = self.slots()
        for slot in slots:
            slot.shutdown()
        with trio.move_on_after(self._close_timeout + 0.5):
            for slot in [*slots, *self._retiring]:
                await slot.finished.wait()


async def _run_initial(slot: ConnectionSlot, *, task_status: trio.TaskStatus[None]) -> None:
    await slot.run(initial=True, task_status=task_status)
