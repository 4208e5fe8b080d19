"""The ``BitunixStream`` handle: what a block of ``open_bitunix_stream`` works with.

A thin public face over the stream's :class:`~bitunix_trio._stream.supervisor.StreamSupervisor`
(subscriptions, state, statistics, reconnect, reconcile); the supervisor is where a
running stream's state lives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from bitunix_trio._core.channels import AccountSpec, ChannelSpec, Subscription
from bitunix_trio._core.config import check_buffer_size
from bitunix_trio._core.events import ConnectionState, StateChange

from .account import AccountSubscribeContext
from .channel import (
    Overflow,
    StateEventsContext,
    SubscribeContext,
    SubscribeManyContext,
)
from .connection import ConnectionStatistics
from .errors import StreamClosed
from .merged import MergedContext, check_merged_specs
from .supervisor import StreamStatistics, StreamSupervisor

if TYPE_CHECKING:
    from bitunix_trio._rest.client import BitunixRestClient

__all__ = [
    "BitunixStream",
    "ConnectionStatistics",
    "StateChange",
    "StreamStatistics",
]

T = TypeVar("T")
#: Default buffer of a state_events() channel.
DEFAULT_STATE_BUFFER = 256


class BitunixStream:
    """A running stream; made by :func:`open_bitunix_stream` (no public constructor)."""

    def __init__(self, supervisor: StreamSupervisor) -> None:
        self._supervisor = supervisor

    def __repr__(self) -> str:
        supervisor = self._supervisor
        return f"<BitunixStream {supervisor.state.name} {len(supervisor.table)} keys>"

    # -- public API ----------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The state of the stream as a whole (CONNECTED, AUTHENTICATED, RECONNECTING...)."""
        return self._supervisor.state

    @property
    def rest(self) -> BitunixRestClient:
        """The REST client opened with the stream (same credentials, ``rest_url``)."""
        return self._supervisor.rest

    @overload
    def subscribe(
        self,
        spec: AccountSpec[T],
        *,
        buffer: int | None = None,
        overflow: Overflow | str | None = None,
    ) -> AccountSubscribeContext[T]: ...

    @overload
    def subscribe(
        self,
        spec: ChannelSpec[T],
        *,
        buffer: int | None = None,
        overflow: Overflow | str | None = None,
    ) -> SubscribeContext[T]: ...

    @overload
    def subscribe(
        self,
        spec: Subscription,
        *,
        buffer: int | None = None,
        overflow: Overflow | str | None = None,
    ) -> SubscribeContext[Any]: ...

    def subscribe(
        self,
        spec: ChannelSpec[Any] | Subscription,
        *,
        buffer: int | None = None,
        overflow: Overflow | str | None = None,
    ) -> SubscribeContext[Any]:
        """Subscribe to ``spec`` for the duration of an ``async with`` block.

        The block's value is a :class:`SubscriptionChannel` (a ``trio.abc.ReceiveChannel``).
        Entering waits until the exchange took the subscription (its first data, or the
        answer to a later ping) and raises :class:`~bitunix_trio.SubscriptionRejected` if it
        refused it; while reconnecting it returns at once (the subscription is replayed).
        Several blocks may subscribe to the same spec; the last to leave unsubscribes.

        ``buffer`` is the number of values kept for a slow consumer (default: 1 for
        conflating channels, ``buffer_size`` of the stream for the others); ``overflow``
        (``"conflate"`` or ``"error"``) overrides the channel's policy.

        ``Orders()``, ``Positions()`` and ``Balance()`` start with a snapshot of the account
        (see :class:`AccountChannel`; ``snapshot=False`` for changes only).
        """
        supervisor = self._supervisor
        checked = supervisor.check_spec(spec)
        if isinstance(checked, AccountSpec):
            return AccountSubscribeContext(supervisor, [checked], (buffer, overflow))
        return SubscribeContext(supervisor, [checked], (buffer, overflow))

    def subscribe_many(
        self,
        specs: Iterable[ChannelSpec[Any] | Subscription],
        *,
        buffer: int | None = None,
        overflow: Overflow | str | None = None,
    ) -> SubscribeManyContext:
        """Like :meth:`subscribe` for many specs at once (sent in batched frames); the block's
        value is a tuple of channels in the order of ``specs``."""
        supervisor = self._supervisor
        checked = [supervisor.check_spec(spec) for spec in specs]
        return SubscribeManyContext(supervisor, checked, (buffer, overflow))

    def subscribe_merged(
        self,
        specs: Iterable[ChannelSpec[Any] | Subscription],
        *,
        buffer: int | None = None,
        overflow: Overflow | str | None = None,
    ) -> MergedContext:
        """Subscribe to ``specs`` (channel specs or ``Subscription`` values, any mix) as one
        stream of :class:`StreamMessage` in arrival order, for an ``async with`` block.

        ``async with stream.subscribe_merged(specs) as messages``: ``messages`` is a
        ``trio.abc.ReceiveChannel`` of ``StreamMessage(channel, symbol, data, source,
        received_at, spec)``; entering waits for the exchange as :meth:`subscribe` does.
        ``buffer`` (default: the stream's ``buffer_size``) bounds it; when it is full,
        ``overflow="conflate"`` (default) drops snapshot messages (tickers, books, prices,
        running candles; superseded ones first) and never a lossless one (trades, account
        events, closed candles): with only those buffered, the block's channel ends with
        ConsumerTooSlow; ``overflow="error"`` ends it on any overflow.
        """
        supervisor = self._supervisor
        checked = [supervisor.check_spec(spec) for spec in check_merged_specs(specs)]
        return MergedContext(supervisor, checked, buffer, overflow)

    def state_events(self, *, buffer: int = DEFAULT_STATE_BUFFER) -> StateEventsContext:
        """``async with stream.state_events() as changes``: every :class:`StateChange` from
        now on (stream-wide ones have ``connection=None``)."""
        return StateEventsContext(self._supervisor, check_buffer_size(buffer))

    def statistics(self) -> StreamStatistics:
        """Counters of the stream, its connections and subscriptions."""
        return self._supervisor.statistics()

    async def reconnect(self) -> None:
        """Drop every open connection now and wait until each is back.

        The sockets are aborted without a close handshake, as when the network drops
        them; each connection then reconnects after its backoff delay, logs in again and
        replays its subscriptions, exactly as after a real loss (subscribers see state
        events only). Returns once every dropped connection is ready again; wrap the call
        in ``trio.move_on_after`` to bound the wait. Raises
        :class:`~bitunix_trio.StreamClosed` if the stream closes meanwhile.
        """
        async with self.state_events() as changes:
            before = {slot: slot.reconnects for slot in self._supervisor.pool.slots()}
            dropped = [slot for slot in before if slot.drop("reconnect requested")]

            def back() -> bool:
                return all(
                    slot.finished.is_set() or (slot.reconnects > before[slot] and slot.proto.ready)
                    for slot in dropped
                )

            if back():
                return
            async for _ in changes:
                if back():
                    return
        raise StreamClosed("the stream closed while reconnecting")

    async def reconcile(self) -> list[Any]:
        """Reconcile the account channels with REST now (pending and finished orders,
        positions, balances); the differences are delivered on the orders, positions and
        balance subscriptions marked ``DataSource.RECOVERED``, and returned.

        This also happens by itself after every (re)login and periodically (see
        ``reconcile_interval``). Needs credentials (ConfigurationError otherwise).
        """
        return list(await self._supervisor.fallback.reconcile())
