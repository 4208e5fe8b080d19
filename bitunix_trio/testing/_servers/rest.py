"""The REST side of the simulated exchange: a plain ASGI 3 application.

Served on loopback by hypercorn (trio worker), or in process through
``httpx.ASGITransport(app)``. Paths, parameters and answers follow
``bitunix-protocol.md`` section 7:

* every answer is HTTP 200 with the envelope ``{"code":..,"data":..,"msg":..}``
  (``code`` 0 and ``msg`` ``"Success"`` when it worked, ``data`` null on errors);
* an unknown path (or a known path with the wrong method) answers
  ``{"code":404,"data":null,"msg":"Not Found"}``;
* private endpoints need the ``api-key``/``nonce``/``timestamp``/``sign`` headers: a missing
  or unknown key answers 10003, a wrong signature 10007 (verified over the sorted,
  unescaped ``key+value`` query and the exact raw body bytes); a ``timestamp`` (Unix
  milliseconds) more than ``freshness_window`` seconds (60) away from the exchange's clock
  (seconds instead of milliseconds, a clock set wrong, a request held back) answers 10007
  ``"Timestamp expired"``, and a nonce already used by the key within that window answers
  10007 ``"Nonce repeated"`` (the live texts are not documented);
* rate limits over a sliding 1 s window of answered requests: 10 per second per endpoint
  and client IP on market endpoints, 10 per second per endpoint and API key on private
  ones, 5 per second on ``cancel_orders``/``cancel_all_orders``/``tpsl/cancel_order``; over
  the limit answers 10006 ``"Request too frequently"`` (code 10005 is not produced);
* bad parameters answer 10002, a depth ``limit`` outside ``1,5,15,50,max`` answers 10008
  with the exchange's text, a missing ``symbol`` on depth answers 1 ``"Network Error"``, an
  unknown symbol 20015; trading errors (20003 insufficient balance, 20007 order not
  found, ...) come from the engine.

Faults: with ``throttle_rest`` on, every call answers 10006; with ``rest_down`` on, every
call answers HTTP 503 with an HTML body (what a CDN shows when the origin is down); with
``malformed_rest`` on, every call answers HTTP 200 with a malformed body (JSON nested 100,000
deep, truncated JSON, the wrong shapes, impossible numbers, bytes that are not UTF-8, in turn).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, overload
from urllib.parse import parse_qsl
from wsgiref.handlers import format_date_time

import trio

from bitunix_trio._core import rest_wire
from bitunix_trio._core import signing as _signing
from bitunix_trio._core.credentials import Credentials
from bitunix_trio.testing._engine.engine import ExchangeEngine, SimulatedError

from .faults import FaultState
from .recorder import Recorder, RestRequestRecord, safe_headers
from .ws import SimClock

__all__ = ["RestApp", "RestSettings"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_MARKET = "/api/v1/futures/market/"
_TRADE = "/api/v1/futures/trade/"
_POSITION = "/api/v1/futures/position/"
_ACCOUNT = "/api/v1/futures/account/"
_TPSL = "/api/v1/futures/tpsl/"
DEPTH_LIMITS = ("1", "5", "15", "50", "max")
REST_KLINE_INTERVALS = (
    "1m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "6h",
    "8h",
    "12h",
    "1d",
    "3d",
    "1w",
    "1M",
)
KLINE_TYPES = {"LAST_PRICE": "market", "MARK_PRICE": "mark"}

_DOWN_BODY = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head>"
    b"<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)


@dataclass(slots=True)
class RestSettings:
    """Tunable limits of the REST side (defaults are the real exchange's)."""

    rate_limits: bool = True
    #: Seconds a signed request's timestamp may be off the exchange's clock (None: any).
    freshness_window: float | None = 60.0
    market_per_second: int = 10
    private_per_second: int = 10
    cancel_per_second: int = 5


def _alternatives(value: str, allowed: tuple[str, ...]) -> str:
    listed = ",".join(f'"{a}"' for a in allowed)
    return f"Parameter {value} does not match, alternative value [{listed}]."


def _bad(message: str) -> SimulatedError:
    return SimulatedError(10002, message)


@overload
def _int_param(params: Mapping[str, str], name: str, default: int) -> int: ...
@overload
def _int_param(params: Mapping[str, str], name: str, default: None) -> int | None: ...
def _int_param(params: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _bad(f"Parameter {name} is invalid") from None


@overload
def _decimal(value: object, name: str, *, required: Literal[True]) -> Decimal: ...
@overload
def _decimal(value: object, name: str, *, required: bool = False) -> Decimal | None: ...
def _decimal(value: object, name: str, *, required: bool = False) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise _bad(f"Parameter {name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _bad(f"Parameter {name} is invalid")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _bad(f"Parameter {name} is invalid") from None
    if not number.is_finite():
        raise _bad(f"Parameter {name} is invalid")
    return number


@overload
def _text(value: object, name: str, *, required: Literal[True]) -> str: ...
@overload
def _text(value: object, name: str, *, required: bool = False) -> str | None: ...
def _text(value: object, name: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise _bad(f"Parameter {name} is required")
        return None
    if not isinstance(value, str | int):
        raise _bad(f"Parameter {name} is invalid")
    return str(value)


def _row(value: object, encode: Callable[[Any], dict[str, Any]]) -> Any:
    return value if isinstance(value, dict) else encode(value)


class _RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[tuple[str, ...], collections.deque[float]] = {}

    def allow(self, key: tuple[str, ...], limit: int, now: float) -> bool:
        window = self._windows.setdefault(key, collections.deque())
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= limit:
            return False
        window.append(now)
        return True


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client: str


_Handler = Callable[["RestApp", _Request, str | None], Any]


class RestApp:
    """The ASGI application of the simulated exchange's REST API."""

    def __init__(
        self,
        engine: ExchangeEngine,
        clock: SimClock,
        faults: FaultState,
        recorder: Recorder,
        *,
        on_private_change: Callable[[], None] | None = None,
        settings: RestSettings | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.faults = faults
        self.recorder = recorder
        self.settings = settings or RestSettings()
        self._on_private_change = on_private_change
        self._limiter = _RateLimiter()
        #: (api key, nonce) -> Trio time until which that nonce stays refused.
        self._nonces: dict[tuple[str, str], float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI 3 entry point (``http`` and ``lifespan`` scopes)."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # pragma: no cover - websocket is served elsewhere
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        request = _Request(
            method=str(scope["method"]).upper(),
            path=str(scope["path"]),
            params=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            body=body,
            client=str((scope.get("client") or ("unknown",))[0]),
        )
        now = trio.current_time()
        if self.faults.rest_down:
            status, payload, code = 503, _DOWN_BODY, 503
            content_type = b"text/html"
        elif self.faults.malformed_rest:
            status, payload, code = 200, self.faults.next_malformed_body(), 0
            content_type = b"application/json"
        else:
            code, envelope = self.handle(request, now)
            status, payload, content_type = 200, envelope, b"application/json"
        self.recorder.record_request(
            RestRequestRecord(
                method=request.method,
                path=request.path,
                query=scope.get("query_string", b"").decode("latin-1"),
                params=tuple(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)),
                headers=safe_headers(
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                ),
                body=body.decode("utf-8", "replace"),
                time=now,
                ts_ms=self.clock.ms_at(now),
                code=code,
            )
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(payload)).encode()),
                    (b"date", format_date_time(self.clock.judge_ms(now) / 1000).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- dispatch ----------------------------------------------------------------------

    def handle(self, request: _Request, now: float) -> tuple[int, bytes]:
        """Answer one request: (code, envelope bytes). Synchronous and deterministic."""
        route = _ROUTES.get(request.path)
        if route is None or route[0] != request.method:
            return self._envelope(404, None, "Not Found")
        _, kind, handler = route
        if self.faults.throttle_rest:
            return self._envelope(10006, None, "Request too frequently")
        api_key: str | None = None
        try:
            if kind != "market":
                api_key = self._authenticate(request, now)
            if not self._within_limits(request, kind, api_key, now):
                return self._envelope(10006, None, "Request too frequently")
            data = handler(self, request, api_key)
        except SimulatedError as exc:
            return self._envelope(exc.code, None, exc.msg)
        finally:
            if api_key is not None and self._on_private_change is not None:
                self._on_private_change()
        return self._envelope(0, data, "Success")

    def _envelope(self, code: int, data: object, msg: str) -> tuple[int, bytes]:
        text = _signing.compact_json({"code": code, "data": data, "msg": msg})
        return code, text.encode("utf-8")

    def _authenticate(self, request: _Request, now: float) -> str:
        api_key = request.headers.get("api-key")
        if not api_key:
            raise SimulatedError(10003, "api-key can't be empty")
        account = self.engine.account_by_key(api_key)
        if account is None:
            raise SimulatedError(10003, "api-key is invalid")
        try:
            credentials = Credentials(account.api_key, account.secret_key)
        except ValueError:
            raise SimulatedError(10003, "api-key is invalid") from None
        if not _signing.verify_rest(
            credentials, headers=request.headers, params=request.params, body=request.body
        ):
            raise SimulatedError(10007, "Signature Error")
        window = self.settings.freshness_window
        if window is not None:
            stamp = int(request.headers["timestamp"])  # digits: verify_rest checked
            if abs(stamp - self.clock.judge_ms(now)) > window * 1000:
                raise SimulatedError(10007, "Timestamp expired")
            self._check_nonce(api_key, request.headers["nonce"], now, window)
        return api_key

    def _check_nonce(self, api_key: str, nonce: str, now: float, window: float) -> None:
        nonces = self._nonces
        if len(nonces) > 4096:
            for key in [k for k, until in nonces.items() if until <= now]:
                del nonces[key]
        until = nonces.get((api_key, nonce))
        if until is not None and until > now:
            raise SimulatedError(10007, "Nonce repeated")
        nonces[(api_key, nonce)] = now + 2 * window

    def _within_limits(self, request: _Request, kind: str, api_key: str | None, now: float) -> bool:
        if not self.settings.rate_limits:
            return True
        if kind == "market":
            key = ("market", request.path, request.client)
            limit = self.settings.market_per_second
        else:
            key = ("private", request.path, api_key or "")
            limit = (
                self.settings.cancel_per_second
                if kind == "cancel"
                else self.settings.private_per_second
            )
        return self._limiter.allow(key, limit, now)

    @overload
    def _symbol(self, value: object, *, required: Literal[True] = True) -> str: ...
    @overload
    def _symbol(self, value: object, *, required: bool) -> str | None: ...
    def _symbol(self, value: object, *, required: bool = True) -> str | None:
        text = _text(value, "symbol", required=required)
        if text is None:
            return None
        symbol = text.upper()
        if not self.engine.is_listed(symbol):
            raise SimulatedError(20015, "this Futures is not allowed to trade.")
        return symbol

    def _json_body(self, request: _Request) -> dict[str, Any]:
        try:
            body = json.loads(request.body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            raise _bad("request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _bad("request body must be a JSON object")
        return body

    # -- market ------------------------------------------------------------------------

    def _tickers(self, request: _Request, _key: str | None) -> Any:
        wanted = request.params.get("symbols")
        if wanted:
            symbols = [s.strip().upper() for s in wanted.split(",") if s.strip()]
        else:
            symbols = list(self.engine.instruments)
        return [
            _row(self.engine.ticker(s), rest_wire.ticker_to_rest_wire)
            for s in symbols
            if self.engine.is_listed(s)
        ]

    def _depth(self, request: _Request, _key: str | None) -> Any:
        if not request.params.get("symbol"):
            raise SimulatedError(1, "Network Error")
        limit = request.params.get("limit")
        if limit is not None and limit not in DEPTH_LIMITS:
            raise SimulatedError(10008, _alternatives(limit, DEPTH_LIMITS))
        symbol = self._symbol(request.params.get("symbol"))
        depth: int | str = "max" if limit is None or limit == "max" else int(limit)
        return _row(self.engine.order_book(symbol, depth), rest_wire.order_book_to_rest_wire)

    def _kline(self, request: _Request, _key: str | None) -> Any:
        params = request.params
        symbol = self._symbol(params.get("symbol"))
        interval = _text(params.get("interval"), "interval", required=True)
        if interval not in REST_KLINE_INTERVALS:
            raise SimulatedError(10008, _alternatives(interval, REST_KLINE_INTERVALS))
        kind = params.get("type") or "LAST_PRICE"
        if kind not in KLINE_TYPES:
            raise SimulatedError(10008, _alternatives(kind, tuple(KLINE_TYPES)))
        limit = _int_param(params, "limit", 100)
        if limit < 1:
            raise _bad("Parameter limit is invalid")
        candles = self.engine.kline_history(
            symbol,
            interval,
            _int_param(params, "startTime", None),
            _int_param(params, "endTime", None),
            min(limit, 200),
            KLINE_TYPES[kind],
        )
        return [_row(c, rest_wire.kline_to_rest_wire) for c in candles]

    def _funding_rate(self, request: _Request, _key: str | None) -> Any:
        symbol = self._symbol(request.params.get("symbol"))
        return self.engine.funding_rate(symbol)

    def _trading_pairs(self, request: _Request, _key: str | None) -> Any:
        wanted = request.params.get("symbols")
        symbols = [s.strip().upper() for s in wanted.split(",") if s.strip()] if wanted else None
        return self.engine.trading_pairs(symbols)

    # -- private -----------------------------------------------------------------------

    def _account(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        coin = _text(request.params.get("marginCoin"), "marginCoin", required=True)
        return _row(self.engine.balance(key, coin.upper()), rest_wire.account_to_rest_wire)

    def _pending_positions(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        symbol = self._symbol(request.params.get("symbol"), required=False)
        rows = [
            _row(p, rest_wire.position_to_rest_wire)
            for p in self.engine.pending_positions(key, symbol)
        ]
        position_id = request.params.get("positionId")
        if position_id:
            rows = [r for r in rows if str(r.get("positionId")) == position_id]
        return rows

    def _page(self, request: _Request, orders: list[Any]) -> Any:
        params = request.params
        rows = [_row(o, rest_wire.order_to_rest_wire) for o in orders]
        status = params.get("status")
        if status:
            rows = [r for r in rows if str(r.get("status", "")).rstrip("_") == status.upper()]
        start = _int_param(params, "startTime", None)
        end = _int_param(params, "endTime", None)
        if start is not None:
            rows = [r for r in rows if int(r.get("ctime") or 0) >= start]
        if end is not None:
            rows = [r for r in rows if int(r.get("ctime") or 0) <= end]
        return self._paged(request, rows, "orderList")

    def _pending_orders(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        params = request.params
        orders = self.engine.pending_orders(
            key,
            self._symbol(params.get("symbol"), required=False),
            params.get("orderId") or None,
            params.get("clientId") or None,
        )
        return self._page(request, orders)

    def _history_orders(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        params = request.params
        symbol = self._symbol(params.get("symbol"), required=False)
        orders = self.engine.history_orders(
            key,
            symbol,
            start_ms=_int_param(params, "startTime", None),
            end_ms=_int_param(params, "endTime", None),
        )
        return self._page(request, orders)

    def _order_detail(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        order_id = request.params.get("orderId") or None
        client_id = request.params.get("clientId") or None
        if order_id is None and client_id is None:
            raise _bad("Parameter orderId or clientId is required")
        order = self.engine.order_detail(key, order_id, client_id)
        if order is None:
            raise SimulatedError(20007, "Order not found")
        return _row(order, rest_wire.order_to_rest_wire)

    def _place_order(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        return self._place(key, self._json_body(request))

    def _place(self, key: str, body: Mapping[str, Any]) -> dict[str, Any]:
        symbol = self._symbol(body.get("symbol"))
        qty = _decimal(body.get("qty"), "qty", required=True)
        side = _text(body.get("side"), "side", required=True).upper()
        order_type = _text(body.get("orderType"), "orderType", required=True).upper()
        if side not in ("BUY", "SELL"):
            raise SimulatedError(10008, _alternatives(side, ("BUY", "SELL")))
        if order_type not in ("LIMIT", "MARKET"):
            raise SimulatedError(10008, _alternatives(order_type, ("LIMIT", "MARKET")))
        price = _decimal(body.get("price"), "price", required=order_type == "LIMIT")
        reduce_only = body.get("reduceOnly", False)
        if not isinstance(reduce_only, bool):
            raise _bad("Parameter reduceOnly is invalid")
        trade_side = _text(body.get("tradeSide"), "tradeSide")
        order = self.engine.place_order(
            key,
            symbol=symbol,
            side=side,
            order_type=order_type,
            qty=qty,
            price=price,
            client_id=_text(body.get("clientId"), "clientId"),
            reduce_only=reduce_only,
            effect=(_text(body.get("effect"), "effect") or "GTC").upper(),
            trade_side=trade_side.upper() if trade_side else None,
            **self._tpsl_args(body),
        )
        return {"orderId": order.order_id, "clientId": order.client_id}

    def _cancel_orders(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        symbol = self._symbol(body.get("symbol"))
        entries = body.get("orderList")
        if not isinstance(entries, list) or not entries:
            raise _bad("Parameter orderList is required")
        order_ids: list[str] = []
        client_ids: list[str] = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise _bad("Parameter orderList is invalid")
            order_id = _text(entry.get("orderId"), "orderId")
            client_id = _text(entry.get("clientId"), "clientId")
            if order_id is not None:
                order_ids.append(order_id)
            elif client_id is not None:
                client_ids.append(client_id)
            else:
                raise _bad("Parameter orderId or clientId is required")
        success, failure = self.engine.cancel_orders(key, symbol, order_ids, client_ids)
        return {"successList": success, "failureList": failure}

    def _cancel_all_orders(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        symbol = self._symbol(body.get("symbol"), required=False)
        canceled = self.engine.cancel_all_orders(key, symbol)
        success = [{"orderId": o.order_id, "clientId": o.client_id} for o in canceled]
        return {"successList": success, "failureList": []}

    # -- tp/sl, positions, settings ----------------------------------------------------

    def _tpsl_args(self, body: Mapping[str, Any], *, legs: bool = True) -> dict[str, Any]:
        """The tp/sl fields of a request body as engine keyword arguments."""
        out: dict[str, Any] = {}
        for leg in ("tp", "sl"):
            out[f"{leg}_price"] = _decimal(body.get(f"{leg}Price"), f"{leg}Price")
            out[f"{leg}_stop_type"] = _text(body.get(f"{leg}StopType"), f"{leg}StopType")
            if legs:
                out[f"{leg}_order_type"] = _text(body.get(f"{leg}OrderType"), f"{leg}OrderType")
                out[f"{leg}_order_price"] = _decimal(
                    body.get(f"{leg}OrderPrice"), f"{leg}OrderPrice"
                )
        return out

    def _paged(self, request: _Request, rows: list[Any], key: str) -> Any:
        skip = _int_param(request.params, "skip", 0)
        limit = _int_param(request.params, "limit", 10)
        if skip < 0 or limit < 1:
            raise _bad("Parameter skip/limit is invalid")
        total: int | str = len(rows)
        if self.engine.quirks:
            total = str(total)
        return {key: rows[skip : skip + min(limit, 100)], "total": total}

    def _history_positions(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        params = request.params
        rows = self.engine.history_positions(
            key,
            self._symbol(params.get("symbol"), required=False),
            params.get("positionId") or None,
            _int_param(params, "startTime", None),
            _int_param(params, "endTime", None),
        )
        return self._paged(request, rows, "positionList")

    def _history_trades(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        params = request.params
        rows = self.engine.history_trades(
            key,
            self._symbol(params.get("symbol"), required=False),
            params.get("orderId") or None,
            params.get("positionId") or None,
            _int_param(params, "startTime", None),
            _int_param(params, "endTime", None),
        )
        return self._paged(request, rows, "tradeList")

    def _position_tiers(self, request: _Request, _key: str | None) -> Any:
        symbol = self._symbol(request.params.get("symbol"))
        return self.engine.position_tiers(symbol)

    def _modify_order(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        order_id = _text(body.get("orderId"), "orderId")
        client_id = _text(body.get("clientId"), "clientId")
        if order_id is None and client_id is None:
            raise _bad("Parameter orderId or clientId is required")
        tpsl = self._tpsl_args(body)
        order = self.engine.modify_order(
            key,
            order_id,
            client_id,
            qty=_decimal(body.get("qty"), "qty"),
            price=_decimal(body.get("price"), "price"),
            tpsl={
                **self.engine.tpsl_leg(
                    "tp",
                    tpsl["tp_price"],
                    tpsl["tp_stop_type"],
                    tpsl["tp_order_type"],
                    tpsl["tp_order_price"],
                ),
                **self.engine.tpsl_leg(
                    "sl",
                    tpsl["sl_price"],
                    tpsl["sl_stop_type"],
                    tpsl["sl_order_type"],
                    tpsl["sl_order_price"],
                ),
            },
        )
        return {"orderId": order.order_id, "clientId": order.client_id}

    def _batch_order(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        symbol = self._symbol(body.get("symbol"))
        entries = body.get("orderList")
        if not isinstance(entries, list) or not entries:
            raise _bad("Parameter orderList is required")
        success: list[dict[str, Any]] = []
        failure: list[dict[str, Any]] = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise _bad("Parameter orderList is invalid")
            try:
                success.append(self._place(key, {"symbol": symbol, **entry}))
            except SimulatedError as exc:
                failure.append(
                    {
                        "clientId": str(entry.get("clientId") or ""),
                        "errorMsg": exc.msg,
                        "errorCode": str(exc.code),
                    }
                )
        return {"successList": success, "failureList": failure}

    def _close_all_position(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        self.engine.close_all_positions(key, self._symbol(body.get("symbol"), required=False))
        return None

    def _flash_close_position(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        position_id = _text(body.get("positionId"), "positionId", required=True)
        self.engine.flash_close_position(key, position_id)
        return None

    def _leverage_margin_mode(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        symbol = self._symbol(request.params.get("symbol"))
        coin = _text(request.params.get("marginCoin"), "marginCoin", required=True)
        return self.engine.leverage_margin_mode(key, symbol, coin)

    def _change_leverage(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        symbol = self._symbol(body.get("symbol"))
        coin = _text(body.get("marginCoin"), "marginCoin", required=True)
        leverage = _decimal(body.get("leverage"), "leverage", required=True)
        if leverage != leverage.to_integral_value():
            raise SimulatedError(20005, "Invalid leverage")
        return self.engine.change_leverage(key, symbol, int(leverage), coin)

    def _change_margin_mode(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        symbol = self._symbol(body.get("symbol"))
        coin = _text(body.get("marginCoin"), "marginCoin", required=True)
        mode = _text(body.get("marginMode"), "marginMode", required=True)
        return self.engine.change_margin_mode(key, symbol, mode, coin)

    def _change_position_mode(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        mode = _text(body.get("positionMode"), "positionMode", required=True)
        return self.engine.change_position_mode(key, mode)

    def _adjust_position_margin(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        symbol = self._symbol(body.get("symbol"))
        _text(body.get("marginCoin"), "marginCoin", required=True)
        amount = _decimal(body.get("amount"), "amount", required=True)
        self.engine.adjust_position_margin(
            key, symbol, amount, _text(body.get("positionId"), "positionId")
        )
        return None

    def _tpsl_place(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        symbol = self._symbol(body.get("symbol"))
        position_id = _text(body.get("positionId"), "positionId", required=True)
        t = self.engine.place_tpsl(
            key,
            symbol,
            position_id,
            tp_qty=_decimal(body.get("tpQty"), "tpQty"),
            sl_qty=_decimal(body.get("slQty"), "slQty"),
            **self._tpsl_args(body),
        )
        return [{"orderId": t.order_id}]

    def _tpsl_position_place(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        symbol = self._symbol(body.get("symbol"))
        position_id = _text(body.get("positionId"), "positionId", required=True)
        t = self.engine.place_position_tpsl(
            key, symbol, position_id, **self._tpsl_args(body, legs=False)
        )
        return {"orderId": t.order_id}

    def _tpsl_position_modify(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        symbol = self._symbol(body.get("symbol"))
        position_id = _text(body.get("positionId"), "positionId", required=True)
        t = self.engine.modify_position_tpsl(
            key, symbol, position_id, **self._tpsl_args(body, legs=False)
        )
        return {"orderId": t.order_id}

    def _tpsl_modify(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        order_id = _text(body.get("orderId"), "orderId", required=True)
        t = self.engine.modify_tpsl(
            key,
            order_id,
            tp_qty=_decimal(body.get("tpQty"), "tpQty"),
            sl_qty=_decimal(body.get("slQty"), "slQty"),
            **self._tpsl_args(body),
        )
        return {"orderId": t.order_id}

    def _tpsl_cancel(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        body = self._json_body(request)
        symbol = self._symbol(body.get("symbol"), required=False)
        order_id = _text(body.get("orderId"), "orderId", required=True)
        t = self.engine.cancel_tpsl(key, symbol, order_id)
        return {"orderId": t.order_id}

    def _tpsl_pending(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        params = request.params
        rows = self.engine.pending_tpsl(
            key,
            self._symbol(params.get("symbol"), required=False),
            params.get("positionId") or None,
        )
        skip = _int_param(params, "skip", 0)
        limit = _int_param(params, "limit", 100) or 100
        return rows[skip : skip + limit]

    def _tpsl_history(self, request: _Request, key: str | None) -> Any:
        assert key is not None
        params = request.params
        rows = self.engine.history_tpsl(
            key,
            self._symbol(params.get("symbol"), required=False),
            params.get("positionId") or None,
            _int_param(params, "startTime", None),
            _int_param(params, "endTime", None),
        )
        return self._paged(request, rows, "orderList")


_ROUTES: dict[str, tuple[str, str, _Handler]] = {
    _MARKET + "tickers": ("GET", "market", RestApp._tickers),
    _MARKET + "depth": ("GET", "market", RestApp._depth),
    _MARKET + "kline": ("GET", "market", RestApp._kline),
    _MARKET + "funding_rate": ("GET", "market", RestApp._funding_rate),
    _MARKET + "trading_pairs": ("GET", "market", RestApp._trading_pairs),
    "/api/v1/futures/account": ("GET", "private", RestApp._account),
    "/api/v1/futures/position/get_pending_positions": (
        "GET",
        "private",
        RestApp._pending_positions,
    ),
    _TRADE + "get_pending_orders": ("GET", "private", RestApp._pending_orders),
    _TRADE + "get_history_orders": ("GET", "private", RestApp._history_orders),
    _TRADE + "get_order_detail": ("GET", "private", RestApp._order_detail),
    _TRADE + "place_order": ("POST", "private", RestApp._place_order),
    _TRADE + "cancel_orders": ("POST", "cancel", RestApp._cancel_orders),
    _TRADE + "cancel_all_orders": ("POST", "cancel", RestApp._cancel_all_orders),
    _TRADE + "get_history_trades": ("GET", "private", RestApp._history_trades),
    _TRADE + "modify_order": ("POST", "private", RestApp._modify_order),
    _TRADE + "batch_order": ("POST", "private", RestApp._batch_order),
    _TRADE + "close_all_position": ("POST", "private", RestApp._close_all_position),
    _TRADE + "flash_close_position": ("POST", "private", RestApp._flash_close_position),
    _POSITION + "get_history_positions": ("GET", "private", RestApp._history_positions),
    _POSITION + "get_position_tiers": ("GET", "private", RestApp._position_tiers),
    _ACCOUNT + "change_leverage": ("POST", "private", RestApp._change_leverage),
    _ACCOUNT + "change_margin_mode": ("POST", "private", RestApp._change_margin_mode),
    _ACCOUNT + "change_position_mode": ("POST", "private", RestApp._change_position_mode),
    _ACCOUNT + "adjust_position_margin": ("POST", "private", RestApp._adjust_position_margin),
    _ACCOUNT + "get_leverage_margin_mode": ("GET", "private", RestApp._leverage_margin_mode),
    _TPSL + "place_order": ("POST", "private", RestApp._tpsl_place),
    _TPSL + "cancel_order": ("POST", "cancel", RestApp._tpsl_cancel),
    _TPSL + "modify_order": ("POST", "private", RestApp._tpsl_modify),
    _TPSL + "get_pending_orders": ("GET", "private", RestApp._tpsl_pending),
    _TPSL + "get_history_orders": ("GET", "private", RestApp._tpsl_history),
    _TPSL + "position/place_order": ("POST", "private", RestApp._tpsl_position_place),
    _TPSL + "position/modify_order": ("POST", "private", RestApp._tpsl_position_modify),
}

#: Every path the simulated REST API answers, with its method.
ENDPOINTS: dict[str, str] = {path: route[0] for path, route in _ROUTES.items()}
