"""Account settings, histories, position tools and TP/SL of the simulated exchange engine
(a base class of ``ExchangeEngine``; sans-I/O).

Answers are REST ``data`` rows (dicts in the wire shape, numbers as strings) or the
library's value types, as the other engine views. Errors are :class:`SimulatedError` with
the exchange's codes: 20005 invalid leverage, 20006 open orders (or a position) prevent a
leverage / margin-mode change, 20009 positions prevent a position-mode change, 30004 no
such position, 20007 no such order, 10002 bad parameters.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bitunix_trio._core.models import DataSource, Order

from .market import Instrument, SymbolMarket, clean
from .matching import Account, OrderState, PositionState, SimulatedError
from .rows import money, order_model
from .tpsl import TpslState, parse_stop_type, parse_tpsl_order_type, tpsl_rest_row
from .trading import Trading

__all__ = ["AccountViews"]

ZERO = Decimal(0)
_REST = DataSource.REST
_MARGIN_MODES = {"ISOLATION": "ISOLATION", "ISOLATED": "ISOLATION", "CROSS": "CROSS"}


def _bad(what: str) -> SimulatedError:
    return SimulatedError(10002, f"Parameter {what} is invalid")


def _positive(value: Decimal | None, what: str) -> Decimal | None:
    if value is not None and value <= 0:
        raise _bad(what)
    return value


def _num(value: Decimal) -> str:
    return str(money(value))


#: A leg's (price, stop type, order type, order price) as given.
_LegArgs = tuple[Decimal | None, object, object, Decimal | None]


def _window(ctime: int, start_ms: int | None, end_ms: int | None) -> bool:
    return (start_ms is None or ctime >= start_ms) and (end_ms is None or ctime <= end_ms)


class AccountViews:
    """Account-level calls; ``ExchangeEngine`` provides the state they use."""

    instruments: dict[str, Instrument]
    _markets: dict[str, SymbolMarket]
    _trading: Trading
    _now_ms: int

    # ------------------------------------------------------------------ helpers
    def _leverage(self, account: Account, symbol: str) -> int:
        inst = self._markets[symbol].inst
        return account.leverages.get(symbol, min(account.leverage, inst.max_leverage))

    def tpsl_leg(
        self,
        leg: str,
        price: Decimal | None,
        stop_type: object,
        order_type: object,
        order_price: Decimal | None,
    ) -> dict[str, Any]:
        """Checked ``{leg}_*`` fields of a take-profit or stop-loss (empty without a price)."""
        try:
            stop = parse_stop_type(stop_type)
        except ValueError:
            raise SimulatedError(
                10008,
                f"Parameter {stop_type} does not match, alternative value "
                '["MARK_PRICE","LAST_PRICE"].',
            ) from None
        try:
            otype = parse_tpsl_order_type(order_type)
        except ValueError:
            raise SimulatedError(
                10008,
                f'Parameter {order_type} does not match, alternative value ["LIMIT","MARKET"].',
            ) from None
        if price is None:
            return {}
        _positive(price, f"{leg}Price")
        _positive(order_price, f"{leg}OrderPrice")
        otype = otype or "MARKET"
        if otype == "LIMIT" and order_price is None:
            raise SimulatedError(10002, f"Parameter {leg}OrderPrice is required")
        out: dict[str, Any] = {
            f"{leg}_price": price,
            f"{leg}_stop_type": stop or "LAST_PRICE",
            f"{leg}_order_type": otype,
        }
        if otype == "LIMIT":
            out[f"{leg}_order_price"] = order_price
        return out

    def _legs(self, tp: _LegArgs, sl: _LegArgs) -> dict[str, Any]:
        """Checked fields of both legs (10002 when neither has a price)."""
        fields = {**self.tpsl_leg("tp", *tp), **self.tpsl_leg("sl", *sl)}
        if not fields:
            raise SimulatedError(10002, "Parameter tpPrice or slPrice is required")
        return fields

    def _account_position(
        self, api_key: str, symbol: str | None, position_id: str | None
    ) -> tuple[Account, PositionState]:
        account = self._trading.account(api_key)
        for pos in account.positions.values():
            if (symbol is None or pos.symbol == symbol.upper()) and (
                position_id is None or pos.position_id == str(position_id)
            ):
                return account, pos
        raise SimulatedError(30004, "position not exist")

    def _open_tpsl(self, account: Account, order_id: str) -> TpslState:
        t = self._trading.tpsl.find(account, str(order_id))
        if t is None:
            raise SimulatedError(20007, "Order not found")
        return t

    # ------------------------------------------------------------------ tp/sl
    def place_tpsl(
        self,
        api_key: str,
        symbol: str,
        position_id: str,
        *,
        tp_price: Decimal | None = None,
        tp_stop_type: object = None,
        tp_order_type: object = None,
        tp_order_price: Decimal | None = None,
        tp_qty: Decimal | None = None,
        sl_price: Decimal | None = None,
        sl_stop_type: object = None,
        sl_order_type: object = None,
        sl_order_price: Decimal | None = None,
        sl_qty: Decimal | None = None,
    ) -> TpslState:
        """A TPSL order on a position (``tp_qty``/``sl_qty`` default to the position's)."""
        self._trading.market(symbol)
        account, pos = self._account_position(api_key, symbol, position_id)
        fields = self._legs(
            (tp_price, tp_stop_type, tp_order_type, tp_order_price),
            (sl_price, sl_stop_type, sl_order_type, sl_order_price),
        )
        if "tp_price" in fields:
            fields["tp_qty"] = _positive(tp_qty, "tpQty") or pos.qty
        if "sl_price" in fields:
            fields["sl_qty"] = _positive(sl_qty, "slQty") or pos.qty
        return self._trading.tpsl.create(account, pos, "TPSL", fields)

    def place_position_tpsl(
        self,
        api_key: str,
        symbol: str,
        position_id: str,
        *,
        tp_price: Decimal | None = None,
        tp_stop_type: object = None,
        sl_price: Decimal | None = None,
        sl_stop_type: object = None,
    ) -> TpslState:
        """The POSITION_TPSL order of a position (closes all of it, MARKET); 10002 if the
        position has one already (modify it instead)."""
        self._trading.market(symbol)
        account, pos = self._account_position(api_key, symbol, position_id)
        if self._trading.tpsl.position_tpsl(pos) is not None:
            raise SimulatedError(10002, "position tp/sl already exists")
        fields = self._legs(
            (tp_price, tp_stop_type, None, None), (sl_price, sl_stop_type, None, None)
        )
        return self._trading.tpsl.create(account, pos, "POSITION_TPSL", fields)

    def modify_position_tpsl(
        self,
        api_key: str,
        symbol: str,
        position_id: str,
        *,
        tp_price: Decimal | None = None,
        tp_stop_type: object = None,
        sl_price: Decimal | None = None,
        sl_stop_type: object = None,
    ) -> TpslState:
        """Replace the prices of a position's POSITION_TPSL order (20007 if it has none)."""
        self._trading.market(symbol)
        account, pos = self._account_position(api_key, symbol, position_id)
        t = self._trading.tpsl.position_tpsl(pos)
        if t is None:
            raise SimulatedError(20007, "Order not found")
        fields = self._legs(
            (tp_price, tp_stop_type, None, None), (sl_price, sl_stop_type, None, None)
        )
        t.tp_price = t.sl_price = None
        self._trading.tpsl.modify(account, t, fields)
        return t

    def modify_tpsl(
        self,
        api_key: str,
        order_id: str,
        *,
        tp_price: Decimal | None = None,
        tp_stop_type: object = None,
        tp_order_type: object = None,
        tp_order_price: Decimal | None = None,
        tp_qty: Decimal | None = None,
        sl_price: Decimal | None = None,
        sl_stop_type: object = None,
        sl_order_type: object = None,
        sl_order_price: Decimal | None = None,
        sl_qty: Decimal | None = None,
    ) -> TpslState:
        """Change an open tpsl order: the legs given replace the old ones."""
        account = self._trading.account(api_key)
        t = self._open_tpsl(account, order_id)
        fields = self._legs(
            (tp_price, tp_stop_type, tp_order_type, tp_order_price),
            (sl_price, sl_stop_type, sl_order_type, sl_order_price),
        )
        pos = account.positions.get(t.symbol)
        whole = ZERO if pos is None else pos.qty
        if "tp_price" in fields:
            t.tp_order_price = None
            fields["tp_qty"] = _positive(tp_qty, "tpQty") or t.tp_qty or whole
        if "sl_price" in fields:
            t.sl_order_price = None
            fields["sl_qty"] = _positive(sl_qty, "slQty") or t.sl_qty or whole
        self._trading.tpsl.modify(account, t, fields)
        return t

    def cancel_tpsl(self, api_key: str, symbol: str | None, order_id: str) -> TpslState:
        """Cancel an open tpsl order (status CANCELED)."""
        account = self._trading.account(api_key)
        t = self._open_tpsl(account, order_id)
        if symbol is not None and t.symbol != symbol.upper():
            raise SimulatedError(20007, "Order not found")
        self._trading.tpsl.end(account, t, "CANCELED")
        return t

    def pending_tpsl(
        self, api_key: str, symbol: str | None = None, position_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Open tpsl orders as ``tpsl/get_pending_orders`` rows, newest first."""
        return self._tpsl_rows(api_key, symbol, position_id, None, None, history=False)

    def history_tpsl(
        self,
        api_key: str,
        symbol: str | None = None,
        position_id: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[dict[str, Any]]:
        """Finished tpsl orders as ``tpsl/get_history_orders`` rows, newest first."""
        return self._tpsl_rows(api_key, symbol, position_id, start_ms, end_ms, history=True)

    def _tpsl_rows(
        self,
        api_key: str,
        symbol: str | None,
        position_id: str | None,
        start_ms: int | None,
        end_ms: int | None,
        *,
        history: bool,
    ) -> list[dict[str, Any]]:
        account = self._trading.account(api_key)
        out = []
        for t in self._trading.tpsl.of_account(account, history=history):
            if symbol is not None and t.symbol != symbol.upper():
                continue
            if position_id is not None and t.position_id != str(position_id):
                continue
            if not _window(t.ctime, start_ms, end_ms):
                continue
            inst = self._markets[t.symbol].inst
            out.append(tpsl_rest_row(t, history=history, base=inst.base, quote=inst.quote))
        return out

    # ------------------------------------------------------------------ histories
    def history_positions(
        self,
        api_key: str,
        symbol: str | None = None,
        position_id: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[dict[str, Any]]:
        """Closed positions as ``get_history_positions`` rows, newest first."""
        account = self._trading.account(api_key)
        rows = []
        for pos in reversed(account.closed_positions):
            if symbol is not None and pos.symbol != symbol.upper():
                continue
            if position_id is not None and pos.position_id != str(position_id):
                continue
            if not _window(pos.ctime, start_ms, end_ms):
                continue
            entry = pos.opened_value / pos.opened_qty if pos.opened_qty else ZERO
            close = pos.closed_value / pos.closed_qty if pos.closed_qty else ZERO
            tick = self._markets[pos.symbol].inst.tick_size
            rows.append(
                {
                    "positionId": pos.position_id,
                    "symbol": pos.symbol,
                    "marginCoin": "USDT",
                    "maxQty": str(clean(pos.max_qty)),
                    "qty": str(clean(pos.closed_qty)),
                    "entryPrice": _num(entry),
                    "closePrice": _num(close),
                    "liqQty": "0",
                    "side": pos.side,
                    "marginMode": pos.margin_mode,
                    "positionMode": "ONE_WAY",
                    "leverage": str(pos.leverage),
                    "fee": _num(pos.fee),
                    "funding": _num(pos.funding),
                    "realizedPNL": _num(pos.realized_pnl),
                    "margin": "0",
                    "liqPrice": str(clean(ZERO.quantize(tick))),
                    "ctime": str(pos.ctime),
                    "mtime": str(pos.mtime),
                }
            )
        return rows

    def history_trades(
        self,
        api_key: str,
        symbol: str | None = None,
        order_id: str | None = None,
        position_id: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[dict[str, Any]]:
        """The account's fills as ``get_history_trades`` rows, newest first."""
        account = self._trading.account(api_key)
        rows = []
        for trade in reversed(account.trades):
            if symbol is not None and trade["symbol"] != symbol.upper():
                continue
            if order_id is not None and trade["orderId"] != str(order_id):
                continue
            if position_id is not None and trade["positionId"] != str(position_id):
                continue
            if not _window(trade["ctime"], start_ms, end_ms):
                continue
            row = dict(trade)
            for key in ("qty", "price"):
                row[key] = str(clean(trade[key]))
            for key in ("fee", "realizedPNL"):
                row[key] = _num(trade[key])
            row["leverage"] = str(trade["leverage"])
            row["ctime"] = str(trade["ctime"])
            row["marginCoin"] = "USDT"
            row["status"] = "FILLED"
            rows.append(row)
        return rows

    # ------------------------------------------------------------------ orders
    def modify_order(
        self,
        api_key: str,
        order_id: str | None,
        client_id: str | None,
        *,
        qty: Decimal | None = None,
        price: Decimal | None = None,
        tpsl: dict[str, Any] | None = None,
    ) -> Order:
        """Change an open order's quantity (not below what filled), limit price and tp/sl;
        an ``order`` UPDATE push follows and the book may fill it at once."""
        trading = self._trading
        account = trading.account(api_key)
        order = account.find_order(order_id, client_id)
        if order is None or not order.is_open:
            raise SimulatedError(20007, "Order not found")
        inst = self._markets[order.symbol].inst
        if qty is not None and (
            qty <= order.filled or qty % inst.lot_size != 0 or qty < inst.min_qty
        ):
            raise _bad("qty")
        if price is not None and (
            order.order_type != "LIMIT" or price <= 0 or price % inst.tick_size != 0
        ):
            raise _bad("price")
        if qty is not None:
            order.open_qty = max(ZERO, order.open_qty + qty - order.qty)
            order.qty = qty
        if price is not None:
            order.price = price
        if tpsl:
            order.tpsl.update(tpsl)
        order.mtime = self._now_ms
        trading.emit_order(account, order, "UPDATE")
        trading.emit_balance(account)
        book = trading.resting[order.symbol]
        if order in book:
            trading.cross(self._markets[order.symbol], book)
        return order_model(order, None, self._now_ms, _REST)

    def _close_position(self, account: Account, pos: PositionState) -> None:
        order = OrderState(
            order_id=self._trading.new_order_id(),
            client_id=None,
            symbol=pos.symbol,
            side="SELL" if pos.side == "LONG" else "BUY",
            order_type="MARKET",
            price=None,
            qty=pos.qty,
            reduce_only=True,
            effect="IOC",
            leverage=pos.leverage,
            margin_mode=pos.margin_mode,
            position_mode="ONE_WAY",
            ctime=self._now_ms,
            mtime=self._now_ms,
        )
        self._trading.place(account, order)

    def close_all_positions(self, api_key: str, symbol: str | None = None) -> None:
        """Close every position (of ``symbol``) at market."""
        account = self._trading.account(api_key)
        sym = None if symbol is None else self._trading.market(symbol).inst.symbol
        for pos in list(account.positions.values()):
            if sym is None or pos.symbol == sym:
                self._close_position(account, pos)

    def flash_close_position(self, api_key: str, position_id: str) -> None:
        """Close one position at market (30004 if there is no such position)."""
        account, pos = self._account_position(api_key, None, position_id)
        self._close_position(account, pos)

    # ------------------------------------------------------------------ settings
    def leverage_margin_mode(self, api_key: str, symbol: str, coin: str = "USDT") -> dict[str, Any]:
        """``get_leverage_margin_mode`` data: the leverage and margin mode of ``symbol``."""
        account = self._trading.account(api_key)
        sym = self._trading.market(symbol).inst.symbol
        return {
            "symbol": sym,
            "marginCoin": coin.upper(),
            "leverage": self._leverage(account, sym),
            "marginMode": account.margin_modes.get(sym, account.margin_mode),
        }

    def change_leverage(
        self, api_key: str, symbol: str, leverage: int, coin: str = "USDT"
    ) -> dict[str, Any]:
        """Set the leverage of ``symbol`` (1 to its maximum: 20005 otherwise; 20006 with
        open orders). An open position takes it at once."""
        trading = self._trading
        account = trading.account(api_key)
        m = trading.market(symbol)
        sym = m.inst.symbol
        if isinstance(leverage, bool) or not 1 <= leverage <= m.inst.max_leverage:
            raise SimulatedError(20005, "Invalid leverage")
        if any(o.symbol == sym for o in account.open_orders.values()):
            raise SimulatedError(20006, "Cannot change leverage with open orders")
        account.leverages[sym] = leverage
        pos = account.positions.get(sym)
        if pos is not None:
            pos.leverage = leverage
            pos.mtime = self._now_ms
            trading.emit_position(account, pos, "UPDATE")
            trading.emit_balance(account)
        return {"symbol": sym, "marginCoin": coin.upper(), "leverage": leverage}

    def change_margin_mode(
        self, api_key: str, symbol: str, margin_mode: str, coin: str = "USDT"
    ) -> dict[str, Any]:
        """Set the margin mode of ``symbol`` (ISOLATION or CROSS; 20006 with open orders or a
        position)."""
        trading = self._trading
        account = trading.account(api_key)
        sym = trading.market(symbol).inst.symbol
        mode = _MARGIN_MODES.get(str(margin_mode).upper())
        if mode is None:
            raise SimulatedError(
                10008,
                f'Parameter {margin_mode} does not match, alternative value ["ISOLATION","CROSS"].',
            )
        if sym in account.positions or any(o.symbol == sym for o in account.open_orders.values()):
            raise SimulatedError(20006, "Cannot change margin mode with open orders or positions")
        account.margin_modes[sym] = mode
        return {"symbol": sym, "marginCoin": coin.upper(), "marginMode": mode}

    def change_position_mode(self, api_key: str, position_mode: str) -> dict[str, Any]:
        """Set the position mode. Only ONE_WAY is simulated: HEDGE answers 10002; 20009 while
        positions or open orders exist."""
        account = self._trading.account(api_key)
        mode = str(position_mode).upper()
        if mode not in ("ONE_WAY", "HEDGE"):
            raise SimulatedError(
                10008,
                f'Parameter {position_mode} does not match, alternative value ["ONE_WAY","HEDGE"].',
            )
        if account.positions or account.open_orders:
            raise SimulatedError(20009, "Position exists, cannot change position mode")
        if mode == "HEDGE":
            raise SimulatedError(10002, "HEDGE position mode is not simulated")
        account.position_mode = mode
        return {"positionMode": mode}

    def adjust_position_margin(
        self,
        api_key: str,
        symbol: str,
        amount: Decimal,
        position_id: str | None = None,
    ) -> None:
        """Add (or, negative, remove) margin of a position; 20003 if the account lacks it."""
        trading = self._trading
        trading.market(symbol)
        account, pos = self._account_position(api_key, symbol, position_id)
        if amount == 0 or (amount < 0 and -amount > pos.extra_margin):
            raise _bad("amount")
        if amount > account.available():
            raise SimulatedError(20003, "Insufficient balance")
        pos.extra_margin += amount
        pos.mtime = self._now_ms
        trading.emit_position(account, pos, "UPDATE")
        trading.emit_balance(account)

    def position_tiers(self, symbol: str) -> list[dict[str, Any]]:
        """``get_position_tiers`` rows: notional brackets with their maximum leverage and
        maintenance margin rate (maximum leverage halves from tier to tier)."""
        m = self._trading.market(symbol)
        inst = m.inst
        rows = []
        start = ZERO
        leverage = inst.max_leverage
        step = (inst.price * 50).quantize(Decimal(1))
        for level in range(1, 6):
            end = start + step * (2 ** (level - 1))
            rows.append(
                {
                    "symbol": inst.symbol,
                    "level": level,
                    "startValue": str(start),
                    "endValue": str(end),
                    "leverage": leverage,
                    "maintenanceMarginRate": str(
                        (Decimal(1) / (2 * Decimal(leverage))).quantize(Decimal("0.0001"))
                    ),
                }
            )
            start = end
            leverage = max(1, leverage // 2)
        return rows
