"""REST client against the simulated exchange: in process (``rest_transport()``, under
``MockClock(autojump_threshold=0)``, exact times) and over a real loopback HTTP server
(hypercorn on 127.0.0.1, real clock, outcomes only)."""

from __future__ import annotations

import itertools
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
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
    ExchangeError,
    RateLimited,
    RestError,
    TransportError,
)
from bitunix_trio._core.models import (
    AccountBalance,
    DataSource,
    KlineUpdate,
    OrderBookUpdate,
    OrderStatus,
    OrderType,
    PositionSide,
    PriceType,
    Side,
    TickerUpdate,
    TimeInForce,
)
from bitunix_trio._rest.client import BitunixRestClient, open_rest_client
from bitunix_trio._rest.results import FundingRate, TradingPair
from bitunix_trio.testing import SimulatedExchange, open_simulated_exchange

PLACE = "/api/v1/futures/trade/place_order"
DETAIL = "/api/v1/futures/trade/get_order_detail"
TICKERS = "/api/v1/futures/market/tickers"

FLAVOURS = [
    pytest.param("memory", id="memory"),
    pytest.param("loopback", id="loopback", marks=pytest.mark.loopback),
]


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock(flavour: str) -> trio.testing.MockClock | None:
    """Virtual time for the in-process flavour; the real clock over loopback."""
    return trio.testing.MockClock(autojump_threshold=0) if flavour == "memory" else None


@dataclass
class Env:
    sim: SimulatedExchange
    rest: BitunixRestClient
    memory: bool

    @asynccontextmanager
    async def client(self, **kwargs: Any) -> AsyncIterator[BitunixRestClient]:
        """Another client of the same exchange (other credentials, options, transport)."""
        kwargs.setdefault("credentials", self.sim.credentials)
        kwargs.setdefault("transport", self.sim.rest_transport() if self.memory else None)
        kwargs.setdefault("retry_delay", 0.5 if self.memory else 0.01)
        async with open_rest_client(base_url=self.sim.rest_url, **kwargs) as rest:
            yield rest

    def requests(self, path: str | None = None, method: str | None = None) -> list[Any]:
        return self.sim.recorder.rest_requests(path=path, method=method)


@pytest.fixture
async def env(flavour: str, clock: object) -> AsyncIterator[Env]:
    memory = flavour == "memory"
    # Over loopback real time passes: the exchange's limits are off so the suite stays fast
    # (the limiter is tested in process, at exact virtual times).
    async with open_simulated_exchange(seed=5, memory=memory, rest_rate_limits=memory) as sim:
        env = Env(sim, None, memory)  # type: ignore[arg-type]
        rate = 10.0 if memory else 200.0
        async with env.client(rate_limit=rate, clock=lambda: sim.now_ms() / 1000) as rest:
            env.rest = rest
            yield env


# --------------------------------------------------------------------------- endpoints


async def test_market_data_is_typed(env: Env, clock: object) -> None:
    rest = env.rest
    tickers = await rest.get_tickers()
    assert {t.symbol for t in tickers} >= {"BTCUSDT", "ETHUSDT"}
    assert all(isinstance(t, TickerUpdate) for t in tickers)
    assert all(t.source is DataSource.REST for t in tickers)
    two = await rest.get_tickers(["ethusdt", "BTCUSDT"])
    assert sorted(t.symbol for t in two) == ["BTCUSDT", "ETHUSDT"]
    assert [t.symbol for t in await rest.get_tickers("BTCUSDT")] == ["BTCUSDT"]

    for limit, levels in ((1, 1), (5, 5), ("15", 15), (50, None), ("max", None), (None, None)):
        book = await rest.get_depth("btcusdt", limit)
        assert isinstance(book, OrderBookUpdate)
        assert book.source is DataSource.REST
        assert book.symbol == "BTCUSDT"
        if levels is not None:
            assert len(book.bids) == len(book.asks) == levels
            assert book.depth == levels
        assert book.best_bid is not None
        assert book.best_ask is not None
        assert book.best_bid[0] < book.best_ask[0]
        assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)

    candles = await rest.get_klines("BTCUSDT", "1m", limit=5)
    assert len(candles) == 5
    assert all(isinstance(c, KlineUpdate) for c in candles)
    assert all(c.interval == "1min" for c in candles)
    starts = [c.open_time_ms for c in candles]
    assert starts == sorted(starts)
    assert {b - a for a, b in itertools.pairwise(starts)} == {60_000}
    hourly = await rest.get_klines("BTCUSDT", "60min", limit=2, price_type="mark")
    assert all(c.interval == "60min" and c.price_type is PriceType.MARK for c in hourly)
    ranged = await rest.get_klines(
        "BTCUSDT", "1min", start_time=starts[1], end_time=starts[3], limit=200
    )
    assert [c.open_time_ms for c in ranged] == starts[1:4]

    pairs = await rest.get_trading_pairs()
    assert all(isinstance(p, TradingPair) for p in pairs)
    btc = next(p for p in await rest.get_trading_pairs("BTCUSDT") if p.symbol == "BTCUSDT")
    assert btc.base == "BTC"
    assert btc.quote == "USDT"
    assert btc.min_trade_volume is not None
    assert btc.min_trade_volume > 0

    funding = await rest.get_funding_rate("BTCUSDT")
    assert isinstance(funding, FundingRate)
    assert funding.symbol == "BTCUSDT"
    assert funding.mark_price is not None


async def test_account_positions_and_order_lifecycle(env: Env, clock: object) -> None:
    rest = env.rest
    balance = await rest.get_account()
    assert isinstance(balance, AccountBalance)
    assert balance.coin == "USDT"
    assert balance.available > 0
    assert await rest.get_pending_positions() == []

    book = await rest.get_depth("BTCUSDT", 1)
    assert book.best_bid is not None
    far = (book.best_bid[0] * Decimal("0.8")).quantize(Decimal("0.1"))
    placed = await rest.place_order(
        "btcusdt", "buy", "limit", "0.010", str(far), "grid-1", time_in_force="post_only"
    )
    assert placed.client_id == "grid-1"
    assert placed.symbol == "BTCUSDT"
    assert not placed.resolved
    auto = await rest.place_order(
        symbol="BTCUSDT", side=Side.BUY, order_type=OrderType.LIMIT, qty=Decimal("0.01"), price=far
    )
    assert auto.client_id.startswith("bt")

    pending = await rest.get_pending_orders("BTCUSDT")
    by_id = {o.order_id: o for o in pending}
    assert set(by_id) == {placed.order_id, auto.order_id}
    order = by_id[placed.order_id]
    assert order.client_id == "grid-1"
    assert order.side is Side.BUY
    assert order.order_type is OrderType.LIMIT
    assert order.status is OrderStatus.NEW
    assert order.price == far
    assert order.qty == Decimal("0.01")
    assert order.source is DataSource.REST
    assert order.time_in_force is TimeInForce.POST_ONLY

    detail = await rest.get_order_detail(client_id="grid-1")
    assert detail.order_id == placed.order_id
    assert (await rest.get_order_detail(placed.order_id)).client_id == "grid-1"

    result = await rest.cancel_orders("BTCUSDT", [placed.order_id, "123"])
    assert [s.order_id for s in result.successes] == [placed.order_id]
    assert [(f.order_id, f.code) for f in result.failures] == [("123", 20007)]
    assert not result.ok

    everything = await rest.cancel_all_orders("BTCUSDT")
    assert [s.order_id for s in everything.successes] == [auto.order_id]
    assert await rest.get_pending_orders() == []
    history = await rest.get_history_orders("BTCUSDT")
    assert {o.order_id: o.status for o in history} == {
        placed.order_id: OrderStatus.CANCELED,
        auto.order_id: OrderStatus.CANCELED,
    }
    assert len(await rest.get_history_orders(limit=1)) == 1

    market = await rest.place_order("BTCUSDT", "BUY", "MARKET", "0.01", tp_price=str(far * 2))
    positions = await rest.get_pending_positions("BTCUSDT")
    assert len(positions) == 1
    assert positions[0].side is PositionSide.LONG
    assert positions[0].qty == Decimal("0.01")
    assert positions[0].source is DataSource.REST
    closing = await rest.place_order("BTCUSDT", "SELL", "MARKET", "0.01", reduce_only=True)
    assert closing.order_id != market.order_id
    assert await rest.get_pending_positions() == []


async def test_pending_orders_are_paged(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_simulated_exchange(seed=2, memory=True) as sim:
        transport = sim.rest_transport()
        async with open_rest_client(sim.credentials, sim.rest_url, transport=transport) as rest:
            for i in range(130):
                await rest.place_order("ETHUSDT", "BUY", "LIMIT", "0.01", "100", f"p{i}")
            orders = await rest.get_pending_orders()
    assert sorted(o.client_id or "" for o in orders) == sorted(f"p{i}" for i in range(130))
    pages = sim.recorder.rest_requests(path="/api/v1/futures/trade/get_pending_orders")
    assert [dict(r.params)["skip"] for r in pages] == ["0", "100"]


# --------------------------------------------------------------------------- error codes


async def test_exchange_error_codes(env: Env, clock: object) -> None:
    rest = env.rest
    with pytest.raises(ExchangeError) as info:
        await rest.request(
            "GET",
            "/api/v1/futures/market/kline",
            params={"symbol": "BTCUSDT", "interval": "1m", "limit": "many"},
            signed=False,
        )
    assert info.value.code == 10002

    with pytest.raises(ExchangeError) as info:
        await rest.request(
            "GET", "/api/v1/futures/market/depth", params={"symbol": "BTCUSDT", "limit": 20}
        )
    assert info.value.code == 10008
    assert '["1","5","15","50","max"]' in info.value.message

    with pytest.raises(RestError) as rest_info:
        await rest.request("GET", "/api/v1/futures/market/nothing")
    assert (rest_info.value.code, rest_info.value.status) == (404, 200)

    with pytest.raises(ExchangeError) as info:
        await rest.get_depth("NOPEUSDT")
    assert info.value.code == 20015

    with pytest.raises(ExchangeError) as info:
        await rest.place_order("BTCUSDT", "BUY", "LIMIT", "100", "80000")
    assert info.value.code == 20003
    assert not isinstance(info.value, RateLimited | AuthenticationError)

    with pytest.raises(ExchangeError) as info:
        await rest.get_order_detail("999999")
    assert info.value.code == 20007

    result = await rest.cancel_orders("BTCUSDT", "999999")
    assert [(f.order_id, f.code) for f in result.failures] == [("999999", 20007)]

    await rest.place_order("BTCUSDT", "BUY", "LIMIT", "0.01", "1000", "dup-1")
    with pytest.raises(ExchangeError) as info:
        await rest.place_order("BTCUSDT", "BUY", "LIMIT", "0.01", "1000", "dup-1")
    assert info.value.code == 30042
    assert len(env.requests(PLACE)) == 3  # each placement sent exactly once


async def test_authentication_errors(env: Env, clock: object) -> None:
    wrong = Credentials(env.sim.credentials.api_key, "not-the-secret-at-all")
    async with env.client(credentials=wrong) as rest:
        with pytest.raises(AuthenticationError) as info:
            await rest.get_account()
        assert info.value.code == 10007
        assert len(await rest.get_tickers("BTCUSDT")) == 1  # public calls are unsigned
    async with env.client(credentials=None) as rest:
        with pytest.raises(AuthenticationError) as info:
            await rest.get_pending_orders()
        assert info.value.code == 10003
    assert len(env.requests("/api/v1/futures/account")) == 1  # never retried


async def test_rest_down_is_a_rest_error_with_status(env: Env, clock: object) -> None:
    env.sim.rest_down()
    with pytest.raises(RestError) as info:
        await env.rest.get_tickers()
    assert info.value.status == 503
    assert len(env.requests(TICKERS)) == 4  # retried 3 times: a GET is safe
    env.sim.rest_down(False)
    assert await env.rest.get_tickers("BTCUSDT")


# --------------------------------------------------------------------------- rate limits


async def test_limiter_spaces_requests_exactly(autojump_clock: trio.testing.MockClock) -> None:
    async with open_simulated_exchange(seed=1, memory=True) as sim:
        transport = sim.rest_transport()
        async with open_rest_client(None, sim.rest_url, transport=transport) as rest:
            start = trio.current_time()
            async with trio.open_nursery() as nursery:
                for _ in range(25):
                    nursery.start_soon(rest.get_tickers, "BTCUSDT")
    requests = sim.recorder.rest_requests(path=TICKERS)
    assert [r.code for r in requests] == [0] * 25
    # 10 per 1.1 s: a 10 % margin under the exchange's count.
    assert [r.time - start for r in requests] == pytest.approx(
        [i * 0.11 for i in range(25)], abs=1e-9
    )


async def test_without_limiter_the_exchange_throttles_and_gets_are_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_simulated_exchange(seed=1, memory=True) as sim:
        transport = sim.rest_transport()
        async with (
            open_rest_client(None, sim.rest_url, transport=transport, rate_limit=None) as rest,
            trio.open_nursery() as nursery,
        ):
            for _ in range(15):
                nursery.start_soon(rest.get_tickers, "BTCUSDT")
    seen = [(r.time, r.code) for r in sim.recorder.rest_requests(path=TICKERS)]
    # The exchange allows 10 per second: 5 are refused at t=0, again at their first retry
    # (0.5 s, same window) and pass at their second (1.5 s).
    assert seen == [(0.0, 0)] * 10 + [(0.0, 10006)] * 5 + [(0.5, 10006)] * 5 + [(1.5, 0)] * 5


async def test_throttled_gets_are_retried_with_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_simulated_exchange(seed=1, memory=True) as sim:
        transport = sim.rest_transport()
        async with open_rest_client(sim.credentials, sim.rest_url, transport=transport) as rest:
            sim.throttle_rest()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_after, 1.2, sim.throttle_rest, False)
                start = trio.current_time()
                balance = await rest.get_account()
    assert balance.available > 0
    requests = sim.recorder.rest_requests(path="/api/v1/futures/account")
    assert [r.code for r in requests] == [10006, 10006, 0]
    assert [r.time - start for r in requests] == [0.0, 0.5, 1.5]


async def test_throttled_place_order_is_not_resent_blindly(env: Env, clock: object) -> None:
    env.sim.throttle_rest()
    with pytest.raises(RateLimited) as info:
        await env.rest.place_order("BTCUSDT", "BUY", "LIMIT", "0.01", "1000", "t-1")
    assert any("t-1 is unknown" in note for note in info.value.__notes__)
    # One placement, then only look-ups (GETs, retried) that were throttled too.
    assert [r.method for r in env.requests()] == ["POST", "GET", "GET", "GET", "GET"]
    assert all(r.path == DETAIL for r in env.requests(method="GET"))
    env.sim.throttle_rest(False)
    assert await env.rest.get_pending_orders() == []


async def test_throttled_place_order_resent_once_after_lookup(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_simulated_exchange(seed=1, memory=True) as sim:
        transport = sim.rest_transport()
        async with open_rest_client(sim.credentials, sim.rest_url, transport=transport) as rest:
            sim.throttle_rest()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_after, 0.2, sim.throttle_rest, False)
                placed = await rest.place_order("BTCUSDT", "BUY", "LIMIT", "0.01", "1000")
            pending = await rest.get_pending_orders()
    assert [o.order_id for o in pending] == [placed.order_id]
    records = [(r.method, r.path, r.code) for r in sim.recorder.requests[:3]]
    assert records == [("POST", PLACE, 10006), ("GET", DETAIL, 20007), ("POST", PLACE, 0)]
    bodies = [json.loads(r.body) for r in sim.recorder.rest_requests(path=PLACE)]
    assert bodies[0] == bodies[1]
    assert bodies[0]["clientId"] == placed.client_id


async def _after(delay: float, fn: Callable[..., object], *args: object) -> None:
    await trio.sleep(delay)
    fn(*args)


# --------------------------------------------------------------------------- lost replies


class DropReply(httpx.AsyncBaseTransport):
    """Forwards every request, but loses the reply of the first ``times`` placements
    (the order reaches the exchange; the client sees the connection drop)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, times: int = 1) -> None:
        self.inner = inner
        self.times = times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path == PLACE and self.times > 0:
            self.times -= 1
            await response.aclose()
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_lost_reply_is_resolved_by_client_id(env: Env, clock: object) -> None:
    inner = env.sim.rest_transport() if env.memory else httpx.AsyncHTTPTransport()
    async with env.client(transport=DropReply(inner)) as rest:
        placed = await rest.place_order("BTCUSDT", "SELL", "LIMIT", "0.01", "999999", "lost-1")
        auto = await rest.place_order("BTCUSDT", "SELL", "LIMIT", "0.01", "999999")
        pending = await rest.get_pending_orders()
    assert placed.resolved
    assert placed.client_id == "lost-1"
    assert not auto.resolved
    assert {o.order_id for o in pending} == {placed.order_id, auto.order_id}
    assert len(env.requests(PLACE)) == 2  # the lost one was never sent again


# --------------------------------------------------------------------------- timeouts


def slow(app: Any, delay: float) -> Any:
    async def slow_app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        await trio.sleep(delay)
        await app(scope, receive, send)

    return slow_app


async def test_slow_exchange_times_out(autojump_clock: trio.testing.MockClock) -> None:
    async with open_simulated_exchange(seed=1, memory=True) as sim:
        transport = httpx.ASGITransport(app=slow(sim.rest_app, 30.0))
        async with open_rest_client(
            sim.credentials, sim.rest_url, transport=transport, timeout=2.0, max_retries=1
        ) as rest:
            start = trio.current_time()
            with pytest.raises(TransportError, match=r"no reply within 2\.0 s"):
                await rest.get_depth("BTCUSDT")
            assert trio.current_time() - start == 4.5  # 2 s, 0.5 s backoff, 2 s
            with pytest.raises(TransportError) as info:
                await rest.place_order("BTCUSDT", "BUY", "LIMIT", "0.01", "1000", "slow-1")
    assert any("slow-1 is unknown" in note for note in info.value.__notes__)
    assert sim.recorder.rest_requests(path=PLACE) == []  # the app never got to answer


@pytest.mark.loopback
async def test_connection_refused_is_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with open_rest_client(None, f"http://127.0.0.1:{port}", max_retries=0) as rest:
        with pytest.raises(ConnectError):
            await rest.get_tickers()


# --------------------------------------------------------------------------- arguments, secrets


async def test_float_refused_strings_and_enums_accepted(env: Env, clock: object) -> None:
    with pytest.raises(ConfigurationError, match="not a float"):
        await env.rest.place_order("BTCUSDT", "BUY", "LIMIT", 0.01, "1000")
    assert env.requests(PLACE) == []
    for side, kind in (("buy", "limit"), ("SELL", "LIMIT"), (Side.BUY, OrderType.LIMIT)):
        price = "1000" if side in ("buy", Side.BUY) else "999999"
        await env.rest.place_order("BTCUSDT", side, kind, Decimal("0.01"), price)
    orders = await env.rest.get_pending_orders()
    assert sorted(o.side for o in orders) == [Side.BUY, Side.BUY, Side.SELL]


async def test_no_secret_in_errors_logs_or_repr(
    env: Env, clock: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = env.sim.credentials.secret_key
    errors: list[BaseException] = []
    wrong_secret = "wrong-" + secret
    calls: list[Callable[[BitunixRestClient], Awaitable[object]]] = [
        lambda r: r.get_account(),
        lambda r: r.place_order("BTCUSDT", "BUY", "LIMIT", "100", "80000"),
    ]
    for credentials in (
        env.sim.credentials,
        Credentials(env.sim.credentials.api_key, wrong_secret),
    ):
        async with env.client(credentials=credentials) as rest:
            assert secret not in repr(rest)
            for call in calls:
                try:
                    await call(rest)
                except BitunixError as error:
                    errors.append(error)
    env.sim.throttle_rest()
    try:
        await env.rest.place_order("BTCUSDT", "BUY", "LIMIT", "0.01", "1000")
    except BitunixError as throttled:
        errors.append(throttled)
    assert len(errors) == 4
    texts = [r.getMessage() for r in caplog.records]
    for failure in errors:
        chain: BaseException | None = failure
        while chain is not None:
            texts += [str(chain), repr(chain), *getattr(chain, "__notes__", [])]
            chain = chain.__cause__ or chain.__context__
    for text in texts:
        assert secret not in text
        assert wrong_secret not in text
