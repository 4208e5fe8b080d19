"""Value types and enums: live spellings, timestamps, and value semantics."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime
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

from bitunix_trio._core.errors import RemoteProtocolError
from bitunix_trio._core.models import (
    DataSource,
    KlineUpdate,
    MarginMode,
    OrderBookUpdate,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    PriceType,
    Side,
    StopType,
    TimeInForce,
    UpdateEvent,
    book_from_wire,
)
from bitunix_trio._core.wire import (
    ms_to_datetime,
    parse_balance,
)

# --- enums ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["BUY", "Buy", "buy", " buy "])
def test_side_any_case(text: str) -> None:
    assert Side.parse(text) is Side.BUY


@pytest.mark.parametrize(
    ("cls", "text", "member"),
    [
        (OrderType, "Limit", OrderType.LIMIT),
        (OrderType, "market", OrderType.MARKET),
        (OrderStatus, "NEW_", OrderStatus.NEW),
        (OrderStatus, "part_filled", OrderStatus.PART_FILLED),
        (OrderStatus, "SYSTEM_CANCELED", OrderStatus.SYSTEM_CANCELED),
        (OrderStatus, "CANCELLED", OrderStatus.CANCELED),
        (PositionSide, "BUY", PositionSide.LONG),
        (PositionSide, "Sell", PositionSide.SHORT),
        (PositionSide, "short", PositionSide.SHORT),
        (StopType, "Last", StopType.LAST_PRICE),
        (StopType, "MARK", StopType.MARK_PRICE),
        (MarginMode, "ISOLATED", MarginMode.ISOLATION),
        (MarginMode, "cross", MarginMode.CROSS),
        (PositionMode, "one_way", PositionMode.ONE_WAY),
        (TimeInForce, "post_only", TimeInForce.POST_ONLY),
        (UpdateEvent, "Open", UpdateEvent.OPEN),
        (PriceType, "MARK_PRICE", PriceType.MARK),
        (PriceType, "LAST_PRICE", PriceType.MARKET),
        (DataSource, "REST", DataSource.REST),
    ],
)
def test_enum_spellings(cls: Any, text: str, member: Any) -> None:
    assert cls.parse(text) is member


def test_enum_errors() -> None:
    with pytest.raises(ValueError, match="unknown Side: 'hold'"):
        Side.parse("hold")
    with pytest.raises(TypeError):
        Side.parse(1)
    with pytest.raises(TypeError):
        Side.parse(["BUY"])
    assert OrderStatus.parse_lenient("WEIRD") is OrderStatus.UNKNOWN


def test_enums_are_str_enums() -> None:
    assert Side.BUY == "BUY"
    assert isinstance(PriceType.MARK, str)
    assert PriceType.MARK.value == "mark"
    assert str(OrderStatus.NEW) == "NEW"


# --- timestamps -------------------------------------------------------------------------------


def test_ts_and_time() -> None:
    assert TICKER.ts == 1790126515684
    assert TICKER.time == datetime(2026, 9, 23, 1, 21, 55, 684000, tzinfo=UTC)
    assert TRADES[0].time == datetime(2026, 4, 7, 5, 47, 52, tzinfo=UTC)
    assert TRADES[0].push_time == ms_to_datetime(1775540872598)
    assert KLINE_1MIN.open_time == datetime(2026, 4, 7, 5, 56, tzinfo=UTC)


# --- value semantics --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        TICKER,
        TICKERS_ENTRY,
        BOOK15,
        TRADES[0],
        KLINE_1MIN,
        MARK_PRICE,
        ORDER,
        POSITION,
        BALANCE,
        TPSL,
    ],
)
def test_frozen_slotted_hashable_and_marked(value: Any) -> None:
    assert value.source is DataSource.WEBSOCKET
    assert not hasattr(value, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.ts = 1
    assert hash(value) == hash(dataclasses.replace(value))
    rest = dataclasses.replace(value, source=DataSource.RECOVERED)
    assert rest.source is DataSource.RECOVERED
    assert rest != value
    assert pickle.loads(pickle.dumps(value)) == value


def test_money_is_decimal() -> None:
    assert isinstance(TICKER.last_price, D)
    parsed = parse_balance({"coin": "USDT", "available": 0.1}, 1)
    assert parsed.available == D("0.1")  # floats go through their repr, not binary
    assert parsed.frozen is None
    with pytest.raises(TypeError):
        parse_balance({"coin": "USDT", "available": True}, 1)
    with pytest.raises(ValueError):
        parse_balance({"coin": "USDT", "available": "NaN"}, 1)


def test_kline_value_fields() -> None:
    assert isinstance(KLINE_1MIN, KlineUpdate)
    assert KLINE_1MIN.interval == "1min"
    assert KLINE_1MIN.price_type is PriceType.MARKET


def test_order_book_from_the_wire_is_an_ordinary_value() -> None:
    # Levels from the wire are converted when a side is first read; nothing else shows it.
    lazy = book_from_wire(
        "BTCUSDT",
        [[str(p), str(q)] for p, q in BOOK15.bids],
        [[str(p), str(q)] for p, q in BOOK15.asks] + [["", ""]],
        15,
        BOOK15.ts,
    )
    assert lazy == BOOK15
    assert hash(lazy) == hash(BOOK15)
    assert repr(lazy) == repr(BOOK15)
    assert not hasattr(lazy, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        lazy.bids = ()  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(lazy)) == BOOK15
    recovered = dataclasses.replace(lazy, source=DataSource.RECOVERED)
    assert recovered.bids == BOOK15.bids
    assert recovered.source is DataSource.RECOVERED
    assert dataclasses.asdict(lazy) == dataclasses.asdict(BOOK15)
    assert lazy.best_bid == BOOK15.best_bid
    assert lazy.best_ask == BOOK15.best_ask
    assert [f.name for f in dataclasses.fields(lazy)] == [
        "symbol",
        "bids",
        "asks",
        "depth",
        "ts",
        "source",
    ]
    match lazy:
        case OrderBookUpdate("BTCUSDT", bids, asks):
            assert bids == BOOK15.bids
            assert asks == BOOK15.asks
        case _:  # pragma: no cover
            pytest.fail("no match")


def test_order_book_with_bad_numbers_raises_when_read() -> None:
    book = book_from_wire("XUSDT", [["1", "2"]], [["abc", "1"]], 5, 1)
    assert book.bids == ((D(1), D(2)),)
    with pytest.raises(RemoteProtocolError, match="XUSDT: invalid order book level"):
        book.best_ask  # noqa: B018
    with pytest.raises(RemoteProtocolError, match=r"XUSDT: invalid order book level \['abc'"):
        book.asks  # noqa: B018
    with pytest.raises(RemoteProtocolError):
        hash(book)
    assert "asks=<invalid [['abc', '1']]>" in repr(book)


def test_best_levels_convert_only_the_best_level() -> None:
    book = book_from_wire(
        "XUSDT", [["", ""], ["2", "1"], ["oops", "1"]], [["3", "1"], ["4", "x"]], 5, 1
    )
    assert book.best_bid == (D(2), D(1))
    assert book.best_ask == (D(3), D(1))
    with pytest.raises(RemoteProtocolError, match=r"\['oops', '1'\]"):
        book.bids  # noqa: B018
    with pytest.raises(RemoteProtocolError, match=r"\['4', 'x'\]"):
        book.asks  # noqa: B018
    empty = book_from_wire("XUSDT", [["", ""]], [], 5, 1)
    assert empty.best_bid is None
    assert empty.best_ask is None
    assert empty.bids == ()
    assert empty.best_bid is None  # from the converted side now
