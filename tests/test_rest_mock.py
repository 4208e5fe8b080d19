"""REST client against scripted replies (``httpx.MockTransport``): envelope and error
mapping, signing, argument checking, timeouts, retries and order-outcome resolution.

Time-dependent tests run under ``MockClock(autojump_threshold=0)`` and assert exact virtual
times (MockTransport does no I/O, so autojump is exact).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import (
    AuthenticationError,
    BitunixError,
    ConfigurationError,
    ConnectError,
    ConnectTimeout,
    ExchangeError,
    RateLimited,
    RestError,
    TransportError,
)
from bitunix_trio._core.models import DataSource, OrderType, Side, StopType, TimeInForce
from bitunix_trio._core.signing import verify_rest
from bitunix_trio._rest.client import BitunixRestClient, open_rest_client

API_KEY = "test-api-key-0123456789"
SECRET = "s3cr3t-VALUE-that-must-never-leak"
CREDS = Credentials(API_KEY, SECRET)
BASE = "https://fapi.test"
PLACE = "/api/v1/futures/trade/place_order"
DETAIL = "/api/v1/futures/trade/get_order_detail"

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def envelope(data: Any = None, code: int = 0, msg: str = "Success") -> httpx.Response:
    return httpx.Response(200, json={"code": code, "data": data, "msg": msg})


def order_row(order_id: str = "1001", client_id: str | None = "cid-1", **extra: Any) -> Any:
    row = {
        "orderId": order_id,
        "clientId": client_id,
        "symbol": "BTCUSDT",
        "side": "BUY",
        "orderType": "LIMIT",
        "status": "NEW",
        "price": "60000",
        "qty": "0.01",
        "tradeQty": "0",
        "reduceOnly": False,
        "effect": "GTC",
        "leverage": 10,
        "marginMode": "CROSS",
        "positionMode": "ONE_WAY",
        "ctime": 1700000000000,
        "mtime": 1700000000001,
    }
    row.update(extra)
    return row


class Recorder:
    """A MockTransport handler that records requests and answers from a script."""

    def __init__(self, *replies: httpx.Response | Handler | BaseException) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(trio.current_time())
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return await reply(request)

    @property
    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


@asynccontextmanager
async def client(
    handler: Recorder, credentials: Credentials | None = CREDS, **kwargs: Any
) -> AsyncIterator[BitunixRestClient]:
    kwargs.setdefault("rng", random.Random(7))
    kwargs.setdefault("clock", lambda: 1_700_000_000.0)
    async with open_rest_client(
        credentials, BASE, transport=httpx.MockTransport(handler), **kwargs
    ) as rest:
        yield rest


# --------------------------------------------------------------------------- envelope


@pytest.mark.parametrize(
    ("reply", "error", "status", "code"),
    [
        (envelope(code=10003, msg="api-key can't be empty"), AuthenticationError, None, 10003),
        (envelope(code=10004, msg="IP not in whitelist"), AuthenticationError, None, 10004),
        (envelope(code=10007, msg="Signature Error"), AuthenticationError, None, 10007),
        (envelope(code=10005, msg="Too many requests"), RateLimited, None, 10005),
        (envelope(code=10006, msg="Too frequently"), RateLimited, None, 10006),
        (envelope(code=20003, msg="Insufficient balance"), ExchangeError, None, 20003),
        (envelope(code=10002, msg="Parameter error"), ExchangeError, None, 10002),
        (envelope(code=1, msg="Network Error"), ExchangeError, None, 1),
        (envelope(code=404, msg="Not Found"), RestError, 200, 404),
        (httpx.Response(200, json={"code": "20015", "message": "x"}), ExchangeError, None, 20015),
        (httpx.Response(404, text="not here"), RestError, 404, None),
        (httpx.Response(500, text="<html>oops</html>"), RestError, 500, None),
        (httpx.Response(403, json={"code": 10004, "msg": "no"}), RestError, 403, 10004),
        (httpx.Response(429, text="slow down"), RateLimited, None, None),
        (httpx.Response(200, text="<html>cloudflare</html>"), RestError, 200, None),
        (httpx.Response(200, json=[1, 2]), RestError, 200, None),
        (httpx.Response(200, content=b""), RestError, 200, None),
    ],
)
async def test_envelope_errors_are_typed(
    reply: httpx.Response, error: type[BitunixError], status: int | None, code: int | None
) -> None:
    async with client(Recorder(reply), max_retries=0) as rest:
        with pytest.raises(error) as info:
            await rest.get_depth("BTCUSDT")
    exc = info.value
    assert type(exc) is error
    assert getattr(exc, "code", None) == code
    if isinstance(exc, RestError):
        assert exc.status == status


async def test_message_key_and_string_code_are_accepted() -> None:
    reply = httpx.Response(200, json={"code": "0", "data": {"asks": [], "bids": []}})
    async with client(Recorder(reply)) as rest:
        book = await rest.get_depth("BTCUSDT")
    assert book.bids == ()
    assert book.asks == ()
    async with client(Recorder(httpx.Response(200, json={"code": 20015, "message": "nope"}))) as r:
        with pytest.raises(ExchangeError, match="nope"):
            await r.get_depth("BTCUSDT")


async def test_malformed_data_is_a_rest_error() -> None:
    async with client(Recorder(envelope({"asks": "garbage"}))) as rest:
        with pytest.raises(RestError, match="unexpected reply"):
            await rest.get_depth("BTCUSDT")


# --------------------------------------------------------------------------- transport errors


@pytest.mark.parametrize(
    ("raised", "error"),
    [
        (httpx.ConnectTimeout("connect timed out"), ConnectTimeout),
        (httpx.PoolTimeout("pool timed out"), ConnectTimeout),
        (httpx.ConnectError("connection refused"), ConnectError),
        (httpx.ReadTimeout("read timed out"), TransportError),
        (httpx.WriteTimeout("write timed out"), TransportError),
        (httpx.ReadError("connection reset"), TransportError),
        (httpx.RemoteProtocolError("server disconnected"), TransportError),
    ],
)
async def test_httpx_errors_are_mapped(raised: Exception, error: type[BitunixError]) -> None:
    async with client(Recorder(raised), max_retries=0) as rest:
        with pytest.raises(error) as info:
            await rest.get_tickers()
    assert type(info.value) is error
    assert isinstance(info.value.__cause__, httpx.HTTPError)


async def test_timeout_of_a_slow_reply(autojump_clock: trio.testing.MockClock) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await trio.sleep(1000)
        raise AssertionError("unreachable")

    recorder = Recorder(hang)
    async with client(recorder, timeout=2.5, max_retries=2, retry_delay=0.5) as rest:
        with pytest.raises(TransportError, match=r"no reply within 2\.5 s") as info:
            await rest.get_tickers()
    assert not isinstance(info.value, ConnectError)
    # Three attempts: t=0 (times out at 2.5), retry after 0.5 s, then after 1.0 s.
    assert recorder.times == [0.0, 3.0, 6.5]
    assert trio.current_time() == 9.0


# --------------------------------------------------------------------------- signing


async def test_get_and_post_are_signed_over_what_is_sent() -> None:
    async def check(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        assert verify_rest(CREDS, headers=request.headers, params=params, body=request.content)
        assert request.headers["timestamp"] == "1700000000000"
        assert len(request.headers["nonce"]) == 32
        if request.method == "POST":
            assert b" " not in request.content
            return envelope({"orderId": "42", "clientId": json.loads(request.content)["clientId"]})
        return envelope({"marginCoin": "USDT", "available": "10", "frozen": "0", "margin": "0"})

    recorder = Recorder(check)
    async with client(recorder) as rest:
        balance = await rest.get_account("usdt")
        placed = await rest.place_order(
            symbol="btcusdt", side="buy", order_type="limit", qty="0.01", price=Decimal("6E+4")
        )
    assert balance.available == Decimal(10)
    assert balance.source is DataSource.REST
    assert placed.order_id == "42"
    assert recorder.requests[0].url.params["marginCoin"] == "USDT"
    body = json.loads(recorder.requests[1].content)
    assert body == {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "orderType": "LIMIT",
        "qty": "0.01",
        "price": "60000",
        "effect": "GTC",
        "reduceOnly": False,
        "clientId": placed.client_id,
    }


async def test_public_calls_are_not_signed_and_private_ones_need_credentials() -> None:
    recorder = Recorder(envelope([]), envelope(code=10003, msg="api-key can't be empty"))
    async with client(recorder, credentials=None) as rest:
        assert not rest.authenticated
        assert await rest.get_tickers() == []
        with pytest.raises(AuthenticationError) as info:
            await rest.get_pending_positions()
    assert info.value.code == 10003
    for request in recorder.requests:
        assert "sign" not in request.headers
        assert "api-key" not in request.headers


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("field", ["qty", "price"])
async def test_floats_are_refused(field: str) -> None:
    recorder = Recorder(envelope({"orderId": "1"}))
    args: dict[str, Any] = {"qty": "1", "price": "100", field: 0.1}
    async with client(recorder) as rest:
        with pytest.raises(ConfigurationError, match=r"Decimal or a str, not a float") as info:
            await rest.place_order("BTCUSDT", "BUY", "LIMIT", **args)
    assert "Decimal('0.1')" in str(info.value)
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("side", "order_type", "tif"),
    [
        ("BUY", "LIMIT", "GTC"),
        ("buy", "limit", "gtc"),
        ("Buy", "Limit", "post_only"),
        (Side.BUY, OrderType.LIMIT, TimeInForce.POST_ONLY),
    ],
)
async def test_strings_and_enums_are_accepted(side: Any, order_type: Any, tif: Any) -> None:
    async def echo(request: httpx.Request) -> httpx.Response:
        return envelope({"orderId": "7", "clientId": "mine-1"})

    recorder = Recorder(echo)
    async with client(recorder) as rest:
        placed = await rest.place_order(
            "BTCUSDT", side, order_type, Decimal("0.0001"), "100.50", "mine-1", time_in_force=tif
        )
    assert placed.client_id == "mine-1"
    assert not placed.resolved
    body = json.loads(recorder.requests[0].content)
    assert body["side"] == "BUY"
    assert body["orderType"] == "LIMIT"
    assert body["effect"] in {"GTC", "POST_ONLY"}
    assert body["qty"] == "0.0001"
    assert body["price"] == "100.5"


async def test_market_order_with_tp_sl_and_reduce_only() -> None:
    recorder = Recorder(envelope({"orderId": "8", "clientId": "c"}))
    async with client(recorder) as rest:
        await rest.place_order(
            "ETHUSDT",
            "sell",
            "market",
            2,
            reduce_only=True,
            trade_side="close",
            position_id="p1",
            tp_price="1000",
            tp_stop_type="mark",
            tp_order_type="limit",
            tp_order_price="1001",
            sl_price=Decimal("3000"),
            sl_stop_type=StopType.LAST_PRICE,
        )
    body = json.loads(recorder.requests[0].content)
    assert "price" not in body
    assert "effect" not in body
    assert body["reduceOnly"] is True
    assert body["tradeSide"] == "CLOSE"
    assert body["positionId"] == "p1"
    assert body["qty"] == "2"
    assert body["tpPrice"] == "1000"
    assert body["tpStopType"] == "MARK_PRICE"
    assert body["tpOrderType"] == "LIMIT"
    assert body["tpOrderPrice"] == "1001"
    assert body["slPrice"] == "3000"
    assert body["slStopType"] == "LAST_PRICE"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda r: r.place_order("BTCUSDT", "LONG", "LIMIT", "1", "1"), "side must be"),
        (lambda r: r.place_order("BTCUSDT", "BUY", "STOP", "1", "1"), "order_type must be"),
        (lambda r: r.place_order("BTCUSDT", "BUY", "LIMIT", "1"), "needs a price"),
        (lambda r: r.place_order("BTCUSDT", "BUY", "MARKET", "1", "5"), "takes no price"),
        (lambda r: r.place_order("BTCUSDT", "BUY", "LIMIT", "0", "5"), "greater than zero"),
        (lambda r: r.place_order("BTCUSDT", "BUY", "LIMIT", "abc", "5"), "not a decimal"),
        (lambda r: r.place_order("BTCUSDT", "BUY", "LIMIT", "NaN", "5"), "finite"),
        (lambda r: r.place_order("BTC-USDT", "BUY", "LIMIT", "1", "5"), "symbol must be"),
        (
            lambda r: r.place_order("BTCUSDT", "BUY", "LIMIT", "1", "5", time_in_force="DAY"),
            "time_in_force",
        ),
        (lambda r: r.place_order("BTCUSDT", "BUY", "LIMIT", "1", "5", "bad id!"), "client_id"),
        (
            lambda r: r.place_order("BTCUSDT", "BUY", "LIMIT", "1", "5", reduce_only="yes"),
            "reduce_only",
        ),
        (lambda r: r.place_order("BTCUSDT", "BUY", "LIMIT", "1", "5", sl_stop_type="mark"), "sl"),
        (lambda r: r.get_depth("BTCUSDT", limit=20), "limit must be one of"),
        (lambda r: r.get_klines("BTCUSDT", "7m"), "interval must be"),
        (lambda r: r.get_klines("BTCUSDT", "1m", limit=500), "limit must be between"),
        (lambda r: r.get_order_detail(), "exactly one"),
        (lambda r: r.get_order_detail("1", "c"), "exactly one"),
        (lambda r: r.cancel_orders("BTCUSDT", []), "at least one"),
    ],
)
async def test_invalid_arguments_are_refused_before_sending(
    call: Callable[[BitunixRestClient], Awaitable[object]], match: str
) -> None:
    recorder = Recorder(envelope(None))
    async with client(recorder) as rest:
        with pytest.raises(ConfigurationError, match=match):
            await call(rest)
    assert recorder.requests == []


async def test_open_rest_client_checks_its_options() -> None:
    with pytest.raises(ConfigurationError, match="credentials"):
        async with open_rest_client("key:secret"):  # type: ignore[arg-type]
            pass
    with pytest.raises(ConfigurationError, match="base_url"):
        async with open_rest_client(None, "fapi.bitunix.com"):
            pass
    with pytest.raises(ConfigurationError, match="timeout"):
        async with open_rest_client(None, timeout=0):
            pass
    with pytest.raises(ConfigurationError, match="rate limit"):
        async with open_rest_client(None, rate_limit=0):
            pass


# --------------------------------------------------------------------------- rate limiting


async def test_limiter_spaces_concurrent_requests(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder(envelope([]))
    async with client(recorder, rate_limit=10.0) as rest, trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(rest.get_tickers)
    # 10 requests per 1.1 s: a 10 % margin under the exchange's 10 a second.
    assert recorder.times == [0.0, 0.11, 0.22, 0.33, 0.44]


async def test_limiter_burst(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder(envelope([]))
    async with client(recorder, rate_limit=10.0, rate_burst=3) as rest, trio.open_nursery() as n:
        for _ in range(5):
            n.start_soon(rest.get_tickers)
    assert recorder.times == [0.0, 0.0, 0.0, 0.11, 0.22]


async def test_cancels_have_their_own_limit(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder(envelope({"successList": [], "failureList": []}))
    async with client(recorder) as rest:
        for _ in range(4):
            await rest.cancel_orders("BTCUSDT", "1")
        await rest.get_tickers()
    # 5 cancels per 1.1 s on top of the key's 10; the public call has its own budget.
    assert recorder.times == [0.0, 0.22, 0.44, 0.66, 0.66]


async def test_gets_retry_after_rate_limit_replies(autojump_clock: trio.testing.MockClock) -> None:
    limited = envelope(code=10006, msg="Request too frequently")
    recorder = Recorder(limited, limited, envelope([]))
    async with client(recorder, retry_delay=0.5) as rest:
        assert await rest.get_tickers() == []
    assert recorder.times == [0.0, 0.5, 1.5]


async def test_retries_give_up_and_auth_errors_are_never_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder(envelope(code=10005, msg="Too many requests"))
    async with client(recorder, max_retries=2, retry_delay=1, max_retry_delay=1.5) as rest:
        with pytest.raises(RateLimited):
            await rest.get_tickers()
    assert recorder.times == [0.0, 1.0, 2.5]
    recorder = Recorder(envelope(code=10007, msg="Signature Error"))
    async with client(recorder) as rest:
        with pytest.raises(AuthenticationError):
            await rest.get_account()
    assert len(recorder.requests) == 1


# --------------------------------------------------------------------------- placing orders


async def test_place_order_rate_limited_looks_up_then_resends_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def accept(request: httpx.Request) -> httpx.Response:
        return envelope({"orderId": "55", "clientId": json.loads(request.content)["clientId"]})

    recorder = Recorder(
        envelope(code=10006, msg="Request too frequently"),
        envelope(code=20007, msg="Order not found"),
        accept,
    )
    async with client(recorder, retry_delay=0.5) as rest:
        placed = await rest.place_order("BTCUSDT", "BUY", "MARKET", "1")
    assert recorder.paths == [f"POST {PLACE}", f"GET {DETAIL}", f"POST {PLACE}"]
    first, second = (json.loads(recorder.requests[i].content) for i in (0, 2))
    assert first == second  # same body, same generated client id
    assert first["clientId"] == placed.client_id
    assert placed.client_id.startswith("bt")
    assert recorder.requests[1].url.params["clientId"] == placed.client_id
    assert placed.order_id == "55"
    assert not placed.resolved


async def test_place_order_timeout_resolved_by_client_id(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def lands_then_hangs(request: httpx.Request) -> httpx.Response:
        await trio.sleep(60)
        raise AssertionError("unreachable")

    recorder = Recorder(lands_then_hangs, envelope(order_row("99", "mine-7")))
    async with client(recorder, timeout=5, retry_delay=0.5) as rest:
        placed = await rest.place_order("BTCUSDT", "BUY", "LIMIT", "1", "100", "mine-7")
    assert recorder.paths == [f"POST {PLACE}", f"GET {DETAIL}"]
    assert placed.order_id == "99"
    assert placed.client_id == "mine-7"
    assert placed.resolved
    assert recorder.times == [0.0, 5.5]


async def test_place_order_resend_rejected_as_duplicate_is_resolved(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder(
        httpx.ReadError("connection reset after sending"),
        envelope(code=20007, msg="Order not found"),  # the first one is still in flight
        envelope(code=30042, msg="Client ID duplicate"),
        envelope(order_row("77", "c-1")),
    )
    async with client(recorder) as rest:
        placed = await rest.place_order("BTCUSDT", "SELL", "LIMIT", "1", "100", "c-1")
    assert recorder.paths == [f"POST {PLACE}", f"GET {DETAIL}", f"POST {PLACE}", f"GET {DETAIL}"]
    assert placed.order_id == "77"
    assert placed.resolved


async def test_place_order_gives_up_when_not_placed_twice(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder(
        envelope(code=10006, msg="Request too frequently"),
        envelope(code=20007, msg="Order not found"),
        envelope(code=10006, msg="Request too frequently"),
        envelope(code=20007, msg="Order not found"),
    )
    async with client(recorder) as rest:
        with pytest.raises(RateLimited) as info:
            await rest.place_order("BTCUSDT", "BUY", "LIMIT", "1", "100", "c-2")
    assert [p.split()[0] for p in recorder.paths] == ["POST", "GET", "POST", "GET"]
    assert any("was not placed" in note for note in info.value.__notes__)


async def test_place_order_failed_lookup_reports_unknown_outcome(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder(httpx.ReadTimeout("read timed out"), httpx.ConnectError("refused"))
    async with client(recorder, max_retries=1) as rest:
        with pytest.raises(TransportError) as info:
            await rest.place_order("BTCUSDT", "BUY", "LIMIT", "1", "100", "c-3")
    assert type(info.value) is TransportError
    assert any("c-3 is unknown" in note for note in info.value.__notes__)
    assert isinstance(info.value.__cause__, ConnectError)
    assert [p.split()[0] for p in recorder.paths] == ["POST", "GET", "GET"]


async def test_place_order_connect_error_is_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder(httpx.ConnectError("refused"), envelope({"orderId": "5", "clientId": "c"}))
    async with client(recorder) as rest:
        placed = await rest.place_order("BTCUSDT", "BUY", "MARKET", "1", client_id="c")
    assert recorder.paths == [f"POST {PLACE}", f"POST {PLACE}"]
    assert placed.order_id == "5"
    assert not placed.resolved


async def test_place_order_exchange_errors_are_not_retried() -> None:
    recorder = Recorder(envelope(code=20003, msg="Insufficient balance"))
    async with client(recorder) as rest:
        with pytest.raises(ExchangeError) as info:
            await rest.place_order("BTCUSDT", "BUY", "MARKET", "1")
    assert info.value.code == 20003
    assert len(recorder.requests) == 1


# --------------------------------------------------------------------------- listings


async def test_pending_orders_are_paged_until_the_end() -> None:
    rows = [order_row(str(i), f"c{i}") for i in range(250)]

    async def page(request: httpx.Request) -> httpx.Response:
        skip, limit = int(request.url.params["skip"]), int(request.url.params["limit"])
        return envelope({"orderList": rows[skip : skip + limit], "total": str(len(rows))})

    recorder = Recorder(page)
    async with client(recorder, rate_limit=None) as rest:
        orders = await rest.get_pending_orders("btcusdt")
    assert [o.order_id for o in orders] == [str(i) for i in range(250)]
    assert [r.url.params["skip"] for r in recorder.requests] == ["0", "100", "200"]
    assert all(r.url.params["symbol"] == "BTCUSDT" for r in recorder.requests)
    assert orders[0].source is DataSource.REST


async def test_paging_stops_when_the_server_ignores_skip() -> None:
    recorder = Recorder(envelope({"orderList": [order_row(str(i)) for i in range(100)]}))
    async with client(recorder, rate_limit=None) as rest:
        orders = await rest.get_pending_orders()
    assert len(orders) == 100
    assert len(recorder.requests) == 2


async def test_cancel_results_are_typed() -> None:
    reply = envelope(
        {
            "successList": [{"orderId": "1", "clientId": "a"}],
            "failureList": [
                {
                    "orderId": "2",
                    "clientId": "",
                    "errorMsg": "Order not found",
                    "errorCode": "20007",
                }
            ],
        }
    )
    recorder = Recorder(reply)
    async with client(recorder) as rest:
        result = await rest.cancel_orders("BTCUSDT", ["1", "2"], client_ids="a")
    assert not result.ok
    assert result.successes[0].order_id == "1"
    failure = result.failures[0]
    assert (failure.order_id, failure.client_id, failure.code) == ("2", None, 20007)
    body = json.loads(recorder.requests[0].content)
    assert body["orderList"] == [{"orderId": "1"}, {"orderId": "2"}, {"clientId": "a"}]


# --------------------------------------------------------------------------- secrets


async def test_no_secret_in_errors_logs_or_repr(
    caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder(
        httpx.ReadTimeout("read timed out"),
        envelope(code=10007, msg="Signature Error"),
    )
    errors: list[BaseException] = []
    async with client(recorder) as rest:
        text = repr(rest)
        assert text == "<BitunixRestClient base_url='https://fapi.test' api_key='test…6789'>"
        try:
            await rest.place_order("BTCUSDT", "BUY", "LIMIT", "1", "100")
        except BitunixError as error:
            errors.append(error)
    assert errors
    seen = [text, *(r.getMessage() for r in caplog.records)]
    for exc in errors:
        chain: BaseException | None = exc
        while chain is not None:
            seen += [str(chain), repr(chain), *getattr(chain, "__notes__", [])]
            chain = chain.__cause__ or chain.__context__
    assert caplog.records
    for item in seen:
        assert SECRET not in item
        assert API_KEY not in item


# --------------------------------------------------------------------------- odd replies


async def test_tickers_as_a_bare_object() -> None:
    row = {
        "symbol": "BTCUSDT",
        "lastPrice": "110",
        "open": "100",
        "high": "120",
        "low": "90",
        "baseVol": "5",
        "quoteVol": "550",
        "markPrice": "109",
    }
    async with client(Recorder(envelope(row))) as rest:
        (ticker,) = await rest.get_tickers("BTCUSDT")
    assert ticker.change == Decimal(10)
    assert ticker.mark_price == Decimal(109)


async def test_garbage_total_is_a_rest_error() -> None:
    reply = envelope({"orderList": [order_row()], "total": "lots"})
    async with client(Recorder(reply)) as rest:
        with pytest.raises(RestError, match="unexpected reply"):
            await rest.get_pending_orders()


async def test_request_escape_hatch() -> None:
    recorder = Recorder(envelope({"ok": True}))
    async with client(recorder) as rest:
        assert await rest.request("post", "/x", body={"a": Decimal("1.50")}) == {"ok": True}
        with pytest.raises(ConfigurationError, match="method"):
            await rest.request("DELETE", "/x")
        with pytest.raises(ConfigurationError, match="path"):
            await rest.request("GET", "x")
        with pytest.raises(ConfigurationError, match="cannot send"):
            await rest.request("POST", "/x", body={"a": object()})
        with pytest.raises(ConfigurationError, match="cannot send"):
            await rest.request("GET", "/x", params={"a": [1]})
    assert len(recorder.requests) == 1
    assert recorder.requests[0].content == b'{"a":"1.50"}'
    assert "sign" in recorder.requests[0].headers


def test_three_minute_klines_are_refused_on_rest() -> None:
    from bitunix_trio._rest.args import kline_interval

    assert kline_interval("5min") == ("5m", "5min")
    for spelling in ("3min", "3m"):
        with pytest.raises(ConfigurationError, match="no 3-minute interval"):
            kline_interval(spelling)
