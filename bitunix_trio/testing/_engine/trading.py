"""Order placement, matching against the merged book, cancels and private events.

The book a taker meets is the synthetic book of ``market`` merged with the resting
limit orders of every account. At one price, resting account orders come first (oldest
first), then the synthetic liquidity. A taker walks levels best first, partially filling
the last one it touches; each match is a public trade at the maker's price.

Resting orders fill as makers, at their own price, when the market moves through them
(at each tick the synthetic levels that cross a resting order trade against it, limited
by their size, so large orders fill partially) and when the tick's random taker flow hits
the best level they sit on. Self-trades are allowed.

A MARKET order that exhausts the whole synthetic book (200 levels) ends
``PART_FILLED_CANCELED``; IOC cancels its remainder; FOK is cancelled whole (no fill) unless
the book can fill all of it at once; POST_ONLY is cancelled if it would take liquidity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bitunix_trio._core.models import DataSource

from .market import SymbolMarket
from .matching import (
    TAKER_FEE_RATE,
    Account,
    OrderState,
    PositionState,
    SimulatedError,
    apply_fill,
    reducible_qty,
)
from .rows import (
    balance_model,
    balance_push,
    order_model,
    order_push,
    position_model,
    position_push,
)
from .tpsl import TpslBook

__all__ = ["Match", "SimulatedError", "Trading"]

ZERO = Decimal(0)
_WS = DataSource.WEBSOCKET


@dataclass(slots=True)
class Match:
    """One match of a taker against a level: price in ticks, qty, the maker (or synthetic)."""

    ticks: int
    qty: Decimal
    maker: OrderState | None


def _coalesce(events: Iterable[tuple[str, PositionState]]) -> list[tuple[str, PositionState]]:
    """Merge a position's successive events into one (OPEN wins over UPDATE, CLOSE over all)."""
    out: dict[str, list[Any]] = {}
    for kind, pos in events:
        entry = out.get(pos.position_id)
        if entry is None:
            out[pos.position_id] = [kind, pos]
        elif kind == "CLOSE":
            entry[0] = "CLOSE"
    return [(k, p) for k, p in out.values()]


class Trading:
    """Accounts and the resting orders of every symbol; emits the private pushes."""

    def __init__(self, markets: dict[str, SymbolMarket], quirks: bool) -> None:
        self.markets = markets
        self.quirks = quirks
        self.accounts: dict[str, Account] = {}
        self.resting: dict[str, list[OrderState]] = {s: [] for s in markets}
        self.now_ms = 0
        #: Symbols nobody has looked at yet: their markets wait, and ``catch_up`` runs
        #: their missed ticks on the first lookup (same path as if they had run on time).
        self.idle: set[str] = set()
        self.catch_up: Callable[[str], None] | None = None
        self._seq = 0
        self._next_order_id = 1_358_000_000_000_000_001
        self._next_position_id = 6_420_000_000_000_000_001
        self.tpsl = TpslBook(self)

    # ------------------------------------------------------------------ ids and lookups
    def new_order_id(self) -> str:
        """A fresh order id (19 digits, as the exchange's)."""
        oid = self._next_order_id
        self._next_order_id += 1
        return str(oid)

    def new_position_id(self) -> str:
        """A fresh position id."""
        pid = self._next_position_id
        self._next_position_id += 1
        return str(pid)

    def account(self, api_key: str) -> Account:
        """The account of ``api_key`` or SimulatedError 10003."""
        acct = self.accounts.get(api_key)
        if acct is None:
            raise SimulatedError(10003, "api-key is invalid")
        return acct

    def market(self, symbol: str) -> SymbolMarket:
        """The listed market of ``symbol`` or SimulatedError 20015."""
        m = self.markets.get(str(symbol).upper())
        if m is None or m.inst.status != "OPEN":
            raise SimulatedError(20015, "this Futures is not allowed to trade.")
        if m.inst.symbol in self.idle and self.catch_up is not None:
            self.catch_up(m.inst.symbol)
        return m

    # ------------------------------------------------------------------ events
    def unrealized(self, account: Account) -> Decimal:
        """Total unrealised P&L of ``account`` at mark prices."""
        return sum(
            (
                p.unrealized_pnl(self.markets[p.symbol].price(self.markets[p.symbol].mark))
                for p in account.positions.values()
            ),
            ZERO,
        )

    def emit_order(self, account: Account, order: OrderState, event: str) -> None:
        """Queue an ``order`` push."""
        model = order_model(order, event, self.now_ms, _WS)
        account.events.append(("order", order_push(model, self.quirks)))

    def emit_position(self, account: Account, pos: PositionState, event: str) -> None:
        """Queue a ``position`` push."""
        m = self.markets[pos.symbol]
        model = position_model(pos, event, m.price(m.mark), self.now_ms, _WS, m.inst.tick_size)
        account.events.append(("position", position_push(model)))

    def emit_balance(self, account: Account, coin: str = "USDT") -> None:
        """Queue a ``balance`` push."""
        model = balance_model(account, coin, self.unrealized(account), self.now_ms, _WS)
        account.events.append(("balance", balance_push(model)))

    # ------------------------------------------------------------------ the book
    def opposite(self, symbol: str, taker_side: str) -> Iterator[Match]:
        """The levels a ``taker_side`` order meets, best first, lazily: the synthetic book
        merged with resting orders (which come first at a price, oldest first)."""
        m = self.markets[symbol]
        buy = taker_side == "BUY"
        sign = 1 if buy else -1
        users = sorted(
            (
                (sign * m.to_ticks(o.price), o.seq, o)
                for o in self.resting[symbol]
                if (o.side == "SELL") == buy and o.price is not None
            ),
            key=lambda x: (x[0], x[1]),
        )
        synthetic = m.iter_levels("ask" if buy else "bid")
        nxt = next(synthetic, None)
        k = 0
        while True:
            if k < len(users) and (nxt is None or users[k][0] <= sign * nxt[0]):
                key, _, order = users[k]
                k += 1
                yield Match(sign * key, order.remaining, order)
            elif nxt is not None:
                yield Match(nxt[0], nxt[1], None)
                nxt = next(synthetic, None)
            else:
                return

    def plan(self, symbol: str, side: str, qty: Decimal, limit: int | None) -> list[Match]:
        """The matches a taker would get (nothing is changed)."""
        out: list[Match] = []
        left = qty
        buy = side == "BUY"
        for lvl in self.opposite(symbol, side):
            if left <= 0:
                break
            if limit is not None and (lvl.ticks > limit if buy else lvl.ticks < limit):
                break
            take = min(left, lvl.qty)
            out.append(Match(lvl.ticks, take, lvl.maker))
            left -= take
        return out

    def fill_maker(
        self, maker: OrderState, qty: Decimal, price: Decimal, taker_side: str | None
    ) -> Decimal:
        """Fill a resting order as maker; emit its pushes; returns the quantity filled."""
        account = self.accounts[maker.account_key]
        m = self.markets[maker.symbol]
        qty = self._cap_reduce_only(account, maker, qty)
        if qty <= 0:
            return ZERO
        result = apply_fill(
            account,
            maker,
            qty,
            price,
            maker=True,
            ts=self.now_ms,
            new_position_id=self.new_position_id,
        )
        if taker_side is not None:
            m.record_trade(m.to_ticks(price), qty, taker_side, self.now_ms)
        self._after_fill(account, maker, result.position_events)
        return qty

    def _cap_reduce_only(self, account: Account, order: OrderState, qty: Decimal) -> Decimal:
        if not order.reduce_only:
            return qty
        return min(qty, reducible_qty(account, order.symbol, order.side))

    def _after_fill(
        self, account: Account, order: OrderState, events: list[tuple[str, PositionState]]
    ) -> None:
        if order.status == "FILLED":
            self._finish(account, order)
            self.emit_order(account, order, "CLOSE")
        else:
            self.emit_order(account, order, "UPDATE")
        for kind, pos in _coalesce(events):
            self.emit_position(account, pos, kind)
        self.emit_balance(account)
        self.tpsl.after_fill(account, order, events)
        self.sweep_reduce_only(account, order.symbol)

    def _finish(self, account: Account, order: OrderState) -> None:
        account.open_orders.pop(order.order_id, None)
        account.history.append(order)
        book = self.resting[order.symbol]
        if order in book:
            book.remove(order)

    def cancel(self, account: Account, order: OrderState, status: str | None = None) -> None:
        """End an open order (CANCELED / PART_FILLED_CANCELED or ``status``)."""
        if status is None:
            status = "PART_FILLED_CANCELED" if order.filled else "CANCELED"
        order.status = status
        order.mtime = self.now_ms
        self._finish(account, order)
        self.emit_order(account, order, "CLOSE")
        self.emit_balance(account)

    def sweep_reduce_only(self, account: Account, symbol: str) -> None:
        """Cancel open reduce-only orders that can no longer reduce anything."""
        for order in list(account.open_orders.values()):
            if (
                order.symbol == symbol
                and order.reduce_only
                and reducible_qty(account, symbol, order.side) <= 0
            ):
                self.cancel(account, order)

    # ------------------------------------------------------------------ placing
    def place(self, account: Account, order: OrderState) -> OrderState:
        """Validate margin, match ``order`` as taker, rest or cancel what is left."""
        m = self.markets[order.symbol]
        limit = None if order.price is None else m.to_ticks(order.price)
        reducible = reducible_qty(account, order.symbol, order.side)
        if order.reduce_only:
            if reducible <= 0:
                raise SimulatedError(30004, "position not exist")
            target = min(order.qty, reducible)
        else:
            target = order.qty
        matches = self.plan(order.symbol, order.side, target, limit)
        filled_now = sum((mt.qty for mt in matches), ZERO)
        notional_now = sum((mt.qty * m.price(mt.ticks) for mt in matches), ZERO)
        opening = ZERO if order.reduce_only else max(ZERO, order.qty - reducible)
        if order.price is not None:
            ref_price = order.price
        elif filled_now:
            ref_price = notional_now / filled_now
        else:
            ref_price = m.price(m.best_ask if order.side == "BUY" else m.best_bid)
        required = opening * ref_price / order.leverage + notional_now * TAKER_FEE_RATE
        if required > account.available():
            raise SimulatedError(20003, "Insufficient balance")
        order.open_qty = opening
        order.seq = self._seq = self._seq + 1
        order.account_key = account.api_key
        account.open_orders[order.order_id] = order
        if order.client_id:
            account.client_ids[order.client_id] = order.order_id
        self.emit_order(account, order, "CREATE")

        effect = order.effect
        if (effect == "POST_ONLY" and matches) or (effect == "FOK" and filled_now < order.qty):
            self.cancel(account, order)
            return order
        if matches:
            self._take(account, order, matches)
        if not order.is_open:
            return order
        if (
            order.order_type == "MARKET"
            or effect in ("IOC", "FOK")
            or (order.reduce_only and reducible_qty(account, order.symbol, order.side) <= 0)
        ):
            self.cancel(account, order)
        else:
            self.resting[order.symbol].append(order)
            if not matches:
                self.emit_balance(account)
        return order

    def _take(self, account: Account, order: OrderState, matches: list[Match]) -> None:
        m = self.markets[order.symbol]
        taker_side = "buy" if order.side == "BUY" else "sell"
        pos_events: list[tuple[str, PositionState]] = []
        for mt in matches:
            price = m.price(mt.ticks)
            qty = self._cap_reduce_only(account, order, mt.qty)
            if qty <= 0:
                break
            if mt.maker is not None:
                if not mt.maker.is_open:
                    continue
                qty = self.fill_maker(mt.maker, min(qty, mt.maker.remaining), price, None)
                if qty <= 0:
                    continue
            else:
                m.consume("ask" if order.side == "BUY" else "bid", mt.ticks, qty)
            m.record_trade(mt.ticks, qty, taker_side, self.now_ms)
            result = apply_fill(
                account,
                order,
                qty,
                price,
                maker=False,
                ts=self.now_ms,
                new_position_id=self.new_position_id,
            )
            pos_events.extend(result.position_events)
        if order.status == "FILLED":
            self._finish(account, order)
            self.emit_order(account, order, "CLOSE")
        elif order.filled:
            self.emit_order(account, order, "UPDATE")
        for kind, pos in _coalesce(pos_events):
            self.emit_position(account, pos, kind)
        if order.filled:
            self.emit_balance(account)
        self.tpsl.after_fill(account, order, pos_events)
        self.sweep_reduce_only(account, order.symbol)

    # ------------------------------------------------------------------ per tick
    def on_tick(self, symbol: str) -> None:
        """After the market stepped: orders crossed by the book fill, then the taker flow."""
        m = self.markets[symbol]
        book = self.resting[symbol]
        if book:
            self.cross(m, book)
        for side, qty in m.flow:
            self._flow(m, side, qty)
        if self.tpsl.open:
            self.tpsl.check(symbol)

    def cross(self, m: SymbolMarket, book: list[OrderState]) -> None:
        def order_key(o: OrderState) -> tuple[Decimal, int]:
            price = o.price or ZERO
            return (-price if o.side == "BUY" else price, o.seq)

        for order in sorted(book, key=order_key):
            if not order.is_open or order.price is None:
                continue
            limit = m.to_ticks(order.price)
            buy = order.side == "BUY"
            side = "ask" if buy else "bid"
            total = ZERO
            for ticks, qty in m.iter_levels(side):
                if (ticks > limit) if buy else (ticks < limit):
                    break
                left = order.remaining - total
                if left <= 0:
                    break
                take = min(left, qty)
                m.consume(side, ticks, take)
                total += take
            if total > 0:
                self.fill_maker(order, total, order.price, "sell" if buy else "buy")

    def _flow(self, m: SymbolMarket, side: str, qty: Decimal) -> None:
        """One trade of the tick's taker flow: it takes from the best opposite level only."""
        taker = "BUY" if side == "buy" else "SELL"
        top: int | None = None
        left = qty
        for lvl in self.opposite(m.inst.symbol, taker):
            if top is None:
                top = lvl.ticks
            if lvl.ticks != top or left <= 0:
                break
            take = min(left, lvl.qty)
            if lvl.maker is not None:
                take = self.fill_maker(lvl.maker, take, m.price(top), side)
            else:
                m.consume("ask" if taker == "BUY" else "bid", top, take)
                m.record_trade(top, take, side, self.now_ms)
            left -= take

    def settle_funding(self, symbol: str) -> None:
        """Funding settled on ``symbol``: positions pay or receive ``qty * mark * rate``."""
        m = self.markets[symbol]
        rate = m.funding_rate / 100
        mark = m.price(m.mark)
        for account in self.accounts.values():
            pos = account.positions.get(symbol)
            if pos is None:
                continue
            amount = pos.qty * mark * rate
            signed = -amount if pos.side == "LONG" else amount
            account.wallet["USDT"] = account.wallet.get("USDT", ZERO) + signed
            pos.funding += signed
            pos.mtime = self.now_ms
            self.emit_position(account, pos, "UPDATE")
            self.emit_balance(account)
