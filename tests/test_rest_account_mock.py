"""Wire shapes of the REST client's account, position, order-change and TP/SL calls
against scripted replies (``httpx.MockTransport``): method, path, query and JSON body sent,
typed results parsed from the exchange's reply shapes, arguments refused before sending,
and which calls are repeated after a rate-limit reply."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
import trio.testing

from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import ConfigurationError, RateLimited
from bitunix_trio._core.models import (
    DataSource,
    MarginMode,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
    StopType,
)
from bitunix_trio._core.signing import verify_rest
from bitunix_trio._rest.client import BitunixRestClient, open_rest_client

CREDS = Credentials("test-api-key-0123456789", "s3cr3t-VALUE-that-must-never-leak")
BASE = "https://fapi.test"


def envelope(data: Any = None, code: int = 0) -> httpx.Response:
    return httpx.Response(200, json={"code": code, "data": data, "msg": "Success"})


class Script:
    """Answers every request with the next reply; records and checks signatures."""

    def __init__(self, *replies: httpx.Response) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        assert verify_rest(
            CREDS, headers=dict(request.headers), params=params, body=request.content
        )
        self.requests.append(request)
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def sent(self, n: int = 0) -> tuple[str, str, dict[str, str], Any]:
        request = self.requests[n]
        body = json.loads(request.content) if request.content else None
        return request.method, request.url.path, dict(request.url.params), body


@asynccontextmanager
async def client(script: Script, **kwargs: Any) -> AsyncIterator[BitunixRestClient]:
    kwargs.setdefault("rng", random.Random(7))
    kwargs.setdefault("clock", lambda: 1_700_000_000.0)
    async with open_rest_client(CREDS, BASE, transport=httpx.MockTransport(script), **kwargs) as r:
        yield r


async def test_get_history_positions() -> None:
    row = {
        "positionId": "p1",
        "symbol": "BTCUSDT",
        "marginCoin": "USDT",
        "maxQty": "0.5",
        "qty": "0.5",
        "entryPrice": "60000",
        "closePrice": "61000.5",
        "liqQty": "0",
        "side": "SELL",
        "marginMode": "ISOLATION",
        "positionMode": "ONE_WAY",
        "leverage": 20,
        "fee": "1.2",
        "funding": "-0.3",
        "realizedPNL": "-500.25",
        "margin": "0",
        "liqPrice": "0",
        "ctime": 1700000000000,
        "mtime": "1700000000500",
    }
    script = Script(envelope({"positionList": [row], "total": "1"}))
    async with client(script) as rest:
        [position] = await rest.get_history_positions(
            "btcusdt", position_id="p1", start_time=1, end_time=2, limit=5
        )
    assert script.sent() == (
        "GET",
        "/api/v1/futures/position/get_history_positions",
        {
            "symbol": "BTCUSDT",
            "positionId": "p1",
            "startTime": "1",
            "endTime": "2",
            "skip": "0",
            "limit": "5",
        },
        None,
    )
    assert position.side is PositionSide.SHORT
    assert position.close_price == Decimal("61000.5")
    assert position.realized_pnl == Decimal("-500.25")
    assert position.leverage == 20
    assert position.margin_mode is MarginMode.ISOLATION
    assert position.updated_ms == 1700000000500
    assert position.source is DataSource.REST


async def test_get_history_trades_pages_until_the_total() -> None:
    def trade(n: int) -> dict[str, Any]:
        return {
            "tradeId": str(n),
            "orderId": "o1",
            "symbol": "ETHUSDT",
            "qty": "0.1",
            "price": "3000",
            "side": "BUY",
            "orderType": "LIMIT",
            "reduceOnly": False,
            "fee": "0.06",
            "realizedPNL": "0",
            "ctime": "1700000000000",
            "roleType": "MAKER",
            "leverage": "10",
            "marginMode": "CROSS",
            "positionMode": "ONE_WAY",
        }

    script = Script(
        envelope({"tradeList": [trade(n) for n in range(100)], "total": 150}),
        envelope({"tradeList": [trade(n) for n in range(100, 150)], "total": 150}),
    )
    async with client(script) as rest:
        trades = await rest.get_history_trades(order_id="o1", limit=500)
    assert len(trades) == 150
    assert [script.sent(n)[2]["skip"] for n in range(2)] == ["0", "100"]
    assert script.sent()[1] == "/api/v1/futures/trade/get_history_trades"
    assert script.sent()[2]["orderId"] == "o1"
    assert trades[0].side is Side.BUY
    assert trades[0].order_type is OrderType.LIMIT
    assert trades[0].role == "MAKER"
    assert trades[0].reduce_only is False
    assert trades[0].leverage == 10


async def test_modify_order_body() -> None:
    script = Script(envelope({"orderId": "11", "clientId": "c"}))
    async with client(script) as rest:
        order_id = await rest.modify_order(
            client_id="c",
            qty=Decimal("0.5"),
            price="60000",
            tp_price="65000",
            tp_stop_type="mark",
            tp_order_type="limit",
            tp_order_price="65001",
        )
    assert order_id == "11"
    assert script.sent() == (
        "POST",
        "/api/v1/futures/trade/modify_order",
        {},
        {
            "clientId": "c",
            "qty": "0.5",
            "price": "60000",
            "tpPrice": "65000",
            "tpStopType": "MARK_PRICE",
            "tpOrderType": "LIMIT",
            "tpOrderPrice": "65001",
        },
    )


async def test_batch_order_body_and_result() -> None:
    reply = {
        "successList": [{"orderId": "1", "clientId": "a"}],
        "failureList": [{"clientId": "b", "errorMsg": "Insufficient balance", "errorCode": 20003}],
    }
    script = Script(envelope(reply))
    async with client(script) as rest:
        result = await rest.place_batch_orders(
            "ethusdt",
            [
                {
                    "side": "buy",
                    "order_type": "limit",
                    "qty": "1",
                    "price": "3000",
                    "client_id": "a",
                },
                {"side": "sell", "order_type": "market", "qty": "1", "client_id": "b"},
            ],
        )
    method, path, _, body = script.sent()
    assert (method, path) == ("POST", "/api/v1/futures/trade/batch_order")
    assert body == {
        "symbol": "ETHUSDT",
        "orderList": [
            {
                "side": "BUY",
                "orderType": "LIMIT",
                "qty": "1",
                "price": "3000",
                "effect": "GTC",
                "reduceOnly": False,
                "clientId": "a",
            },
            {
                "side": "SELL",
                "orderType": "MARKET",
                "qty": "1",
                "reduceOnly": False,
                "clientId": "b",
            },
        ],
    }
    assert [(p.order_id, p.client_id, p.symbol) for p in result.placed] == [("1", "a", "ETHUSDT")]
    assert [(f.client_id, f.code, f.message) for f in result.failures] == [
        ("b", 20003, "Insufficient balance")
    ]


@pytest.mark.parametrize(
    ("call", "path", "body"),
    [
        (lambda r: r.close_all_positions(), "trade/close_all_position", {}),
        (
            lambda r: r.close_all_positions("btcusdt"),
            "trade/close_all_position",
            {"symbol": "BTCUSDT"},
        ),
        (
            lambda r: r.flash_close_position("123"),
            "trade/flash_close_position",
            {"positionId": "123"},
        ),
        (
            lambda r: r.adjust_position_margin("BTCUSDT", "-2.5", position_id="9"),
            "account/adjust_position_margin",
            {"symbol": "BTCUSDT", "marginCoin": "USDT", "amount": "-2.5", "positionId": "9"},
        ),
        (
            lambda r: r.change_leverage("BTCUSDT", 20),
            "account/change_leverage",
            {"symbol": "BTCUSDT", "marginCoin": "USDT", "leverage": 20},
        ),
        (
            lambda r: r.change_margin_mode("BTCUSDT", "isolated"),
            "account/change_margin_mode",
            {"symbol": "BTCUSDT", "marginCoin": "USDT", "marginMode": "ISOLATION"},
        ),
        (
            lambda r: r.change_position_mode(PositionMode.HEDGE),
            "account/change_position_mode",
            {"positionMode": "HEDGE"},
        ),
    ],
)
async def test_action_bodies(
    call: Callable[[BitunixRestClient], Awaitable[None]], path: str, body: dict[str, Any]
) -> None:
    script = Script(envelope(None))
    async with client(script) as rest:
        await call(rest)
    assert script.sent() == ("POST", f"/api/v1/futures/{path}", {}, body)


async def test_leverage_margin_mode_and_tiers() -> None:
    script = Script(
        envelope(
            {"symbol": "BTCUSDT", "marginCoin": "USDT", "leverage": 20, "marginMode": "CROSS"}
        ),
        envelope(
            [
                {
                    "symbol": "BTCUSDT",
                    "level": 2,
                    "startValue": "100000",
                    "endValue": "500000",
                    "leverage": 50,
                    "maintenanceMarginRate": "0.01",
                },
                {
                    "symbol": "BTCUSDT",
                    "level": 1,
                    "startValue": "0",
                    "endValue": "100000",
                    "leverage": 125,
                    "maintenanceMarginRate": "0.004",
                },
            ]
        ),
    )
    async with client(script) as rest:
        setting = await rest.get_leverage_margin_mode("btcusdt")
        tiers = await rest.get_position_tiers("BTCUSDT")
    assert script.sent(0)[:3] == (
        "GET",
        "/api/v1/futures/account/get_leverage_margin_mode",
        {"symbol": "BTCUSDT", "marginCoin": "USDT"},
    )
    assert script.sent(1)[:3] == (
        "GET",
        "/api/v1/futures/position/get_position_tiers",
        {"symbol": "BTCUSDT"},
    )
    assert (setting.leverage, setting.margin_mode) == (20, MarginMode.CROSS)
    assert [(t.level, t.leverage) for t in tiers] == [(1, 125), (2, 50)]
    assert tiers[0].maintenance_margin_rate == Decimal("0.004")


async def test_tpsl_calls() -> None:
    pending = {
        "id": "t1",
        "positionId": "p1",
        "symbol": "BTCUSDT",
        "base": "BTC",
        "quote": "USDT",
        "tpPrice": "70000",
        "tpStopType": "LAST_PRICE",
        "tpOrderType": "MARKET",
        "tpQty": "0.5",
    }
    history = {**pending, "status": "FILLED", "ctime": 1700000000000, "triggerTime": 1700000001}
    script = Script(
        envelope([{"orderId": "t1"}]),
        envelope({"orderId": "t1"}),
        envelope({"orderId": "t1"}),
        envelope([pending]),
        envelope({"orderList": [history], "total": 1}),
        envelope({"orderId": "t2"}),
        envelope({"orderId": "t2"}),
    )
    async with client(script) as rest:
        ids = await rest.place_tpsl_order(
            "BTCUSDT",
            "p1",
            tp_price="70000",
            tp_qty="0.5",
            sl_price=Decimal("50000"),
            sl_stop_type=StopType.MARK_PRICE,
            sl_order_type="limit",
            sl_order_price="49990",
        )
        modified = await rest.modify_tpsl_order("t1", tp_price="71000", tp_qty="0.4")
        canceled = await rest.cancel_tpsl_order("BTCUSDT", "t1")
        [open_] = await rest.get_pending_tpsl_orders("BTCUSDT", position_id="p1")
        [done] = await rest.get_history_tpsl_orders("BTCUSDT")
        placed = await rest.place_position_tpsl(
            "BTCUSDT", "p1", sl_price="50000", sl_stop_type="last"
        )
        changed = await rest.modify_position_tpsl("BTCUSDT", "p1", tp_price="80000")
    assert (ids, modified, canceled, placed, changed) == (("t1",), "t1", "t1", "t2", "t2")
    assert script.sent(0) == (
        "POST",
        "/api/v1/futures/tpsl/place_order",
        {},
        {
            "symbol": "BTCUSDT",
            "positionId": "p1",
            "tpPrice": "70000",
            "slPrice": "50000",
            "slStopType": "MARK_PRICE",
            "slOrderType": "LIMIT",
            "slOrderPrice": "49990",
            "tpQty": "0.5",
        },
    )
    assert script.sent(1)[1:] == (
        "/api/v1/futures/tpsl/modify_order",
        {},
        {"orderId": "t1", "tpPrice": "71000", "tpQty": "0.4"},
    )
    assert script.sent(2)[1:] == (
        "/api/v1/futures/tpsl/cancel_order",
        {},
        {"symbol": "BTCUSDT", "orderId": "t1"},
    )
    assert script.sent(3)[:3] == (
        "GET",
        "/api/v1/futures/tpsl/get_pending_orders",
        {"symbol": "BTCUSDT", "positionId": "p1"},
    )
    assert script.sent(4)[1] == "/api/v1/futures/tpsl/get_history_orders"
    assert script.sent(5)[1:] == (
        "/api/v1/futures/tpsl/position/place_order",
        {},
        {"symbol": "BTCUSDT", "positionId": "p1", "slPrice": "50000", "slStopType": "LAST_PRICE"},
    )
    assert script.sent(6)[1:] == (
        "/api/v1/futures/tpsl/position/modify_order",
        {},
        {"symbol": "BTCUSDT", "positionId": "p1", "tpPrice": "80000"},
    )
    assert open_.order_id == "t1"
    assert open_.status is OrderStatus.NEW
    assert open_.tp_qty == Decimal("0.5")
    assert open_.tp_stop_type is StopType.LAST_PRICE
    assert done.status is OrderStatus.FILLED
    assert done.created_ms == 1700000000000


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda r: r.modify_order(), "exactly one"),
        (lambda r: r.modify_order("1"), "something to change"),
        (lambda r: r.modify_order("1", price=1.5), "float"),
        (lambda r: r.place_batch_orders("BTCUSDT", []), "at least one"),
        (lambda r: r.place_batch_orders("BTCUSDT", [{"side": "BUY"}]), "needs side"),
        (
            lambda r: r.place_batch_orders(
                "BTCUSDT", [{"side": "BUY", "order_type": "MARKET", "qty": "1", "px": "1"}]
            ),
            "unknown order fields",
        ),
        (lambda r: r.change_leverage("BTCUSDT", 0), "leverage"),
        (lambda r: r.change_margin_mode("BTCUSDT", "PORTFOLIO"), "margin_mode"),
        (lambda r: r.change_position_mode("TWO_WAY"), "position_mode"),
        (lambda r: r.place_tpsl_order("BTCUSDT", "p1"), "tp_price and/or sl_price"),
        (lambda r: r.place_tpsl_order("BTCUSDT", "p1", tp_price="1", tp_qty="0"), "tp_qty"),
        (lambda r: r.place_position_tpsl("BTCUSDT", "p1"), "tp_price and/or sl_price"),
        (lambda r: r.place_position_tpsl("BTCUSDT", "p1", sl_stop_type="MARK"), "sl_price"),
        (
            lambda r: r.place_tpsl_order("BTCUSDT", "p1", tp_price="1", tp_order_type="LIMIT"),
            "tp_order_price",
        ),
        (lambda r: r.get_history_positions(limit=0), "limit"),
    ],
)
async def test_invalid_arguments_are_refused_before_sending(
    call: Callable[[BitunixRestClient], Awaitable[object]], match: str
) -> None:
    script = Script(envelope(None))
    async with client(script) as rest:
        with pytest.raises(ConfigurationError, match=match):
            await call(rest)
    assert script.requests == []


async def test_only_repeatable_calls_are_retried(autojump_clock: trio.testing.MockClock) -> None:
    script = Script(envelope(None, code=10006), envelope(None))
    async with client(script, rate_limit=None) as rest:
        await rest.change_leverage("BTCUSDT", 5)
    assert len(script.requests) == 2
    script = Script(envelope(None, code=10006), envelope(None))
    async with client(script, rate_limit=None) as rest:
        with pytest.raises(RateLimited):
            await rest.close_all_positions()
    assert len(script.requests) == 1
