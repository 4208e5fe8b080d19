"""The simulated exchange's REST side with raw httpx: envelopes, shapes, codes, limits.

Most tests call the ASGI app in process (``memory_sim``, exact virtual times); one runs the
same requests against hypercorn on loopback.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import trio
from conftest import make_signed
from trio.testing import MockClock

from bitunix_trio._core import signing as _signing
from bitunix_trio._core.credentials import Credentials
from bitunix_trio.testing import DEFAULT_INSTRUMENTS, SimulatedExchange

MARKET = "/api/v1/futures/market/"
TRADE = "/api/v1/futures/trade/"
ACCOUNT = "/api/v1/futures/account"
POSITIONS = "/api/v1/futures/position/get_pending_positions"


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"code", "data", "msg"}
    assert body["code"] == 0, body
    assert body["msg"] == "Success"
    return body["data"]


def error(response: httpx.Response) -> tuple[int, str]:
    assert response.status_code == 200  # errors are HTTP 200 too
    body = response.json()
    assert set(body) == {"code", "data", "msg"}
    assert body["data"] is None
    assert body["code"] != 0
    return body["code"], body["msg"]


def limit_order(price: str = "80000", qty: str = "0.01", **extra: Any) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "orderType": "LIMIT",
        "qty": qty,
        "price": price,
        **extra,
    }


# -- market --------------------------------------------------------------------------------


async def test_market_endpoints(autojump_clock: MockClock, memory_sim: SimulatedExchange) -> None:
    async with memory_sim.rest_client() as client:
        tickers = ok(await client.get(MARKET + "tickers"))
        listed = [i.symbol for i in DEFAULT_INSTRUMENTS if i.status == "OPEN"]
        assert [t["symbol"] for t in tickers] == listed
        assert len(listed) >= 20
        fields = {"symbol", "markPrice", "lastPrice", "open", "last", "quoteVol", "baseVol"}
        assert set(tickers[0]) == fields | {"high", "low"}
        assert all(isinstance(v, str) for v in tickers[0].values())
        some = ok(await client.get(MARKET + "tickers", params={"symbols": "ETHUSDT,SOLUSDT"}))
        assert [t["symbol"] for t in some] == ["ETHUSDT", "SOLUSDT"]

        book = ok(await client.get(MARKET + "depth", params={"symbol": "btcusdt", "limit": "5"}))
        assert set(book) == {"asks", "bids"}
        assert len(book["asks"]) == len(book["bids"]) == 5
        assert all(isinstance(x, str) for level in book["asks"] for x in level)
        bids = [float(p) for p, _ in book["bids"]]
        assert bids == sorted(bids, reverse=True)
        whole = ok(await client.get(MARKET + "depth", params={"symbol": "BTCUSDT"}))
        assert len(whole["bids"]) > 50

        candles = ok(
            await client.get(
                MARKET + "kline", params={"symbol": "BTCUSDT", "interval": "1m", "limit": "3"}
            )
        )
        assert len(candles) == 3
        keys = {"open", "high", "low", "close", "time", "quoteVol", "baseVol", "type"}
        assert set(candles[0]) == keys
        assert candles[0]["type"] == "LAST_PRICE"
        assert [c["time"] for c in candles] == sorted(c["time"] for c in candles)
        marks = ok(
            await client.get(
                MARKET + "kline",
                params={"symbol": "BTCUSDT", "interval": "1h", "type": "MARK_PRICE"},
            )
        )
        assert marks[-1]["type"] == "MARK_PRICE"

        funding = ok(await client.get(MARKET + "funding_rate", params={"symbol": "BTCUSDT"}))
        assert funding["symbol"] == "BTCUSDT"
        assert {"markPrice", "lastPrice", "fundingRate"} <= set(funding)

        pairs = ok(await client.get(MARKET + "trading_pairs"))
        assert {p["symbol"] for p in pairs} >= {"BTCUSDT", "NEWUSDT"}
        btc = ok(await client.get(MARKET + "trading_pairs", params={"symbols": "BTCUSDT"}))
        assert [p["symbol"] for p in btc] == ["BTCUSDT"]
        assert {"base", "quote", "basePrecision", "quotePrecision", "symbolStatus"} <= set(btc[0])


async def test_market_errors(autojump_clock: MockClock, memory_sim: SimulatedExchange) -> None:
    async with memory_sim.rest_client() as client:
        assert error(
            await client.get(MARKET + "depth", params={"symbol": "BTCUSDT", "limit": "20"})
        ) == (10008, 'Parameter 20 does not match, alternative value ["1","5","15","50","max"].')
        assert error(await client.get(MARKET + "depth")) == (1, "Network Error")
        assert error(await client.get(MARKET + "depth", params={"symbol": "NOPEUSDT"})) == (
            20015,
            "this Futures is not allowed to trade.",
        )
        assert error(await client.get(MARKET + "funding_rate", params={"symbol": "NEWUSDT"}))[
            0
        ] == (20015)
        code, _ = error(
            await client.get(MARKET + "kline", params={"symbol": "BTCUSDT", "interval": "7m"})
        )
        assert code == 10008
        code, _ = error(
            await client.get(
                MARKET + "kline",
                params={"symbol": "BTCUSDT", "interval": "1m", "startTime": "yesterday"},
            )
        )
        assert code == 10002
        for path in ("/", "/api/v1/futures/market/nope", "/api/v1/futures/trade/place_order"):
            response = await client.get(path)  # place_order is POST only
            assert response.status_code == 200
            assert response.json() == {"code": 404, "data": None, "msg": "Not Found"}


# -- private -------------------------------------------------------------------------------


async def test_private_endpoints(autojump_clock: MockClock, memory_sim: SimulatedExchange) -> None:
    signed = make_signed(memory_sim)
    async with memory_sim.rest_client() as client:
        account = ok(await signed(client, "GET", ACCOUNT, params={"marginCoin": "USDT"}))
        assert account["marginCoin"] == "USDT"
        assert account["available"] == "10000"
        assert {"frozen", "margin", "crossUnrealizedPNL"} <= set(account)

        placed = [
            ok(await signed(client, "POST", TRADE + "place_order", body=limit_order(str(p))))
            for p in (80000, 80001, 80002)
        ]
        assert set(placed[0]) == {"orderId", "clientId"}
        ids = [p["orderId"] for p in placed]
        assert len(set(ids)) == 3

        page = ok(
            await signed(
                client, "GET", TRADE + "get_pending_orders", params={"skip": 1, "limit": 1}
            )
        )
        assert set(page) == {"orderList", "total"}
        assert int(page["total"]) == 3
        assert [o["orderId"] for o in page["orderList"]] == [ids[1]]  # newest first
        row = page["orderList"][0]
        assert {"orderId", "symbol", "qty", "tradeQty", "price", "side", "status"} <= set(row)
        assert row["status"].rstrip("_") == "NEW"
        first_page = ok(await signed(client, "GET", TRADE + "get_pending_orders"))
        assert [o["orderId"] for o in first_page["orderList"]] == ids[::-1]

        detail = ok(
            await signed(client, "GET", TRADE + "get_order_detail", params={"orderId": ids[0]})
        )
        assert detail["orderId"] == ids[0]
        assert detail["price"] == "80000"

        result = ok(
            await signed(
                client,
                "POST",
                TRADE + "cancel_orders",
                body={"symbol": "BTCUSDT", "orderList": [{"orderId": ids[0]}, {"orderId": "0"}]},
            )
        )
        assert [s["orderId"] for s in result["successList"]] == [ids[0]]
        assert [f["orderId"] for f in result["failureList"]] == ["0"]

        history = ok(await signed(client, "GET", TRADE + "get_history_orders"))
        assert [o["orderId"] for o in history["orderList"]] == [ids[0]]

        all_cancelled = ok(
            await signed(client, "POST", TRADE + "cancel_all_orders", body={"symbol": "BTCUSDT"})
        )
        assert sorted(s["orderId"] for s in all_cancelled["successList"]) == sorted(ids[1:])
        pending = ok(await signed(client, "GET", TRADE + "get_pending_orders"))
        assert pending["orderList"] == []

        market = {"symbol": "BTCUSDT", "side": "BUY", "orderType": "MARKET", "qty": "0.01"}
        ok(await signed(client, "POST", TRADE + "place_order", body=market))
        positions = ok(await signed(client, "GET", POSITIONS))
        assert len(positions) == 1
        assert positions[0]["symbol"] == "BTCUSDT"
        assert positions[0]["qty"] == "0.01"
        assert positions[0]["side"] == "BUY"  # the live REST quirk
        assert ok(await signed(client, "GET", POSITIONS, params={"symbol": "ETHUSDT"})) == []


async def test_private_errors(autojump_clock: MockClock, memory_sim: SimulatedExchange) -> None:
    signed = make_signed(memory_sim)
    async with memory_sim.rest_client() as client:
        # No key at all.
        response = await client.get(ACCOUNT, params={"marginCoin": "USDT"})
        assert error(response)[0] == 10003
        # Unknown key.
        stranger = Credentials("someone-else", "whatever")
        code, _ = error(
            await signed(
                client, "GET", ACCOUNT, params={"marginCoin": "USDT"}, credentials=stranger
            )
        )
        assert code == 10003
        # Wrong secret, tampered query, tampered body, stale sign header: all 10007.
        wrong = Credentials(memory_sim.credentials.api_key, "not-the-secret")
        code, msg = error(
            await signed(client, "GET", ACCOUNT, params={"marginCoin": "USDT"}, credentials=wrong)
        )
        assert (code, msg) == (10007, "Signature Error")
        headers = _signing.rest_headers(
            memory_sim.credentials,
            nonce="x" * 32,
            timestamp_ms=memory_sim.now_ms(),
            params={"marginCoin": "USDT"},
        )
        tampered = await client.get(ACCOUNT, params={"marginCoin": "USDC"}, headers=headers)
        assert error(tampered)[0] == 10007
        body = _signing.compact_json(limit_order())
        headers = _signing.rest_headers(
            memory_sim.credentials, nonce="y" * 32, timestamp_ms=memory_sim.now_ms(), body=body
        )
        spaced = json.dumps(limit_order())  # same JSON, different bytes than signed
        response = await client.post(TRADE + "place_order", content=spaced, headers=headers)
        assert error(response)[0] == 10007
        response = await client.post(TRADE + "place_order", content=body, headers=headers)
        assert ok(response)["orderId"]

        async def place(order: dict[str, Any]) -> tuple[int, str]:
            return error(await signed(client, "POST", TRADE + "place_order", body=order))

        assert (await place(limit_order(qty="1000")))[0] == 20003  # insufficient balance
        assert (await place({"symbol": "BTCUSDT", "side": "BUY", "orderType": "LIMIT"}))[0] == 10002
        assert (await place(limit_order(qty="lots")))[0] == 10002
        assert (await place({**limit_order(), "symbol": "NOPEUSDT"}))[0] == 20015
        code, _ = error(
            await signed(client, "GET", TRADE + "get_order_detail", params={"orderId": "123"})
        )
        assert code == 20007
        code, _ = error(await signed(client, "GET", ACCOUNT))  # marginCoin missing
        assert code == 10002
        code, _ = error(
            await signed(client, "GET", TRADE + "get_pending_orders", params={"limit": "x"})
        )
        assert code == 10002


async def test_signature_over_unescaped_sorted_query(
    autojump_clock: MockClock, memory_sim: SimulatedExchange
) -> None:
    # symbols=BTCUSDT,ETHUSDT is sent as %2C on the wire but signed unescaped.
    signed = make_signed(memory_sim)
    async with memory_sim.rest_client() as client:
        response = await signed(
            client, "GET", TRADE + "get_pending_orders", params={"symbol": "BTCUSDT", "skip": 0}
        )
        assert ok(response)["orderList"] == []
        request = memory_sim.recorder.rest_requests(path=TRADE + "get_pending_orders")[-1]
        assert request.params == (("skip", "0"), ("symbol", "BTCUSDT"))
        assert request.api_key == memory_sim.credentials.api_key
        assert request.code == 0
        names = {name for name, _ in request.headers}
        assert {"api-key", "nonce", "timestamp", "sign"} <= names
        assert memory_sim.credentials.secret_key not in repr(memory_sim.recorder)


# -- rate limits ---------------------------------------------------------------------------


async def test_market_rate_limit(autojump_clock: MockClock, memory_sim: SimulatedExchange) -> None:
    async with memory_sim.rest_client() as client:
        codes = []
        for _ in range(11):
            response = await client.get(MARKET + "tickers")
            codes.append(response.json()["code"])
        assert codes == [0] * 10 + [10006]
        assert response.json() == {"code": 10006, "data": None, "msg": "Request too frequently"}
        # Another endpoint has its own budget.
        ok(await client.get(MARKET + "trading_pairs"))
        await trio.sleep(0.999)
        assert (await client.get(MARKET + "tickers")).json()["code"] == 10006
        await trio.sleep(0.001)
        ok(await client.get(MARKET + "tickers"))


async def test_private_rate_limits(
    autojump_clock: MockClock, memory_sim: SimulatedExchange
) -> None:
    signed = make_signed(memory_sim)
    async with memory_sim.rest_client() as client:
        codes = [
            (await signed(client, "GET", ACCOUNT, params={"marginCoin": "USDT"})).json()["code"]
            for _ in range(11)
        ]
        assert codes == [0] * 10 + [10006]
        cancel = {"symbol": "BTCUSDT", "orderList": [{"orderId": "1"}]}
        codes = [
            (await signed(client, "POST", TRADE + "cancel_orders", body=cancel)).json()["code"]
            for _ in range(6)
        ]
        assert codes == [0] * 5 + [10006]


# -- loopback ------------------------------------------------------------------------------


@pytest.mark.loopback
async def test_rest_over_hypercorn(sim: SimulatedExchange) -> None:
    assert sim.rest_url.startswith("http://127.0.0.1:")
    assert not sim.rest_url.endswith(":0")
    signed = make_signed(sim)
    async with httpx.AsyncClient(base_url=sim.rest_url) as client:
        response = await client.get(MARKET + "depth", params={"symbol": "BTCUSDT", "limit": "1"})
        assert response.headers["content-type"] == "application/json"
        assert len(ok(response)["bids"]) == 1
        account = ok(await signed(client, "GET", ACCOUNT, params={"marginCoin": "USDT"}))
        assert account["marginCoin"] == "USDT"
        placed = ok(await signed(client, "POST", TRADE + "place_order", body=limit_order()))
        assert placed["orderId"]
        missing = await client.get("/api/v1/futures/nope")
        assert missing.json() == {"code": 404, "data": None, "msg": "Not Found"}
    assert [r.path for r in sim.recorder.rest_requests()] == [
        MARKET + "depth",
        ACCOUNT,
        TRADE + "place_order",
        "/api/v1/futures/nope",
    ]
