"""Take-profit / stop-loss orders of the simulated exchange (sans-I/O).

Two kinds, as on the real exchange (``protocol.md`` section 5.4, ``type`` on the wire):

* ``TPSL``: a take-profit and/or stop-loss for a quantity of a position. Created by the
  ``tp*``/``sl*`` fields of an order when that order's fill opens or increases the
  position (quantity: what the order filled; it follows later partial fills), or by the
  ``tpsl/place_order`` endpoint (``tpQty``/``slQty``, default the whole position).
* ``POSITION_TPSL``: one per position, for the whole position whatever its size then
  (``tpsl/position/place_order``); it always closes with a MARKET order.

A trigger watches the mark price (``MARK_PRICE``) or the last trade price (``LAST_PRICE``,
the default) and fires when that price reaches the take-profit (at or above it for a long,
at or below for a short) or the stop-loss (the other way). Firing places a reduce-only
order on the closing side, MARKET or LIMIT at ``tpOrderPrice``/``slOrderPrice``; the
tpsl order then ends ``FILLED`` (its order was *placed*, not necessarily filled, as the
exchange's documentation says) or ``FAILED`` if the placement was refused. It ends
``CANCELED`` when the user cancels it and ``SYSTEM_CANCELED`` when its position closes.

Each change is pushed on the private ``tpsl`` channel: ``CREATE`` (status NEW), ``UPDATE``
(NEW, modified), ``CLOSE`` (FILLED, FAILED, CANCELED or SYSTEM_CANCELED).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from bitunix_trio._core.models import (
    DataSource,
    OrderStatus,
    OrderType,
    PositionMode,
    Side,
    StopType,
    TpSlOrder,
    UpdateEvent,
)
from bitunix_trio._core.wire import tpsl_to_wire

from .market import SymbolMarket, clean
from .matching import Account, OrderState, PositionState, SimulatedError


class Desk(Protocol):
    """What the tpsl book needs of the trading engine (``Trading`` has it)."""

    markets: dict[str, SymbolMarket]
    accounts: dict[str, Account]
    now_ms: int

    def new_order_id(self) -> str:
        """A fresh order id."""

    def place(self, account: Account, order: OrderState) -> OrderState:
        """Validate, match and rest ``order`` (SimulatedError if refused)."""


__all__ = ["TpslBook", "TpslState", "parse_stop_type", "parse_tpsl_order_type"]

ZERO = Decimal(0)
_STOP_TYPES = {"MARK_PRICE": "MARK_PRICE", "MARK": "MARK_PRICE", "LAST_PRICE": "LAST_PRICE"}
_STOP_TYPES["LAST"] = "LAST_PRICE"


def parse_stop_type(value: object) -> str | None:
    """``MARK_PRICE``/``LAST_PRICE`` (also ``MARK``/``LAST``, any case), None if absent;
    ValueError otherwise."""
    if value is None or value == "":
        return None
    found = _STOP_TYPES.get(str(value).upper())
    if found is None:
        raise ValueError(str(value))
    return found


def parse_tpsl_order_type(value: object) -> str | None:
    """``LIMIT``/``MARKET`` (any case), None if absent; ValueError otherwise."""
    if value is None or value == "":
        return None
    text = str(value).upper()
    if text not in ("LIMIT", "MARKET"):
        raise ValueError(str(value))
    return text


@dataclass(slots=True, eq=False)
class TpslState:
    """One tpsl order. ``side`` is the side of the position it protects as an order side
    (``BUY`` for a long); the order it places is on the other side."""

    order_id: str
    account_key: str
    symbol: str
    kind: str  # TPSL or POSITION_TPSL
    side: str
    position_id: str
    leverage: int
    ctime: int
    mtime: int
    tp_price: Decimal | None = None
    tp_stop_type: str = "LAST_PRICE"
    tp_order_type: str = "MARKET"
    tp_order_price: Decimal | None = None
    tp_qty: Decimal | None = None
    sl_price: Decimal | None = None
    sl_stop_type: str = "LAST_PRICE"
    sl_order_type: str = "MARKET"
    sl_order_price: Decimal | None = None
    sl_qty: Decimal | None = None
    status: str = "NEW"
    trigger_time: int | None = None
    placed_order_id: str | None = None
    source_order_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        """Still waiting for its trigger."""
        return self.status == "NEW"


def tpsl_model(t: TpslState, event: str | None, ts: int, source: DataSource) -> TpSlOrder:
    """A tpsl order as a :class:`TpSlOrder` value."""
    has_tp = t.tp_price is not None
    has_sl = t.sl_price is not None
    return TpSlOrder(
        order_id=t.order_id,
        position_id=t.position_id,
        symbol=t.symbol,
        side=Side(t.side),
        status=OrderStatus(t.status),
        event=None if event is None else UpdateEvent(event),
        tpsl_type=t.kind,
        leverage=t.leverage,
        position_mode=PositionMode.ONE_WAY,
        tp_qty=None if not has_tp or t.tp_qty is None else clean(t.tp_qty),
        sl_qty=None if not has_sl or t.sl_qty is None else clean(t.sl_qty),
        tp_price=None if not has_tp else clean(t.tp_price),  # type: ignore[arg-type]
        tp_stop_type=StopType(t.tp_stop_type) if has_tp else None,
        tp_order_type=OrderType(t.tp_order_type) if has_tp else None,
        tp_order_price=None if t.tp_order_price is None or not has_tp else clean(t.tp_order_price),
        sl_price=None if not has_sl else clean(t.sl_price),  # type: ignore[arg-type]
        sl_stop_type=StopType(t.sl_stop_type) if has_sl else None,
        sl_order_type=OrderType(t.sl_order_type) if has_sl else None,
        sl_order_price=None if t.sl_order_price is None or not has_sl else clean(t.sl_order_price),
        created_ms=t.ctime,
        ts=ts,
        source=source,
    )


def tpsl_rest_row(t: TpslState, *, history: bool, base: str, quote: str) -> dict[str, Any]:
    """A row of ``tpsl/get_pending_orders`` (or ``get_history_orders`` when ``history``):
    the vendor's ``id``/``positionId``/``symbol``/``base``/``quote`` and tp/sl fields,
    numbers as strings; history rows add ``status``, ``ctime`` and ``triggerTime``."""
    wire = tpsl_to_wire(tpsl_model(t, None, t.mtime, DataSource.REST))
    row: dict[str, Any] = {
        "id": t.order_id,
        "positionId": t.position_id,
        "symbol": t.symbol,
        "base": base,
        "quote": quote,
    }
    for key in (
        "tpPrice",
        "tpStopType",
        "slPrice",
        "slStopType",
        "tpOrderType",
        "tpOrderPrice",
        "slOrderType",
        "slOrderPrice",
        "tpQty",
        "slQty",
    ):
        if key in wire:
            row[key] = wire[key]
    if history:
        row["status"] = t.status
        row["ctime"] = str(t.ctime)
        row["triggerTime"] = None if t.trigger_time is None else str(t.trigger_time)
    return row


class TpslBook:
    """Every account's tpsl orders; creates, modifies, triggers and ends them."""

    def __init__(self, trading: Desk) -> None:
        self.trading = trading
        self.open: dict[str, TpslState] = {}
        self.history: list[TpslState] = []

    # ------------------------------------------------------------------ events
    def emit(self, account: Account, t: TpslState, event: str) -> None:
        """Queue a ``tpsl`` push."""
        now = self.trading.now_ms
        account.events.append(
            ("tpsl", tpsl_to_wire(tpsl_model(t, event, now, DataSource.WEBSOCKET)))
        )

    def find(self, account: Account, order_id: str) -> TpslState | None:
        """An open tpsl order of ``account`` by id."""
        t = self.open.get(order_id)
        return t if t is not None and t.account_key == account.api_key else None

    def of_account(self, account: Account, *, history: bool) -> list[TpslState]:
        """Open (or finished, when ``history``) tpsl orders of ``account``, newest first."""
        rows = list(self.history if history else self.open.values())
        rows = [t for t in rows if t.account_key == account.api_key]
        rows.sort(key=lambda t: (t.ctime, int(t.order_id)), reverse=True)
        return rows

    # ------------------------------------------------------------------ lifecycle
    def create(
        self, account: Account, pos: PositionState, kind: str, fields: dict[str, Any]
    ) -> TpslState:
        """A new tpsl order on ``pos`` (``fields`` as TpslState attributes)."""
        now = self.trading.now_ms
        t = TpslState(
            order_id=self.trading.new_order_id(),
            account_key=account.api_key,
            symbol=pos.symbol,
            kind=kind,
            side="BUY" if pos.side == "LONG" else "SELL",
            position_id=pos.position_id,
            leverage=pos.leverage,
            ctime=now,
            mtime=now,
        )
        for name, value in fields.items():
            if value is not None:
                setattr(t, name, value)
        self.open[t.order_id] = t
        self.emit(account, t, "CREATE")
        return t

    def modify(self, account: Account, t: TpslState, fields: dict[str, Any]) -> None:
        """Change an open tpsl order; an ``UPDATE`` push follows."""
        for name, value in fields.items():
            if value is not None:
                setattr(t, name, value)
        t.mtime = self.trading.now_ms
        self.emit(account, t, "UPDATE")

    def end(self, account: Account, t: TpslState, status: str) -> None:
        """End a tpsl order with ``status``; a ``CLOSE`` push follows."""
        t.status = status
        t.mtime = self.trading.now_ms
        self.open.pop(t.order_id, None)
        self.history.append(t)
        self.emit(account, t, "CLOSE")

    def position_tpsl(self, pos: PositionState) -> TpslState | None:
        """The open POSITION_TPSL order of ``pos``, if any."""
        for t in self.open.values():
            if t.kind == "POSITION_TPSL" and t.position_id == pos.position_id:
                return t
        return None

    # ------------------------------------------------------------------ hooks
    def after_fill(
        self, account: Account, order: OrderState, events: list[tuple[str, PositionState]]
    ) -> None:
        """After ``order`` filled: its tp/sl fields create (or grow) its tpsl order when the
        fill opened or increased a position; tpsl orders of closed positions end."""
        for kind, pos in events:
            if kind == "CLOSE":
                for t in list(self.open.values()):
                    if t.position_id == pos.position_id:
                        self.end(account, t, "SYSTEM_CANCELED")
        spec = order.tpsl
        if order.reduce_only or (spec.get("tp_price") is None and spec.get("sl_price") is None):
            return
        held = account.positions.get(order.symbol)
        if held is None or held.side != ("LONG" if order.side == "BUY" else "SHORT"):
            return
        pos = held
        opened = min(order.filled, order.open_qty) if order.open_qty else ZERO
        if opened <= 0:
            return
        linked = self.open.get(spec.get("_tpsl_id", ""))
        if linked is not None and linked.position_id == pos.position_id:
            qty_fields = {
                "tp_qty": opened if linked.tp_price is not None else None,
                "sl_qty": opened if linked.sl_price is not None else None,
            }
            if qty_fields["tp_qty"] != linked.tp_qty or qty_fields["sl_qty"] != linked.sl_qty:
                self.modify(account, linked, qty_fields)
            return
        fields: dict[str, Any] = {
            "tp_price": spec.get("tp_price"),
            "tp_stop_type": spec.get("tp_stop_type"),
            "tp_order_type": spec.get("tp_order_type"),
            "tp_order_price": spec.get("tp_order_price"),
            "tp_qty": opened if spec.get("tp_price") is not None else None,
            "sl_price": spec.get("sl_price"),
            "sl_stop_type": spec.get("sl_stop_type"),
            "sl_order_type": spec.get("sl_order_type"),
            "sl_order_price": spec.get("sl_order_price"),
            "sl_qty": opened if spec.get("sl_price") is not None else None,
            "source_order_id": order.order_id,
        }
        t = self.create(account, pos, "TPSL", fields)
        spec["_tpsl_id"] = t.order_id

    def position_closed(self, account: Account, pos: PositionState) -> None:
        """``pos`` closed outside a fill (an admin change): its tpsl orders end."""
        for t in list(self.open.values()):
            if t.position_id == pos.position_id and t.account_key == account.api_key:
                self.end(account, t, "SYSTEM_CANCELED")

    def check(self, symbol: str) -> None:
        """Fire every open tpsl order of ``symbol`` whose trigger price was reached."""
        trading = self.trading
        m = trading.markets[symbol]
        prices = {"MARK_PRICE": m.price(m.mark), "LAST_PRICE": m.price(m.last)}
        for t in sorted(
            (t for t in self.open.values() if t.symbol == symbol), key=lambda t: int(t.order_id)
        ):
            if not t.is_open:
                continue
            long = t.side == "BUY"
            leg: str | None = None
            if t.tp_price is not None:
                price = prices[t.tp_stop_type]
                if (price >= t.tp_price) if long else (price <= t.tp_price):
                    leg = "tp"
            if leg is None and t.sl_price is not None:
                price = prices[t.sl_stop_type]
                if (price <= t.sl_price) if long else (price >= t.sl_price):
                    leg = "sl"
            if leg is not None:
                self.fire(t, leg)

    def fire(self, t: TpslState, leg: str) -> None:
        """Place the closing order of ``t``'s ``leg`` (``tp``/``sl``) and end ``t``."""
        trading = self.trading
        account = trading.accounts[t.account_key]
        pos = account.positions.get(t.symbol)
        t.trigger_time = trading.now_ms
        if pos is None or pos.position_id != t.position_id:
            self.end(account, t, "SYSTEM_CANCELED")
            return
        qty = pos.qty if t.kind == "POSITION_TPSL" else getattr(t, f"{leg}_qty")
        qty = pos.qty if qty is None else min(qty, pos.qty)
        order_type = getattr(t, f"{leg}_order_type")
        price = getattr(t, f"{leg}_order_price") if order_type == "LIMIT" else None
        if order_type == "LIMIT" and price is None:
            price = getattr(t, f"{leg}_price")
        order = OrderState(
            order_id=trading.new_order_id(),
            client_id=None,
            symbol=t.symbol,
            side="SELL" if t.side == "BUY" else "BUY",
            order_type=order_type,
            price=price,
            qty=qty,
            reduce_only=True,
            effect="GTC",
            leverage=pos.leverage,
            margin_mode=pos.margin_mode,
            position_mode="ONE_WAY",
            ctime=trading.now_ms,
            mtime=trading.now_ms,
        )
        # The tpsl order ends (FILLED: its order is placed) before the order's own pushes.
        self.open.pop(t.order_id, None)
        mark = len(account.events)
        try:
            trading.place(account, order)
        except SimulatedError:
            t.status = "FAILED"
        else:
            t.status = "FILLED"
            t.placed_order_id = order.order_id
        t.mtime = trading.now_ms
        self.history.append(t)
        push = tpsl_to_wire(tpsl_model(t, "CLOSE", trading.now_ms, DataSource.WEBSOCKET))
        account.events.insert(mark, ("tpsl", push))
