"""The stream's REST side: degraded mode while the WebSocket is down, account recovery.

:class:`StreamFallback` is made by the stream's supervisor, which it reaches through a
narrow interface (:class:`FallbackStream`: deliver, the wanted specs, the state, notices,
connection hooks), and runs as a child of it (:meth:`StreamFallback.run`; the task tree
is drawn in the README's "How it works"): a reconciler (after every (re)login of the private
socket, every ``reconcile_interval`` seconds, and after ``reconcile_quiet_after`` quiet
seconds with orders open; see ``reconciliation.Reconciler``) and a watcher (once a public
connection has been down for ``fallback_grace`` seconds, a REST poller, in its own cancel
scope, feeds that connection's market subscriptions; it is cancelled the moment every
public connection is back).

Private pushes pass :meth:`StreamFallback.admit_private` (the ledger) before delivery, so
an update recovered over REST and the same update arriving over the WebSocket reach
consumers once.

State: while polling, the stream is ``DEGRADED`` (the reason says what feeds it); what REST
cannot feed (trades) is announced with a ``DEGRADED -> DEGRADED`` event carrying the reason.
When REST fails too the stream goes back to ``RECONNECTING`` (reason: both are down) until
a polling round works again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import trio

from bitunix_trio._core.channels import ChannelSpec
from bitunix_trio._core.config import check_optional_seconds, check_seconds
from bitunix_trio._core.errors import BitunixError, ConfigurationError
from bitunix_trio._core.events import ConnectionState
from bitunix_trio._core.frames import Key
from bitunix_trio._core.ledger import AccountLedger
from bitunix_trio._core.models import AccountBalance, Order, Position

from .poller import poll_market
from .reconciliation import Reconciler

if TYPE_CHECKING:
    from bitunix_trio._rest.client import BitunixRestClient

__all__ = ["Connection", "FallbackOptions", "FallbackStream", "StreamFallback"]


class Connection(Protocol):
    """What the fallback knows of one of the stream's connections."""

    @property
    def name(self) -> str:
        """``public#N`` or ``private``."""

    @property
    def shard(self) -> int | None:
        """The public connection's index; None for the private one."""


class FallbackStream(Protocol):
    """What the fallback needs of its stream."""

    @property
    def state(self) -> ConnectionState:
        """The stream's state."""

    def deliver(self, key: Key, value: object) -> int:
        """Hand ``value`` to every channel of ``key``."""

    def wanted(self) -> Mapping[Key, ChannelSpec[Any]]:
        """Every subscribed key with its spec."""

    def is_live(self, key: Key) -> bool:
        """Whether the public connection of ``key`` is up and serving it."""

    def set_degraded(self, reason: str) -> None:
        """Report degraded mode (REST feeds the subscriptions)."""

    def clear_degraded(self, why: str | None) -> None:
        """Leave degraded mode, saying ``why``."""

    def notice(self, message: str, connection: str | None = None) -> None:
        """Publish a notice as a state event."""

    def add_hooks(
        self,
        *,
        on_ready: Callable[[Connection, bool], None] | None = None,
        on_down: Callable[[Connection, BaseException], None] | None = None,
        on_retired: Callable[[Connection], None] | None = None,
    ) -> None:
        """Be told of every (re)connect, loss, and idle connection closed for good."""


@dataclass(frozen=True, slots=True)
class FallbackOptions:
    """The stream's fallback arguments (see ``open_bitunix_stream``)."""

    grace: float | None
    poll_interval: float
    reconcile_interval: float | None
    reconcile_quiet_after: float | None

    @classmethod
    def check(
        cls,
        fallback_grace: object,
        poll_interval: object,
        reconcile_interval: object,
        reconcile_quiet_after: object,
    ) -> FallbackOptions:
        """Validate the arguments (:class:`ConfigurationError` if wrong)."""
        return cls(
            check_optional_seconds(fallback_grace, "fallback_grace", zero=True),
            check_seconds(poll_interval, "poll_interval"),
            check_optional_seconds(reconcile_interval, "reconcile_interval"),
            check_optional_seconds(reconcile_quiet_after, "reconcile_quiet_after"),
        )


class StreamFallback:
    """REST behind one stream (see the module docs)."""

    def __init__(
        self,
        stream: FallbackStream,
        rest: BitunixRestClient,
        ledger: AccountLedger,
        options: FallbackOptions,
        *,
        private: bool,
        clock: Callable[[], float],
    ) -> None:
        self.stream = stream
        self.rest = rest
        self.grace = options.grace
        self.poll_interval = options.poll_interval
        #: The account as consumers were given it (orders placed through the stream's
        #: client reach it as changes, never as the baseline: see ``rest_client``).
        self.ledger = ledger
        self.reconciler: Reconciler | None = None
        if private:
            self.reconciler = Reconciler(
                rest,
                ledger,
                stream.deliver,
                interval=options.reconcile_interval,
                quiet_after=options.reconcile_quiet_after,
                clock=clock,
            )
        #: Public connections that are down, with the Trio time they went down.
        self.down_since: dict[str, float] = {}
        self._errors: dict[str, str] = {}
        self._changed = trio.Event()
        self._poll_scope: trio.CancelScope | None = None
        stream.add_hooks(
            on_ready=self._on_ready, on_down=self._on_down, on_retired=self._on_retired
        )

    # -- hooks (called synchronously by the connection slots) ----------------------------

    def _on_down(self, slot: Connection, error: BaseException) -> None:
        if slot.shard is None:
            return
        self.down_since.setdefault(slot.name, trio.current_time())
        self._errors[slot.name] = str(error)
        self._changed.set()

    def _on_ready(self, slot: Connection, reconnect: bool) -> None:
        if slot.shard is None:
            if self.reconciler is not None:
                self.reconciler.request()
            return
        self.down_since.pop(slot.name, None)
        self._errors.pop(slot.name, None)
        if not self.down_since and self._poll_scope is not None:
            self._poll_scope.cancel()
        self._changed.set()

    def _on_retired(self, slot: Connection) -> None:
        # An idle shard closed for good is not down (it has nothing to feed) any more.
        if self.down_since.pop(slot.name, None) is not None:
            self._errors.pop(slot.name, None)
            if not self.down_since and self._poll_scope is not None:
                self._poll_scope.cancel()
            self._changed.set()

    def admit_private(self, items: Sequence[Any], now: float) -> Sequence[Any]:
        """The private pushed values consumers have not seen yet (and note the activity)."""
        if self.reconciler is not None:
            self.reconciler.note_activity(now)
        admit = self.ledger.admit
        if len(items) == 1:
            return items if admit(items[0]) else ()
        return [item for item in items if admit(item)]

    async def reconcile(self) -> list[Order | Position | AccountBalance]:
        """Reconcile the account channels now; return what was delivered."""
        if self.reconciler is None:
            raise ConfigurationError("reconciling the account needs API credentials")
        return await self.reconciler.reconcile()

    # -- tasks -----------------------------------------------------------------------------

    async def run(self) -> None:
        """The fallback's tasks (until cancelled with the supervisor)."""
        async with trio.open_nursery() as nursery:
            if self.reconciler is not None:
                await nursery.start(self.reconciler.run)
            if self.grace is not None:
                nursery.start_soon(self._watch)

    async def _wait_changed(self, deadline: float = float("inf")) -> None:
        self._changed = trio.Event()
        with trio.move_on_at(deadline):
            await self._changed.wait()

    async def _watch(self) -> None:
        assert self.grace is not None
        while True:
            if not self.down_since:
                await self._wait_changed()
                continue
            start = min(self.down_since.values()) + self.grace
            if trio.current_time() < start:
                await self._wait_changed(start)
                continue
            await self._degrade()

    async def _degrade(self) -> None:
        """Poll REST for the market subscriptions of the connections that are down, until
        every public connection is back (then ``_on_ready`` cancels this)."""
        with trio.CancelScope() as scope:
            self._poll_scope = scope
            self._set_degraded(True)
            try:
                await poll_market(
                    self.rest,
                    self._polled_specs,
                    self._deliver_polled,
                    interval=self.poll_interval,
                    on_unavailable=self._unavailable,
                    on_error=self._rest_status,
                )
            finally:
                self._poll_scope = None
                self._set_degraded(False, "the WebSocket is back")

    # -- helpers ---------------------------------------------------------------------------

    def _down_reason(self) -> str:
        names = sorted(self.down_since)
        details = "; ".join(f"{name}: {self._errors.get(name, 'down')}" for name in names)
        return (
            f"market data from REST every {self.poll_interval:g} s while the WebSocket is "
            f"down ({details})"
        )

    def _set_degraded(self, on: bool, why: str | None = None) -> None:
        if on:
            self.stream.set_degraded(self._down_reason())
        else:
            self.stream.clear_degraded(why)

    def _rest_status(self, error: BitunixError | None) -> None:
        if error is None:
            self._set_degraded(True)
        else:
            self._set_degraded(
                False, f"WebSocket and REST both unavailable ({type(error).__name__}: {error})"
            )

    def _key_is_down(self, key: Key) -> bool:
        return not self.stream.is_live(key)

    def _polled_specs(self) -> list[ChannelSpec[Any]]:
        return [
            spec
            for key, spec in self.stream.wanted().items()
            if not spec.private and self._key_is_down(key)
        ]

    def _deliver_polled(self, key: Key, value: object) -> None:
        if self._key_is_down(key):
            self.stream.deliver(key, value)

    def _unavailable(self, spec: ChannelSpec[Any], reason: str) -> None:
        stream = self.stream
        if stream.state is ConnectionState.DEGRADED:
            stream.notice(f"{spec!r}: {reason}")
