"""The simulated exchange's market: determinism, book invariants, candles, statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest

from bitunix_trio._core.models import (
    KLINE_INTERVALS,
    PriceType,
)
from bitunix_trio._core.wire import (
    kline_open_time,
    kline_to_wire,
    mark_price_to_wire,
    order_book_to_wire,
    parse_kline,
    parse_mark_price,
    parse_order_book,
    parse_ticker,
    parse_trades,
    ticker_to_wire,
    trade_to_wire,
)
from bitunix_trio.testing._engine.engine import (
    DEFAULT_INSTRUMENTS,
    ExchangeEngine,
    Instrument,
    SimulatedError,
)

D = Decimal
START = 1_790_000_000_000
LISTED = [i.symbol for i in DEFAULT_INSTRUMENTS if i.status == "OPEN"]


def snapshot(engine: ExchangeEngine) -> list[Any]:
    out: list[Any] = []
    for symbol in LISTED:
        out.append(engine.ticker(symbol))
        out.append(engine.order_book(symbol, 15))
        out.append(engine.last_trades(symbol))
        out.append(engine.kline(symbol, "1min"))
        out.append(engine.kline(symbol, "60min", "mark"))
        out.append(engine.mark_price(symbol))
    return out


def test_same_seed_same_market_however_advance_is_chunked() -> None:
    whole = ExchangeEngine(seed=42)
    chunked = ExchangeEngine(seed=42)
    end = START + 310 * 400
    whole.advance(end)
    t = START
    step = 1
    while t < end:
        t = min(end, t + step)
        chunked.advance(t)
        step = step * 3 % 997 + 1
    assert whole.ticks == chunked.ticks == 400
    assert snapshot(whole) == snapshot(chunked)


def test_same_seed_same_values_tick_by_tick() -> None:
    a, b = ExchangeEngine(seed=9), ExchangeEngine(seed=9)
    for n in range(1, 80):
        a.advance(START + n * 310)
        b.advance(START + n * 310 + 309)  # later within the same tick: same market
        for symbol in LISTED:
            assert a.order_book(symbol, 15).bids == b.order_book(symbol, 15).bids
            assert a.order_book(symbol, 15).asks == b.order_book(symbol, 15).asks
            assert [(t.price, t.qty, t.side) for t in a.last_trades(symbol)] == [
                (t.price, t.qty, t.side) for t in b.last_trades(symbol)
            ]
            assert a.ticker(symbol).last_price == b.ticker(symbol).last_price


def test_different_seeds_differ() -> None:
    a, b = ExchangeEngine(seed=1), ExchangeEngine(seed=2)
    a.advance(START + 310 * 50)
    b.advance(START + 310 * 50)
    assert a.order_book("BTCUSDT", 15) != b.order_book("BTCUSDT", 15)
    assert a.ticker("BTCUSDT").last_price != b.ticker("BTCUSDT").last_price


def test_market_does_not_depend_on_advance_frequency_or_other_symbols() -> None:
    only_btc = ExchangeEngine(seed=5, instruments=[DEFAULT_INSTRUMENTS[0]])
    full = ExchangeEngine(seed=5)
    only_btc.advance(START + 310 * 30)
    full.advance(START + 310 * 30)
    assert only_btc.order_book("BTCUSDT", 5).bids == full.order_book("BTCUSDT", 5).bids


def test_time_never_goes_back() -> None:
    e = ExchangeEngine()
    e.advance(START + 1000)
    assert (e.now_ms, e.ticks) == (START + 1000, 3)
    e.advance(START)
    assert (e.now_ms, e.ticks) == (START + 1000, 3)


def _on_grid(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


@pytest.mark.parametrize("depth", [1, 5, 15, 50])
def test_book_invariants(depth: int) -> None:
    e = ExchangeEngine(seed=3)
    for n in range(0, 300, 7):
        e.advance(START + n * 310)
        for inst in DEFAULT_INSTRUMENTS:
            if inst.status != "OPEN":
                continue
            book = e.order_book(inst.symbol, depth)
            assert book.depth == depth
            assert len(book.bids) == len(book.asks) == depth
            bid_prices = [p for p, _ in book.bids]
            ask_prices = [p for p, _ in book.asks]
            assert bid_prices == sorted(bid_prices, reverse=True)
            assert ask_prices == sorted(ask_prices)
            assert len(set(bid_prices)) == len(set(ask_prices)) == depth
            assert bid_prices[0] < ask_prices[0]
            for price, qty in book.bids + book.asks:
                assert price > 0
                assert qty >= inst.lot_size
                assert _on_grid(price, inst.tick_size)
                assert _on_grid(qty, inst.lot_size)


def test_whole_book_and_bad_depth() -> None:
    e = ExchangeEngine()
    whole = e.order_book("ETHUSDT", "max")
    assert whole.depth is None
    assert len(whole.bids) == len(whole.asks) == 200
    assert e.order_book("ETHUSDT", None).bids == whole.bids
    assert e.order_book("ETHUSDT", "5").depth == 5
    with pytest.raises(SimulatedError) as info:
        e.order_book("ETHUSDT", 20)
    assert info.value.code == 10008
    assert '["1","5","15","50","max"]' in info.value.msg


def test_book_wire_round_trip() -> None:
    e = ExchangeEngine()
    book = e.order_book("BTCUSDT", 15)
    wire = order_book_to_wire(book)
    assert all(isinstance(p, str) and isinstance(q, str) for p, q in wire["b"] + wire["a"])
    assert parse_order_book(wire, book.ts, "BTCUSDT", 15) == book


def test_unknown_and_preview_symbols() -> None:
    e = ExchangeEngine()
    assert e.is_listed("BTCUSDT")
    assert e.is_listed("btcusdt")
    assert not e.is_listed("NEWUSDT")  # PREVIEW
    assert not e.is_listed("NOPEUSDT")
    for symbol in ("NEWUSDT", "NOPEUSDT"):
        for view in (e.ticker, e.order_book, e.last_trades, e.mark_price, e.ticker_summary):
            with pytest.raises(SimulatedError) as info:
                view(symbol)
            assert info.value.code == 20015
    assert e.ticker("ethusdt").symbol == "ETHUSDT"


def test_trading_pairs_rows() -> None:
    e = ExchangeEngine()
    rows = e.trading_pairs()
    assert [r["symbol"] for r in rows] == [i.symbol for i in DEFAULT_INSTRUMENTS]
    btc = e.trading_pairs(["btcusdt"])
    assert len(btc) == 1
    row = btc[0]
    assert row["base"] == "BTC"
    assert row["quote"] == "USDT"
    assert row["basePrecision"] == 4
    assert row["quotePrecision"] == 1
    assert row["minTradeVolume"] == "0.0001"
    assert row["symbolStatus"] == "OPEN"
    assert isinstance(row["maxLeverage"], int)
    assert {r["symbol"]: r["symbolStatus"] for r in rows}["NEWUSDT"] == "PREVIEW"


def test_ticker_statistics() -> None:
    e = ExchangeEngine(seed=4)
    e.advance(START + 310 * 500)
    t = e.ticker("BTCUSDT")
    assert t.low <= t.last_price <= t.high
    assert t.low <= t.open <= t.high
    assert t.change == ((t.last_price - t.open) * 100 / t.open).quantize(D("1e-10"))
    assert t.base_volume > 0
    assert t.quote_volume > t.base_volume * t.low
    assert parse_ticker(ticker_to_wire(t), t.ts) == t.__class__(
        **{f: getattr(t, f) for f in t.__dataclass_fields__ if f != "mark_price"}
    )
    s = e.ticker_summary("BTCUSDT")
    book = e.order_book("BTCUSDT", 1)
    assert (s.best_bid, s.best_bid_qty) == book.bids[0]
    assert (s.best_ask, s.best_ask_qty) == book.asks[0]
    assert s.last_price == t.last_price


def test_volume_counts_every_trade() -> None:
    e = ExchangeEngine(seed=8)
    e.create_account("k", "s", {"USDT": D("1000000")})
    e.advance(START + 310 * 10)
    before = e.ticker("ETHUSDT")
    order = e.place_order("k", symbol="ETHUSDT", side="BUY", order_type="MARKET", qty=D("50"))
    after = e.ticker("ETHUSDT")
    assert after.base_volume - before.base_volume == D("50")
    assert after.quote_volume - before.quote_volume == D("50") * order.average_price  # type: ignore[operator]
    assert after.last_price == e.last_trades("ETHUSDT")[-1].price


def test_trades_every_tick_and_since() -> None:
    e = ExchangeEngine(seed=6)
    seen: list[Any] = []
    seq = 0
    ticks_with_trades = 0
    for n in range(1, 120):
        e.advance(START + n * 310)
        trades = e.last_trades("SOLUSDT")
        ticks_with_trades += bool(trades)
        new, seq = e.trades_since("SOLUSDT", seq)
        assert [(t.price, t.qty) for t in new] == [(t.price, t.qty) for t in trades]
        seen.extend(new)
        for t in trades:
            ms = START + n * 310  # trade times carry the millisecond
            assert t.time == datetime.fromtimestamp(ms // 1000, UTC) + timedelta(
                milliseconds=ms % 1000
            )
    assert 40 < ticks_with_trades < 119
    assert e.trades_since("SOLUSDT", seq) == ([], seq)
    wire = [trade_to_wire(t) for t in seen[:3]]
    assert all(w["s"] in ("buy", "sell") and w["t"].endswith("Z") for w in wire)
    assert parse_trades(wire, 1, "SOLUSDT")[0].price == seen[0].price


def test_running_kline_matches_trades() -> None:
    e = ExchangeEngine(seed=12)
    minute = kline_open_time(START + 60_000, "1min")
    e.advance(minute - 1)
    _, seq = e.trades_since("BTCUSDT")
    e.advance(minute + 59_999)
    trades, _ = e.trades_since("BTCUSDT", seq)
    prices = [x.price for x in trades]
    volume = sum((x.qty for x in trades), D(0))
    k = e.kline("BTCUSDT", "1min")
    assert k.open_time_ms == kline_open_time(e.now_ms, "1min")
    assert k.open_time_ms == minute
    assert k.high == max([*prices, k.open])
    assert k.low == min([*prices, k.open])
    assert k.base_volume == volume
    assert k.close == e.ticker("BTCUSDT").last_price
    wire = kline_to_wire(k)
    assert parse_kline(wire, k.ts, "BTCUSDT", "1min").close == k.close
    mark = e.kline("BTCUSDT", "1min", "mark")
    assert mark.price_type is PriceType.MARK
    assert mark.close == e.mark_price("BTCUSDT").mark_price
    assert mark.base_volume == 0
    with pytest.raises(SimulatedError):
        e.kline("BTCUSDT", "1m")


@pytest.mark.parametrize("interval", list(KLINE_INTERVALS))
def test_every_ws_interval_has_a_running_candle(interval: str) -> None:
    e = ExchangeEngine(seed=1)
    e.advance(START + 310 * 5)
    k = e.kline("ETHUSDT", interval)
    assert k.open_time_ms == kline_open_time(e.now_ms, interval)
    assert k.low <= min(k.open, k.close) <= max(k.open, k.close) <= k.high


@pytest.mark.parametrize(
    ("rest", "wire"),
    [("1m", "1min"), ("15m", "15min"), ("1h", "60min"), ("1d", "1day"), ("1w", "1week")],
)
def test_kline_history(rest: str, wire: str) -> None:
    e = ExchangeEngine(seed=2)
    e.advance(START + 310 * 300)
    rows = e.kline_history("BTCUSDT", rest, limit=50)
    assert len(rows) == 50
    times = [k.open_time_ms for k in rows]
    assert times == sorted(times)
    assert all(t == kline_open_time(t, wire) for t in times)
    if wire != "1week":
        step = KLINE_INTERVALS[wire]
        assert all(b - a == step for a, b in pairwise(times))
    assert times[-1] == kline_open_time(e.now_ms, wire)
    for k in rows:
        assert k.low <= min(k.open, k.close) <= max(k.open, k.close) <= k.high
        assert k.base_volume >= 0
    # the latest candle is the running one
    assert rows[-1].close == e.kline("BTCUSDT", wire).close
    # deterministic, including the synthesized history before the start
    again = ExchangeEngine(seed=2)
    again.advance(START + 310 * 300)
    assert [(k.open, k.close) for k in again.kline_history("BTCUSDT", rest, limit=50)] == [
        (k.open, k.close) for k in rows
    ]


def test_kline_history_range_and_errors() -> None:
    e = ExchangeEngine()
    e.advance(START + 310 * 10)
    first = kline_open_time(START - 600_000, "1min") + 60_000
    rows = e.kline_history("BTCUSDT", "1m", start_ms=START - 600_000, end_ms=START - 60_000)
    assert [k.open_time_ms for k in rows] == list(range(first, START - 60_000 + 1, 60_000))
    assert len(e.kline_history("BTCUSDT", "1m", limit=1000)) == 200
    forward = e.kline_history("BTCUSDT", "1m", start_ms=START - 3_600_000, limit=5)
    assert [k.open_time_ms for k in forward] == [
        kline_open_time(START - 3_600_000, "1min") + 60_000 * (i + 1) for i in range(5)
    ]
    mark = e.kline_history("BTCUSDT", "1h", limit=3, price_type="MARK_PRICE")
    assert all(k.price_type is PriceType.MARK for k in mark)
    month = e.kline_history("BTCUSDT", "1M", limit=3)
    assert [datetime.fromtimestamp(k.open_time_ms / 1000, UTC).day for k in month] == [1, 1, 1]
    with pytest.raises(SimulatedError) as info:
        e.kline_history("BTCUSDT", "1min")
    assert info.value.code == 10008
    assert '"1m","5m"' in info.value.msg


def test_mark_price_and_funding() -> None:
    e = ExchangeEngine(seed=3)
    e.advance(START + 310 * 20)
    m = e.mark_price("BTCUSDT")
    book = e.order_book("BTCUSDT", 1)
    assert abs(m.mark_price - book.bids[0][0]) / book.bids[0][0] < D("0.001")
    assert abs(m.index_price - m.mark_price) / m.mark_price < D("0.001")
    assert m.funding_time.hour % 8 == 0
    assert (m.next_funding_time - m.funding_time).total_seconds() == 8 * 3600
    assert abs(m.funding_rate) < D("0.1")  # percent
    wire = mark_price_to_wire(m)
    assert wire["nft"].endswith("Z")
    assert parse_mark_price(wire, m.ts, "BTCUSDT") == m
    row = e.funding_rate("BTCUSDT")
    assert row["symbol"] == "BTCUSDT"
    assert D(row["fundingRate"]) == m.funding_rate
    assert row["nextFundingTime"] == str(int(m.next_funding_time.timestamp() * 1000))


def test_set_mid_price_moves_the_book() -> None:
    e = ExchangeEngine()
    e.set_mid_price("BTCUSDT", D("90000"))
    book = e.order_book("BTCUSDT", 5)
    assert book.bids[0][0] == D("90000")
    assert D("90000") < book.asks[0][0] <= D("90000.3")
    e.advance(START + 310)
    assert abs(e.order_book("BTCUSDT", 1).bids[0][0] - D("90000")) < 500


def test_set_book_validation() -> None:
    e = ExchangeEngine()
    with pytest.raises(SimulatedError):
        e.set_book("BTCUSDT", bids=[("100", "1"), ("101", "1")], asks=[("102", "1")])
    with pytest.raises(SimulatedError):
        e.set_book("BTCUSDT", bids=[("100", "1")], asks=[("100", "1")])
    with pytest.raises(SimulatedError):
        e.set_book("BTCUSDT", bids=[("100.05", "1")], asks=[("101", "1")])


def test_custom_instruments_and_speed() -> None:
    inst = Instrument("ABCUSDT", "ABC", "USDT", D("0.5"), D("0.0001"), D("10"), D("10"), 20)
    e = ExchangeEngine(seed=1, instruments=[inst], tick_ms=100)
    e.advance(START + 100 * 3000)  # 3000 ticks
    assert e.ticks == 3000
    book = e.order_book("ABCUSDT", 15)
    assert all(q % D("10") == 0 for _, q in book.bids + book.asks)
    assert book.bids[0][0] > 0
