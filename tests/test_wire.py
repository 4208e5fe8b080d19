"""Wire parsers and encoders: live quirks, REST rows, kline buckets, and round trips."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D
from typing import Any

import pytest
from golden_frames import (
    BALANCE,
    BOOK15,
    KLINE_1MIN,
    MARK_PRICE,
    ORDER,
    POSITION,
    TICKER,
    TICKERS_ENTRY,
    TPSL,
    TRADES,
)

from bitunix_trio._core.models import (
    KLINE_INTERVALS,
    DataSource,
    OrderBookUpdate,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    PriceType,
    Side,
    StopType,
)
from bitunix_trio._core.rest_wire import (
    account_to_rest_wire,
    kline_to_rest_wire,
    order_book_to_rest_wire,
    order_to_rest_wire,
    parse_rest_account,
    parse_rest_depth,
    parse_rest_kline,
    parse_rest_order,
    parse_rest_position,
    parse_rest_ticker,
    position_to_rest_wire,
    ticker_to_rest_wire,
)
from bitunix_trio._core.wire import (
    balance_to_wire,
    format_iso_datetime,
    kline_open_time,
    kline_to_wire,
    mark_price_to_wire,
    order_book_to_wire,
    order_to_wire,
    parse_balance,
    parse_iso_datetime,
    parse_kline,
    parse_levels,
    parse_mark_price,
    parse_order,
    parse_order_book,
    parse_position,
    parse_ticker,
    parse_ticker_summary,
    parse_tpsl,
    parse_trade,
    position_to_wire,
    ticker_summary_to_wire,
    ticker_to_wire,
    to_wire,
    tpsl_to_wire,
    trade_to_wire,
)

# --- times ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-07T05:47:52Z", datetime(2026, 4, 7, 5, 47, 52, tzinfo=UTC)),
        ("2024-12-04T11:36:47.959908526Z", datetime(2024, 12, 4, 11, 36, 47, 959908, tzinfo=UTC)),
        ("2025-04-26T17:06:13.155255000Z", datetime(2025, 4, 26, 17, 6, 13, 155255, tzinfo=UTC)),
        ("2025-04-26T17:06:13.1Z", datetime(2025, 4, 26, 17, 6, 13, 100000, tzinfo=UTC)),
        ("2026-09-23T10:00:00+02:00", datetime(2026, 9, 23, 8, 0, 0, tzinfo=UTC)),
        ("2026-09-23T08:00:00", datetime(2026, 9, 23, 8, 0, 0, tzinfo=UTC)),
        (
            "2024-12-04T11:36:47.959908526+01:00",
            datetime(2024, 12, 4, 10, 36, 47, 959908, tzinfo=UTC),
        ),
    ],
)
def test_parse_iso_datetime(text: str, expected: datetime) -> None:
    parsed = parse_iso_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00.123456789junk"]
)
def test_parse_iso_datetime_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso_datetime(text)


def test_format_iso_datetime() -> None:
    dt = datetime(2024, 5, 16, 8, 13, 9, 123000, tzinfo=UTC)
    assert format_iso_datetime(dt) == "2024-05-16T08:13:09.123000Z"
    assert format_iso_datetime(dt, 9) == "2024-05-16T08:13:09.123000000Z"
    assert format_iso_datetime(dt.replace(microsecond=0)) == "2024-05-16T08:13:09Z"
    tz = timezone(timedelta(hours=2))
    assert format_iso_datetime(datetime(2024, 1, 1, 2, tzinfo=tz)) == "2024-01-01T00:00:00Z"


# --- kline buckets ----------------------------------------------------------------------------

TS = 1775541412718  # 2026-04-07T05:56:52.718Z, a Tuesday


@pytest.mark.parametrize(
    ("interval", "start"),
    [
        ("1min", datetime(2026, 4, 7, 5, 56)),
        ("3min", datetime(2026, 4, 7, 5, 54)),
        ("5min", datetime(2026, 4, 7, 5, 55)),
        ("15min", datetime(2026, 4, 7, 5, 45)),
        ("30min", datetime(2026, 4, 7, 5, 30)),
        ("60min", datetime(2026, 4, 7, 5)),
        ("2h", datetime(2026, 4, 7, 4)),
        ("4h", datetime(2026, 4, 7, 4)),
        ("6h", datetime(2026, 4, 7, 0)),
        ("8h", datetime(2026, 4, 7, 0)),
        ("12h", datetime(2026, 4, 7, 0)),
        ("1day", datetime(2026, 4, 7)),
        ("3day", datetime(2026, 4, 7)),  # day 20550 since the epoch is a multiple of 3
        ("1week", datetime(2026, 4, 6)),  # Monday
        ("1month", datetime(2026, 4, 1)),
    ],
)
def test_kline_open_time(interval: str, start: datetime) -> None:
    assert kline_open_time(TS, interval) == int(start.replace(tzinfo=UTC).timestamp() * 1000)


def test_kline_open_time_edges() -> None:
    monday = int(datetime(2026, 4, 6, tzinfo=UTC).timestamp() * 1000)
    assert kline_open_time(monday, "1week") == monday
    assert kline_open_time(monday - 1, "1week") == monday - 7 * 86_400_000
    jan = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert kline_open_time(jan - 1, "1month") == int(
        datetime(2025, 12, 1, tzinfo=UTC).timestamp() * 1000
    )
    assert set(KLINE_INTERVALS) == {
        "1min", "3min", "5min", "15min", "30min", "60min", "2h", "4h", "6h", "8h", "12h",
        "1day", "3day", "1week", "1month",
    }  # fmt: skip


def test_kline_bucket_rollover_marks_the_close() -> None:
    data = kline_to_wire(KLINE_1MIN)
    first = parse_kline(data, 1775541419999, "BTCUSDT", "1min")
    second = parse_kline(data, 1775541420000, "BTCUSDT", "1min")
    assert second.open_time_ms - first.open_time_ms == 60_000


# --- order book -------------------------------------------------------------------------------


def test_book_empty_levels_are_no_levels() -> None:
    book = parse_order_book({"b": [["", ""]] * 15, "a": [["", ""]] * 15}, 1, "NOPEUSDT", 15)
    assert book.bids == ()
    assert book.asks == ()
    assert book.best_bid is None
    assert book.best_ask is None


def test_book_best_levels_and_types() -> None:
    assert BOOK15.best_bid == (D("86699.6"), D("2.274"))
    assert BOOK15.best_ask == (D("86699.7"), D("0.7095"))
    for price, qty in BOOK15.bids + BOOK15.asks:
        assert type(price) is D
        assert type(qty) is D


@pytest.mark.parametrize(
    "raw",
    [
        [["1"]],
        [["1", "2", "3"]],
        [["x", "1"]],
        [["NaN", "1"]],
        [["1", "Infinity"]],
        [[None, "1"]],
        "ab",
        5,
    ],
)
def test_bad_levels(raw: Any) -> None:
    with pytest.raises((ValueError, TypeError, ArithmeticError)):
        parse_levels(raw)


# --- live quirks of private pushes ------------------------------------------------------------


def _order_data(**changes: Any) -> dict[str, Any]:
    data = order_to_wire(ORDER)
    data.update(changes)
    return data


def test_order_live_quirks() -> None:
    order = parse_order(
        _order_data(side="Buy", type="Limit", orderStatus="NEW_", effect="LONG", leverage=10),
        ORDER.ts,
    )
    assert order.side is Side.BUY
    assert order.order_type is OrderType.LIMIT
    assert order.status is OrderStatus.NEW
    assert order.time_in_force is None
    assert order.leverage == 10
    assert parse_order(_order_data(leverage="10"), 1).leverage == 10
    assert parse_order(_order_data(leverage="10.0"), 1).leverage == 10
    with pytest.raises(ValueError):
        parse_order(_order_data(leverage="10.5"), 1)
    assert parse_order(_order_data(orderStatus="SOMETHING_NEW"), 1).status is OrderStatus.UNKNOWN


def test_order_nanosecond_times_become_ms() -> None:
    order = parse_order(_order_data(ctime="2024-05-16T08:13:09.123456789Z"), 1)
    assert order.created_ms == 1715847189123


def test_order_minimal_market_order() -> None:
    data = {
        "orderId": 42,
        "symbol": "BTCUSDT",
        "side": "sell",
        "type": "Market",
        "orderStatus": "FILLED",
        "qty": "0.1",
        "dealAmount": "0.1",
        "reductionOnly": "true",
    }
    order = parse_order(data, 7)
    assert order.order_id == "42"
    assert order.price is None
    assert order.reduce_only is True
    assert order.event is None
    assert order.client_id is None
    assert order.filled_qty == D("0.1")


def test_position_and_tpsl_quirks() -> None:
    data = position_to_wire(POSITION)
    data["leverage"] = 20
    data["side"] = "Short"
    position = parse_position(data, 1)
    assert position.leverage == 20
    assert position.side is PositionSide.SHORT
    data = tpsl_to_wire(TPSL)
    data.update(tpStopType="Last", slStopType="Mark", tpOrderType="Limit", status="SYSTEM_CANCELED")
    tpsl = parse_tpsl(data, 1)
    assert tpsl.tp_stop_type is StopType.LAST_PRICE
    assert tpsl.sl_stop_type is StopType.MARK_PRICE
    assert tpsl.tp_order_type is OrderType.LIMIT
    assert tpsl.status is OrderStatus.SYSTEM_CANCELED
    data["status"] = "FAILED"
    assert parse_tpsl(data, 1).status is OrderStatus.FAILED
    del data["tpQty"]
    assert parse_tpsl(data, 1).tp_qty is None


# --- REST rows give the same types ------------------------------------------------------------

REST_ORDER_ROW = {
    "orderId": "ord123456",
    "symbol": "BTCUSDT",
    "qty": "1.0",
    "tradeQty": "0",
    "positionMode": "ONE_WAY",
    "marginMode": "ISOLATION",
    "leverage": 10,
    "price": "50000.0",
    "side": "BUY",
    "orderType": "LIMIT",
    "effect": "GTC",
    "clientId": "my-1",
    "reduceOnly": False,
    "status": "NEW_",
    "fee": "0.1",
    "realizedPNL": "0",
    "tpPrice": "52000",
    "tpStopType": "MARK_PRICE",
    "tpOrderType": "LIMIT",
    "tpOrderPrice": "52000",
    "slPrice": "48000",
    "slStopType": "MARK_PRICE",
    "slOrderType": "LIMIT",
    "slOrderPrice": "48000",
    "ctime": "1715847189123",
    "mtime": 1715847189123,
}


def test_rest_order_row() -> None:
    order = parse_rest_order(REST_ORDER_ROW)
    assert order.source is DataSource.REST
    assert order.ts == 1715847189123
    expected = dataclasses.replace(
        ORDER,
        ts=1715847189123,
        source=DataSource.REST,
        event=None,
        average_price=None,
        realized_pnl=D("0"),
    )
    assert order == expected
    assert parse_rest_order(REST_ORDER_ROW, ts=5).ts == 5


REST_POSITION_ROW = {
    "positionId": "12345",
    "symbol": "BTCUSDT",
    "qty": "0.5",
    "entryValue": "20000.50",
    "side": "BUY",
    "marginMode": "ISOLATION",
    "positionMode": "ONE_WAY",
    "leverage": 20,
    "fee": "5.75",
    "funding": "1.25",
    "realizedPNL": "100.25",
    "margin": "500.25",
    "unrealizedPNL": "200.50",
    "liqPrice": "30000",
    "marginRate": "0.01",
    "avgOpenPrice": "40001",
    "ctime": "1745687173155",
    "mtime": "1745687173999",
}


def test_rest_position_row() -> None:
    position = parse_rest_position(REST_POSITION_ROW)
    assert position == dataclasses.replace(
        POSITION,
        event=None,
        ts=1745687173999,
        source=DataSource.REST,
        average_price=D("40001"),
        liquidation_price=D("30000"),
        margin_rate=D("0.01"),
        updated_ms=1745687173999,
    )
    assert parse_rest_position({**REST_POSITION_ROW, "side": "SELL"}).side is PositionSide.SHORT


REST_ACCOUNT = {
    "marginCoin": "USDT",
    "available": "1000.0",
    "frozen": "100.0",
    "margin": "200.0",
    "transfer": "900",
    "positionMode": "HEDGE",
    "crossUnrealizedPNL": "1.5",
    "isolationUnrealizedPNL": "-2",
    "bonus": "0",
}


def test_rest_account_object_and_list() -> None:
    balance = parse_rest_account(REST_ACCOUNT, 99)
    assert balance.coin == "USDT"
    assert balance.available == D("1000.0")
    assert balance.position_mode is PositionMode.HEDGE
    assert balance.cross_unrealized_pnl == D("1.5")
    assert balance.source is DataSource.REST
    assert parse_rest_account([REST_ACCOUNT], 99) == balance
    with pytest.raises(ValueError):
        parse_rest_account([], 99)
    with pytest.raises(TypeError):
        parse_rest_account("x", 99)  # type: ignore[arg-type]
    assert parse_rest_account(account_to_rest_wire(balance), 99) == balance


def test_rest_depth_strings_and_numbers() -> None:
    book = parse_rest_depth(
        {"asks": [[86699.7, 0.7095]], "bids": [["86699.6", "2.274"]]}, "BTCUSDT", 5, 15
    )
    assert book == OrderBookUpdate(
        "BTCUSDT",
        ((D("86699.6"), D("2.274")),),
        ((D("86699.7"), D("0.7095")),),
        15,
        5,
        DataSource.REST,
    )
    assert order_book_to_rest_wire(book) == {
        "asks": [["86699.7", "0.7095"]],
        "bids": [["86699.6", "2.274"]],
    }


def test_rest_ticker_row() -> None:
    row = {
        "symbol": "BTCUSDT",
        "markPrice": "100.5",
        "lastPrice": "110",
        "open": "100",
        "last": "110",
        "quoteVol": "5",
        "baseVol": "6",
        "high": "120",
        "low": "90",
    }
    ticker = parse_rest_ticker(row, 3)
    assert ticker.change == D("10")
    assert ticker.mark_price == D("100.5")
    assert ticker.source is DataSource.REST
    assert ticker_to_rest_wire(ticker) == row
    assert parse_rest_ticker({**row, "open": "0"}, 3).change == 0


def test_rest_kline_row() -> None:
    row = {
        "open": 68581.4,
        "high": "68590",
        "low": "68579.5",
        "close": "68583.4",
        "time": "1775541360000",
        "quoteVol": "359348.14078",
        "baseVol": "5.2395",
        "type": "LAST_PRICE",
    }
    kline = parse_rest_kline(row, "BTCUSDT", "1min")
    assert kline == dataclasses.replace(KLINE_1MIN, ts=1775541360000, source=DataSource.REST)
    assert kline_to_rest_wire(kline) == {**row, "open": "68581.4", "time": 1775541360000}
    mark = parse_rest_kline({**row, "type": "MARK_PRICE"}, "BTCUSDT", "1min")
    assert mark.price_type is PriceType.MARK


# --- wire round trips -------------------------------------------------------------------------


def test_ws_round_trips() -> None:
    assert parse_ticker(ticker_to_wire(TICKER), TICKER.ts) == TICKER
    assert (
        parse_ticker_summary(ticker_summary_to_wire(TICKERS_ENTRY), TICKERS_ENTRY.ts)
        == TICKERS_ENTRY
    )
    assert parse_order_book(order_book_to_wire(BOOK15), BOOK15.ts, "BTCUSDT", 15) == BOOK15
    assert parse_trade(trade_to_wire(TRADES[1]), TRADES[1].ts, "BTCUSDT") == TRADES[1]
    assert parse_kline(kline_to_wire(KLINE_1MIN), KLINE_1MIN.ts, "BTCUSDT", "1min") == KLINE_1MIN
    assert parse_mark_price(mark_price_to_wire(MARK_PRICE), MARK_PRICE.ts, "BTCUSDT") == MARK_PRICE
    assert parse_order(order_to_wire(ORDER), ORDER.ts) == ORDER
    assert parse_position(position_to_wire(POSITION), POSITION.ts) == POSITION
    assert parse_balance(balance_to_wire(BALANCE), BALANCE.ts) == BALANCE
    assert parse_tpsl(tpsl_to_wire(TPSL), TPSL.ts) == TPSL


def test_rest_round_trips() -> None:
    order = parse_rest_order(REST_ORDER_ROW)
    assert parse_rest_order(order_to_rest_wire(order)) == order
    position = parse_rest_position(REST_POSITION_ROW)
    assert parse_rest_position(position_to_rest_wire(position)) == position
    assert position_to_rest_wire(position)["side"] == "BUY"
    assert order_to_rest_wire(order)["status"] == "NEW"


def test_to_wire_dispatch() -> None:
    assert to_wire(ORDER) == order_to_wire(ORDER)
    assert to_wire(TRADES[0]) == {
        "t": "2026-04-07T05:47:52Z",
        "p": "68621.4",
        "v": "0.7142",
        "s": "buy",
    }
    with pytest.raises(TypeError):
        to_wire(object())


def test_numbers_are_written_plainly() -> None:
    tiny = dataclasses.replace(TICKER, change=D("1E-7"), base_volume=D("1E+3"))
    wire = ticker_to_wire(tiny)
    assert wire["r"] == "0.0000001"
    assert wire["b"] == "1000"


def test_order_book_padding() -> None:
    wire = order_book_to_wire(dataclasses.replace(BOOK15, bids=BOOK15.bids[:1]), pad_to=3)
    assert wire["b"] == [["86699.6", "2.274"], ["", ""], ["", ""]]
