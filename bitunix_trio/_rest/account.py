"""REST calls on account settings, positions, order changes and TP/SL orders.

A base class of :class:`~bitunix_trio.BitunixRestClient` (its methods are documented there
as the client's own): histories, modify and batch orders, closing positions, leverage and
margin settings, position tiers and the ``tpsl/*`` endpoints. Arguments are checked before
anything is sent (:class:`ConfigurationError`), as in ``_rest.args``.

Repeats: reads, cancels and the setting changes (leverage, margin mode, position mode; the
same value twice is harmless) are retried like a GET; calls that would act twice if
repeated (modify, batch, closing positions, adding margin, placing or modifying tp/sl) are
sent once, and an unknown outcome is raised for the caller to check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from bitunix_trio._core.errors import ConfigurationError
from bitunix_trio._core.models import DataSource, MarginMode, PositionMode, TpSlOrder
from bitunix_trio._core.rest_wire import parse_rest_tpsl

from .args import (
    _tpsl_fields,
    check_client_id,
    check_int,
    check_order_id,
    check_symbol,
    decimal_text,
    enum_arg,
    place_order_body,
    stop_type,
    time_ms,
)
from .results import (
    AccountTrade,
    BatchOrderResult,
    HistoricalPosition,
    LeverageMarginMode,
    PositionTier,
    list_rows,
    page_total,
    parse_account_trade,
    parse_batch_result,
    parse_historical_position,
    parse_leverage_margin_mode,
    parse_order_ids,
    parse_position_tier,
)
from .session import RestSession

__all__ = ["AccountCalls"]

_T = TypeVar("_T")
_TRADE = "/api/v1/futures/trade"
_POSITION = "/api/v1/futures/position"
_ACCOUNT = "/api/v1/futures/account"
_TPSL = "/api/v1/futures/tpsl"
_PAGE = 100
_Leg = tuple[object, object, object, object, object]

#: The keyword arguments an order of ``place_batch_orders`` may carry.
_BATCH_KEYS = frozenset(
    {
        "side",
        "order_type",
        "qty",
        "price",
        "client_id",
        "reduce_only",
        "time_in_force",
        "trade_side",
        "position_id",
        "tp_price",
        "tp_stop_type",
        "tp_order_type",
        "tp_order_price",
        "sl_price",
        "sl_stop_type",
        "sl_order_type",
        "sl_order_price",
    }
)


def _opt(check: Callable[..., _T], value: object, *args: Any) -> _T | None:
    return None if value is None else check(value, *args)


def _position_legs(
    tp_price: object, tp_stop_type: object, sl_price: object, sl_stop_type: object
) -> dict[str, object]:
    body: dict[str, object] = {}
    for leg, price, stop in (("tp", tp_price, tp_stop_type), ("sl", sl_price, sl_stop_type)):
        if price is None:
            if stop is not None:
                raise ConfigurationError(f"{leg}_price is required with {leg}_stop_type")
            continue
        body[f"{leg}Price"] = decimal_text(f"{leg}_price", price)
        if stop is not None:
            body[f"{leg}StopType"] = stop_type(f"{leg}_stop_type", stop).value
    if not body:
        raise ConfigurationError("give tp_price and/or sl_price")
    return body


def _tpsl_legs(tp: _Leg, sl: _Leg) -> dict[str, object]:
    """The fields of a tpsl order's legs, each ``(price, stop type, order type, order
    price, qty)``; at least one leg has a price."""
    body = {**_tpsl_fields("tp", tp[:4]), **_tpsl_fields("sl", sl[:4])}
    if "tpPrice" not in body and "slPrice" not in body:
        raise ConfigurationError("give tp_price and/or sl_price")
    for leg, spec in (("tp", tp), ("sl", sl)):
        if spec[4] is not None:
            body[f"{leg}Qty"] = decimal_text(f"{leg}_qty", spec[4])
    return body


class AccountCalls:
    """The account, position and TP/SL calls of the REST client."""

    _session: RestSession

    async def _get(self, path: str, params: dict[str, object], *, signed: bool) -> Any:
        return await self._session.call("GET", path, params=params, signed=signed)

    async def _post(
        self, path: str, body: Mapping[str, object], *, idempotent: bool, cancel: bool = False
    ) -> Any:
        return await self._session.call(
            "POST", path, body=body, signed=True, idempotent=idempotent, cancel=cancel
        )

    async def _post_for_id(
        self, path: str, body: Mapping[str, object], *, idempotent: bool, cancel: bool = False
    ) -> str:
        """POST ``body``; the one order id of the reply."""
        data = await self._post(path, body, idempotent=idempotent, cancel=cancel)
        return self._session.parse(path, parse_order_ids, data)[0]

    async def _paged(
        self, path: str, params: dict[str, object], key: str, max_rows: int
    ) -> list[Any]:
        """Rows of a ``skip``/``limit`` listing under ``key``, up to ``max_rows``."""
        rows: list[Any] = []
        while len(rows) < max_rows:
            page = min(_PAGE, max_rows - len(rows))
            data = await self._get(path, {**params, "skip": len(rows), "limit": page}, signed=True)
            got = self._session.parse(path, list_rows, data, key)
            total = self._session.parse(path, page_total, data)
            rows.extend(got)
            if len(got) < page or (total is not None and len(rows) >= total):
                break
        return rows[:max_rows]

    # ------------------------------------------------------------------ histories

    async def get_history_positions(
        self,
        symbol: str | None = None,
        *,
        position_id: str | None = None,
        start_time: object = None,
        end_time: object = None,
        limit: int = 100,
    ) -> list[HistoricalPosition]:
        """Closed positions (of ``symbol``), newest first, at most ``limit`` of them;
        ``start_time``/``end_time`` (ms or aware datetimes) bound their opening time."""
        params: dict[str, object] = {
            "symbol": _opt(check_symbol, symbol),
            "positionId": _opt(check_order_id, position_id, "position_id"),
            "startTime": time_ms("start_time", start_time),
            "endTime": time_ms("end_time", end_time),
        }
        path = f"{_POSITION}/get_history_positions"
        rows = await self._paged(path, params, "positionList", check_int("limit", limit, low=1))
        return [self._session.parse(path, parse_historical_position, row) for row in rows]

    async def get_history_trades(
        self,
        symbol: str | None = None,
        *,
        order_id: str | None = None,
        position_id: str | None = None,
        start_time: object = None,
        end_time: object = None,
        limit: int = 100,
    ) -> list[AccountTrade]:
        """The account's fills (of ``symbol``, an order or a position), newest first, at
        most ``limit`` of them."""
        params: dict[str, object] = {
            "symbol": _opt(check_symbol, symbol),
            "orderId": _opt(check_order_id, order_id),
            "positionId": _opt(check_order_id, position_id, "position_id"),
            "startTime": time_ms("start_time", start_time),
            "endTime": time_ms("end_time", end_time),
        }
        path = f"{_TRADE}/get_history_trades"
        rows = await self._paged(path, params, "tradeList", check_int("limit", limit, low=1))
        return [self._session.parse(path, parse_account_trade, row) for row in rows]

    async def get_position_tiers(self, symbol: str) -> list[PositionTier]:
        """The risk-limit tiers of ``symbol``, lowest first."""
        path = f"{_POSITION}/get_position_tiers"
        data = await self._get(path, {"symbol": check_symbol(symbol)}, signed=True)
        tiers = [
            self._session.parse(path, parse_position_tier, row)
            for row in self._session.parse(path, list_rows, data, "list")
        ]
        return sorted(tiers, key=lambda tier: tier.level)

    # ------------------------------------------------------------------ orders

    async def modify_order(
        self,
        order_id: str | None = None,
        client_id: str | None = None,
        *,
        qty: object = None,
        price: object = None,
        tp_price: object = None,
        tp_stop_type: object = None,
        tp_order_type: object = None,
        tp_order_price: object = None,
        sl_price: object = None,
        sl_stop_type: object = None,
        sl_order_type: object = None,
        sl_order_price: object = None,
    ) -> str:
        """Change an open order (by exchange id or client id: give exactly one): its
        quantity, limit price and/or take-profit / stop-loss. Returns the order id. Sent
        once (not retried); the ``orders`` channel shows the change."""
        if (order_id is None) == (client_id is None):
            raise ConfigurationError("give exactly one of order_id and client_id")
        body: dict[str, object] = {}
        if order_id is not None:
            body["orderId"] = check_order_id(order_id)
        else:
            body["clientId"] = check_client_id(client_id)
        if qty is not None:
            body["qty"] = decimal_text("qty", qty)
        if price is not None:
            body["price"] = decimal_text("price", price)
        body.update(_tpsl_fields("tp", (tp_price, tp_stop_type, tp_order_type, tp_order_price)))
        body.update(_tpsl_fields("sl", (sl_price, sl_stop_type, sl_order_type, sl_order_price)))
        if len(body) == 1:
            raise ConfigurationError("modify_order needs something to change")
        return await self._post_for_id(f"{_TRADE}/modify_order", body, idempotent=False)

    async def place_batch_orders(
        self, symbol: str, orders: Iterable[Mapping[str, object]]
    ) -> BatchOrderResult:
        """Place several orders of ``symbol`` in one request. Each order is a mapping of
        :meth:`place_order`'s keyword arguments (``side``, ``order_type``, ``qty``,
        ``price``, ``client_id``, ``time_in_force``, ``tp_price``...); a client id is
        generated for each order without one. Sent once (not retried): after an unknown
        outcome, look the client ids up."""
        symbol = check_symbol(symbol)
        order_list: list[dict[str, object]] = []
        for spec in orders:
            if not isinstance(spec, Mapping):
                raise ConfigurationError(f"each order must be a mapping, got {spec!r}")
            unknown = set(spec) - _BATCH_KEYS
            if unknown:
                raise ConfigurationError(f"unknown order fields: {sorted(unknown)}")
            if "side" not in spec or "order_type" not in spec or "qty" not in spec:
                raise ConfigurationError("each order needs side, order_type and qty")
            body = place_order_body(
                symbol,
                spec["side"],
                spec["order_type"],
                spec["qty"],
                spec.get("price"),
                reduce_only=spec.get("reduce_only", False),
                time_in_force=spec.get("time_in_force"),
                trade_side=spec.get("trade_side"),
                position_id=spec.get("position_id"),
                tp=tuple(spec.get(f"tp_{k}") for k in _LEG_KEYS),  # type: ignore[arg-type]
                sl=tuple(spec.get(f"sl_{k}") for k in _LEG_KEYS),  # type: ignore[arg-type]
            )
            client_id = spec.get("client_id")
            body["clientId"] = check_client_id(
                self._session.new_client_id() if client_id is None else client_id
            )
            del body["symbol"]
            order_list.append(body)
        if not order_list:
            raise ConfigurationError("place_batch_orders needs at least one order")
        path = f"{_TRADE}/batch_order"
        data = await self._post(path, {"symbol": symbol, "orderList": order_list}, idempotent=False)
        return self._session.parse(path, parse_batch_result, data, symbol)

    # ------------------------------------------------------------------ positions

    async def close_all_positions(self, symbol: str | None = None) -> None:
        """Close every position (of ``symbol``) at market. Sent once (not retried)."""
        body: dict[str, object] = {} if symbol is None else {"symbol": check_symbol(symbol)}
        await self._post(f"{_TRADE}/close_all_position", body, idempotent=False)

    async def flash_close_position(self, position_id: str) -> None:
        """Close one position at market at once. Sent once (not retried)."""
        body = {"positionId": check_order_id(position_id, "position_id")}
        await self._post(f"{_TRADE}/flash_close_position", body, idempotent=False)

    async def adjust_position_margin(
        self,
        symbol: str,
        amount: object,
        *,
        margin_coin: str = "USDT",
        position_id: str | None = None,
    ) -> None:
        """Add ``amount`` of margin to the position of ``symbol`` (a negative amount
        removes margin). Sent once (not retried)."""
        body: dict[str, object] = {
            "symbol": check_symbol(symbol),
            "marginCoin": check_symbol(margin_coin, "margin_coin"),
            "amount": decimal_text("amount", amount, positive=False),
        }
        if position_id is not None:
            body["positionId"] = check_order_id(position_id, "position_id")
        await self._post(f"{_ACCOUNT}/adjust_position_margin", body, idempotent=False)

    # ------------------------------------------------------------------ settings

    async def get_leverage_margin_mode(
        self, symbol: str, margin_coin: str = "USDT"
    ) -> LeverageMarginMode:
        """The account's leverage and margin mode on ``symbol``."""
        path = f"{_ACCOUNT}/get_leverage_margin_mode"
        params: dict[str, object] = {
            "symbol": check_symbol(symbol),
            "marginCoin": check_symbol(margin_coin, "margin_coin"),
        }
        data = await self._get(path, params, signed=True)
        return self._session.parse(path, parse_leverage_margin_mode, data)

    async def change_leverage(self, symbol: str, leverage: int, margin_coin: str = "USDT") -> None:
        """Set the leverage of ``symbol`` (refused with open orders: code 20006; out of
        range: 20005)."""
        body: dict[str, object] = {
            "symbol": check_symbol(symbol),
            "marginCoin": check_symbol(margin_coin, "margin_coin"),
            "leverage": check_int("leverage", leverage, low=1),
        }
        await self._post(f"{_ACCOUNT}/change_leverage", body, idempotent=True)

    async def change_margin_mode(
        self, symbol: str, margin_mode: MarginMode | str, margin_coin: str = "USDT"
    ) -> None:
        """Set the margin mode of ``symbol`` (ISOLATION or CROSS; refused with open orders
        or a position: code 20006)."""
        body: dict[str, object] = {
            "symbol": check_symbol(symbol),
            "marginCoin": check_symbol(margin_coin, "margin_coin"),
            "marginMode": enum_arg("margin_mode", margin_mode, MarginMode).value,
        }
        await self._post(f"{_ACCOUNT}/change_margin_mode", body, idempotent=True)

    async def change_position_mode(self, position_mode: PositionMode | str) -> None:
        """Set the account's position mode (ONE_WAY or HEDGE; refused while positions or
        orders exist: code 20009)."""
        body = {"positionMode": enum_arg("position_mode", position_mode, PositionMode).value}
        await self._post(f"{_ACCOUNT}/change_position_mode", body, idempotent=True)

    # ------------------------------------------------------------------ tp/sl

    async def place_tpsl_order(
        self,
        symbol: str,
        position_id: str,
        *,
        tp_price: object = None,
        tp_stop_type: object = None,
        tp_order_type: object = None,
        tp_order_price: object = None,
        tp_qty: object = None,
        sl_price: object = None,
        sl_stop_type: object = None,
        sl_order_type: object = None,
        sl_order_price: object = None,
        sl_qty: object = None,
    ) -> tuple[str, ...]:
        """Place a take-profit and/or stop-loss on (part of) a position: trigger price,
        stop type (MARK_PRICE or LAST_PRICE), order type (MARKET, or LIMIT with its order
        price) and quantity (default: the whole position). Returns the tpsl order ids; the
        ``tpsl`` channel pushes them. Sent once (not retried)."""
        body: dict[str, object] = {
            "symbol": check_symbol(symbol),
            "positionId": check_order_id(position_id, "position_id"),
            **_tpsl_legs(
                (tp_price, tp_stop_type, tp_order_type, tp_order_price, tp_qty),
                (sl_price, sl_stop_type, sl_order_type, sl_order_price, sl_qty),
            ),
        }
        path = f"{_TPSL}/place_order"
        data = await self._post(path, body, idempotent=False)
        return self._session.parse(path, parse_order_ids, data)

    async def modify_tpsl_order(
        self,
        order_id: str,
        *,
        tp_price: object = None,
        tp_stop_type: object = None,
        tp_order_type: object = None,
        tp_order_price: object = None,
        tp_qty: object = None,
        sl_price: object = None,
        sl_stop_type: object = None,
        sl_order_type: object = None,
        sl_order_price: object = None,
        sl_qty: object = None,
    ) -> str:
        """Change a tpsl order: the legs given replace its take-profit and/or stop-loss.
        Returns its id. Sent once (not retried)."""
        body: dict[str, object] = {
            "orderId": check_order_id(order_id),
            **_tpsl_legs(
                (tp_price, tp_stop_type, tp_order_type, tp_order_price, tp_qty),
                (sl_price, sl_stop_type, sl_order_type, sl_order_price, sl_qty),
            ),
        }
        return await self._post_for_id(f"{_TPSL}/modify_order", body, idempotent=False)

    async def cancel_tpsl_order(self, symbol: str, order_id: str) -> str:
        """Cancel a tpsl order; returns its id. Retried like a GET."""
        body = {"symbol": check_symbol(symbol), "orderId": check_order_id(order_id)}
        return await self._post_for_id(f"{_TPSL}/cancel_order", body, idempotent=True, cancel=True)

    async def get_pending_tpsl_orders(
        self, symbol: str | None = None, *, position_id: str | None = None
    ) -> list[TpSlOrder]:
        """Open tpsl orders (of ``symbol`` or of a position), status NEW."""
        params: dict[str, object] = {
            "symbol": _opt(check_symbol, symbol),
            "positionId": _opt(check_order_id, position_id, "position_id"),
        }
        path = f"{_TPSL}/get_pending_orders"
        data = await self._get(path, params, signed=True)
        ts = self._session.now_ms()
        return [
            self._session.parse(path, _pending_tpsl, row, ts)
            for row in self._session.parse(path, list_rows, data, "orderList")
        ]

    async def get_history_tpsl_orders(
        self,
        symbol: str | None = None,
        *,
        position_id: str | None = None,
        start_time: object = None,
        end_time: object = None,
        limit: int = 100,
    ) -> list[TpSlOrder]:
        """Finished tpsl orders (FILLED: triggered and placed; CANCELED, SYSTEM_CANCELED,
        FAILED), newest first, at most ``limit`` of them."""
        params: dict[str, object] = {
            "symbol": _opt(check_symbol, symbol),
            "positionId": _opt(check_order_id, position_id, "position_id"),
            "startTime": time_ms("start_time", start_time),
            "endTime": time_ms("end_time", end_time),
        }
        path = f"{_TPSL}/get_history_orders"
        rows = await self._paged(path, params, "orderList", check_int("limit", limit, low=1))
        ts = self._session.now_ms()
        return [self._session.parse(path, _history_tpsl, row, ts) for row in rows]

    async def place_position_tpsl(
        self,
        symbol: str,
        position_id: str,
        *,
        tp_price: object = None,
        tp_stop_type: object = None,
        sl_price: object = None,
        sl_stop_type: object = None,
    ) -> str:
        """Place the position take-profit / stop-loss: when triggered it closes the whole
        position at market. Returns its id. Sent once (not retried)."""
        body: dict[str, object] = {
            "symbol": check_symbol(symbol),
            "positionId": check_order_id(position_id, "position_id"),
            **_position_legs(tp_price, tp_stop_type, sl_price, sl_stop_type),
        }
        return await self._post_for_id(f"{_TPSL}/position/place_order", body, idempotent=False)

    async def modify_position_tpsl(
        self,
        symbol: str,
        position_id: str,
        *,
        tp_price: object = None,
        tp_stop_type: object = None,
        sl_price: object = None,
        sl_stop_type: object = None,
    ) -> str:
        """Replace the prices of the position take-profit / stop-loss. Returns its id.
        Sent once (not retried)."""
        body: dict[str, object] = {
            "symbol": check_symbol(symbol),
            "positionId": check_order_id(position_id, "position_id"),
            **_position_legs(tp_price, tp_stop_type, sl_price, sl_stop_type),
        }
        return await self._post_for_id(f"{_TPSL}/position/modify_order", body, idempotent=False)


_LEG_KEYS = ("price", "stop_type", "order_type", "order_price")


def _pending_tpsl(row: Mapping[str, Any], ts: int) -> TpSlOrder:
    return parse_rest_tpsl(row, ts, pending=True, source=DataSource.REST)


def _history_tpsl(row: Mapping[str, Any], ts: int) -> TpSlOrder:
    return parse_rest_tpsl(row, ts, pending=False, source=DataSource.REST)
