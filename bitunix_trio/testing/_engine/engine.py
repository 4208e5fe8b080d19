"""The simulated exchange's engine: market, accounts and matching, sans-I/O.

:class:`ExchangeEngine` is pure and deterministic: the same seed and the same sequence of
calls give the same outputs. Time (integer milliseconds) is passed in through
:meth:`ExchangeEngine.advance`; nothing here sleeps or does I/O, so the WebSocket and REST
servers of ``bitunix_trio.testing`` (and tests) drive it.

The market moves in ticks of ``tick_ms`` (310 ms, the exchange's push cadence); its path
depends only on the seed and the number of ticks, never on how often ``advance`` is called
(see ``market``). Orders match against the synthetic book merged with every account's
resting orders (see ``trading``); fees, positions and margin follow
``matching``. Every account change queues the private pushes the real exchange sends
(``order``, ``position``, ``balance``, ``tpsl``, in the wire shape of ``protocol.md``
section 5; take-profit / stop-loss orders are in ``tpsl``);
:meth:`ExchangeEngine.drain_private_events` hands them out.

Errors are :class:`SimulatedError` with the real BitUnix codes (``protocol.md`` 7.3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from itertools import pairwise
from typing import Any

from bitunix_trio._core.models import AccountBalance, DataSource, Order, Position

from .account import AccountViews
from .market import DEFAULT_INSTRUMENTS, Instrument, SymbolMarket
from .matching import Account, OrderState, PositionState, SimulatedError
from .rows import balance_model, order_model, position_model
from .trading import Trading
from .views import MarketViews, bad_param, multiple_of, to_decimal

__all__ = ["DEFAULT_INSTRUMENTS", "Account", "ExchangeEngine", "Instrument", "SimulatedError"]

ZERO = Decimal(0)
_WS = DataSource.WEBSOCKET
_REST = DataSource.REST
_EFFECTS = ("GTC", "IOC", "FOK", "POST_ONLY")


class ExchangeEngine(AccountViews, MarketViews):
    """Market, accounts and matching of the simulated BitUnix futures exchange.

    ``instruments`` default to :data:`DEFAULT_INSTRUMENTS` (BTCUSDT, ETHUSDT, SOLUSDT,
    XRPUSDT and a PREVIEW symbol). ``quirks`` makes the ``order`` push use the live
    spellings (``Buy``/``Limit``, ``effect`` ``LONG``/``SHORT``); servers may also read it
    for the REST quirks (status ``NEW_``).
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        instruments: Sequence[Instrument] | None = None,
        start_ms: int = 1_790_000_000_000,
        tick_ms: int = 310,
        quirks: bool = True,
    ) -> None:
        if tick_ms <= 0:
            raise ValueError("tick_ms must be positive")
        self.seed = seed
        self.start_ms = start_ms
        self.tick_ms = tick_ms
        self.quirks = quirks
        insts = DEFAULT_INSTRUMENTS if instruments is None else tuple(instruments)
        self.instruments: dict[str, Instrument] = {i.symbol: i for i in insts}
        self._markets = {i.symbol: SymbolMarket(i, seed, start_ms) for i in insts}
        # unlisted (PREVIEW...) markets stay frozen: nothing can see them
        self._listed = [(s, m) for s, m in self._markets.items() if m.inst.status == "OPEN"]
        self._trading = Trading(self._markets, quirks)
        self._trading.now_ms = start_ms
        self._now_ms = start_ms
        self._ticks = 0
        # A market nobody has looked at waits (``_ran`` counts its ticks) and catches up on
        # its first lookup, so a wide listing costs nothing until a symbol is used.
        self._ran = {s: 0 for s, _ in self._listed}
        self._trading.idle.update(self._ran)
        self._trading.catch_up = self._catch_up
        self._live: list[tuple[str, SymbolMarket]] = []

    # ------------------------------------------------------------------ time
    @property
    def now_ms(self) -> int:
        """The engine's current time in milliseconds."""
        return self._now_ms

    @property
    def ticks(self) -> int:
        """Number of market ticks run so far."""
        return self._ticks

    def advance(self, now_ms: int) -> None:
        """Run the market forward to ``now_ms`` in whole ticks of ``tick_ms``.

        Tick ``n`` happens at ``start_ms + n * tick_ms``; each one moves every market,
        fills the resting orders the market crossed, executes the tick's taker flow, updates
        candles and statistics, and settles funding when due. Time never goes backwards.
        """
        target = (now_ms - self.start_ms) // self.tick_ms
        trading = self._trading
        while self._ticks < target:
            self._ticks += 1
            ts = self.start_ms + self._ticks * self.tick_ms
            trading.now_ms = ts
            for symbol, market in self._live:
                self._step(symbol, market, ts)
        for symbol, _ in self._live:
            self._ran[symbol] = self._ticks
        self._now_ms = max(self._now_ms, now_ms)
        trading.now_ms = self._now_ms

    def _step(self, symbol: str, market: SymbolMarket, ts: int) -> None:
        trading = self._trading
        settled = market.step(ts)
        trading.on_tick(symbol)
        market.close_tick()
        if settled:
            trading.settle_funding(symbol)

    def _catch_up(self, symbol: str) -> None:
        """Run the ticks a waiting market missed, then keep it running with the others."""
        trading = self._trading
        trading.idle.discard(symbol)
        market = self._markets[symbol]
        for k in range(self._ran[symbol] + 1, self._ticks + 1):
            ts = self.start_ms + k * self.tick_ms
            trading.now_ms = ts
            self._step(symbol, market, ts)
        self._ran[symbol] = self._ticks
        trading.now_ms = self._now_ms
        self._live = [(s, m) for s, m in self._listed if s not in trading.idle]

    # ------------------------------------------------------------------ accounts
    def create_account(
        self,
        api_key: str,
        secret_key: str,
        balances: Mapping[str, Decimal] | None = None,
        leverage: int = 10,
    ) -> Account:
        """Create (or replace) an account; USDT 10,000 unless ``balances`` says otherwise."""
        wallet = {"USDT": Decimal("10000")} if balances is None else dict(balances)
        account = Account(api_key, secret_key, {k: Decimal(v) for k, v in wallet.items()})
        account.leverage = leverage
        self._trading.accounts[api_key] = account
        return account

    def account_by_key(self, api_key: str) -> Account | None:
        """The account of ``api_key``, or None (servers read ``secret_key`` from it)."""
        return self._trading.accounts.get(api_key)

    def drain_private_events(self, api_key: str) -> list[tuple[str, dict[str, Any]]]:
        """Return and clear the queued ``(channel, data)`` pushes of ``api_key`` in order."""
        account = self._trading.accounts.get(api_key)
        if account is None:
            return []
        events, account.events = account.events, []
        return events

    # ------------------------------------------------------------------ trading
    def place_order(
        self,
        api_key: str,
        *,
        symbol: str,
        side: str,
        order_type: str,
        qty: Decimal | str,
        price: Decimal | str | None = None,
        client_id: str | None = None,
        reduce_only: bool = False,
        effect: str | None = "GTC",
        trade_side: str | None = None,
        tp_price: Decimal | None = None,
        sl_price: Decimal | None = None,
        tp_stop_type: str | None = None,
        tp_order_type: str | None = None,
        tp_order_price: Decimal | None = None,
        sl_stop_type: str | None = None,
        sl_order_type: str | None = None,
        sl_order_price: Decimal | None = None,
    ) -> Order:
        """Place an order; returns it as it stands after matching.

        Errors: 10003 unknown key, 20015 unknown or unlisted symbol, 10002 bad side, type,
        quantity (not a positive multiple of the lot, below the minimum) or price (missing on
        LIMIT, not a positive multiple of the tick), 10008 bad effect, 30042 duplicate
        client id, 30004 reduce-only without a position to reduce, 20003 insufficient
        balance. ``trade_side="CLOSE"`` means reduce-only (one-way mode).
        """
        trading = self._trading
        account = trading.account(api_key)
        m = trading.market(symbol)
        inst = m.inst
        side_u = str(side).upper()
        if side_u not in ("BUY", "SELL"):
            raise bad_param("side")
        otype = str(order_type).upper()
        if otype not in ("LIMIT", "MARKET"):
            raise bad_param("orderType")
        eff = "GTC" if effect is None else str(effect).upper()
        if eff not in _EFFECTS:
            raise SimulatedError(
                10008,
                f"Parameter {effect} does not match, alternative value "
                '["IOC","FOK","GTC","POST_ONLY"].',
            )
        q = to_decimal(qty, "qty")
        if q <= 0 or not multiple_of(q, inst.lot_size) or q < inst.min_qty:
            raise bad_param("qty")
        p: Decimal | None = None
        if otype == "LIMIT":
            if price is None or price == "":
                raise bad_param("price")
            p = to_decimal(price, "price")
            if p <= 0 or not multiple_of(p, inst.tick_size):
                raise bad_param("price")
        ts_u = None if trade_side is None else str(trade_side).upper()
        if ts_u not in (None, "OPEN", "CLOSE"):
            raise bad_param("tradeSide")
        if client_id is not None and client_id in account.client_ids:
            raise SimulatedError(30042, "Client ID duplicate")
        tpsl = {
            **self.tpsl_leg("tp", tp_price, tp_stop_type, tp_order_type, tp_order_price),
            **self.tpsl_leg("sl", sl_price, sl_stop_type, sl_order_type, sl_order_price),
        }
        order = OrderState(
            order_id=trading.new_order_id(),
            client_id=client_id or None,
            symbol=inst.symbol,
            side=side_u,
            order_type=otype,
            price=p,
            qty=q,
            reduce_only=bool(reduce_only) or ts_u == "CLOSE",
            effect=eff,
            leverage=self._leverage(account, inst.symbol),
            margin_mode=account.margin_modes.get(inst.symbol, account.margin_mode),
            position_mode=account.position_mode,
            ctime=self._now_ms,
            mtime=self._now_ms,
            tpsl={k: v for k, v in tpsl.items() if v is not None},
        )
        trading.place(account, order)
        return order_model(order, None, self._now_ms, _REST)

    def _cancel_one(
        self, account: Account, symbol: str, order_id: str | None, client_id: str | None
    ) -> OrderState | None:
        order = account.find_order(order_id, client_id)
        if order is None or not order.is_open or order.symbol != symbol:
            return None
        self._trading.cancel(account, order)
        return order

    def cancel_orders(
        self,
        api_key: str,
        symbol: str,
        order_ids: Sequence[str] = (),
        client_ids: Sequence[str] = (),
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Cancel orders by id and by client id: ``(successList, failureList)`` (REST rows).

        An order that is unknown, finished or of another symbol is a failure with
        ``errorCode`` ``"20007"``.
        """
        account = self._trading.account(api_key)
        sym = self._trading.market(symbol).inst.symbol
        success: list[dict[str, Any]] = []
        failure: list[dict[str, Any]] = []
        requests = [(oid, None) for oid in order_ids] + [(None, cid) for cid in client_ids]
        for oid, cid in requests:
            order = self._cancel_one(account, sym, oid, cid)
            if order is None:
                failure.append(
                    {
                        "orderId": oid or "",
                        "clientId": cid or "",
                        "errorMsg": "Order not found",
                        "errorCode": "20007",
                    }
                )
            else:
                success.append({"orderId": order.order_id, "clientId": order.client_id or ""})
        return success, failure

    def cancel_all_orders(self, api_key: str, symbol: str | None = None) -> list[Order]:
        """Cancel every open order (of ``symbol``); returns them as they ended."""
        account = self._trading.account(api_key)
        sym = None if symbol is None else self._trading.market(symbol).inst.symbol
        done = []
        for order in list(account.open_orders.values()):
            if sym is None or order.symbol == sym:
                self._trading.cancel(account, order)
                done.append(order_model(order, None, self._now_ms, _REST))
        return done

    def pending_orders(
        self,
        api_key: str,
        symbol: str | None = None,
        order_id: str | None = None,
        client_id: str | None = None,
    ) -> list[Order]:
        """Open orders (NEW, PART_FILLED), newest first, optionally filtered."""
        account = self._trading.account(api_key)
        wanted = _order_filter(account, symbol, order_id, client_id)
        rows = [o for o in account.open_orders.values() if wanted(o)]
        rows.sort(key=lambda o: (o.ctime, o.seq), reverse=True)
        return [order_model(o, None, self._now_ms, _REST) for o in rows]

    def history_orders(
        self,
        api_key: str,
        symbol: str | None = None,
        order_id: str | None = None,
        client_id: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        """Finished orders (filled or cancelled), by creation time, newest first (as the
        exchange lists them), optionally filtered; all of them unless ``limit``."""
        account = self._trading.account(api_key)
        wanted = _order_filter(account, symbol, order_id, client_id)
        rows = [
            o
            for o in account.history
            if wanted(o)
            and (start_ms is None or o.ctime >= start_ms)
            and (end_ms is None or o.ctime <= end_ms)
        ]
        rows.sort(key=lambda o: (o.ctime, o.seq), reverse=True)
        if limit is not None:
            rows = rows[: max(0, limit)]
        return [order_model(o, None, self._now_ms, _REST) for o in rows]

    def order_detail(
        self, api_key: str, order_id: str | None = None, client_id: str | None = None
    ) -> Order:
        """One order (open or finished) by id or client id; SimulatedError 20007 if none."""
        account = self._trading.account(api_key)
        order = account.find_order(order_id, client_id)
        if order is None:
            raise SimulatedError(20007, "Order not found")
        return order_model(order, None, self._now_ms, _REST)

    def _position(self, pos: PositionState, event: str | None, source: Any) -> Position:
        m = self._markets[pos.symbol]
        return position_model(pos, event, m.price(m.mark), self._now_ms, source, m.inst.tick_size)

    def pending_positions(self, api_key: str, symbol: str | None = None) -> list[Position]:
        """Open positions (unrealised P&L at the current mark price)."""
        account = self._trading.account(api_key)
        sym = None if symbol is None else symbol.upper()
        return [
            self._position(p, None, _REST)
            for s, p in account.positions.items()
            if sym is None or s == sym
        ]

    def balance(self, api_key: str, coin: str = "USDT") -> AccountBalance:
        """The balance of ``coin`` (REST ``account`` endpoint and ``balance`` push fields)."""
        account = self._trading.account(api_key)
        unrealized = self._trading.unrealized(account)
        return balance_model(account, coin.upper(), unrealized, self._now_ms, _REST)

    # ------------------------------------------------------------------ admin hooks
    def set_mid_price(self, symbol: str, price: Decimal | str) -> None:
        """Put the best synthetic bid of ``symbol`` at ``price`` now (ask one tick or more
        above); resting orders the new book crosses fill as makers at once."""
        m = self._market(symbol)
        m.move_to(to_decimal(price, "price"))
        book = self._trading.resting[m.inst.symbol]
        if book:
            self._trading.cross(m, book)
        self._trading.tpsl.check(m.inst.symbol)

    def set_book(
        self,
        symbol: str,
        bids: Sequence[tuple[Decimal | str, Decimal | str]],
        asks: Sequence[tuple[Decimal | str, Decimal | str]],
    ) -> None:
        """Replace the synthetic book of ``symbol`` until the next tick.

        ``bids`` descending and ``asks`` ascending ``(price, qty)`` pairs, on the tick and
        lot grid. Resting orders the new book crosses fill at once, as with
        :meth:`set_mid_price`. Meant for hand-computed tests.
        """
        m = self._market(symbol)
        sides = []
        for levels in (bids, asks):
            side = []
            for price, qty in levels:
                p = to_decimal(price, "price")
                q = to_decimal(qty, "qty")
                if p <= 0 or q <= 0 or not multiple_of(p, m.inst.tick_size):
                    raise bad_param("level")
                side.append((m.to_ticks(p), q))
            sides.append(side)
        b, a = sides
        if any(x[0] <= y[0] for x, y in pairwise(b)) or any(x[0] >= y[0] for x, y in pairwise(a)):
            raise bad_param("levels out of order")
        if b and a and b[0][0] >= a[0][0]:
            raise bad_param("crossed book")
        m.set_levels(b, a)
        book = self._trading.resting[m.inst.symbol]
        if book:
            self._trading.cross(m, book)
        self._trading.tpsl.check(m.inst.symbol)

    def _open_order(self, account: Account, order_id: str) -> OrderState:
        order = account.open_orders.get(order_id)
        if order is None:
            raise SimulatedError(20007, "Order not found")
        return order

    def fill_order(
        self,
        api_key: str,
        order_id: str,
        qty: Decimal | None = None,
        price: Decimal | None = None,
    ) -> Order:
        """Force a maker fill of an open order: ``qty`` (default: all that is left) at
        ``price`` (default: its limit price, or the touch for a market order)."""
        account = self._trading.account(api_key)
        order = self._open_order(account, order_id)
        m = self._markets[order.symbol]
        q = order.remaining if qty is None else min(to_decimal(qty, "qty"), order.remaining)
        if price is not None:
            p = to_decimal(price, "price")
        elif order.price is not None:
            p = order.price
        else:
            p = m.price(m.best_ask if order.side == "BUY" else m.best_bid)
        self._trading.fill_maker(order, q, p, None)
        return order_model(order, None, self._now_ms, _REST)

    def cancel_order_by_exchange(self, api_key: str, order_id: str) -> Order:
        """Cancel an open order as the venue does (status SYSTEM_CANCELED)."""
        account = self._trading.account(api_key)
        order = self._open_order(account, order_id)
        self._trading.cancel(account, order, "SYSTEM_CANCELED")
        return order_model(order, None, self._now_ms, _REST)

    def set_position(
        self,
        api_key: str,
        symbol: str,
        side: str,
        qty: Decimal | str,
        entry_price: Decimal | str,
    ) -> Position | None:
        """Replace the position of ``symbol`` (``qty`` 0 closes it); pushes follow.

        ``side`` is LONG/SHORT (or BUY/SELL). Returns the new position, None if closed.
        """
        trading = self._trading
        account = trading.account(api_key)
        m = trading.market(symbol)
        sym = m.inst.symbol
        pside = {"BUY": "LONG", "SELL": "SHORT"}.get(side.upper(), side.upper())
        if pside not in ("LONG", "SHORT"):
            raise bad_param("side")
        q = to_decimal(qty, "qty")
        p = to_decimal(entry_price, "price")
        now = self._now_ms
        old = account.positions.get(sym)
        if q <= 0:
            if old is not None:
                del account.positions[sym]
                old.qty = ZERO
                old.entry_value = ZERO
                old.mtime = now
                trading.emit_position(account, old, "CLOSE")
                trading.tpsl.position_closed(account, old)
                trading.emit_balance(account)
                trading.sweep_reduce_only(account, sym)
            return None
        if old is not None and old.side == pside:
            old.qty, old.entry_value, old.mtime = q, q * p, now
            pos, event = old, "UPDATE"
        else:
            if old is not None:
                del account.positions[sym]
                old.qty = old.entry_value = ZERO
                old.mtime = now
                trading.emit_position(account, old, "CLOSE")
                trading.tpsl.position_closed(account, old)
            pos = PositionState(
                position_id=trading.new_position_id(),
                symbol=sym,
                side=pside,
                qty=q,
                entry_value=q * p,
                leverage=self._leverage(account, sym),
                margin_mode=account.margin_modes.get(sym, account.margin_mode),
                ctime=now,
                mtime=now,
            )
            account.positions[sym] = pos
            event = "OPEN"
        trading.emit_position(account, pos, event)
        trading.emit_balance(account)
        trading.sweep_reduce_only(account, sym)
        return self._position(pos, None, _REST)

    def credit(self, api_key: str, coin: str, amount: Decimal | str) -> AccountBalance:
        """Add ``amount`` of ``coin`` (negative removes); a ``balance`` push follows."""
        account = self._trading.account(api_key)
        c = coin.upper()
        account.wallet[c] = account.wallet.get(c, ZERO) + to_decimal(amount, "amount")
        self._trading.emit_balance(account, c)
        return self.balance(api_key, c)


def _order_filter(
    account: Account, symbol: str | None, order_id: str | None, client_id: str | None
) -> Callable[[OrderState], bool]:
    """Whether an order is on ``symbol`` (any case) and is ``order_id`` (or the order of
    ``client_id`` when no id is given); ``None`` matches anything."""
    sym = None if symbol is None else symbol.upper()
    if client_id is not None and order_id is None:
        order_id = account.client_ids.get(client_id, "\0")

    def wanted(order: OrderState) -> bool:
        return (sym is None or order.symbol == sym) and (
            order_id is None or order.order_id == order_id
        )

    return wanted
