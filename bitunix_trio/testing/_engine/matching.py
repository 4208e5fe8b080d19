"""Accounts, orders, positions and the arithmetic of fills (sans-I/O).

The state here is mutable bookkeeping; the engine turns it into ``bitunix_trio._core.models``
values when it reports. Rules (the real exchange documents none of them precisely):

* Fees are a fraction of the notional in the quote coin: taker 0.06 %, maker 0.02 %, paid
  from the wallet at each fill, kept exact (no rounding).
* Positions are one-way (netting): a buy adds to a long or reduces a short; a fill larger
  than the opposite position closes it and opens the rest the other way (a new position id).
  The entry value follows the average price; a reduction realises
  ``(exit - average) * qty`` for a long and ``(average - exit) * qty`` for a short into the
  wallet. ``realized_pnl`` excludes fees and funding (they are in ``fee`` and ``funding``).
* Margin: a position uses ``entry_value / leverage``; an open order freezes
  ``price * opening qty / leverage`` for the part that would open or increase a position
  (measured when it is placed, assumed to fill after the reducing part; reduce-only orders
  freeze nothing), released as it fills or ends.
  ``available = wallet - frozen - margin`` (unrealised P&L is reported, not counted).
* Funding settles every 8 hours: a position pays ``qty * mark * rate`` (rate in percent / 100)
  when it is on the paying side; ``funding`` accumulates the signed amount (negative = paid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "MAKER_FEE_RATE",
    "TAKER_FEE_RATE",
    "Account",
    "FillResult",
    "OrderState",
    "PositionState",
    "apply_fill",
]

TAKER_FEE_RATE = Decimal("0.0006")
#: Divisions (the entry value of a partial reduction, a fee split) round to this.
PRECISION = Decimal("1e-10")
MAKER_FEE_RATE = Decimal("0.0002")
ZERO = Decimal(0)

OPEN_STATUSES = frozenset({"NEW", "PART_FILLED"})


class SimulatedError(Exception):
    """An error the simulated exchange answers with: a real BitUnix ``code`` and ``msg``."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg

    def __str__(self) -> str:
        return f"{self.code}: {self.msg}"


@dataclass(slots=True, eq=False)
class OrderState:
    """An order's bookkeeping. ``side`` is ``BUY``/``SELL``; prices Decimal."""

    order_id: str
    client_id: str | None
    symbol: str
    side: str
    order_type: str
    price: Decimal | None
    qty: Decimal
    reduce_only: bool
    effect: str
    leverage: int
    margin_mode: str
    position_mode: str
    ctime: int
    seq: int = 0
    account_key: str = ""
    mtime: int = 0
    status: str = "NEW"
    filled: Decimal = ZERO
    filled_value: Decimal = ZERO
    fee: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    open_qty: Decimal = ZERO
    tpsl: dict[str, Any] = field(default_factory=dict)

    @property
    def remaining(self) -> Decimal:
        """Quantity not filled yet."""
        return self.qty - self.filled

    @property
    def average_price(self) -> Decimal:
        """Average fill price (0 before any fill)."""
        return self.filled_value / self.filled if self.filled else ZERO

    @property
    def is_open(self) -> bool:
        """NEW or PART_FILLED."""
        return self.status in OPEN_STATUSES

    @property
    def frozen(self) -> Decimal:
        """Margin frozen for the unfilled opening part of an open order."""
        if not self.is_open or self.price is None or not self.open_qty:
            return ZERO
        return min(self.remaining, self.open_qty) * self.price / self.leverage


@dataclass(slots=True, eq=False)
class PositionState:
    """A one-way position. ``side`` is ``LONG``/``SHORT``; ``qty`` > 0 while open."""

    position_id: str
    symbol: str
    side: str
    qty: Decimal
    entry_value: Decimal
    leverage: int
    margin_mode: str
    ctime: int
    mtime: int
    realized_pnl: Decimal = ZERO
    fee: Decimal = ZERO
    funding: Decimal = ZERO
    extra_margin: Decimal = ZERO
    max_qty: Decimal = ZERO
    opened_qty: Decimal = ZERO
    opened_value: Decimal = ZERO
    closed_qty: Decimal = ZERO
    closed_value: Decimal = ZERO

    @property
    def average_price(self) -> Decimal:
        """Average entry price."""
        return self.entry_value / self.qty if self.qty else ZERO

    @property
    def margin(self) -> Decimal:
        """Margin the position uses (plus margin added by hand)."""
        return self.entry_value / self.leverage + self.extra_margin

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """P&L if closed at ``mark``."""
        diff = mark * self.qty - self.entry_value
        return diff if self.side == "LONG" else -diff


@dataclass(slots=True, eq=False)
class Account:
    """A simulated account.

    Servers look ``secret_key`` up here to verify signatures; it never appears in a repr.
    ``wallet`` maps coin -> cash balance (realised P&L, fees and funding included).
    """

    api_key: str
    secret_key: str = field(repr=False)
    wallet: dict[str, Decimal] = field(default_factory=dict)
    leverage: int = 10
    margin_mode: str = "CROSS"
    position_mode: str = "ONE_WAY"
    open_orders: dict[str, OrderState] = field(default_factory=dict, repr=False)
    history: list[OrderState] = field(default_factory=list, repr=False)
    positions: dict[str, PositionState] = field(default_factory=dict, repr=False)
    client_ids: dict[str, str] = field(default_factory=dict, repr=False)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list, repr=False)
    leverages: dict[str, int] = field(default_factory=dict, repr=False)
    margin_modes: dict[str, str] = field(default_factory=dict, repr=False)
    closed_positions: list[PositionState] = field(default_factory=list, repr=False)
    trades: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def frozen(self) -> Decimal:
        """Margin frozen by open orders."""
        return sum((o.frozen for o in self.open_orders.values()), ZERO)

    @property
    def margin(self) -> Decimal:
        """Margin used by positions."""
        return sum((p.margin for p in self.positions.values()), ZERO)

    def available(self, coin: str = "USDT") -> Decimal:
        """Cash not frozen by orders nor used as position margin."""
        cash = self.wallet.get(coin, ZERO)
        if coin != "USDT":
            return cash
        return cash - self.frozen - self.margin

    def find_order(self, order_id: str | None, client_id: str | None) -> OrderState | None:
        """An order (open or finished) by id, or else by client id."""
        if order_id:
            order = self.open_orders.get(order_id)
            if order is not None:
                return order
            for order in reversed(self.history):
                if order.order_id == order_id:
                    return order
            return None
        if client_id:
            oid = self.client_ids.get(client_id)
            if oid is not None:
                return self.find_order(oid, None)
        return None


@dataclass(slots=True)
class FillResult:
    """What one fill changed: position events in order (``(event, position)`` pairs)."""

    position_events: list[tuple[str, PositionState]] = field(default_factory=list)


def fee_rate(maker: bool) -> Decimal:
    """The fee rate of a maker or taker fill."""
    return MAKER_FEE_RATE if maker else TAKER_FEE_RATE


def reducible_qty(account: Account, symbol: str, side: str) -> Decimal:
    """How much of a ``side`` order would reduce the current position."""
    pos = account.positions.get(symbol)
    if pos is None:
        return ZERO
    if (pos.side == "LONG") == (side == "SELL"):
        return pos.qty
    return ZERO


def apply_fill(
    account: Account,
    order: OrderState,
    qty: Decimal,
    price: Decimal,
    *,
    maker: bool,
    ts: int,
    new_position_id: Any,
) -> FillResult:
    """Book a fill of ``qty`` at ``price`` on ``order`` and its account.

    Updates the order (filled quantity, value, fee, realised P&L and status), the wallet
    and the position. ``new_position_id()`` gives the id of a newly opened position.
    """
    result = FillResult()
    fee = qty * price * fee_rate(maker)
    notional = qty * price
    wallet = account.wallet
    wallet["USDT"] = wallet.get("USDT", ZERO) - fee
    order.fee += fee
    order.filled += qty
    order.filled_value += notional
    order.mtime = ts
    order.status = "FILLED" if order.filled >= order.qty else "PART_FILLED"

    direction = "LONG" if order.side == "BUY" else "SHORT"
    pos = account.positions.get(order.symbol)
    position_id = None if pos is None else pos.position_id
    fill_pnl = ZERO
    left = qty
    if pos is not None and pos.side != direction:
        reduce = min(qty, pos.qty)
        avg_value = (pos.entry_value * reduce / pos.qty).quantize(PRECISION)
        pnl = price * reduce - avg_value
        if pos.side == "SHORT":
            pnl = -pnl
        wallet["USDT"] += pnl
        fill_pnl = pnl
        order.realized_pnl += pnl
        pos.realized_pnl += pnl
        pos.fee += (fee * reduce / qty).quantize(PRECISION)
        pos.qty -= reduce
        pos.closed_qty += reduce
        pos.closed_value += price * reduce
        pos.entry_value -= avg_value
        pos.mtime = ts
        left -= reduce
        if pos.qty == 0:
            pos.entry_value = ZERO
            del account.positions[order.symbol]
            account.closed_positions.append(pos)
            result.position_events.append(("CLOSE", pos))
        else:
            result.position_events.append(("UPDATE", pos))
        pos = None
    if left > 0:
        if pos is None:
            pos = PositionState(
                position_id=new_position_id(),
                symbol=order.symbol,
                side=direction,
                qty=left,
                entry_value=left * price,
                leverage=order.leverage,
                margin_mode=order.margin_mode,
                ctime=ts,
                mtime=ts,
                fee=fee - (fee * (qty - left) / qty).quantize(PRECISION),
                max_qty=left,
                opened_qty=left,
                opened_value=left * price,
            )
            account.positions[order.symbol] = pos
            position_id = position_id or pos.position_id
            result.position_events.append(("OPEN", pos))
        else:
            pos.qty += left
            pos.max_qty = max(pos.max_qty, pos.qty)
            pos.opened_qty += left
            pos.opened_value += left * price
            pos.entry_value += left * price
            pos.fee += fee
            pos.mtime = ts
            result.position_events.append(("UPDATE", pos))
    account.trades.append(
        {
            "tradeId": str(7_100_000_000_000_000_001 + len(account.trades)),
            "orderId": order.order_id,
            "clientId": order.client_id,
            "positionId": position_id,
            "symbol": order.symbol,
            "qty": qty,
            "price": price,
            "side": order.side,
            "orderType": order.order_type,
            "effect": order.effect,
            "reduceOnly": order.reduce_only,
            "leverage": order.leverage,
            "marginMode": order.margin_mode,
            "positionMode": order.position_mode,
            "fee": fee,
            "realizedPNL": fill_pnl,
            "ctime": ts,
            "roleType": "MAKER" if maker else "TAKER",
        }
    )
    return result
