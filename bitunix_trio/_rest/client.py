"""The REST client: :func:`open_rest_client` and :class:`BitunixRestClient`.

Built on ``httpx.AsyncClient``, which runs natively under Trio. Usage::

    async with open_rest_client(Credentials.from_env()) as rest:
        book = await rest.get_depth("BTCUSDT", limit=5)
        placed = await rest.place_order(
            symbol="BTCUSDT", side="BUY", order_type="LIMIT", qty="0.001", price="60000"
        )
        result = await rest.cancel_orders("BTCUSDT", [placed.order_id])

**Arguments** are checked before anything is sent (:class:`ConfigurationError`): enums as
members or the exchange's strings in any case; prices and quantities as ``Decimal``,
``str`` or ``int``, never ``float`` (see ``_rest.args``).

**Results** are the library's value types, the same as the WebSocket's, marked
``source=DataSource.REST``; REST-only results are in ``_rest.results``.

**Errors**: every reply's ``{code, data, msg}`` envelope is checked (the exchange reports
errors with HTTP 200). Exchange codes become typed errors carrying ``code`` and the
exchange's message: 10003/10004/10007 :class:`AuthenticationError`, 10005/10006
:class:`RateLimited`, 404 (unknown path) :class:`RestError`, any other code
:class:`ExchangeError`. Non-2xx statuses and bodies that are not an envelope are
:class:`RestError` (with ``status``). Network failures are :class:`ConnectError` /
:class:`ConnectTimeout` (nothing was sent) or :class:`TransportError` (the outcome is
unknown, e.g. a timeout after sending). The full table is in ``_rest.replies``.

An error the trading pairs explain gets ``ExchangeError.hint`` (part of its text; type and
``code`` unchanged): a refused order (10002, 30039) the pair's minimum quantity and
precisions, an unknown symbol (20015, 20001) the closest known ones. The pairs are fetched
once per client, only when such an error happens; if that fails the error stays as it was.

**Rate limits**: a client-side token bucket (default 10 requests/s, the exchange's
documented limit, plus 5/s for cancels) makes calls wait, never fail. Replies 10005/10006,
HTTP 429/5xx and transport errors are retried with exponential backoff, but only for calls
that are safe to repeat: every GET and the cancels.

**Placing orders is never blindly repeated.** Every order carries a client id (one is
generated, ``"bt"`` + 22 random letters and digits, when the caller gives none). When the
outcome of a placement is unknown (timeout, dropped connection, rate-limit reply), the
client looks the client id up (``get_order_detail(client_id=...)``); if the order exists it
is returned (``PlacedOrder.resolved``), otherwise the order is sent once more with the same
client id (a duplicate is then refused by the exchange, code 30042, and resolved the same
way). A connection that could not even be opened sent nothing and is retried like a GET.

Secrets never appear in an error, a log record or a ``repr``: the client's repr shows the
base URL and an abbreviated API key.
"""

from __future__ import annotations

import functools
import inspect
import random
import ssl
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx
import trio

from bitunix_trio._core.config import check_ssl_context, check_transport_url
from bitunix_trio._core.credentials import Credentials, _abbreviate
from bitunix_trio._core.errors import (
    BitunixError,
    ConfigurationError,
    ConnectError,
    ExchangeError,
    RateLimited,
    RestError,
    TransportError,
)
from bitunix_trio._core.log import logger
from bitunix_trio._core.models import (
    AccountBalance,
    DataSource,
    KlineUpdate,
    Order,
    OrderBookUpdate,
    OrderType,
    Position,
    PriceType,
    Side,
    TickerUpdate,
    TimeInForce,
)
from bitunix_trio._core.rest_wire import (
    parse_rest_account,
    parse_rest_depth,
    parse_rest_kline,
    parse_rest_order,
    parse_rest_position,
    parse_rest_ticker,
)
from bitunix_trio._core.usage import async_with_only

from .account import AccountCalls
from .args import (
    check_client_id,
    check_client_options,
    check_int,
    check_order_id,
    check_symbol,
    check_symbols,
    depth_limit,
    enum_arg,
    kline_interval,
    place_order_body,
    time_ms,
)
from .hints import RULE_CODES, UNKNOWN_SYMBOL_CODES, rules_hint, symbol_hint
from .limits import rest_limiters
from .replies import DEFAULT_MAX_BODY_BYTES
from .results import (
    CancelResult,
    FundingRate,
    PlacedOrder,
    TradingPair,
    list_rows,
    page_total,
    parse_cancel_all_result,
    parse_cancel_result,
    parse_funding_rate,
    parse_placed_order,
    parse_trading_pair,
    ticker_rows,
)
from .session import RestSession

__all__ = ["DEFAULT_BASE_URL", "BitunixRestClient", "open_rest_client", "rest_client"]

#: The exchange's REST base URL.
DEFAULT_BASE_URL = "https://fapi.bitunix.com"

_MARKET = "/api/v1/futures/market"
_TRADE = "/api/v1/futures/trade"
_ORDER_NOT_FOUND = 20007
_DUPLICATE_CLIENT_ID = 30042
_PAGE = 100

P = ParamSpec("P")
R = TypeVar("R")
_Method = Callable[Concatenate["BitunixRestClient", P], Coroutine[Any, Any, R]]


def _explained(*, rules: bool = False) -> Callable[[_Method[P, R]], _Method[P, R]]:
    """Add what the trading pairs tell to an :class:`ExchangeError` of a call that takes a
    ``symbol``: the closest known symbols for an unknown one and, with ``rules``, the
    pair's minimum quantity and precisions for a refused order (``ExchangeError.hint``)."""

    def decorate(method: _Method[P, R]) -> _Method[P, R]:
        signature = inspect.signature(method)

        async def explained(self: BitunixRestClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await method(self, *args, **kwargs)
            except ExchangeError as exc:
                symbol = signature.bind(self, *args, **kwargs).arguments.get("symbol")
                if isinstance(symbol, str) and exc.hint is None:
                    await self._explain(exc, symbol.strip().upper(), rules=rules)
                raise

        functools.update_wrapper(explained, method)  # name, docs and signature
        return explained

    return decorate


class BitunixRestClient(AccountCalls):
    """A REST client for the BitUnix futures API; get one from :func:`open_rest_client`.

    Every method sends one logical call (paged listings send several), waits for the
    client-side rate limiter, and raises the errors described in the module docs. The
    account, position, order-change and TP/SL calls come from ``AccountCalls``
    (``_rest.account``).
    """

    def __init__(
        self,
        session: RestSession,
        base_url: str,
        *,
        on_placed: Callable[[str], None] | None = None,
    ) -> None:
        self._session = session
        self._base_url = base_url
        # The trading pairs, fetched once when an error needs them to be explained.
        self._pairs: list[TradingPair] | None = None
        self._pairs_lock = trio.Lock()
        #: Called with the id of every order placed (a stream's account ledger listens).
        self._on_placed = on_placed

    def __repr__(self) -> str:
        creds = self._session.credentials
        key = "None" if creds is None else repr(_abbreviate(creds.api_key))
        return f"<BitunixRestClient base_url={self._base_url!r} api_key={key}>"

    @property
    def base_url(self) -> str:
        """The REST base URL."""
        return self._base_url

    @property
    def authenticated(self) -> bool:
        """Whether the client has credentials to sign private calls."""
        return self._session.credentials is not None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, object] | None = None,
        body: dict[str, object] | None = None,
        signed: bool = True,
        idempotent: bool | None = None,
    ) -> Any:
        """Call any endpoint and return the envelope's ``data`` (an escape hatch for
        endpoints without a method). Signed when credentials were given and ``signed``;
        retried only when ``idempotent`` (default: GET only)."""
        method = method.upper()
        if method not in {"GET", "POST"}:
            raise ConfigurationError(f"method must be GET or POST, got {method!r}")
        if not path.startswith("/"):
            raise ConfigurationError(f"path must start with '/', got {path!r}")
        return await self._session.call(
            method,
            path,
            params=params,
            body=body,
            signed=signed,
            idempotent=(method == "GET") if idempotent is None else idempotent,
        )

    async def _get(self, path: str, params: dict[str, object], *, signed: bool) -> Any:
        return await self._session.call("GET", path, params=params, signed=signed)

    async def _explain(self, error: ExchangeError, symbol: str, *, rules: bool) -> None:
        """Set ``error.hint`` from the trading pairs (fetched once per client, only now).

        Fetching them may fail: then ``error`` stays as the exchange sent it.
        """
        unknown_symbol = error.code in UNKNOWN_SYMBOL_CODES
        if not (unknown_symbol or (rules and error.code in RULE_CODES)):
            return
        async with self._pairs_lock:
            if self._pairs is None:
                try:
                    self._pairs = await self.get_trading_pairs()
                except BitunixError as exc:
                    logger.debug("trading pairs unavailable to explain %r: %s", error, exc)
                    return
        if unknown_symbol:
            error.hint = symbol_hint(symbol, self._pairs)
            return
        pair = next((pair for pair in self._pairs if pair.symbol == symbol), None)
        error.hint = None if pair is None else rules_hint(pair)

    # ------------------------------------------------------------------ market data

    async def get_tickers(self, symbols: str | Iterable[str] | None = None) -> list[TickerUpdate]:
        """24 h statistics of ``symbols`` (a list or a comma string; None = every symbol)."""
        path = f"{_MARKET}/tickers"
        data = await self._get(path, {"symbols": check_symbols(symbols)}, signed=False)
        ts = self._session.now_ms()
        return [
            self._session.parse(path, parse_rest_ticker, row, ts, DataSource.REST)
            for row in self._session.parse(path, ticker_rows, data)
        ]

    @_explained()
    async def get_depth(self, symbol: str, limit: int | str | None = 15) -> OrderBookUpdate:
        """The order book of ``symbol``: ``limit`` levels per side (1, 5, 15, 50, ``"max"``;
        None or ``"max"`` for the whole book). ``ts`` is the local receive time."""
        symbol = check_symbol(symbol)
        wire_limit = depth_limit(limit)
        path = f"{_MARKET}/depth"
        data = await self._get(path, {"symbol": symbol, "limit": wire_limit}, signed=False)
        depth = None if wire_limit is None or wire_limit == "max" else int(wire_limit)
        return self._session.parse(
            path, parse_rest_depth, data, symbol, self._session.now_ms(), depth, DataSource.REST
        )

    @_explained()
    async def get_klines(
        self,
        symbol: str,
        interval: str = "1min",
        *,
        start_time: object = None,
        end_time: object = None,
        limit: int = 100,
        price_type: PriceType | str = PriceType.MARKET,
    ) -> list[KlineUpdate]:
        """Candles of ``symbol``, oldest first. ``interval`` in either spelling (``"1m"`` or
        ``"1min"``); ``start_time``/``end_time`` as ms or aware datetimes; ``limit`` up to 200;
        ``price_type`` ``"market"`` (last price) or ``"mark"``. Each candle's ``ts`` and
        ``open_time_ms`` are its start."""
        symbol = check_symbol(symbol)
        rest_interval, ws_interval = kline_interval(interval)
        kind = enum_arg("price_type", price_type, PriceType)
        params: dict[str, object] = {
            "symbol": symbol,
            "interval": rest_interval,
            "startTime": time_ms("start_time", start_time),
            "endTime": time_ms("end_time", end_time),
            "limit": check_int("limit", limit, low=1, high=200),
            "type": "MARK_PRICE" if kind is PriceType.MARK else "LAST_PRICE",
        }
        path = f"{_MARKET}/kline"
        data = await self._get(path, params, signed=False)
        candles = [
            self._session.parse(
                path, parse_rest_kline, row, symbol, ws_interval, kind, DataSource.REST
            )
            for row in self._session.parse(path, list_rows, data, "list")
        ]
        return sorted(candles, key=lambda candle: candle.open_time_ms)

    async def get_trading_pairs(
        self, symbols: str | Iterable[str] | None = None
    ) -> list[TradingPair]:
        """Trading rules of ``symbols`` (None = every contract)."""
        path = f"{_MARKET}/trading_pairs"
        data = await self._get(path, {"symbols": check_symbols(symbols)}, signed=False)
        ts = self._session.now_ms()
        return [
            self._session.parse(path, parse_trading_pair, row, ts)
            for row in self._session.parse(path, list_rows, data, "list")
        ]

    @_explained()
    async def get_funding_rate(self, symbol: str) -> FundingRate:
        """The current funding rate of ``symbol``."""
        path = f"{_MARKET}/funding_rate"
        data = await self._get(path, {"symbol": check_symbol(symbol)}, signed=False)
        return self._session.parse(path, parse_funding_rate, data, self._session.now_ms())

    # ------------------------------------------------------------------ account

    async def get_account(self, margin_coin: str = "USDT") -> AccountBalance:
        """The balance of ``margin_coin``."""
        path = "/api/v1/futures/account"
        data = await self._get(
            path, {"marginCoin": check_symbol(margin_coin, "margin_coin")}, signed=True
        )
        return self._session.parse(
            path, parse_rest_account, data, self._session.now_ms(), DataSource.REST
        )

    @_explained()
    async def get_pending_positions(self, symbol: str | None = None) -> list[Position]:
        """Open positions (of ``symbol``, or all)."""
        path = "/api/v1/futures/position/get_pending_positions"
        params: dict[str, object] = {"symbol": None if symbol is None else check_symbol(symbol)}
        data = await self._get(path, params, signed=True)
        return [
            self._session.parse(path, parse_rest_position, row, DataSource.REST)
            for row in self._session.parse(path, list_rows, data, "positionList")
        ]

    async def _paged_orders(
        self, path: str, params: dict[str, object], max_rows: int | None
    ) -> list[Order]:
        """Page through an ``orderList`` listing with ``skip``/``limit`` until it ends."""
        orders: dict[str, Order] = {}
        skip = 0
        while max_rows is None or len(orders) < max_rows:
            page = _PAGE if max_rows is None else min(_PAGE, max_rows - len(orders))
            data = await self._get(path, {**params, "skip": skip, "limit": page}, signed=True)
            rows = self._session.parse(path, list_rows, data, "orderList")
            total = self._session.parse(path, page_total, data)
            before = len(orders)
            for row in rows:
                order = self._session.parse(path, parse_rest_order, row, DataSource.REST)
                orders.setdefault(order.order_id, order)
            skip += len(rows)
            if len(rows) < page or len(orders) == before:
                break
            if total is not None and skip >= total:
                break
        return list(orders.values())

    @_explained()
    async def get_pending_orders(
        self,
        symbol: str | None = None,
        *,
        order_id: str | None = None,
        client_id: str | None = None,
    ) -> list[Order]:
        """Every open order (of ``symbol``), newest first, fetched page by page (100 per
        request) until the listing ends. Orders are deduplicated by id (a new order shifting
        the pages does not produce a repeat)."""
        params: dict[str, object] = {
            "symbol": None if symbol is None else check_symbol(symbol),
            "orderId": None if order_id is None else check_order_id(order_id),
            "clientId": None if client_id is None else check_client_id(client_id),
        }
        return await self._paged_orders(f"{_TRADE}/get_pending_orders", params, None)

    @_explained()
    async def get_history_orders(
        self,
        symbol: str | None = None,
        *,
        order_id: str | None = None,
        client_id: str | None = None,
        start_time: object = None,
        end_time: object = None,
        limit: int = 100,
    ) -> list[Order]:
        """Finished orders (of ``symbol``), newest first, at most ``limit`` of them."""
        params: dict[str, object] = {
            "symbol": None if symbol is None else check_symbol(symbol),
            "orderId": None if order_id is None else check_order_id(order_id),
            "clientId": None if client_id is None else check_client_id(client_id),
            "startTime": time_ms("start_time", start_time),
            "endTime": time_ms("end_time", end_time),
        }
        max_rows = check_int("limit", limit, low=1)
        return await self._paged_orders(f"{_TRADE}/get_history_orders", params, max_rows)

    async def get_order_detail(
        self, order_id: str | None = None, client_id: str | None = None
    ) -> Order:
        """One order (open or finished) by exchange id or client id (give exactly one).
        An unknown order raises :class:`ExchangeError` with code 20007."""
        if (order_id is None) == (client_id is None):
            raise ConfigurationError("give exactly one of order_id and client_id")
        params: dict[str, object] = {
            "orderId": None if order_id is None else check_order_id(order_id),
            "clientId": None if client_id is None else check_client_id(client_id),
        }
        path = f"{_TRADE}/get_order_detail"
        data = await self._get(path, params, signed=True)
        if data is None:
            raise ExchangeError("order not found", _ORDER_NOT_FOUND)
        return self._session.parse(path, parse_rest_order, data, DataSource.REST)

    # ------------------------------------------------------------------ trading

    @_explained(rules=True)
    async def place_order(
        self,
        symbol: str,
        side: Side | str,
        order_type: OrderType | str,
        qty: object,
        price: object = None,
        client_id: str | None = None,
        *,
        reduce_only: bool = False,
        time_in_force: TimeInForce | str | None = None,
        trade_side: str | None = None,
        position_id: str | None = None,
        tp_price: object = None,
        tp_stop_type: object = None,
        tp_order_type: OrderType | str | None = None,
        tp_order_price: object = None,
        sl_price: object = None,
        sl_stop_type: object = None,
        sl_order_type: OrderType | str | None = None,
        sl_order_price: object = None,
    ) -> PlacedOrder:
        """Place an order and return its ids.

        ``side`` BUY/SELL; ``order_type`` LIMIT (needs ``price``) or MARKET (takes no
        ``price``); ``qty`` in base coin; ``time_in_force`` GTC (the default for LIMIT), IOC,
        FOK or POST_ONLY; ``trade_side`` OPEN/CLOSE and ``position_id`` in hedge mode;
        ``tp_*``/``sl_*`` attach a take-profit / stop-loss (stop types MARK_PRICE or
        LAST_PRICE; a LIMIT tp/sl order needs its order price).

        ``client_id`` identifies the order for resolution (see the module docs); one is
        generated when omitted and returned in :attr:`PlacedOrder.client_id`. The call is
        never repeated while the first attempt's outcome is unknown.
        """
        body = place_order_body(
            symbol,
            side,
            order_type,
            qty,
            price,
            reduce_only=reduce_only,
            time_in_force=time_in_force,
            trade_side=trade_side,
            position_id=position_id,
            tp=(tp_price, tp_stop_type, tp_order_type, tp_order_price),
            sl=(sl_price, sl_stop_type, sl_order_type, sl_order_price),
        )
        if client_id is None:
            client_id = self._session.new_client_id()
        body["clientId"] = check_client_id(client_id)
        placed = await self._place(str(body["symbol"]), client_id, body)
        if self._on_placed is not None:
            self._on_placed(placed.order_id)
        return placed

    async def _place(self, symbol: str, client_id: str, body: dict[str, object]) -> PlacedOrder:
        path = f"{_TRADE}/place_order"
        session = self._session
        attempt = 0
        resent = False
        while True:
            unknown: BitunixError | None = None
            try:
                data = await session.attempt("POST", path, body=body, signed=True)
            except ConnectError:  # the connection never opened: nothing was sent
                if attempt >= session.max_retries:
                    raise
            except RateLimited as exc:
                unknown = exc
            except ExchangeError as exc:
                if not (resent and exc.code == _DUPLICATE_CLIENT_ID):
                    raise
                unknown = exc  # the first attempt did land after all
            except TransportError as exc:
                unknown = exc
            else:
                return session.parse(path, parse_placed_order, data, symbol, client_id)
            delay = session.backoff(attempt)
            attempt += 1
            if unknown is None:
                logger.warning("%s: could not connect; retrying in %.2f s", path, delay)
                await trio.sleep(delay)
                continue
            logger.warning(
                "%s: outcome unknown (%s: %s); looking up client id %s in %.2f s",
                path,
                type(unknown).__name__,
                unknown,
                client_id,
                delay,
            )
            await trio.sleep(delay)
            found = await self._find_order(symbol, client_id, unknown)
            if found is not None:
                logger.info("%s: client id %s found as order %s", path, client_id, found.order_id)
                return PlacedOrder(found.order_id, client_id, symbol, resolved=True)
            if resent:
                unknown.add_note(f"no order with client id {client_id} exists: it was not placed")
                raise unknown
            resent = True
            logger.warning("%s: client id %s not found; sending it once more", path, client_id)

    async def _find_order(self, symbol: str, client_id: str, unknown: BitunixError) -> Order | None:
        """The order with ``client_id``, None if the exchange has none; if the lookup itself
        fails, ``unknown`` is raised with a note saying the outcome is unknown."""
        try:
            try:
                order = await self.get_order_detail(client_id=client_id)
            except ExchangeError as exc:
                if exc.code == _ORDER_NOT_FOUND:
                    return None
                raise
            except RestError as exc:
                if 404 not in (exc.status, exc.code):
                    raise
                # No order-detail endpoint: fall back to the open orders.
                pending = await self.get_pending_orders(symbol, client_id=client_id)
                return next((o for o in pending if o.client_id == client_id), None)
        except BitunixError as exc:
            unknown.add_note(
                f"the outcome of the order with client id {client_id} is unknown: looking it "
                f"up failed too ({type(exc).__name__}: {exc})"
            )
            raise unknown from exc
        return order if order.client_id in (None, client_id) else None

    @_explained()
    async def cancel_orders(
        self,
        symbol: str,
        order_ids: str | Iterable[str] = (),
        *,
        client_ids: str | Iterable[str] = (),
    ) -> CancelResult:
        """Cancel orders of ``symbol`` by exchange id and/or client id (a single id may be
        given as a str). The result lists which cancels the exchange accepted and which it
        refused (``CancelFailure.code`` 20007: unknown order); retried like a GET."""
        symbol = check_symbol(symbol)
        ids = [order_ids] if isinstance(order_ids, str) else list(order_ids)
        cids = [client_ids] if isinstance(client_ids, str) else list(client_ids)
        order_list: list[dict[str, object]] = [
            {"orderId": check_order_id(value, "order_ids")} for value in ids
        ]
        order_list += [{"clientId": check_client_id(value, "client_ids")} for value in cids]
        if not order_list:
            raise ConfigurationError("cancel_orders needs at least one order id or client id")
        path = f"{_TRADE}/cancel_orders"
        data = await self._session.call(
            "POST",
            path,
            body={"symbol": symbol, "orderList": order_list},
            signed=True,
            cancel=True,
        )
        return self._session.parse(path, parse_cancel_result, data)

    @_explained()
    async def cancel_all_orders(self, symbol: str | None = None) -> CancelResult:
        """Cancel every open order (of ``symbol``, or of every symbol); retried like a GET."""
        body: dict[str, object] = {} if symbol is None else {"symbol": check_symbol(symbol)}
        path = f"{_TRADE}/cancel_all_orders"
        data = await self._session.call("POST", path, body=body, signed=True, cancel=True)
        return self._session.parse(path, parse_cancel_all_result, data)


@async_with_only("bitunix_trio.open_rest_client(...)", "rest", "REST client", BitunixRestClient)
async def open_rest_client(
    credentials: Credentials | None = None,
    base_url: str = DEFAULT_BASE_URL,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float | None = 10.0,  # noqa: ASYNC109 (per request, not for this call)
    connect_timeout: float | None = None,
    max_retries: int = 3,
    retry_delay: float = 0.5,
    max_retry_delay: float = 8.0,
    rate_limit: float | None = 10.0,
    rate_burst: int = 1,
    cancel_rate_limit: float | None = 5.0,
    clock: Callable[[], float] = time.time,
    rng: random.Random | None = None,
    ssl_context: ssl.SSLContext | None = None,
    allow_insecure_transport: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> AsyncIterator[BitunixRestClient]:
    """Open a REST client for the block's lifetime (closing its connections at the end).

    Arguments:
        credentials: needed for private calls (account, orders, positions, trading);
            public market data works without.
        base_url: the REST root (``https://fapi.bitunix.com``).
        transport: an ``httpx.AsyncBaseTransport`` (``httpx.MockTransport``, the simulated
            exchange's ``rest_transport()``...); default: real HTTP.
        timeout: seconds one attempt may take in total (connect, send, receive); None for
            no limit. ``connect_timeout`` (default: ``timeout``) bounds opening a connection.
        max_retries, retry_delay, max_retry_delay: retries of safe calls, waiting
            ``retry_delay * 2**n`` seconds (at most ``max_retry_delay``).
        rate_limit, rate_burst: the client-side limiter, in requests per second (None: off),
            and how many may go at once; ``cancel_rate_limit`` applies to cancels on top.
            The limiter keeps a 10 % margin (``rate_limit`` requests per 1.1 s, as the
            exchange counts by arrival) and is shared: every client of one API key in the
            process draws from one budget for signed calls and cancels, and every client
            from one budget for public calls.
        clock: wall-clock time for signatures (``time.time``).
        rng: random source for nonces and generated client ids (default: :mod:`secrets`).
        ssl_context: an :class:`ssl.SSLContext` to verify the server with (a private CA,
            a TLS-intercepting proxy); default: the system's trusted certificates. A
            context that skips verification is refused unless ``allow_insecure_transport``.
        allow_insecure_transport: accept an ``http://`` ``base_url`` to a host other than
            this machine (loopback is always accepted), and an ``ssl_context`` that skips
            verification. Signed requests can then be read, and replayed, on the way.
            With your own ``transport`` the URL is not checked: the transport decides how
            bytes travel.
        max_body_bytes: the longest reply body read (4 MiB); a longer one is refused with
            :class:`RestError` as soon as it passes the limit, unread.
    """
    async with rest_client(
        credentials,
        base_url,
        transport=transport,
        timeout=timeout,
        connect_timeout=connect_timeout,
        max_retries=max_retries,
        retry_delay=retry_delay,
        max_retry_delay=max_retry_delay,
        rate_limit=rate_limit,
        rate_burst=rate_burst,
        cancel_rate_limit=cancel_rate_limit,
        clock=clock,
        rng=rng,
        ssl_context=ssl_context,
        allow_insecure_transport=allow_insecure_transport,
        max_body_bytes=max_body_bytes,
    ) as client:
        yield client


@asynccontextmanager
async def rest_client(
    credentials: Credentials | None = None,
    base_url: str = DEFAULT_BASE_URL,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float | None = 10.0,  # noqa: ASYNC109 (per request, not for this call)
    connect_timeout: float | None = None,
    max_retries: int = 3,
    retry_delay: float = 0.5,
    max_retry_delay: float = 8.0,
    rate_limit: float | None = 10.0,
    rate_burst: int = 1,
    cancel_rate_limit: float | None = 5.0,
    clock: Callable[[], float] = time.time,
    rng: random.Random | None = None,
    ssl_context: ssl.SSLContext | None = None,
    allow_insecure_transport: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    on_placed: Callable[[str], None] | None = None,
) -> AsyncIterator[BitunixRestClient]:
    """:func:`open_rest_client`, and ``on_placed(order_id)`` called after every order the
    client places (the stream's account ledger: those orders are changes, never the
    baseline)."""
    check_client_options(
        credentials=credentials,
        base_url=base_url,
        timeout=timeout,
        connect_timeout=connect_timeout,
        max_retries=max_retries,
        retry_delay=retry_delay,
        max_retry_delay=max_retry_delay,
    )
    if transport is None:
        check_transport_url(base_url, "base_url", allow_insecure_transport=allow_insecure_transport)
    verify = check_ssl_context(ssl_context, allow_insecure_transport=allow_insecure_transport)
    check_int("max_body_bytes", max_body_bytes, low=1024)
    base_url = base_url.rstrip("/")
    limiters = rest_limiters(
        credentials,
        base_url,
        rate_limit=rate_limit,
        rate_burst=rate_burst,
        cancel_rate_limit=cancel_rate_limit,
    )
    http_timeout = httpx.Timeout(
        timeout, connect=connect_timeout if connect_timeout is not None else timeout
    )
    async with httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        timeout=http_timeout,
        follow_redirects=False,
        verify=True if verify is None else verify,
    ) as http:
        session = RestSession(
            http,
            credentials=credentials,
            timeout=timeout,
            max_retries=max_retries,
            retry_delay=retry_delay,
            max_retry_delay=max_retry_delay,
            limiter=limiters.private,
            cancel_limiter=limiters.cancel,
            public_limiter=limiters.public,
            clock=clock,
            rng=rng,
            max_body_bytes=max_body_bytes,
        )
        yield BitunixRestClient(session, base_url, on_placed=on_placed)
