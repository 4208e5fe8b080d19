"""Result types only REST has: placed orders, cancel outcomes, trading pairs, funding rates.

Everything that the WebSocket also delivers (orders, positions, balances, tickers, books,
klines) comes back as the same value types as the WebSocket's (see ``_core.models``), with
``source=DataSource.REST``. The ``parse_*`` functions here raise ``ValueError``,
``KeyError``, ``TypeError`` or ``ArithmeticError`` on bad rows; the client turns those into
a :class:`~bitunix_trio.RestError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bitunix_trio._core.models import (
    DataSource,
    MarginMode,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
)
from bitunix_trio._core.numbers import check_int, check_time_ms, number

__all__ = [
    "AccountTrade",
    "BatchFailure",
    "BatchOrderResult",
    "CancelFailure",
    "CancelResult",
    "CancelSuccess",
    "FundingRate",
    "HistoricalPosition",
    "LeverageMarginMode",
    "PlacedOrder",
    "PositionTier",
    "TradingPair",
    "list_rows",
    "page_total",
    "parse_account_trade",
    "parse_batch_result",
    "parse_cancel_all_result",
    "parse_cancel_result",
    "parse_funding_rate",
    "parse_historical_position",
    "parse_leverage_margin_mode",
    "parse_order_ids",
    "parse_placed_order",
    "parse_position_tier",
    "parse_trading_pair",
    "ticker_rows",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _dec(value: object, field: str = "number") -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError(f"{field}: expected a number, got bool")
    return number(value, field)


def _opt_str(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return str(value)


def _opt_int(value: object, field: str = "integer") -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"{field}: expected an integer, got {type(value).__name__}")
    return check_int(value.strip() if isinstance(value, str) else value, field)


def _opt_ms(value: object, field: str = "time") -> int | None:
    """A millisecond time (int or digit string) or an ISO-8601 string, as ms."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and not value.strip().isdigit():
        text = value.strip().replace("Z", "+00:00")
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return check_time_ms((moment - _EPOCH) // timedelta(milliseconds=1), field)
    ms = _opt_int(value, field)
    return None if ms is None else check_time_ms(ms, field)


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """What ``place_order`` returns: the exchange's order id and the client id.

    ``client_id`` is always set: the library generates one when the caller gives none, so
    that an order whose reply was lost can be found again. ``resolved`` is True when the
    reply was lost (timeout, dropped connection, rate limit) and the order was found by
    looking its client id up instead.
    """

    order_id: str
    client_id: str
    symbol: str
    resolved: bool = False


@dataclass(frozen=True, slots=True)
class CancelSuccess:
    """An order the exchange accepted to cancel (confirm on the ``orders`` channel)."""

    order_id: str | None
    client_id: str | None


@dataclass(frozen=True, slots=True)
class CancelFailure:
    """An order the exchange refused to cancel, with its error ``code`` and ``message``
    (``20007``: order not found)."""

    order_id: str | None
    client_id: str | None
    code: int | None
    message: str


@dataclass(frozen=True, slots=True)
class CancelResult:
    """The outcome of ``cancel_orders``/``cancel_all_orders``.

    The request succeeding does not mean every cancel did: check ``failures`` (or
    :attr:`ok`). A success means the exchange accepted the cancel; the ``orders`` channel
    confirms it.
    """

    successes: tuple[CancelSuccess, ...]
    failures: tuple[CancelFailure, ...]

    @property
    def ok(self) -> bool:
        """True when no cancel failed."""
        return not self.failures


@dataclass(frozen=True, slots=True)
class TradingPair:
    """Trading rules of one contract (``GET /api/v1/futures/market/trading_pairs``).

    ``status`` is the exchange's text (``OPEN``, ``CANCEL_ONLY``, ``STOP``, ``PREVIEW``...).
    ``base_precision``/``quote_precision`` are numbers of decimals.
    """

    symbol: str
    base: str | None
    quote: str | None
    status: str | None
    min_trade_volume: Decimal | None
    max_limit_order_volume: Decimal | None
    max_market_order_volume: Decimal | None
    base_precision: int | None
    quote_precision: int | None
    min_leverage: int | None
    max_leverage: int | None
    default_leverage: int | None
    default_margin_mode: str | None
    min_buy_price_offset: Decimal | None
    max_sell_price_offset: Decimal | None
    price_protect_scope: Decimal | None
    ts: int
    source: DataSource = DataSource.REST


@dataclass(frozen=True, slots=True)
class FundingRate:
    """Funding of one contract (``GET /api/v1/futures/market/funding_rate``).

    ``funding_rate`` is passed through as the exchange sends it (the batch endpoint and the
    WebSocket send percent). Fields the reply lacks are None.
    """

    symbol: str
    funding_rate: Decimal
    mark_price: Decimal | None
    last_price: Decimal | None
    index_price: Decimal | None
    next_funding_ms: int | None
    funding_interval_hours: int | None
    ts: int
    source: DataSource = DataSource.REST

    @property
    def next_funding_time(self) -> datetime | None:
        """``next_funding_ms`` as an aware UTC datetime."""
        if self.next_funding_ms is None:
            return None
        return _EPOCH + timedelta(milliseconds=self.next_funding_ms)


def parse_placed_order(data: Mapping[str, Any], symbol: str, client_id: str) -> PlacedOrder:
    """``place_order`` data ``{"orderId": ..., "clientId": ...}`` -> PlacedOrder."""
    order_id = _opt_str(data["orderId"])
    if order_id is None:
        raise ValueError("place_order reply has an empty orderId")
    return PlacedOrder(order_id, _opt_str(data.get("clientId")) or client_id, symbol)


def parse_cancel_result(data: Mapping[str, Any] | None) -> CancelResult:
    """``{"successList": [...], "failureList": [...]}`` -> CancelResult (``null`` -> empty)."""
    if data is None:
        return CancelResult((), ())
    successes = tuple(
        CancelSuccess(_opt_str(row.get("orderId")), _opt_str(row.get("clientId")))
        for row in data.get("successList") or ()
    )
    failures = tuple(
        CancelFailure(
            _opt_str(row.get("orderId")),
            _opt_str(row.get("clientId")),
            _opt_int(row.get("errorCode"), "errorCode"),
            str(row.get("errorMsg") or row.get("errorMessage") or ""),
        )
        for row in data.get("failureList") or ()
    )
    return CancelResult(successes, failures)


def parse_trading_pair(row: Mapping[str, Any], ts: int) -> TradingPair:
    """One row of ``trading_pairs`` -> TradingPair."""
    symbol = _opt_str(row["symbol"])
    if symbol is None:
        raise ValueError("trading pair without a symbol")
    return TradingPair(
        symbol=symbol,
        base=_opt_str(row.get("base")),
        quote=_opt_str(row.get("quote")),
        status=_opt_str(row.get("symbolStatus")),
        min_trade_volume=_dec(row.get("minTradeVolume"), "minTradeVolume"),
        max_limit_order_volume=_dec(row.get("maxLimitOrderVolume"), "maxLimitOrderVolume"),
        max_market_order_volume=_dec(row.get("maxMarketOrderVolume"), "maxMarketOrderVolume"),
        base_precision=_opt_int(row.get("basePrecision"), "basePrecision"),
        quote_precision=_opt_int(row.get("quotePrecision"), "quotePrecision"),
        min_leverage=_opt_int(row.get("minLeverage"), "minLeverage"),
        max_leverage=_opt_int(row.get("maxLeverage"), "maxLeverage"),
        default_leverage=_opt_int(row.get("defaultLeverage"), "defaultLeverage"),
        default_margin_mode=_opt_str(row.get("defaultMarginMode")),
        min_buy_price_offset=_dec(row.get("minBuyPriceOffset"), "minBuyPriceOffset"),
        max_sell_price_offset=_dec(row.get("maxSellPriceOffset"), "maxSellPriceOffset"),
        price_protect_scope=_dec(row.get("priceProtectScope"), "priceProtectScope"),
        ts=ts,
    )


def parse_funding_rate(data: Mapping[str, Any] | Sequence[Any], ts: int) -> FundingRate:
    """``funding_rate`` data (an object, or a one-element list as in the docs) -> FundingRate."""
    if isinstance(data, Sequence) and not isinstance(data, str):
        if len(data) != 1:
            raise ValueError(f"expected one funding rate row, got {len(data)}")
        data = data[0]
    if not isinstance(data, Mapping):
        raise TypeError("funding rate data must be an object")
    symbol = _opt_str(data["symbol"])
    rate = _dec(data["fundingRate"], "fundingRate")
    if symbol is None or rate is None:
        raise ValueError("funding rate row without symbol or fundingRate")
    return FundingRate(
        symbol=symbol,
        funding_rate=rate,
        mark_price=_dec(data.get("markPrice"), "markPrice"),
        last_price=_dec(data.get("lastPrice"), "lastPrice"),
        index_price=_dec(data.get("indexPrice"), "indexPrice"),
        next_funding_ms=_opt_ms(data.get("nextFundingTime"), "nextFundingTime"),
        funding_interval_hours=_opt_int(data.get("fundingInterval"), "fundingInterval"),
        ts=ts,
    )


def parse_cancel_all_result(data: Any) -> CancelResult:
    """``cancel_all_orders`` data: a success/failure object, a list of rows, or null."""
    if isinstance(data, list):
        return parse_cancel_result({"successList": data})
    return parse_cancel_result(data)


def list_rows(data: Any, key: str) -> list[Any]:
    """The rows of a listing: ``data`` itself or ``data[key]`` (``null`` -> no rows)."""
    if data is None:
        return []
    if isinstance(data, dict):
        data = data.get(key)
        if data is None:
            return []
    if not isinstance(data, list):
        raise TypeError(f"expected a list of rows, got {type(data).__name__}")
    return data


def ticker_rows(data: Any) -> list[Any]:
    """The rows of ``tickers``: a list, or a bare object (seen live) as one row."""
    if isinstance(data, dict) and "symbol" in data:
        return [data]
    return list_rows(data, "tickers")


def page_total(data: Any) -> int | None:
    """The ``total`` of a paged listing (an int or a digit string), None when absent."""
    total = data.get("total") if isinstance(data, dict) else None
    if total is None or total == "":
        return None
    return check_int(total, "total", signed=False)


def _req_str(value: object, what: str) -> str:
    text = _opt_str(value)
    if text is None:
        raise ValueError(f"row without {what}")
    return text


def _req_dec(value: object, what: str) -> Decimal:
    number = _dec(value)
    if number is None:
        raise ValueError(f"row without {what}")
    return number


def _opt_enum(cls: Any, value: object) -> Any:
    return None if value is None or value == "" else cls.parse(value)


@dataclass(frozen=True, slots=True)
class BatchFailure:
    """An order of a batch the exchange refused, with its error ``code`` and ``message``."""

    client_id: str | None
    code: int | None
    message: str


@dataclass(frozen=True, slots=True)
class BatchOrderResult:
    """The outcome of ``place_batch_orders``: the orders placed (with their ids) and the
    ones refused. Every order carried a client id, so each failure names its order."""

    placed: tuple[PlacedOrder, ...]
    failures: tuple[BatchFailure, ...]

    @property
    def ok(self) -> bool:
        """True when every order was placed."""
        return not self.failures


@dataclass(frozen=True, slots=True)
class HistoricalPosition:
    """A closed position (``GET /api/v1/futures/position/get_history_positions``).

    ``qty`` is what was closed, ``max_qty`` the largest size it reached; ``entry_price`` and
    ``close_price`` are averages. Fields the reply lacks are None.
    """

    position_id: str
    symbol: str
    side: PositionSide
    qty: Decimal | None
    max_qty: Decimal | None
    entry_price: Decimal | None
    close_price: Decimal | None
    liquidation_qty: Decimal | None
    liquidation_price: Decimal | None
    leverage: int | None
    margin_mode: MarginMode | None
    position_mode: PositionMode | None
    margin: Decimal | None
    fee: Decimal | None
    funding: Decimal | None
    realized_pnl: Decimal | None
    created_ms: int | None
    updated_ms: int | None
    source: DataSource = DataSource.REST


@dataclass(frozen=True, slots=True)
class AccountTrade:
    """One fill of the account's orders (``GET /api/v1/futures/trade/get_history_trades``).

    ``role`` is the exchange's text (``MAKER``/``TAKER``); ``fee`` and ``realized_pnl`` are in
    the margin coin.
    """

    trade_id: str
    order_id: str | None
    client_id: str | None
    position_id: str | None
    symbol: str
    side: Side
    order_type: OrderType | None
    qty: Decimal
    price: Decimal
    fee: Decimal | None
    realized_pnl: Decimal | None
    reduce_only: bool | None
    role: str | None
    leverage: int | None
    margin_mode: MarginMode | None
    position_mode: PositionMode | None
    created_ms: int | None
    source: DataSource = DataSource.REST


@dataclass(frozen=True, slots=True)
class LeverageMarginMode:
    """The leverage and margin mode of a symbol for the account
    (``GET /api/v1/futures/account/get_leverage_margin_mode``)."""

    symbol: str
    margin_coin: str | None
    leverage: int | None
    margin_mode: MarginMode | None


@dataclass(frozen=True, slots=True)
class PositionTier:
    """One risk-limit tier of a symbol (``GET /api/v1/futures/position/get_position_tiers``):
    positions with a notional from ``start_value`` to ``end_value`` may use at most
    ``leverage`` and keep ``maintenance_margin_rate`` (a fraction) as margin."""

    symbol: str
    level: int
    start_value: Decimal | None
    end_value: Decimal | None
    leverage: int | None
    maintenance_margin_rate: Decimal | None


def parse_batch_result(data: Mapping[str, Any] | None, symbol: str) -> BatchOrderResult:
    """``batch_order`` data ``{"successList": [...], "failureList": [...]}``."""
    if data is None:
        return BatchOrderResult((), ())
    placed = tuple(
        PlacedOrder(
            _req_str(row.get("orderId") or row.get("id"), "orderId"),
            _opt_str(row.get("clientId")) or "",
            symbol,
        )
        for row in data.get("successList") or ()
    )
    failures = tuple(
        BatchFailure(
            _opt_str(row.get("clientId")),
            _opt_int(row.get("errorCode")),
            str(row.get("errorMsg") or row.get("errorMessage") or ""),
        )
        for row in data.get("failureList") or ()
    )
    return BatchOrderResult(placed, failures)


def parse_order_ids(data: Any) -> tuple[str, ...]:
    """The order ids of a reply ``{"orderId": ...}`` or a list of such objects."""
    rows = data if isinstance(data, list) else [data]
    ids = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise TypeError(f"expected an object with orderId, got {type(row).__name__}")
        ids.append(_req_str(row.get("orderId") or row.get("id"), "orderId"))
    return tuple(ids)


def parse_historical_position(row: Mapping[str, Any]) -> HistoricalPosition:
    """One row of ``get_history_positions`` -> HistoricalPosition."""
    return HistoricalPosition(
        position_id=_req_str(row["positionId"], "positionId"),
        symbol=_req_str(row["symbol"], "symbol"),
        side=PositionSide.parse(row["side"]),
        qty=_dec(row.get("qty")),
        max_qty=_dec(row.get("maxQty")),
        entry_price=_dec(row.get("entryPrice")),
        close_price=_dec(row.get("closePrice")),
        liquidation_qty=_dec(row.get("liqQty")),
        liquidation_price=_dec(row.get("liqPrice")),
        leverage=_opt_int(row.get("leverage")),
        margin_mode=_opt_enum(MarginMode, row.get("marginMode")),
        position_mode=_opt_enum(PositionMode, row.get("positionMode")),
        margin=_dec(row.get("margin")),
        fee=_dec(row.get("fee")),
        funding=_dec(row.get("funding")),
        realized_pnl=_dec(row.get("realizedPNL")),
        created_ms=_opt_ms(row.get("ctime")),
        updated_ms=_opt_ms(row.get("mtime")),
    )


def parse_account_trade(row: Mapping[str, Any]) -> AccountTrade:
    """One row of ``get_history_trades`` -> AccountTrade."""
    reduce_only = row.get("reduceOnly")
    if reduce_only is not None and not isinstance(reduce_only, bool):
        reduce_only = str(reduce_only).lower() == "true"
    return AccountTrade(
        trade_id=_req_str(row["tradeId"], "tradeId"),
        order_id=_opt_str(row.get("orderId")),
        client_id=_opt_str(row.get("clientId")),
        position_id=_opt_str(row.get("positionId")),
        symbol=_req_str(row["symbol"], "symbol"),
        side=Side.parse(row["side"]),
        order_type=_opt_enum(OrderType, row.get("orderType")),
        qty=_req_dec(row["qty"], "qty"),
        price=_req_dec(row["price"], "price"),
        fee=_dec(row.get("fee")),
        realized_pnl=_dec(row.get("realizedPNL")),
        reduce_only=reduce_only,
        role=_opt_str(row.get("roleType")),
        leverage=_opt_int(row.get("leverage")),
        margin_mode=_opt_enum(MarginMode, row.get("marginMode")),
        position_mode=_opt_enum(PositionMode, row.get("positionMode")),
        created_ms=_opt_ms(row.get("ctime")),
    )


def parse_leverage_margin_mode(data: Mapping[str, Any]) -> LeverageMarginMode:
    """``get_leverage_margin_mode`` data -> LeverageMarginMode."""
    return LeverageMarginMode(
        symbol=_req_str(data["symbol"], "symbol"),
        margin_coin=_opt_str(data.get("marginCoin")),
        leverage=_opt_int(data.get("leverage")),
        margin_mode=_opt_enum(MarginMode, data.get("marginMode")),
    )


def parse_position_tier(row: Mapping[str, Any]) -> PositionTier:
    """One row of ``get_position_tiers`` -> PositionTier."""
    level = _opt_int(row.get("level"))
    if level is None:
        raise ValueError("position tier without level")
    return PositionTier(
        symbol=_req_str(row["symbol"], "symbol"),
        level=level,
        start_value=_dec(row.get("startValue")),
        end_value=_dec(row.get("endValue")),
        leverage=_opt_int(row.get("leverage")),
        maintenance_margin_rate=_dec(row.get("maintenanceMarginRate")),
    )
