"""The connections of one stream: public ones sharded by 300 subscriptions, one private.

:class:`ConnectionPool` makes the stream's
:class:`~bitunix_trio._supervisor.ConnectionSlot` s, starts them under the supervisor and
knows which one carries a key::

    supervisor
     ├─ public#0    started with the stream: entering the block waits for it
     ├─ public#1... opened when a subscription does not fit on the open ones
     └─ private     started with the stream when credentials are given (after login)

Public keys are spread by a :class:`~bitunix_trio._sharding.ShardPlanner`; a key keeps its
connection for as long as it is subscribed. Private keys all go to the private socket.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import trio

from ._config import HeartbeatConfig, ReconnectPolicy
from ._connector import Connector
from ._credentials import Credentials
from ._events import Key
from ._exceptions import AuthenticationError
from ._protocol import ConnectionProtocol
from ._sharding import ShardPlanner
from ._signing import new_nonce, ws_login_args
from ._supervisor import ConnectionSlot

if TYPE_CHECKING:
    from ._stream import BitunixStream

__all__ = ["ConnectionPool"]


class ConnectionPool:
    """The connection slots of one stream (see the module docs)."""

    def __init__(
        self,
        stream: BitunixStream,
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
    ) -> None:
        self._stream = stream
        self._credentials = credentials
        self._public_url = public_url
        self._private_url = private_url
        self._connector = connector
        self._policy = reconnect
        self._heartbeat = heartbeat
        self._rng = rng
        self._wall_clock = wall_clock
        self._close_timeout = close_timeout
        self._planner = ShardPlanner()
        self._public: list[ConnectionSlot] = []
        #: The private connection (None without credentials, or before the start).
        self.private: ConnectionSlot | None = None
        self._supervisor: trio.Nursery | None = None

    def slots(self) -> list[ConnectionSlot]:
        """Every connection: the public ones in order, then the private one."""
        return [*self._public, *([self.private] if self.private else [])]

    # -- keys ------------------------------------------------------------------------------

    def slot_for(self, key: Key, private: bool) -> ConnectionSlot:
        """The connection that carries ``key`` (a new one when the open ones are full)."""
        if private:
            assert self.private is not None
            return self.private
        index = self._planner.assign(key)
        if index == len(self._public):
            slot = self._new_public_slot(index)
            assert self._supervisor is not None
            self._supervisor.start_soon(slot.run)
        return self._public[index]

    def slot_of(self, key: Key, private: bool) -> ConnectionSlot | None:
        """The connection ``key`` is on (None: a public key that is not subscribed)."""
        return self.private if private else self.public_slot_of(key)

    def public_slot_of(self, key: Key) -> ConnectionSlot | None:
        """The public connection ``key`` is on, if it is subscribed."""
        index = self._planner.shard_of(key)
        return None if index is None else self._public[index]

    def release(self, key: Key) -> None:
        """The last reference on the public ``key`` is gone: free its place."""
        self._planner.release(key)

    # -- slots -----------------------------------------------------------------------------

    def _new_slot(self, name: str, url: str, login: Any) -> ConnectionSlot:
        protocol = ConnectionProtocol(
            heartbeat=self._heartbeat, login=login, wall_clock=self._wall_clock
        )
        return ConnectionSlot(
            self._stream,
            name=name,
            url=url,
            protocol=protocol,
            connector=self._connector,
            policy=self._policy,
            rng=self._rng,
            close_timeout=self._close_timeout,
        )

    def _new_public_slot(self, index: int) -> ConnectionSlot:
        slot = self._new_slot(f"public#{index}", self._public_url, None)
        self._public.append(slot)
        return slot

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
        slots = [self._new_public_slot(0)]
        if self._credentials is not None:
            self.private = self._new_slot("private", self._private_url, self._login_args)
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

    async def shutdown(self) -> None:
        """Close every connection cleanly (bounded by the close timeout)."""
        slots = self.slots()
        for slot in slots:
            slot.shutdown()
        with trio.move_on_after(self._close_timeout + 0.5):
            for slot in slots:
                await slot.finished.wait()


async def _run_initial(slot: ConnectionSlot, *, task_status: trio.TaskStatus[None]) -> None:
    await slot.run(initial=True, task_status=task_status)
