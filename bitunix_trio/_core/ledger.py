"""What consumers were given on the account channels, and what changed behind their back.

Pure: no I/O, no clock (times are arguments). The Trio layer
(``_fallback.reconciliation``) fetches REST snapshots and hands them to an
:class:`AccountLedger`, which decides what to deliver.

**One change, one delivery.** Every private value goes through :meth:`AccountLedger.admit`
right before it is delivered, whichever path it came by (the WebSocket, or REST during a
reconciliation); ``admit`` returns False for a value consumers have already seen, so a fill
recovered over REST and the same fill arriving later over the WebSocket reach consumers
once. Identity of a change:

* an order: its id, status and filled quantity (plus price and quantity, so a modified
  order is not taken for a repeat). Orders only move forward (the filled quantity never
  shrinks, a final status is final), so a late push older than what was delivered is
  refused too;
* a position: its id and the fields that change on fills and funding (side, quantity,
  entry value, leverage, margin, modes, realized P&L, fee, funding). Fields that follow
  the mark price (unrealized P&L, margin rate, liquidation price) are not part of it, and
  a field one source leaves out (the WebSocket sends no average price) is not compared. A
  closed position id is final: only an ``OPEN`` event brings it back;
* a balance: its coin and its amounts (not the unrealized P&L).

A repeat from the other source fills in the fields its predecessor lacked (so a later change
of such a field is seen); a change replaces what is known (fields only the other source
sends are unknown until it speaks again, rather than stale).

**Reconciliation.** :meth:`AccountLedger.diff` compares REST snapshots (pending orders,
pending positions, balances, and the finished orders created since
:meth:`AccountLedger.history_start_ms`) with the ledger and returns a
:class:`Reconciliation`: orders that are new or changed, orders that were open but are no
longer pending (their final state is taken from the finished orders, or listed in
``unresolved`` for the I/O layer to look up; then :meth:`AccountLedger.resolve_final`),
positions new, changed or gone (a gone position is delivered closed: quantity 0, event
``CLOSE``), and changed balances. Every value is marked ``source=DataSource.RECOVERED``
and carries the event a push would have had (``CREATE``/``UPDATE``/``CLOSE`` for orders,
``OPEN``/``UPDATE``/``CLOSE`` for positions). :meth:`AccountLedger.settle` admits the plan
and returns what to deliver.

**Baseline.** The ledger knows when its stream started (``start_ms``, Unix ms). Until it is
*primed* (its first reconciliation settled), things it has never heard of are recorded
silently (``Reconciliation.baseline``) when they are the state the stream started from: an
order or position whose last change (``updated_ms``, else ``created_ms``) is older than
``start_ms``, and balances (which carry no time). Anything that changed at or after the
start, and every order placed through the client (:meth:`AccountLedger.note_placed`), is a
change and is delivered, however long the first reconciliation took to succeed. Things the
ledger has heard of (over the WebSocket) are always compared.

**How far back to look.** Finished orders are listed by creation time, newest first.
:meth:`AccountLedger.history_start_ms` says from when a reconciliation must page them: from
the start of the last settled reconciliation (less ``skew_ms`` for clocks that disagree),
or, before the first, from ``start_ms`` less ``lookback_ms``. Orders created earlier that
finished since were open then, so the ledger knows them (it looks up those that vanished).

**Races.** A push may arrive while the snapshots are being fetched. Take
:attr:`AccountLedger.generation` before fetching and pass it as ``since``: whatever was
admitted after that moment is newer than (or as new as) the snapshot and is left alone.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeVar

from .frames import Key
from .models import (
    AccountBalance,
    DataSource,
    Order,
    OrderStatus,
    Position,
    TpSlOrder,
    UpdateEvent,
)

__all__ = [
    "BALANCE_KEY",
    "DEFAULT_LOOKBACK_MS",
    "DEFAULT_SKEW_MS",
    "FINAL_STATUSES",
    "ORDERS_KEY",
    "POSITIONS_KEY",
    "TPSL_KEY",
    "AccountLedger",
    "Reconciliation",
    "is_final",
    "order_is_newer",
    "recovered",
    "routing_key",
]

AccountValue = Order | Position | AccountBalance

#: Routing keys of the private channels (the symbol part is always None).
ORDERS_KEY: Key = ("order", None)
POSITIONS_KEY: Key = ("position", None)
BALANCE_KEY: Key = ("balance", None)
TPSL_KEY: Key = ("tpsl", None)

#: Statuses after which an order never changes again.
FINAL_STATUSES = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.PART_FILLED_CANCELED,
        OrderStatus.SYSTEM_CANCELED,
        OrderStatus.EXPIRED,
        OrderStatus.FAILED,
    }
)
_RANK = {OrderStatus.INIT: 0, OrderStatus.NEW: 1, OrderStatus.PART_FILLED: 2}
_FINAL_RANK = 3
_UNKNOWN_RANK = 2

_POSITION_FIELDS = (
    "symbol",
    "side",
    "qty",
    "entry_value",
    "average_price",
    "leverage",
    "margin",
    "margin_mode",
    "position_mode",
    "realized_pnl",
    "fee",
    "funding",
)
_BALANCE_FIELDS = (
    "available",
    "frozen",
    "margin",
    "isolation_frozen",
    "cross_frozen",
    "isolation_margin",
    "cross_margin",
    "experience_money",
    "transfer",
    "bonus",
)
#: Clock disagreement allowed between the exchange and this process (ms).
DEFAULT_SKEW_MS = 60_000
#: Before the first reconciliation, finished orders created this long before the stream
#: started are looked at too (they may have finished after it started).
DEFAULT_LOOKBACK_MS = 24 * 3_600_000
_ZERO = Decimal(0)
_RECOVERED = DataSource.RECOVERED

_V = TypeVar("_V", Order, Position, AccountBalance)


def routing_key(value: object) -> Key:
    """The private channel key of an account value (``("order", None)`` ...)."""
    if isinstance(value, Order):
        return ORDERS_KEY
    if isinstance(value, Position):
        return POSITIONS_KEY
    if isinstance(value, AccountBalance):
        return BALANCE_KEY
    if isinstance(value, TpSlOrder):
        return TPSL_KEY
    raise TypeError(f"not an account value: {type(value).__name__}")


def is_final(order: Order) -> bool:
    """Whether the order has ended (filled, cancelled, expired...)."""
    return order.status in FINAL_STATUSES


def _rank(status: OrderStatus) -> int:
    if status in FINAL_STATUSES:
        return _FINAL_RANK
    return _RANK.get(status, _UNKNOWN_RANK)


def order_is_newer(new: Order, old: Order) -> bool:
    """Whether ``new`` is a later state of the same order than ``old`` (not a repeat, not
    an older state): more filled, a later status, or (same status and fill) a new price or
    quantity."""
    if new.filled_qty != old.filled_qty:
        return new.filled_qty > old.filled_qty
    rank_new, rank_old = _rank(new.status), _rank(old.status)
    if rank_new != rank_old:
        return rank_new > rank_old
    if new.status != old.status:
        return rank_old != _FINAL_RANK  # two final states: the first one stands
    if new.qty != old.qty:
        return True  # modified
    # A market order's price may be absent or 0 on one side: only two real prices count.
    return bool(new.price and old.price and new.price != old.price)


def _differs(new: object, old: object, fields: Iterable[str]) -> bool:
    """Whether a field both values carry (not None) differs."""
    for name in fields:
        a = getattr(new, name)
        b = getattr(old, name)
        if a is not None and b is not None and a != b:
            return True
    return False


def _merge(old: _V, new: _V, fields: Iterable[str]) -> _V:
    """``new`` with the fields it lacks (None) taken from ``old``: what is known now."""
    missing = {
        name: getattr(old, name)
        for name in fields
        if getattr(new, name) is None and getattr(old, name) is not None
    }
    return dataclasses.replace(new, **missing) if missing else new


def recovered(value: _V, **changes: Any) -> _V:
    """``value`` marked ``source=DataSource.RECOVERED`` (plus any other ``changes``)."""
    return dataclasses.replace(value, source=_RECOVERED, **changes)


def _closed(position: Position, now_ms: int) -> Position:
    """The delivered form of a position that is gone: quantity 0, event CLOSE."""
    return recovered(
        position,
        qty=_ZERO,
        entry_value=None if position.entry_value is None else _ZERO,
        unrealized_pnl=None if position.unrealized_pnl is None else _ZERO,
        liquidation_price=None,
        margin_rate=None,
        event=UpdateEvent.CLOSE,
        ts=now_ms,
    )


def _is_closing(position: Position) -> bool:
    return position.event is UpdateEvent.CLOSE or position.qty == 0


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What :meth:`AccountLedger.diff` found (every value marked RECOVERED).

    Attributes:
        orders: new and changed orders, and finished orders found among the finished ones.
        positions: new and changed positions, and gone ones (closed: quantity 0, CLOSE).
        balances: changed balances.
        unresolved: ids of orders that were open but are neither pending nor among the
            finished orders fetched: look each one up (``get_order_detail``) and pass the
            results to :meth:`AccountLedger.settle`.
        baseline: values of things the ledger had never heard of before it was primed:
            recorded without delivering them.
    """

    orders: tuple[Order, ...] = ()
    positions: tuple[Position, ...] = ()
    balances: tuple[AccountBalance, ...] = ()
    unresolved: tuple[str, ...] = ()
    baseline: tuple[AccountValue, ...] = ()

    @property
    def updates(self) -> tuple[AccountValue, ...]:
        """Everything to deliver, in delivery order (orders, positions, balances)."""
        return (*self.orders, *self.positions, *self.balances)

    @property
    def empty(self) -> bool:
        """Whether nothing changed and nothing needs looking up."""
        return not (self.orders or self.positions or self.balances or self.unresolved)


class AccountLedger:
    """The account state consumers were last given: orders, positions, balances.

    ``max_finished`` bounds the memory of finished orders and closed positions (kept so a
    late repeat of their last update is recognised) and of ids of orders placed through the
    client; open ones are always kept. ``start_ms`` (Unix ms) is when the stream started
    (None: everything unknown before priming is the baseline); ``skew_ms`` and
    ``lookback_ms`` widen :meth:`history_start_ms` (see the module docs).
    """

    def __init__(
        self,
        *,
        max_finished: int = 10_000,
        start_ms: int | None = None,
        skew_ms: int = DEFAULT_SKEW_MS,
        lookback_ms: int = DEFAULT_LOOKBACK_MS,
    ) -> None:
        if max_finished < 1:
            raise ValueError("max_finished must be at least 1")
        if skew_ms < 0 or lookback_ms < 0:
            raise ValueError("skew_ms and lookback_ms must not be negative")
        self.max_finished = max_finished
        self.start_ms = start_ms
        self.skew_ms = skew_ms
        self.lookback_ms = lookback_ms
        #: Whether a reconciliation has settled (things unknown before are the baseline).
        self.primed = False
        #: Unix ms at which the last settled reconciliation started fetching (None: none).
        self.synced_ms: int | None = None
        self._placed: OrderedDict[str, None] = OrderedDict()
        self._generation = 0
        self._open: dict[str, Order] = {}
        self._finished: OrderedDict[str, Order] = OrderedDict()
        self._positions: dict[str, Position] = {}
        self._closed: OrderedDict[str, Position] = OrderedDict()
        self._balances: dict[str, AccountBalance] = {}
        self._touched: dict[Key, int] = {}
        #: Called as ``observer(previous, order)`` for every order change admitted for
        #: delivery (``previous``: the state consumers had, or None); not for the baseline.
        self.order_observers: list[Callable[[Order | None, Order], None]] = []

    def __repr__(self) -> str:
        return (
            f"<AccountLedger open_orders={len(self._open)} positions={len(self._positions)}"
            f" balances={sorted(self._balances)} primed={self.primed}>"
        )

    # -- views ---------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """Counts admitted values; pass it to :meth:`diff` as ``since`` (see module docs)."""
        return self._generation

    @property
    def open_orders(self) -> Mapping[str, Order]:
        """Open orders by id, as last delivered."""
        return MappingProxyType(self._open)

    @property
    def has_open_orders(self) -> bool:
        """Whether any order is open."""
        return bool(self._open)

    @property
    def positions(self) -> Mapping[str, Position]:
        """Open positions by position id (what is known of them)."""
        return MappingProxyType(self._positions)

    @property
    def balances(self) -> Mapping[str, AccountBalance]:
        """Balances by coin (what is known of them)."""
        return MappingProxyType(self._balances)

    def order(self, order_id: str) -> Order | None:
        """The last delivered state of an order (open or finished), or None."""
        return self._open.get(order_id) or self._finished.get(order_id)

    def position_of(self, symbol: str) -> list[Position]:
        """The open positions of ``symbol`` (two in hedge mode)."""
        return [p for p in self._positions.values() if p.symbol == symbol]

    def history_start_ms(self) -> int | None:
        """From when (Unix ms, creation time) the next reconciliation must list finished
        orders (None: from the beginning; see the module docs)."""
        if self.synced_ms is not None:
            return max(0, self.synced_ms - self.skew_ms)
        if self.start_ms is not None:
            return max(0, self.start_ms - self.skew_ms - self.lookback_ms)
        return None

    def note_placed(self, order_id: str) -> None:
        """Record an order placed through the client: it is a change, never the baseline."""
        self._placed[order_id] = None
        self._placed.move_to_end(order_id)
        while len(self._placed) > self.max_finished:
            self._placed.popitem(last=False)

    def _is_change(self, value: Order | Position) -> bool:
        """Whether a value unknown to an unprimed ledger changed after the stream started."""
        if isinstance(value, Order) and value.order_id in self._placed:
            return True
        if self.start_ms is None:
            return False
        changed = value.updated_ms or value.created_ms
        return changed is not None and changed >= self.start_ms

    # -- admitting -----------------------------------------------------------------------

    def admit(self, value: object, *, baseline: bool = False) -> bool:
        """Record a value about to be delivered; False if consumers already have it (a
        repeat, or an older state than theirs): then do not deliver it. ``baseline``:
        recorded without delivering it (order observers are not told).

        Values of other types (TP/SL orders, market data) are always admitted.
        """
        if isinstance(value, Order):
            return self._admit_order(value, baseline)
        if isinstance(value, Position):
            return self._admit_position(value)
        if isinstance(value, AccountBalance):
            return self._admit_balance(value)
        return True

    def _touch(self, key: Key) -> None:
        self._generation += 1
        self._touched[key] = self._generation

    def _retire(self, done: OrderedDict[str, _V], channel: str, key: str, value: _V) -> None:
        """Keep ``value`` among the last ``max_finished`` finished values of ``done``."""
        done[key] = value
        done.move_to_end(key)
        while len(done) > self.max_finished:
            gone, _ = done.popitem(last=False)
            self._touched.pop((channel, gone), None)

    def _admit_order(self, order: Order, baseline: bool = False) -> bool:
        oid = order.order_id
        old = self._open.get(oid) or self._finished.get(oid)
        if old is not None and not order_is_newer(order, old):
            return False
        if is_final(order):
            self._open.pop(oid, None)
            self._retire(self._finished, "order", oid, order)
        else:
            self._finished.pop(oid, None)
            self._open[oid] = order
        self._touch(("order", oid))
        if not baseline:
            for observer in self.order_observers:
                observer(old, order)
        return True

    def _admit_position(self, position: Position) -> bool:
        pid = position.position_id
        if pid in self._closed and position.event is not UpdateEvent.OPEN:
            return False
        if _is_closing(position):
            self._positions.pop(pid, None)
            self._retire(self._closed, "position", pid, position)
        else:
            old = self._positions.get(pid)
            if old is not None and not _differs(position, old, _POSITION_FIELDS):
                self._positions[pid] = _merge(old, position, _POSITION_FIELDS)
                return False
            self._closed.pop(pid, None)
            self._positions[pid] = position
        self._touch(("position", pid))
        return True

    def _admit_balance(self, balance: AccountBalance) -> bool:
        coin = balance.coin
        old = self._balances.get(coin)
        if old is not None and not _differs(balance, old, _BALANCE_FIELDS):
            self._balances[coin] = _merge(old, balance, _BALANCE_FIELDS)
            return False
        self._balances[coin] = balance
        self._touch(("balance", coin))
        return True

    def forget_order(self, order_id: str) -> None:
        """Drop an order the exchange no longer knows (it will not be looked up again)."""
        self._open.pop(order_id, None)
        self._finished.pop(order_id, None)
        self._touched.pop(("order", order_id), None)

    # -- reconciling ---------------------------------------------------------------------

    def diff(
        self,
        pending_orders: Iterable[Order],
        positions: Iterable[Position],
        balances: Iterable[AccountBalance],
        *,
        now_ms: int,
        history: Iterable[Order] = (),
        since: int | None = None,
        symbols: Collection[str] | None = None,
    ) -> Reconciliation:
        """Compare REST snapshots with the ledger (nothing is changed; see the module docs).

        Arguments:
            pending_orders: every open order (of ``symbols``), from ``get_pending_orders``.
            positions: every open position (of ``symbols``), from ``get_pending_positions``.
            balances: the balances fetched (coins not given are left alone).
            now_ms: the time stamped on closed positions.
            history: the finished orders created since :meth:`history_start_ms`
                (``get_history_orders``, every page), fetched *after* the pending orders:
                finals of vanished orders, and orders that started and ended unseen.
            since: :attr:`generation` taken before fetching; keys admitted after it are
                skipped (a push newer than the snapshot got there first).
            symbols: the symbols the snapshots cover (None: all); ledger entries of other
                symbols are not taken as gone.
        """
        touched = self._touched
        primed = self.primed

        def fresh(key: Key) -> bool:
            return since is not None and touched.get(key, 0) > since

        def scoped(symbol: str) -> bool:
            return symbols is None or symbol in symbols

        orders: list[Order] = []
        baseline: list[AccountValue] = []
        pending_ids: set[str] = set()
        for order in pending_orders:
            oid = order.order_id
            pending_ids.add(oid)
            if fresh(("order", oid)):
                continue
            known = self.order(oid)
            if known is None:
                event = UpdateEvent.CLOSE if is_final(order) else UpdateEvent.CREATE
                news = orders if primed or self._is_change(order) else baseline
                news.append(recovered(order, event=event))
            elif order_is_newer(order, known):
                event = UpdateEvent.CLOSE if is_final(order) else UpdateEvent.UPDATE
                orders.append(recovered(order, event=event))

        finished = {o.order_id: o for o in history}
        unresolved: list[str] = []
        for oid, known in self._open.items():
            if oid in pending_ids or not scoped(known.symbol) or fresh(("order", oid)):
                continue
            final = finished.get(oid)
            if final is None:
                unresolved.append(oid)
            elif order_is_newer(final, known):
                orders.append(recovered(final, event=_order_event(final)))
        unseen = [
            o
            for o in finished.values()
            if o.order_id not in pending_ids
            and self.order(o.order_id) is None
            and not fresh(("order", o.order_id))
        ]
        unseen.sort(key=lambda o: (o.updated_ms or o.created_ms or o.ts, o.order_id))
        for order in unseen:
            value = recovered(order, event=_order_event(order))
            (orders if primed or self._is_change(order) else baseline).append(value)

        out_positions: list[Position] = []
        listed: set[str] = set()
        for position in positions:
            pid = position.position_id
            listed.add(pid)
            if fresh(("position", pid)):
                continue
            known_position = self._positions.get(pid)
            if known_position is None:
                value_p = recovered(position, event=UpdateEvent.OPEN)
                if primed or pid in self._closed or self._is_change(position):
                    out_positions.append(value_p)
                else:
                    baseline.append(value_p)
            elif _differs(position, known_position, _POSITION_FIELDS):
                out_positions.append(recovered(position, event=UpdateEvent.UPDATE))
        for pid, known_position in self._positions.items():
            if pid in listed or not scoped(known_position.symbol) or fresh(("position", pid)):
                continue
            out_positions.append(_closed(known_position, now_ms))

        out_balances: list[AccountBalance] = []
        for balance in balances:
            if fresh(("balance", balance.coin)):
                continue
            known_balance = self._balances.get(balance.coin)
            if known_balance is None:
                (out_balances if primed else baseline).append(recovered(balance))
            elif _differs(balance, known_balance, _BALANCE_FIELDS):
                out_balances.append(recovered(balance))

        return Reconciliation(
            orders=tuple(orders),
            positions=tuple(out_positions),
            balances=tuple(out_balances),
            unresolved=tuple(unresolved),
            baseline=tuple(baseline),
        )

    def resolve_final(self, orders: Iterable[Order]) -> tuple[Order, ...]:
        """Looked-up states of unresolved orders as deliverable values (RECOVERED, with
        the event a push would carry); repeats are filtered out later by :meth:`admit`."""
        return tuple(recovered(o, event=_order_event(o)) for o in orders)

    def settle(
        self,
        plan: Reconciliation,
        finals: Iterable[Order] = (),
        *,
        fetched_ms: int | None = None,
    ) -> list[tuple[Key, AccountValue]]:
        """Apply a reconciliation: record its baseline silently, mark the ledger primed,
        admit its updates and the looked-up ``finals``; return ``(routing key, value)``
        pairs to deliver now, in order (orders, positions, balances). ``fetched_ms``: Unix
        ms at which its fetching started (the next one lists finished orders from then)."""
        for value in plan.baseline:
            self.admit(value, baseline=True)
        self.primed = True
        if fetched_ms is not None:
            self.synced_ms = fetched_ms
        out: list[tuple[Key, AccountValue]] = []
        candidates: list[AccountValue] = [*plan.orders, *self.resolve_final(finals)]
        candidates += plan.positions
        candidates += plan.balances
        for value in candidates:
            if self.admit(value):
                out.append((routing_key(value), value))
        return out


def _order_event(order: Order) -> UpdateEvent:
    return UpdateEvent.CLOSE if is_final(order) else UpdateEvent.UPDATE
