"""Channel specs: wire names, keys, validation messages, and the name-based Subscription."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from bitunix_trio._core.channels import (
    INTERVAL_ALIASES,
    WIRE_INTERVALS,
    Balance,
    ChannelSpec,
    Kline,
    MarkPrice,
    OrderBook,
    Orders,
    Positions,
    Subscription,
    Ticker,
    Tickers,
    TpSl,
    Trades,
    resolve_spec,
    spec_from_key,
)
from bitunix_trio._core.errors import ConfigurationError
from bitunix_trio._core.models import (
    AccountBalance,
    KlineUpdate,
    MarkPriceUpdate,
    Order,
    OrderBookUpdate,
    Position,
    PriceType,
    TickerSummary,
    TickerUpdate,
    TpSlOrder,
    Trade,
)

# (spec, wire channel, symbol, private, conflate, value type, repr)
SPECS: list[tuple[ChannelSpec[Any], str, str | None, bool, bool, type, str]] = [
    (Ticker("btcusdt"), "ticker", "BTCUSDT", False, True, TickerUpdate, "Ticker(symbol='BTCUSDT')"),
    (
        OrderBook("BTCUSDT"),
        "depth_book15",
        "BTCUSDT",
        False,
        True,
        OrderBookUpdate,
        "OrderBook(symbol='BTCUSDT', depth=15)",
    ),
    (
        OrderBook("ethusdt", 1),
        "depth_book1",
        "ETHUSDT",
        False,
        True,
        OrderBookUpdate,
        "OrderBook(symbol='ETHUSDT', depth=1)",
    ),
    (
        OrderBook("BTCUSDT", depth=5),
        "depth_book5",
        "BTCUSDT",
        False,
        True,
        OrderBookUpdate,
        "OrderBook(symbol='BTCUSDT', depth=5)",
    ),
    (Trades("BTCUSDT"), "trade", "BTCUSDT", False, False, Trade, "Trades(symbol='BTCUSDT')"),
    (
        Kline("BTCUSDT"),
        "market_kline_1min",
        "BTCUSDT",
        False,
        True,
        KlineUpdate,
        "Kline(symbol='BTCUSDT', interval='1min', price_type='market')",
    ),
    (
        Kline("BTCUSDT", "1h", "mark"),
        "mark_kline_60min",
        "BTCUSDT",
        False,
        True,
        KlineUpdate,
        "Kline(symbol='BTCUSDT', interval='60min', price_type='mark')",
    ),
    (
        MarkPrice("BTCUSDT"),
        "price",
        "BTCUSDT",
        False,
        True,
        MarkPriceUpdate,
        "MarkPrice(symbol='BTCUSDT')",
    ),
    (
        Tickers("BTCUSDT"),
        "tickers",
        "BTCUSDT",
        False,
        True,
        TickerSummary,
        "Tickers(symbol='BTCUSDT')",
    ),
    (Orders(), "order", None, True, False, Order, "Orders()"),
    (Positions(), "position", None, True, False, Position, "Positions()"),
    (Balance(), "balance", None, True, False, AccountBalance, "Balance()"),
    (TpSl(), "tpsl", None, True, False, TpSlOrder, "TpSl()"),
]


@pytest.mark.parametrize("row", SPECS, ids=lambda row: row[1])
def test_spec_attributes(
    row: tuple[ChannelSpec[Any], str, str | None, bool, bool, type, str],
) -> None:
    spec, wire, symbol, private, conflate, value_type, text = row
    assert spec.wire_channel == wire
    assert spec.symbol == symbol
    assert spec.private is private
    assert spec.conflate is conflate
    assert spec.value_type is value_type
    assert spec.key == (wire, symbol)
    assert repr(spec) == text
    assert spec_from_key(*spec.key) == spec
    assert resolve_spec(spec) is spec
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert not hasattr(spec, "__dict__")


def test_specs_are_frozen_hashable_values() -> None:
    assert Ticker("btcusdt") == Ticker("BTCUSDT")
    assert hash(Ticker("btcusdt")) == hash(Ticker("BTCUSDT"))
    specs: list[ChannelSpec[Any]] = [Ticker("BTCUSDT"), Tickers("BTCUSDT"), Orders(), Positions()]
    assert specs[0] != specs[1]
    assert specs[2] != specs[3]
    assert OrderBook("BTCUSDT", 5) != OrderBook("BTCUSDT", 15)
    assert Kline("BTCUSDT", "1m") == Kline("BTCUSDT", "1min", PriceType.MARKET)
    assert Orders() == Orders()
    assert len({Ticker("A"), Ticker("a"), Orders(), Orders()}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        Ticker("BTCUSDT").symbol = "ETHUSDT"  # type: ignore[misc]


def test_typed_specs() -> None:
    # Checked by mypy: each spec is a ChannelSpec of its value type.
    ticker: ChannelSpec[TickerUpdate] = Ticker("BTCUSDT")
    book: ChannelSpec[OrderBookUpdate] = OrderBook("BTCUSDT")
    orders: ChannelSpec[Order] = Orders()
    anything: ChannelSpec[Any] = Subscription("ticker", "BTCUSDT").resolve()
    assert ticker.value_type is TickerUpdate
    assert book.value_type is OrderBookUpdate
    assert orders.value_type is Order
    assert anything == ticker


@pytest.mark.parametrize("interval", WIRE_INTERVALS)
def test_every_wire_interval(interval: str) -> None:
    assert Kline("X", interval).wire_channel == f"market_kline_{interval}"
    assert Kline("X", interval, "mark").wire_channel == f"mark_kline_{interval}"


@pytest.mark.parametrize(("alias", "wire"), sorted(INTERVAL_ALIASES.items()))
def test_rest_interval_aliases(alias: str, wire: str) -> None:
    assert Kline("X", alias).interval == wire


def test_interval_alias_table() -> None:
    assert INTERVAL_ALIASES["1m"] == "1min"
    assert INTERVAL_ALIASES["1M"] == "1month"
    assert INTERVAL_ALIASES["1h"] == "60min"
    assert INTERVAL_ALIASES["1d"] == "1day"
    assert INTERVAL_ALIASES["1w"] == "1week"
    assert {alias for alias in INTERVAL_ALIASES if alias not in ("60m",)} >= {
        "1m", "3m", "5m", "15m", "30m", "1h", "1d", "3d", "1w", "1M",
    }  # fmt: skip


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: OrderBook("BTCUSDT", 20), "depth must be one of 1, 5, 15 (got 20)"),
        (lambda: OrderBook("BTCUSDT", 0), "depth must be one of 1, 5, 15 (got 0)"),
        (lambda: OrderBook("BTCUSDT", True), "depth must be one of 1, 5, 15 (got True)"),
        (lambda: Kline("BTCUSDT", "7min"), "interval must be one of 1min, 3min, 5min"),
        (lambda: Kline("BTCUSDT", "7min"), "(got '7min')"),
        (lambda: Kline("BTCUSDT", "1min", "index"), "price_type must be 'market' or 'mark'"),
        (lambda: Ticker(""), "symbol must be letters and digits only"),
        (lambda: Ticker("BTC-USDT"), "(got 'BTC-USDT')"),
        (lambda: Ticker("BTC USDT"), "symbol must be letters and digits only"),
        (lambda: Ticker("ＢＴＣ"), "symbol must be letters and digits only"),
        (lambda: Ticker(None), "needs a symbol"),  # type: ignore[arg-type]
        (lambda: Ticker(5), "symbol must be a string"),  # type: ignore[arg-type]
    ],
)
def test_spec_errors(build: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        build()
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_depth_as_digit_string_is_accepted() -> None:
    assert OrderBook("BTCUSDT", "5").depth == 5  # type: ignore[arg-type]


def test_symbols_are_normalised() -> None:
    assert Ticker(" btcusdt ").symbol == "BTCUSDT"
    assert Trades("1000pepeusdt").symbol == "1000PEPEUSDT"


# --- Subscription -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "symbol", "params", "expected"),
    [
        ("ticker", "BTCUSDT", None, Ticker("BTCUSDT")),
        ("orderbook", "BTCUSDT", {"depth": 5}, OrderBook("BTCUSDT", 5)),
        ("orderbook", "btcusdt", None, OrderBook("BTCUSDT", 15)),
        ("order_book", "BTCUSDT", {"depth": 1}, OrderBook("BTCUSDT", 1)),
        ("depth", "BTCUSDT", {"depth": "15"}, OrderBook("BTCUSDT", 15)),
        ("trades", "BTCUSDT", None, Trades("BTCUSDT")),
        ("trade", "BTCUSDT", {}, Trades("BTCUSDT")),
        ("kline", "BTCUSDT", None, Kline("BTCUSDT")),
        ("kline", "BTCUSDT", {"interval": "4h"}, Kline("BTCUSDT", "4h")),
        (
            "kline",
            "BTCUSDT",
            {"interval": "1d", "price_type": "mark"},
            Kline("BTCUSDT", "1day", PriceType.MARK),
        ),
        ("markprice", "BTCUSDT", None, MarkPrice("BTCUSDT")),
        ("price", "BTCUSDT", None, MarkPrice("BTCUSDT")),
        ("mark_price", "BTCUSDT", None, MarkPrice("BTCUSDT")),
        ("tickers", "BTCUSDT", None, Tickers("BTCUSDT")),
        ("orders", None, None, Orders()),
        ("order", None, None, Orders()),
        ("positions", None, None, Positions()),
        ("balance", None, None, Balance()),
        ("tpsl", None, None, TpSl()),
        ("Ticker", "BTCUSDT", None, Ticker("BTCUSDT")),
        ("ORDERBOOK", "BTCUSDT", {"depth": 1}, OrderBook("BTCUSDT", 1)),
        # wire names work too
        ("depth_book5", "BTCUSDT", None, OrderBook("BTCUSDT", 5)),
        ("mark_kline_1week", "BTCUSDT", None, Kline("BTCUSDT", "1week", "mark")),
        ("market_kline_1min", "BTCUSDT", None, Kline("BTCUSDT")),
    ],
)
def test_subscription_mapping(
    channel: str, symbol: str | None, params: dict[str, Any] | None, expected: ChannelSpec[Any]
) -> None:
    sub = Subscription(channel=channel, symbol=symbol, params=params)
    assert sub.resolve() == expected
    assert resolve_spec(sub) == expected
    assert sub == Subscription(channel, symbol, params)
    assert hash(sub) == hash(expected)


def test_subscription_repr_and_fields() -> None:
    sub = Subscription(channel="orderbook", symbol="BTCUSDT", params={"depth": 5})
    assert repr(sub) == "Subscription(channel='orderbook', symbol='BTCUSDT', params={'depth': 5})"
    assert sub.channel == "orderbook"
    assert sub.symbol == "BTCUSDT"
    assert sub.params == {"depth": 5}
    assert sub != Subscription("orderbook", "BTCUSDT")
    assert sub != "orderbook"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("orderbook", "BTCUSDT", {"depth": 20}), "depth must be one of 1, 5, 15 (got 20)"),
        (
            ("orderbook", "BTCUSDT", {"size": 5}),
            "unknown parameter(s) 'size' for channel 'orderbook'",
        ),
        (("orderbook", "BTCUSDT", {"size": 5}), "allowed: depth"),
        (("ticker", "BTCUSDT", {"depth": 5}), "allowed: none"),
        (("kline", "BTCUSDT", {"interval": "2min"}), "interval must be one of"),
        (("kline", "BTCUSDT", {"period": "1m"}), "allowed: interval, price_type"),
        (("depth_book5", "BTCUSDT", {"depth": 5}), "allowed: none"),
        (("ticker", None, None), "channel 'ticker' needs a symbol"),
        (("orderbook", None, {"depth": 5}), "channel 'orderbook' needs a symbol"),
        (("orders", "BTCUSDT", None), "channel 'orders' is private and takes no symbol"),
        (("balance", "BTCUSDT", None), "is private and takes no symbol (got 'BTCUSDT')"),
        (("candlesticks", "BTCUSDT", None), "unknown channel 'candlesticks'; known channels: "),
        (("", None, None), "unknown channel ''"),
        (("ticker", "BTCUSDT", [("depth", 5)]), "params must be a mapping"),
    ],
)
def test_subscription_errors(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Subscription(*args)
    assert message in str(info.value)


def test_unknown_channel_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        Subscription("wallet")
    text = str(info.value)
    for name in ("ticker", "orderbook", "trades", "orders", "positions", "balance"):
        assert name in text
    for name in ("kline", "markprice", "tickers", "tpsl"):
        assert name in text


def test_non_string_channel() -> None:
    with pytest.raises(ConfigurationError, match="unknown channel 5"):
        Subscription(5)  # type: ignore[arg-type]


def test_resolve_spec_rejects_other_things() -> None:
    with pytest.raises(ConfigurationError, match="expected a channel spec"):
        resolve_spec("ticker")
    with pytest.raises(ConfigurationError, match="expected a channel spec"):
        resolve_spec(("ticker", "BTCUSDT"))


def test_spec_from_key_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown wire channel 'orderbook'"):
        spec_from_key("orderbook", "BTCUSDT")
    with pytest.raises(ConfigurationError, match="needs a symbol"):
        spec_from_key("ticker")
    with pytest.raises(ConfigurationError, match="takes no symbol"):
        spec_from_key("order", "BTCUSDT")
    assert spec_from_key("depth_book5", "btcusdt") == OrderBook("BTCUSDT", 5)
