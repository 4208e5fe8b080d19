"""REST fallback and reconciliation against the in-memory simulated exchange (exact times).

Everything runs under ``MockClock(autojump_threshold=0)``; REST goes in process through
``exchange.rest_transport()``. The REST client's limiter spaces requests 0.1 s apart and the
poller paces itself at 5 requests/s (0.2 s apart) unless told otherwise.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.testing
from conftest import request_times

from bitunix_trio._core.channels import (
    ChannelSpec,
    Kline,
    MarkPrice,
    OrderBook,
    Ticker,
    Tickers,
    Trades,
)
from bitunix_trio._core.errors import ConfigurationError, ExchangeError
from bitunix_trio._core.frames import Key
from bitunix_trio._core.ledger import AccountLedger
from bitunix_trio._core.models import (
    AccountBalance,
    DataSource,
    KlineUpdate,
    MarkPriceUpdate,
    Order,
    OrderBookUpdate,
    OrderStatus,
    Position,
    TickerSummary,
    TickerUpdate,
    UpdateEvent,
)
from bitunix_trio._core.wire import parse_balance, parse_order, parse_position
from bitunix_trio._fallback.poller import TRADES_UNAVAILABLE, mark_price_from_funding, poll_market
from bitunix_trio._fallback.reconciliation import (
    Reconciler,
    reconcile_account,
)
from bitunix_trio._rest.client import BitunixRestClient, open_rest_client
from bitunix_trio._rest.results import FundingRate
from bitunix_trio.testing import SimulatedExchange

MARKET = "/api/v1/futures/market/"
PENDING = "/api/v1/futures/trade/get_pending_orders"
DETAIL = "/api/v1/futures/trade/get_order_detail"
REST = DataSource.REST
RECOVERED = DataSource.RECOVERED


@pytest.fixture
async def rest(memory_sim: SimulatedExchange) -> AsyncIterator[BitunixRestClient]:
    """A REST client of the in-memory exchange's demo account."""
    async with open_rest_client(
        memory_sim.credentials,
        memory_sim.rest_url,
        transport=memory_sim.rest_transport(),
        clock=memory_sim.wall_clock,  # signs in virtual time, fresh to the exchange
    ) as client:
        yield client


class Sink:
    """Collects ``deliver(key, value)`` calls with their virtual times."""

    def __init__(self) -> None:
        self.items: list[tuple[float, Key, Any]] = []

    def __call__(self, key: Key, value: object) -> None:
        self.items.append((round(trio.current_time(), 6), key, value))

    def values(self, key: Key | None = None) -> list[Any]:
        return [v for _, k, v in self.items if key is None or k == key]

    def times(self, key: Key) -> list[float]:
        return [t for t, k, _ in self.items if k == key]


def ignore(*args: object) -> None:
    """A callback that does nothing."""


async def run_for(seconds: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    with trio.move_on_after(seconds):
        await fn(*args, **kwargs)


# -- market data ------------------------------------------------------------------------


async def test_poll_market_cadence_and_values(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
) -> None:
    specs: list[ChannelSpec[Any]] = [
        Ticker("BTCUSDT"),
        Tickers("ETHUSDT"),
        OrderBook("BTCUSDT", 5),
        OrderBook("BTCUSDT", 15),
        Kline("BTCUSDT"),
        MarkPrice("BTCUSDT"),
        Trades("BTCUSDT"),
        Kline("BTCUSDT", "3min"),  # REST has no 3-minute candles
    ]
    sink = Sink()
    unavailable: list[tuple[float, ChannelSpec[Any], str]] = []

    def on_unavailable(spec: ChannelSpec[Any], reason: str) -> None:
        unavailable.append((round(trio.current_time(), 6), spec, reason))

    await run_for(2.5, poll_market, rest, lambda: specs, sink, on_unavailable=on_unavailable)

    # One round per second; within a round one request every 0.2 s (tickers for both
    # symbols in one call, one depth call for both books of BTCUSDT).
    assert sink.times(("ticker", "BTCUSDT")) == [0.0, 1.0, 2.0]
    assert sink.times(("tickers", "ETHUSDT")) == [0.0, 1.0, 2.0]
    assert sink.times(("depth_book5", "BTCUSDT")) == [0.2, 1.2, 2.2]
    assert sink.times(("depth_book15", "BTCUSDT")) == [0.2, 1.2, 2.2]
    assert sink.times(("market_kline_1min", "BTCUSDT")) == [0.4, 1.4, 2.4]
    assert sink.times(("price", "BTCUSDT")) == [0.6, 1.6]
    assert sink.values(("trade", "BTCUSDT")) == []
    # (The 3-minute kline is refused by the client itself at 0.8 s: nothing is sent.)
    assert request_times(memory_sim) == [0.0, 0.2, 0.4, 0.6, 1.0, 1.2, 1.4, 1.6, 2.0, 2.2, 2.4]

    assert all(v.source is REST for v in sink.values())
    assert all(isinstance(v, TickerUpdate) for v in sink.values(("ticker", "BTCUSDT")))
    summary = sink.values(("tickers", "ETHUSDT"))[0]
    assert isinstance(summary, TickerSummary)
    assert summary.symbol == "ETHUSDT"
    assert summary.best_bid is None
    small, big = (
        sink.values(("depth_book5", "BTCUSDT"))[0],
        sink.values(("depth_book15", "BTCUSDT"))[0],
    )
    assert isinstance(small, OrderBookUpdate)
    assert isinstance(big, OrderBookUpdate)
    assert (small.depth, len(small.bids), len(small.asks)) == (5, 5, 5)
    assert (big.depth, len(big.bids), len(big.asks)) == (15, 15, 15)
    assert small.bids == big.bids[:5]
    kline = sink.values(("market_kline_1min", "BTCUSDT"))[0]
    assert isinstance(kline, KlineUpdate)
    assert kline.interval == "1min"
    mark = sink.values(("price", "BTCUSDT"))[0]
    assert isinstance(mark, MarkPriceUpdate)
    assert mark.next_funding_time > mark.funding_time

    # Reported once each, at the round that found out.
    assert [(t, s) for t, s, _ in unavailable] == [
        (0.0, Trades("BTCUSDT")),
        (0.8, Kline("BTCUSDT", "3min")),
    ]
    assert unavailable[0][2] == TRADES_UNAVAILABLE
    assert unavailable[1][2].startswith("REST refuses it: the REST kline endpoint has no 3-minute")


async def test_poll_market_follows_the_subscriptions(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
) -> None:
    specs: list[ChannelSpec[Any]] = []
    sink = Sink()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            lambda: poll_market(rest, lambda: specs, sink, on_unavailable=ignore, interval=0.5)
        )
        await trio.sleep(1.1)  # nothing subscribed: no request, and no spinning
        assert memory_sim.recorder.requests == []
        specs.append(Ticker("SOLUSDT"))
        await trio.sleep(1.0)
        specs.clear()
        await trio.sleep(1.0)
        nursery.cancel_scope.cancel()
    assert sink.times(("ticker", "SOLUSDT")) == [1.5, 2.0]
    assert request_times(memory_sim) == [1.5, 2.0]


async def test_poll_market_many_subscriptions_stay_within_the_rate(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
) -> None:
    intervals = ["1min", "5min", "15min", "30min", "60min", "2h", "4h", "6h", "8h", "12h"]
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
    specs = [Kline(s, i) for s in symbols for i in intervals]  # 40 requests a round
    sink = Sink()
    await run_for(20, poll_market, rest, lambda: specs, sink, on_unavailable=ignore)
    times = request_times(memory_sim)
    # Rounds run back to back at the poller's 5 requests/s: 100 requests in 20 s, 0.2 s apart.
    assert len(times) == 100
    assert times == [round(0.2 * k, 6) for k in range(100)]
    assert len(sink.values()) == 100

    # Without its own pacing the poller still cannot pass the client's limiter (10 per
    # 1.1 s): 46 requests in 5 s, 0.11 s apart.
    memory_sim.recorder.clear()
    start = trio.current_time()
    await run_for(5, poll_market, rest, lambda: specs, sink, on_unavailable=ignore, max_rate=None)
    times = [round(t - start, 6) for t in request_times(memory_sim)]
    assert len(times) == 46
    assert all(b - a >= 0.11 - 1e-9 for a, b in itertools.pairwise(times))


async def test_poll_market_rest_down_backs_off(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "bitunix_trio")
    memory_sim.rest_down()
    sink = Sink()
    specs = [Ticker("BTCUSDT"), OrderBook("BTCUSDT")]
    errors: list[tuple[float, str]] = []

    def on_error(exc: Exception | None) -> None:
        errors.append((trio.current_time(), type(exc).__name__))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            lambda: poll_market(rest, lambda: specs, sink, on_unavailable=ignore, on_error=on_error)
        )
        await trio.sleep(60)
        # Each failed call is retried by the client (0.5, 1, 2 s: 4 requests, 3.5 s), then
        # the next round waits 1, 2, 4, 8, 16 s: rounds at 0, 4.5, 10, 17.5, 29, 48.5.
        times = request_times(memory_sim)
        rounds = [0.0, 4.5, 10.0, 17.5, 29.0, 48.5]
        assert times == [r + d for r in rounds for d in (0.0, 0.5, 1.5, 3.5)]
        assert sink.items == []
        memory_sim.rest_down(False)
        await trio.sleep(30)  # the round at 82 (52 + 30) works; then one per second again
        nursery.cancel_scope.cancel()
    assert sink.times(("ticker", "BTCUSDT"))[:3] == [82.0, 83.0, 84.0]
    # told once each way: when the first round fails, and when a round (82.0 to 82.2) works
    assert errors == [(3.5, "RestError"), (82.2, "NoneType")]
    assert all(v.source is REST for v in sink.values())
    failures = [r for r in caplog.records if "polling failed" in r.getMessage()]
    assert len(failures) == 6
    assert all(r.levelno == logging.WARNING for r in failures)
    assert any("works again" in r.getMessage() for r in caplog.records)


async def test_poll_market_rate_limited_backs_off(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
) -> None:
    memory_sim.throttle_rest()
    sink = Sink()
    await run_for(10, poll_market, rest, lambda: [Ticker("BTCUSDT")], sink, on_unavailable=ignore)
    assert sink.items == []
    assert request_times(memory_sim) == [0.0, 0.5, 1.5, 3.5, 4.5, 5.0, 6.0, 8.0]


async def test_poll_market_one_bad_request_does_not_stop_the_round(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    specs = [OrderBook("NOPEUSDT"), OrderBook("ETHUSDT"), MarkPrice("NOPEUSDT")]
    sink = Sink()
    await run_for(2.9, poll_market, rest, lambda: specs, sink, on_unavailable=ignore)
    # (In the first round the unknown symbol's hint looks the trading pairs up at 0.11,
    # so the next request waits for the limiter's slot at 0.22.)
    assert sink.times(("depth_book15", "ETHUSDT")) == [0.22, 1.2, 2.2]
    assert sink.values(("depth_book15", "NOPEUSDT")) == []
    # logged once per failing request, not once per round
    failed = [r.getMessage() for r in caplog.records if "failed:" in r.getMessage()]
    assert len(failed) == 2


class TickersOnly:
    """A REST stand-in whose tickers endpoint refuses a list with an unknown symbol."""

    def __init__(self, rows: list[TickerUpdate]) -> None:
        self.rows = rows
        self.calls: list[object] = []

    async def get_tickers(self, symbols: Any = None) -> list[TickerUpdate]:
        self.calls.append(symbols)
        await trio.lowlevel.checkpoint()
        if symbols is not None and "NOPEUSDT" in symbols:
            raise ExchangeError("this Futures is not allowed to trade.", 20015)
        return [r for r in self.rows if symbols is None or r.symbol in symbols]

    async def get_depth(self, symbol: str, limit: Any = 15) -> OrderBookUpdate:
        raise AssertionError("not called")

    async def get_klines(self, symbol: str, interval: str = "1min", **kw: Any) -> list[Any]:
        raise AssertionError("not called")

    async def get_funding_rate(self, symbol: str) -> FundingRate:
        raise AssertionError("not called")


async def test_poll_market_one_bad_ticker_symbol_does_not_spoil_the_others(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
) -> None:
    rows = await rest.get_tickers(["BTCUSDT", "ETHUSDT"])
    fake = TickersOnly(rows)
    sink = Sink()
    specs = [Ticker("BTCUSDT"), Ticker("NOPEUSDT")]
    start = trio.current_time()
    await run_for(1.5, poll_market, fake, lambda: specs, sink, on_unavailable=ignore)
    assert [round(t - start, 6) for t in sink.times(("ticker", "BTCUSDT"))] == [0.2, 1.2]
    assert sink.values(("ticker", "NOPEUSDT")) == []
    assert fake.calls == [["BTCUSDT", "NOPEUSDT"], None] * 2


def test_mark_price_from_funding() -> None:
    rate = FundingRate(
        symbol="BTCUSDT",
        funding_rate=Decimal("0.01"),
        mark_price=Decimal("100"),
        last_price=Decimal("101"),
        index_price=Decimal("99"),
        next_funding_ms=1_790_006_400_000,
        funding_interval_hours=8,
        ts=5,
    )
    value = mark_price_from_funding(rate)
    assert value is not None
    assert value.source is REST
    assert (value.mark_price, value.index_price) == (Decimal(100), Decimal(99))
    assert value.funding_rate == Decimal("0.01")
    assert value.next_funding_time == datetime(2026, 9, 21, 16, 0, tzinfo=UTC)
    assert value.funding_time == datetime(2026, 9, 21, 8, 0, tzinfo=UTC)
    assert value.ts == 5
    assert mark_price_from_funding(dataclasses.replace(rate, mark_price=None)) is None
    assert mark_price_from_funding(dataclasses.replace(rate, index_price=None)) is None
    assert mark_price_from_funding(dataclasses.replace(rate, next_funding_ms=None)) is None
    assert mark_price_from_funding(dataclasses.replace(rate, funding_interval_hours=None)) is None


async def test_poll_market_checks_its_interval(
    rest: BitunixRestClient, autojump_clock: trio.testing.MockClock
) -> None:
    with pytest.raises(ConfigurationError):
        await poll_market(rest, list, ignore, interval=0, on_unavailable=ignore)


# -- reconciliation ------------------------------------------------------------------------


async def rest_price(rest: BitunixRestClient, symbol: str, factor: str) -> Decimal:
    """A price ``factor`` times the last price, on a whole-number grid (far from the book)."""
    [ticker] = await rest.get_tickers([symbol])
    return (ticker.last_price * Decimal(factor)).quantize(Decimal(1))


def pushes(exchange: SimulatedExchange) -> list[object]:
    """What the exchange would push now (taken out of its queue), as WebSocket values."""
    parsers = {"order": parse_order, "position": parse_position, "balance": parse_balance}
    return [
        parsers[channel](data, exchange.now_ms())
        for channel, data in exchange.engine.drain_private_events(exchange.credentials.api_key)
    ]


async def test_fill_while_disconnected_is_recovered_once(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
) -> None:
    ledger = AccountLedger()
    sink = Sink()
    price = await rest_price(rest, "BTCUSDT", "0.8")
    placed = await rest.place_order("BTCUSDT", "BUY", "LIMIT", "0.01", price)
    # The stream starts: the first reconciliation is the baseline (nothing delivered).
    assert await reconcile_account(rest, ledger, sink, clock=memory_sim.wall_clock) == []
    assert list(ledger.open_orders) == [placed.order_id]
    assert ledger.primed

    # "Disconnected": the order fills and a position changes; the pushes never arrive.
    key = memory_sim.credentials.api_key
    memory_sim.engine.fill_order(key, placed.order_id)
    memory_sim.engine.set_position(key, "ETHUSDT", "SHORT", "0.5", "3000")
    late = pushes(memory_sim)  # what the WebSocket would have said, kept for later
    assert len(late) >= 4

    delivered = await reconcile_account(rest, ledger, sink, clock=memory_sim.wall_clock)
    assert delivered == sink.values()
    kinds = [
        (k, getattr(v, "status", None) or getattr(v, "symbol", None)) for _, k, v in sink.items
    ]
    assert kinds == [
        (("order", None), OrderStatus.FILLED),
        (("position", None), "BTCUSDT"),
        (("position", None), "ETHUSDT"),
        (("balance", None), None),
    ]
    assert all(v.source is RECOVERED for v in delivered)
    filled = sink.values(("order", None))[0]
    assert isinstance(filled, Order)
    assert (filled.order_id, filled.event, filled.filled_qty) == (
        placed.order_id,
        UpdateEvent.CLOSE,
        Decimal("0.01"),
    )
    positions = sink.values(("position", None))
    assert all(isinstance(p, Position) and p.event is UpdateEvent.OPEN for p in positions)
    assert isinstance(sink.values(("balance", None))[0], AccountBalance)

    # The same updates arriving afterwards over the WebSocket are not delivered twice: the
    # order's pushes (orders only move forward, so older states are refused too) and the
    # last push of each position and balance. (An intermediate balance would be delivered:
    # balances carry no version; the exchange does not replay lost pushes anyway.)
    last: dict[tuple[str, str], object] = {}
    for value in late:
        if isinstance(value, Order):
            assert not ledger.admit(value)
        elif isinstance(value, Position):
            last["position", value.position_id] = value
        elif isinstance(value, AccountBalance):
            last["balance", value.coin] = value
    assert len(last) == 3
    assert [ledger.admit(value) for value in last.values()] == [False, False, False]
    # ... and reconciling again finds nothing new.
    assert await reconcile_account(rest, ledger, sink, clock=memory_sim.wall_clock) == []
    assert len(sink.items) == 4


async def test_websocket_first_then_reconciliation_finds_nothing(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
) -> None:
    ledger = AccountLedger()
    sink = Sink()
    await reconcile_account(rest, ledger, sink, clock=memory_sim.wall_clock)
    price = await rest_price(rest, "ETHUSDT", "1.2")
    placed = await rest.place_order("ETHUSDT", "SELL", "LIMIT", "0.1", price)
    memory_sim.engine.fill_order(memory_sim.credentials.api_key, placed.order_id, Decimal("0.04"))
    on_ws = [v for v in pushes(memory_sim) if ledger.admit(v)]  # the partial fill's pushes
    assert [type(v).__name__ for v in on_ws] == ["Order", "Position", "AccountBalance"]
    assert isinstance(on_ws[0], Order)
    assert on_ws[0].status is OrderStatus.PART_FILLED
    assert await reconcile_account(rest, ledger, sink, clock=memory_sim.wall_clock) == []


async def test_vanished_orders_are_looked_up(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger = AccountLedger()
    sink = Sink()
    price = await rest_price(rest, "SOLUSDT", "0.5")
    first = await rest.place_order("SOLUSDT", "BUY", "LIMIT", "1", price)
    second = await rest.place_order("SOLUSDT", "BUY", "LIMIT", "2", price)
    await reconcile_account(rest, ledger, sink, clock=memory_sim.wall_clock)
    key = memory_sim.credentials.api_key
    memory_sim.engine.fill_order(key, first.order_id)
    memory_sim.engine.cancel_order_by_exchange(key, second.order_id)
    # An order the exchange never heard of (say, from a push of another account).
    ledger.admit(parse_order({**_fake_order_wire(), "orderId": "ghost"}, 0))
    memory_sim.recorder.clear()
    # Only the newest finished order comes with the history: the other one is looked up.
    delivered = await reconcile_account(
        rest, ledger, sink, clock=memory_sim.wall_clock, history_limit=1
    )
    statuses = {o.order_id: o.status for o in delivered if isinstance(o, Order)}
    assert statuses == {
        first.order_id: OrderStatus.FILLED,
        second.order_id: OrderStatus.SYSTEM_CANCELED,
    }
    looked_up = [r.query for r in memory_sim.recorder.rest_requests(path=DETAIL)]
    assert looked_up == [f"orderId={first.order_id}", "orderId=ghost"]
    assert ledger.order("ghost") is None
    assert any("ghost" in r.getMessage() for r in caplog.records)


def _fake_order_wire() -> dict[str, Any]:
    return {
        "orderId": "x",
        "symbol": "SOLUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "qty": "1",
        "price": "1",
        "orderStatus": "NEW",
        "dealAmount": "0",
    }


async def test_reconcile_for_some_symbols_only(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
) -> None:
    ledger = AccountLedger()
    sink = Sink()
    btc = await rest.place_order(
        "BTCUSDT", "BUY", "LIMIT", "0.01", await rest_price(rest, "BTCUSDT", "0.8")
    )
    await rest.place_order(
        "ETHUSDT", "BUY", "LIMIT", "0.1", await rest_price(rest, "ETHUSDT", "0.8")
    )
    await reconcile_account(rest, ledger, sink, clock=memory_sim.wall_clock)
    memory_sim.engine.fill_order(memory_sim.credentials.api_key, btc.order_id)
    memory_sim.recorder.clear()
    delivered = await reconcile_account(
        rest, ledger, sink, clock=memory_sim.wall_clock, symbols=["ETHUSDT"]
    )
    assert [type(v).__name__ for v in delivered] == ["AccountBalance"]  # BTCUSDT left alone
    queries = [r.query for r in memory_sim.recorder.rest_requests(path=PENDING)]
    assert queries == ["limit=100&skip=0&symbol=ETHUSDT"]
    delivered = await reconcile_account(rest, ledger, sink, clock=memory_sim.wall_clock)
    assert [type(v).__name__ for v in delivered] == ["Order", "Position"]


# -- the reconciler ----------------------------------------------------------------------


async def test_periodic_reconciliation_catches_a_dropped_push(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
) -> None:
    ledger = AccountLedger()
    sink = Sink()
    await reconcile_account(rest, ledger, sink, clock=memory_sim.wall_clock)
    placed = await rest.place_order(
        "BTCUSDT", "BUY", "LIMIT", "0.01", await rest_price(rest, "BTCUSDT", "0.8")
    )
    for value in pushes(memory_sim):  # the CREATE push did arrive
        ledger.admit(value)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        reconciler = Reconciler(rest, ledger, sink, interval=30, quiet_after=None)
        await nursery.start(reconciler.run)
        await trio.sleep(10)
        memory_sim.engine.fill_order(memory_sim.credentials.api_key, placed.order_id)
        pushes(memory_sim)  # ... but the fill's pushes are dropped on a healthy socket
        await trio.sleep(25)
        nursery.cancel_scope.cancel()
    filled = [(t - start, v) for t, k, v in sink.items if k == ("order", None)]
    assert len(filled) == 1
    t, order = filled[0]
    # The first periodic run: pending orders at +30 s, finished orders at +30.11, positions
    # at +30.22, the balance at +30.33 (10 requests per 1.1 s); then the differences are
    # delivered.
    assert round(t, 6) == 30.33
    assert order.status is OrderStatus.FILLED
    assert order.source is RECOVERED


async def test_reconciler_schedule(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
) -> None:
    ledger = AccountLedger()
    sink = Sink()
    reconciler = Reconciler(
        rest, ledger, sink, clock=memory_sim.wall_clock, interval=30, quiet_after=10
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(reconciler.run)
        reconciler.request()  # as after a (re)connect: at once
        await trio.sleep(5)
        await rest.place_order(
            "XRPUSDT", "BUY", "LIMIT", "10", await rest_price(rest, "XRPUSDT", "0.5")
        )
        await trio.sleep(45)
        # orders are open now: every 10 quiet seconds, unless pushes keep coming
        reconciler.note_activity(trio.current_time())
        await trio.sleep(25)
        nursery.cancel_scope.cancel()
    starts = request_times(memory_sim, PENDING)
    # 0: requested (the baseline; no order open, so no quiet runs: only re-checks).
    # 5: an order is placed over REST (the ledger does not know it yet; the price lookup
    # before it is a public call, counted against another budget).
    # 30: periodic; it finds the order (delivered: CREATE and the frozen balance), its four
    # requests 0.11 s apart.
    # 40.33: 10 s after that run ended (at 30.33), quiet with an order open.
    # 50: a push arrives, so the next quiet run waits until 60; 70.33: quiet again
    # (the periodic one would be due at 60 + 30).
    assert starts == [0.0, 30.0, 40.33, 60.0, 70.33]
    assert [(t, k) for t, k, _ in sink.items] == [
        (30.33, ("order", None)),
        (30.33, ("balance", None)),
    ]
    assert reconciler.runs == len(starts)
    assert reconciler.failures == 0


async def test_reconciler_backs_off_while_rest_is_down(
    memory_sim: SimulatedExchange,
    rest: BitunixRestClient,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger = AccountLedger()
    sink = Sink()
    memory_sim.rest_down()
    reconciler = Reconciler(
        rest, ledger, sink, clock=memory_sim.wall_clock, interval=None, quiet_after=None
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(reconciler.run)
        reconciler.request()
        await trio.sleep(60)
        assert sink.items == []
        # Each attempt: 4 requests over 3.5 s; then 1, 2, 4, 8, 16 s of backoff.
        assert request_times(memory_sim) == [
            r + d for r in (0.0, 4.5, 10.0, 17.5, 29.0, 48.5) for d in (0.0, 0.5, 1.5, 3.5)
        ]
        memory_sim.rest_down(False)
        await trio.sleep(40)
        nursery.cancel_scope.cancel()
    assert reconciler.failures == 6
    assert reconciler.runs == 7  # the one at 82 s worked (and primed the ledger)
    assert ledger.primed
    assert any("retrying" in r.getMessage() for r in caplog.records)


async def test_reconciler_checks_its_arguments(
    rest: BitunixRestClient, autojump_clock: trio.testing.MockClock
) -> None:
    with pytest.raises(ConfigurationError, match="interval"):
        Reconciler(rest, AccountLedger(), ignore, interval=0)
    with pytest.raises(ConfigurationError, match="quiet_after"):
        Reconciler(rest, AccountLedger(), ignore, quiet_after=float("nan"))
