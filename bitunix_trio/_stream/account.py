"""Account subscriptions that start from the current state: ``Orders()``, ``Positions()``,
``Balance()`` (the Trio side; the state itself is the account ledger of ``_core.ledger``).

A subscription with ``snapshot=True`` gets an :class:`AccountChannel`. Until its snapshot
is ready the channel holds what the reader delivers to it; the stream's
:class:`AccountSnapshots` reconciles the account over REST (the stream's reconciler, so
the ledger is brought up to date and every other subscriber gets what changed, once) and
then hands every waiting channel the ledger's state: the open orders, the open positions or
the balances, marked ``source=DataSource.SNAPSHOT``. Since every value delivered to an
account channel passed the ledger first, the state already contains what the channel held:
held values of things in the snapshot are dropped, the others (an order that was created
and filled meanwhile, a position that closed) follow the snapshot in order. Nothing is
doubled and nothing is lost between the snapshot and the live updates::

    subscribe ──> AccountChannel (holding) ──> AccountSnapshots.request
                                                  └─ task: reconcile over REST, then
                                                     channel.complete(ledger state)

Channels that ask while a reconciliation runs share the next one. When REST fails
``len(SNAPSHOT_RETRY_DELAYS) + 1`` times in a row, the waiting channels end with
:class:`~bitunix_trio.SnapshotUnavailable` and a notice (a state event) says why.

Snapshot values do not count against the channel's buffer: a large account does not end a
subscription with ConsumerTooSlow before its consumer could start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import trio

from bitunix_trio._core.channels import AccountSpec, Balance, ChannelSpec, Orders, Positions
from bitunix_trio._core.enums import DataSource
from bitunix_trio._core.errors import BitunixError, ConfigurationError
from bitunix_trio._core.models import AccountBalance, Order, Position

from .channel import Overflow, SubscribeContext, SubscriptionChannel
from .errors import ConsumerTooSlow, SnapshotUnavailable

if TYPE_CHECKING:
    from bitunix_trio._core.ledger import AccountLedger

__all__ = [
    "SNAPSHOT_RETRY_DELAYS",
    "AccountChannel",
    "AccountSnapshots",
    "AccountSubscribeContext",
    "SnapshotHost",
    "identity",
]

T = TypeVar("T")

#: Seconds to wait after each failed REST attempt before the snapshot is given up.
SNAPSHOT_RETRY_DELAYS = (1.0, 2.0)
_SNAPSHOT = DataSource.SNAPSHOT


def identity(value: object) -> str | None:
    """What an account value is about: an order id, a position id or a coin."""
    if isinstance(value, Order):
        return value.order_id
    if isinstance(value, Position):
        return value.position_id
    if isinstance(value, AccountBalance):
        return value.coin
    return None


class AccountChannel(SubscriptionChannel[T], Generic[T]):
    """The channel of an ``Orders()``, ``Positions()`` or ``Balance()`` subscription: the
    state of the account first (``source=DataSource.SNAPSHOT``), then every change.

    ``await channel.snapshot()`` waits until the snapshot is complete and returns it (the
    values not yet received; an empty tuple for an empty account): the values received
    after it are changes. Iterating without calling it yields the snapshot values first;
    :attr:`snapshot_done` says whether all of them have been delivered to the channel.
    When REST cannot provide the snapshot the subscription ends with
    :class:`~bitunix_trio.SnapshotUnavailable` (raised by ``snapshot()`` and ``receive()``).
    """

    __slots__ = ("_held", "_ready", "_snap_end")

    def __init__(self, spec: AccountSpec[T], *, buffer: int, overflow: Overflow) -> None:
        super().__init__(spec, buffer=buffer, overflow=overflow)
        #: Values delivered while the snapshot is being fetched (None: not fetching).
        self._held: list[T] | None = [] if spec.snapshot else None
        self._ready = trio.Event()
        #: How many values the consumer will have taken once the snapshot is taken.
        self._snap_end = 0
        if not spec.snapshot:
            self._ready.set()

    @property
    def snapshot_done(self) -> bool:
        """Whether the snapshot has been delivered to the channel (values received after the
        last ``source=DataSource.SNAPSHOT`` one are changes); True with ``snapshot=False``."""
        return self._ready.is_set()

    async def snapshot(self) -> tuple[T, ...]:
        """Wait for the snapshot and return it: the open orders, open positions or balances
        when the subscription started, not yet received (the next ``receive()`` gives the
        first change after it). An empty account gives ``()``; so does a second call.

        Raises :class:`~bitunix_trio.SnapshotUnavailable` when REST could not provide it,
        and ConfigurationError for a subscription made with ``snapshot=False``.
        """
        if not self.spec.snapshot:
            raise ConfigurationError(f"{self.spec!r} takes no snapshot")
        await self._ready.wait()
        left = min(self._snap_end - self._taken, len(self._buffer))
        if left <= 0 or self._closed:
            await trio.lowlevel.checkpoint()
            if isinstance(self._error, SnapshotUnavailable) or self._closed:
                raise self._ended()
            return ()
        popleft = self._buffer.popleft
        values = tuple(popleft() for _ in range(left))
        self._taken += left
        await trio.lowlevel.checkpoint()
        return values

    # -- producer side -------------------------------------------------------------------

    def deliver(self, value: T, now: float) -> None:
        """A value from the reader or REST: held until the snapshot is ready, then passed."""
        held = self._held
        if held is not None:
            if not self._done:
                if len(held) >= self._size:
                    self._dropped += 1
                    self.fail(ConsumerTooSlow(spec=self.spec))
                    self._ready.set()
                    return
                held.append(value)
            return
        extra = self._snap_end - self._taken
        if extra > 0:  # snapshot values still buffered do not count against the buffer
            self._size += extra
            try:
                super().deliver(value, now)
            finally:
                self._size -= extra
        else:
            super().deliver(value, now)

    def complete(self, state: Sequence[T], now: float) -> None:
        """The snapshot is ready: deliver ``state`` (marked SNAPSHOT), then what was held
        about things it does not contain."""
        held = self._held
        if held is None:
            return
        self._held = None
        if not self._done:
            self._snap_end = self._taken + len(state)
            for value in state:
                self.deliver(dataclasses.replace(value, source=_SNAPSHOT), now)  # type: ignore[type-var]
            known = {identity(value) for value in state}
            for value in held:
                if identity(value) not in known:
                    self.deliver(value, now)
        self._ready.set()

    def snapshot_failed(self, error: BaseException) -> None:
        """REST could not provide the snapshot: end the subscription."""
        if self._held is None:
            return
        self._held = None
        lost = SnapshotUnavailable(
            f"the account snapshot could not be fetched over REST "
            f"({type(error).__name__}: {error})",
            self.spec,
        )
        lost.__cause__ = error
        self.fail(lost)
        self._ready.set()

    def close(self) -> None:
        """Close this end (a waiting ``snapshot()`` gets StreamClosed)."""
        self._held = None
        super().close()
        self._ready.set()


class SnapshotHost(Protocol):
    """What the snapshots need of their stream: a task under its supervisor, a notice on
    its state events."""

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` as a child of the supervisor."""

    def notice(self, message: str, connection: str | None = None) -> None:
        """Publish a notice as a state event."""


class AccountSnapshots:
    """Fetches snapshots for the account channels of one stream (see the module)."""

    def __init__(
        self,
        stream: SnapshotHost,
        ledger: AccountLedger,
        reconcile: Callable[[], Awaitable[object]],
    ) -> None:
        self.stream = stream
        self.ledger = ledger
        self._reconcile = reconcile
        self._waiting: list[AccountChannel[Any]] = []
        self._running = False
        #: Snapshots served, and REST rounds that gave up.
        self.served = 0
        self.failed = 0

    def open_channel(
        self, spec: AccountSpec[Any], buffer: int, overflow: Overflow
    ) -> AccountChannel[Any]:
        """The channel of a new account subscription (its snapshot requested)."""
        channel: AccountChannel[Any] = AccountChannel(spec, buffer=buffer, overflow=overflow)
        if spec.snapshot:
            self._waiting.append(channel)
            if not self._running:
                self._running = True
                self.stream.spawn(self._run)
        return channel

    def state(self, spec: ChannelSpec[Any]) -> list[Any]:
        """The ledger's view of ``spec``'s channel: open orders (oldest first), open
        positions or balances."""
        ledger = self.ledger
        if isinstance(spec, Orders):
            return sorted(
                ledger.open_orders.values(),
                key=lambda o: (o.created_ms or o.ts, o.order_id),
            )
        if isinstance(spec, Positions):
            return sorted(
                ledger.positions.values(), key=lambda p: (p.symbol, p.side, p.position_id)
            )
        if isinstance(spec, Balance):
            return [ledger.balances[coin] for coin in sorted(ledger.balances)]
        raise TypeError(f"no snapshot for {spec!r}")

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                error = await self._fetch()
                now = trio.current_time()
                if error is None:
                    self.served += 1
                    for channel in batch:
                        channel.complete(self.state(channel.spec), now)
                    continue
                self.failed += 1
                for channel in batch:
                    channel.snapshot_failed(error)
                self.stream.notice(
                    f"the account snapshot could not be fetched over REST "
                    f"({type(error).__name__}: {error})"
                )
        finally:
            self._running = False

    async def _fetch(self) -> BitunixError | None:
        """Reconcile the account over REST (retried); the last error if it never worked."""
        error: BitunixError | None = None
        for delay in (*SNAPSHOT_RETRY_DELAYS, None):
            try:
                await self._reconcile()
            except BitunixError as exc:
                error = exc
                if delay is not None:
                    await trio.sleep(delay)
                continue
            return None
        return error


class AccountSubscribeContext(SubscribeContext[T]):
    """``async with stream.subscribe(Orders()) as orders``: an :class:`AccountChannel`."""

    _target_type: ClassVar[type | None] = AccountChannel

    async def __aenter__(self) -> AccountChannel[T]:
        channel = (await self._enter())[0]
        assert isinstance(channel, AccountChannel)
        return channel
