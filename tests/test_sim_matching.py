"""The simulated exchange's matching engine on hand-computed cases.

Books are set by hand (``set_book``) so every price, fee and P&L below is computed from the
numbers in the test: taker fee 0.06 %, maker fee 0.02 %, margin = notional / leverage (10).
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from bitunix_trio._core.models import (
    OrderStatus,
    Side,
    TimeInForce,
)
from bitunix_trio._core.wire import (
    parse_balance,
    parse_order,
    parse_position,
)
from bitunix_trio.testing._engine.engine import ExchangeEngine, Instrument, SimulatedError

D = Decimal
SYM = "TESTUSDT"
KEY = "key-1"
TEST = Instrument(SYM, "TEST", "USDT", D("100"), D("0.1"), D("0.01"), D("0.01"), 50)
PREVIEW = Instrument("SOONUSDT", "SOON", "USDT", D("1"), D("0.01"), D("1"), D("1"), 20, "PREVIEW")


def make_engine(balance: str = "10000", **kwargs: Any) -> ExchangeEngine:
    engine = ExchangeEngine(seed=7, instruments=[TEST, PREVIEW], **kwargs)
    engine.create_account(KEY, "secret-1", {"USDT": D(balance)})
    return engine


def events(engine: ExchangeEngine) -> list[tuple[str, dict[str, Any]]]:
    return engine.drain_private_events(KEY)


def summary(evs: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
    """(channel, event/status) of each push, for checking the sequence."""
    out = []
    for channel, data in evs:
        if channel == "order":
            out.append((channel, f"{data['event']}:{data['orderStatus']}"))
        elif channel == "position":
            out.append((channel, f"{data['event']}:{data['side']}"))
        else:
            out.append((channel, data["coin"]))
    return out


def buy(engine: ExchangeEngine, qty: str, **kw: Any) -> Any:
    return engine.place_order(KEY, symbol=SYM, side="BUY", order_type="MARKET", qty=D(qty), **kw)


def sell(engine: ExchangeEngine, qty: str, **kw: Any) -> Any:
    return engine.place_order(KEY, symbol=SYM, side="SELL", order_type="MARKET", qty=D(qty), **kw)


def limit(engine: ExchangeEngine, side: str, qty: str, price: str, **kw: Any) -> Any:
    return engine.place_order(
        KEY, symbol=SYM, side=side, order_type="LIMIT", qty=D(qty), price=D(price), **kw
    )


def test_market_buy_walks_two_levels() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "5")], asks=[("100", "1"), ("100.5", "2")])
    order = buy(e, "2", client_id="c-1")
    # 1 @ 100 + 1 @ 100.5 = 200.5; fee 200.5 * 0.0006 = 0.1203
    assert order.status is OrderStatus.FILLED
    assert order.filled_qty == D("2")
    assert order.average_price == D("100.25")
    assert order.fee == D("0.1203")
    evs = events(e)
    assert summary(evs) == [
        ("order", "CREATE:NEW"),
        ("order", "CLOSE:FILLED"),
        ("position", "OPEN:LONG"),
        ("balance", "USDT"),
    ]
    created, closed, pos, bal = (d for _, d in evs)
    assert created["dealAmount"] == "0"
    assert created["clientId"] == "c-1"
    assert closed["averagePrice"] == "100.25"
    assert closed["fee"] == "0.1203"
    assert closed["dealAmount"] == "2"
    assert closed["orderId"] == order.order_id
    assert pos["qty"] == "2"
    assert pos["entryValue"] == "200.5"
    assert pos["margin"] == "20.05"
    assert pos["fee"] == "0.1203"
    assert pos["realizedPNL"] == "0"
    # wallet 10000 - 0.1203; available = wallet - margin 20.05
    assert bal["available"] == "9979.8297"
    assert bal["margin"] == "20.05"
    assert bal["frozen"] == "0"
    trades = e.last_trades(SYM)
    assert [(t.price, t.qty, t.side) for t in trades] == [
        (D("100"), D("1"), Side.BUY),
        (D("100.5"), D("1"), Side.BUY),
    ]
    book = e.order_book(SYM, 1)
    assert book.asks == ((D("100.5"), D("1")),)
    assert e.ticker(SYM).last_price == D("100.5")


def test_limit_buy_rests_then_fills_as_maker() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "5")], asks=[("100", "5")])
    order = limit(e, "BUY", "1", "99.5")
    assert order.status is OrderStatus.NEW
    evs = events(e)
    assert summary(evs) == [("order", "CREATE:NEW"), ("balance", "USDT")]
    assert evs[0][1]["price"] == "99.5"
    # frozen margin 99.5 * 1 / 10
    assert evs[1][1]["frozen"] == "9.95"
    assert evs[1][1]["available"] == "9990.05"
    assert e.order_book(SYM, 5).bids[:2] == ((D("99.9"), D("5")), (D("99.5"), D("1")))
    assert [o.order_id for o in e.pending_orders(KEY)] == [order.order_id]

    # the market falls through the order: it fills at its own price as maker
    e.set_book(SYM, bids=[("99", "5")], asks=[("99.4", "0.4"), ("99.5", "3")])
    evs = events(e)
    assert summary(evs) == [
        ("order", "CLOSE:FILLED"),
        ("position", "OPEN:LONG"),
        ("balance", "USDT"),
    ]
    closed, pos, bal = (d for _, d in evs)
    assert closed["averagePrice"] == "99.5"
    assert closed["fee"] == "0.0199"  # 99.5 * 0.0002
    assert pos["entryValue"] == "99.5"
    assert bal["frozen"] == "0"
    assert bal["margin"] == "9.95"
    assert bal["available"] == "9990.0301"  # 10000 - 0.0199 - 9.95
    assert e.pending_orders(KEY) == []
    assert e.history_orders(KEY)[0].status is OrderStatus.FILLED
    trade = e.last_trades(SYM)[-1]
    assert (trade.price, trade.qty, trade.side) == (D("99.5"), D("1"), Side.SELL)


def test_partial_fill_rests_remainder_then_cancel() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "5")], asks=[("100", "1"), ("100.5", "2")])
    order = limit(e, "BUY", "3", "100.2", client_id="p-1")
    assert order.status is OrderStatus.PART_FILLED
    assert order.filled_qty == D("1")
    assert order.fee == D("0.06")  # taker: 100 * 0.0006
    evs = events(e)
    assert summary(evs) == [
        ("order", "CREATE:NEW"),
        ("order", "UPDATE:PART_FILLED"),
        ("position", "OPEN:LONG"),
        ("balance", "USDT"),
    ]
    bal = evs[-1][1]
    assert bal["frozen"] == "20.04"  # 2 left * 100.2 / 10
    assert bal["margin"] == "10"
    assert e.order_book(SYM, 1).bids == ((D("100.2"), D("2")),)

    ok, failed = e.cancel_orders(KEY, SYM, client_ids=["p-1"])
    assert ok == [{"orderId": order.order_id, "clientId": "p-1"}]
    assert failed == []
    evs = events(e)
    assert summary(evs) == [("order", "CLOSE:PART_FILLED_CANCELED"), ("balance", "USDT")]
    assert evs[1][1]["frozen"] == "0"
    assert e.order_detail(KEY, client_id="p-1").status is OrderStatus.PART_FILLED_CANCELED


def test_resting_order_partially_filled_by_thin_market() -> None:
    e = make_engine()
    e.set_position(KEY, SYM, "LONG", D("3"), D("100"))
    events(e)
    e.set_book(SYM, bids=[("100", "5")], asks=[("100.1", "5")])
    order = limit(e, "SELL", "2", "101")
    events(e)
    e.set_book(SYM, bids=[("101.5", "0.5"), ("100.9", "9")], asks=[("101.6", "1")])
    evs = events(e)
    assert summary(evs) == [
        ("order", "UPDATE:PART_FILLED"),
        ("position", "UPDATE:LONG"),
        ("balance", "USDT"),
    ]
    assert evs[0][1]["dealAmount"] == "0.5"
    assert evs[0][1]["fee"] == "0.0101"  # 0.5 * 101 * 0.0002
    assert evs[1][1]["realizedPNL"] == "0.5"  # (101 - 100) * 0.5
    assert e.order_detail(KEY, order.order_id).filled_qty == D("0.5")


def test_position_open_increase_reduce_close_reverse() -> None:
    e = make_engine()
    wallet = D("10000")

    def at(price: str) -> None:
        e.set_book(SYM, bids=[(price, "100")], asks=[(str(D(price) + D("0.1")), "100")])

    at("99.9")  # asks at 100
    buy(e, "2")
    wallet -= D("200") * D("0.0006")
    at("102.9")  # asks at 103
    buy(e, "1")
    wallet -= D("103") * D("0.0006")
    [pos] = e.pending_positions(KEY)
    assert (pos.qty, pos.entry_value, pos.average_price) == (D("3"), D("303"), D("101"))
    events(e)

    at("104")
    sell(e, "1")  # realises (104 - 101) * 1
    wallet += D("3") - D("104") * D("0.0006")
    [pos] = e.pending_positions(KEY)
    assert (pos.qty, pos.entry_value, pos.average_price) == (D("2"), D("202"), D("101"))
    assert pos.realized_pnl == D("3")
    evs = events(e)
    assert summary(evs)[2] == ("position", "UPDATE:LONG")
    assert evs[2][1]["realizedPNL"] == "3"

    at("99")
    order = sell(e, "2")  # realises (99 - 101) * 2 = -4
    wallet += D("-4") - D("198") * D("0.0006")
    assert order.realized_pnl == D("-4")
    assert e.pending_positions(KEY) == []
    evs = events(e)
    assert summary(evs) == [
        ("order", "CREATE:NEW"),
        ("order", "CLOSE:FILLED"),
        ("position", "CLOSE:LONG"),
        ("balance", "USDT"),
    ]
    assert evs[2][1]["qty"] == "0"
    assert evs[2][1]["realizedPNL"] == "-1"  # 3 - 4 over the position's life
    assert e.balance(KEY).available == wallet

    # reversal: long 1 @ 100, then sell 3 @ 100 -> close the long, open a short of 2
    at("99.9")
    buy(e, "1")
    wallet -= D("100") * D("0.0006")
    old_id = e.pending_positions(KEY)[0].position_id
    events(e)
    at("100")
    sell(e, "3")
    wallet -= D("300") * D("0.0006")
    evs = events(e)
    assert summary(evs) == [
        ("order", "CREATE:NEW"),
        ("order", "CLOSE:FILLED"),
        ("position", "CLOSE:LONG"),
        ("position", "OPEN:SHORT"),
        ("balance", "USDT"),
    ]
    assert evs[2][1]["positionId"] == old_id
    assert evs[3][1]["positionId"] != old_id
    [pos] = e.pending_positions(KEY)
    assert (pos.side.value, pos.qty, pos.entry_value) == ("SHORT", D("2"), D("200"))
    bal = e.balance(KEY)
    assert bal.margin == D("20")
    assert bal.available == wallet - D("20")


def test_unrealized_pnl_follows_mark() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "10")], asks=[("100", "10")])
    buy(e, "2")
    e.set_mid_price(SYM, D("105"))
    mark = e.mark_price(SYM).mark_price
    [pos] = e.pending_positions(KEY)
    assert pos.unrealized_pnl == (mark - D("100")) * 2
    assert e.balance(KEY).cross_unrealized_pnl == pos.unrealized_pnl

    e2 = make_engine()
    e2.set_book(SYM, bids=[("100", "10")], asks=[("100.1", "10")])
    e2.place_order(KEY, symbol=SYM, side="SELL", order_type="MARKET", qty=D("1.5"))
    e2.set_mid_price(SYM, D("90"))
    mark = e2.mark_price(SYM).mark_price
    [pos] = e2.pending_positions(KEY)
    assert pos.unrealized_pnl == (D("100") - mark) * D("1.5")


def test_insufficient_balance() -> None:
    e = make_engine("100")
    e.set_book(SYM, bids=[("99.9", "100")], asks=[("100", "100")])
    with pytest.raises(SimulatedError) as info:
        buy(e, "10")  # margin 100 + fee 0.6 > 100
    assert info.value.code == 20003
    with pytest.raises(SimulatedError) as info:
        limit(e, "BUY", "11", "95")  # 104.5 frozen > 100
    assert info.value.code == 20003
    assert events(e) == []
    assert e.pending_orders(KEY) == []
    order = limit(e, "BUY", "10", "95")  # 95 frozen: fits
    assert order.status is OrderStatus.NEW
    assert e.balance(KEY).available == D("5")
    with pytest.raises(SimulatedError) as info:
        limit(e, "BUY", "1", "95")  # only 5 left
    assert info.value.code == 20003


def test_cancel_and_unknown_cancel() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "10")], asks=[("100", "10")])
    a = limit(e, "BUY", "1", "90", client_id="a")
    b = limit(e, "BUY", "1", "91")
    filled = buy(e, "1")
    events(e)
    ok, failed = e.cancel_orders(
        KEY, SYM, order_ids=[b.order_id, "424242", filled.order_id], client_ids=["a", "zzz"]
    )
    assert ok == [
        {"orderId": b.order_id, "clientId": ""},
        {"orderId": a.order_id, "clientId": "a"},
    ]
    assert failed == [
        {"orderId": "424242", "clientId": "", "errorMsg": "Order not found", "errorCode": "20007"},
        {
            "orderId": filled.order_id,
            "clientId": "",
            "errorMsg": "Order not found",
            "errorCode": "20007",
        },
        {"orderId": "", "clientId": "zzz", "errorMsg": "Order not found", "errorCode": "20007"},
    ]
    assert summary(events(e)) == [
        ("order", "CLOSE:CANCELED"),
        ("balance", "USDT"),
        ("order", "CLOSE:CANCELED"),
        ("balance", "USDT"),
    ]
    with pytest.raises(SimulatedError) as info:
        e.order_detail(KEY, order_id="424242")
    assert info.value.code == 20007
    limit(e, "BUY", "1", "90")
    limit(e, "SELL", "1", "110")
    assert len(e.cancel_all_orders(KEY, SYM)) == 2
    assert e.pending_orders(KEY) == []
    assert e.balance(KEY).frozen == 0


def test_reduce_only_rules() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "10")], asks=[("100", "10")])
    with pytest.raises(SimulatedError) as info:
        sell(e, "1", reduce_only=True)
    assert info.value.code == 30004
    buy(e, "1")
    with pytest.raises(SimulatedError) as info:
        buy(e, "1", reduce_only=True)  # would increase the long
    assert info.value.code == 30004
    events(e)
    # more than the position: only the position's size fills, the rest is cancelled
    order = sell(e, "2", reduce_only=True)
    assert order.status is OrderStatus.PART_FILLED_CANCELED
    assert order.filled_qty == D("1")
    assert e.pending_positions(KEY) == []
    assert summary(events(e)) == [
        ("order", "CREATE:NEW"),
        ("order", "UPDATE:PART_FILLED"),
        ("position", "CLOSE:LONG"),
        ("balance", "USDT"),
        ("order", "CLOSE:PART_FILLED_CANCELED"),
        ("balance", "USDT"),
    ]
    # a resting reduce-only order is cancelled when its position goes away
    buy(e, "1")
    ro = limit(e, "SELL", "1", "120", trade_side="CLOSE")
    assert ro.reduce_only
    assert e.balance(KEY).frozen == 0  # reduce-only freezes nothing
    events(e)
    sell(e, "1")
    evs = events(e)
    assert ("order", "CLOSE:CANCELED") in summary(evs)
    assert e.order_detail(KEY, ro.order_id).status is OrderStatus.CANCELED


def test_client_id_duplicate() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "10")], asks=[("100", "10")])
    buy(e, "1", client_id="dup")
    with pytest.raises(SimulatedError) as info:
        limit(e, "BUY", "1", "90", client_id="dup")
    assert info.value.code == 30042


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"side": "HOLD"}, 10002),
        ({"order_type": "STOP"}, 10002),
        ({"qty": D("0.015")}, 10002),
        ({"qty": D("0")}, 10002),
        ({"qty": "abc"}, 10002),
        ({"price": None}, 10002),
        ({"price": D("99.95")}, 10002),
        ({"price": D("-1")}, 10002),
        ({"effect": "GTD"}, 10008),
        ({"trade_side": "FLIP"}, 10002),
        ({"symbol": "NOPEUSDT"}, 20015),
        ({"symbol": "SOONUSDT"}, 20015),
    ],
)
def test_rejections(kwargs: dict[str, Any], code: int) -> None:
    e = make_engine()
    args: dict[str, Any] = {
        "symbol": SYM,
        "side": "BUY",
        "order_type": "LIMIT",
        "qty": D("1"),
        "price": D("99"),
    }
    args.update(kwargs)
    with pytest.raises(SimulatedError) as info:
        e.place_order(KEY, **args)
    assert info.value.code == code
    assert events(e) == []


def test_unknown_api_key() -> None:
    e = make_engine()
    with pytest.raises(SimulatedError) as info:
        e.place_order("nobody", symbol=SYM, side="BUY", order_type="MARKET", qty=D("1"))
    assert info.value.code == 10003
    assert e.account_by_key("nobody") is None
    assert e.drain_private_events("nobody") == []


def test_lowercase_side_and_symbol_accepted() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "10")], asks=[("100", "10")])
    o = e.place_order(KEY, symbol="testusdt", side="buy", order_type="market", qty="1")
    assert (o.symbol, o.side, o.status) == (SYM, Side.BUY, OrderStatus.FILLED)


def test_time_in_force() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "10")], asks=[("100", "1"), ("100.2", "1")])
    fok = limit(e, "BUY", "3", "100.2", effect="FOK")  # only 2 available
    assert (fok.status, fok.filled_qty) == (OrderStatus.CANCELED, D("0"))
    ioc = limit(e, "BUY", "3", "100.1", effect="IOC")
    assert (ioc.status, ioc.filled_qty) == (OrderStatus.PART_FILLED_CANCELED, D("1"))
    post = limit(e, "BUY", "1", "100.2", effect="POST_ONLY")
    assert post.status is OrderStatus.CANCELED
    resting = limit(e, "BUY", "1", "99", effect="POST_ONLY")
    assert resting.status is OrderStatus.NEW
    assert resting.time_in_force is TimeInForce.POST_ONLY
    fok2 = limit(e, "BUY", "1", "100.2", effect="FOK")
    assert fok2.status is OrderStatus.FILLED


def test_market_order_beyond_book_is_part_filled_canceled() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "10")], asks=[("100", "1"), ("100.1", "1")])
    order = buy(e, "5")
    assert order.status is OrderStatus.PART_FILLED_CANCELED
    assert order.filled_qty == D("2")


def test_resting_orders_of_accounts_match_each_other() -> None:
    e = make_engine()
    e.create_account("key-2", "secret-2")
    e.set_book(SYM, bids=[("99", "10")], asks=[("101", "10")])
    maker = e.place_order(
        "key-2", symbol=SYM, side="SELL", order_type="LIMIT", qty=D("1"), price=D("100")
    )
    e.drain_private_events("key-2")
    assert e.order_book(SYM, 1).asks == ((D("100"), D("1")),)
    taker = buy(e, "1.5")
    assert taker.average_price == D("100.3333333333")  # 150.5 / 1.5, 10 places
    maker_events = e.drain_private_events("key-2")
    assert summary(maker_events)[0] == ("order", "CLOSE:FILLED")
    assert maker_events[0][1]["fee"] == "0.02"  # maker 100 * 0.0002
    assert summary(maker_events)[1] == ("position", "OPEN:SHORT")
    assert e.order_detail("key-2", maker.order_id).status is OrderStatus.FILLED


def test_admin_hooks() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "10")], asks=[("100", "10")])
    order = limit(e, "BUY", "2", "95")
    events(e)
    filled = e.fill_order(KEY, order.order_id, qty=D("0.5"))
    assert (filled.status, filled.filled_qty, filled.fee) == (
        OrderStatus.PART_FILLED,
        D("0.5"),
        D("0.0095"),  # 0.5 * 95 * 0.0002
    )
    assert summary(events(e)) == [
        ("order", "UPDATE:PART_FILLED"),
        ("position", "OPEN:LONG"),
        ("balance", "USDT"),
    ]
    gone = e.cancel_order_by_exchange(KEY, order.order_id)
    assert gone.status is OrderStatus.SYSTEM_CANCELED
    assert summary(events(e)) == [("order", "CLOSE:SYSTEM_CANCELED"), ("balance", "USDT")]
    with pytest.raises(SimulatedError) as info:
        e.fill_order(KEY, order.order_id)
    assert info.value.code == 20007

    e.set_position(KEY, SYM, "SHORT", D("3"), D("110"))
    assert summary(events(e)) == [
        ("position", "CLOSE:LONG"),
        ("position", "OPEN:SHORT"),
        ("balance", "USDT"),
    ]
    e.set_position(KEY, SYM, "SELL", D("4"), D("110"))
    assert summary(events(e)) == [("position", "UPDATE:SHORT"), ("balance", "USDT")]
    assert e.set_position(KEY, SYM, "SHORT", D("0"), D("0")) is None
    assert summary(events(e)) == [("position", "CLOSE:SHORT"), ("balance", "USDT")]

    before = e.balance(KEY).available
    bal = e.credit(KEY, "USDT", D("250.5"))
    assert bal.available == before + D("250.5")
    [(channel, data)] = events(e)
    assert channel == "balance"
    assert data["available"] == str(bal.available)


def test_funding_settlement() -> None:
    e = ExchangeEngine(seed=3, instruments=[TEST], start_ms=1_790_006_400_000 - 1_000)
    e.create_account(KEY, "s")
    e.set_position(KEY, SYM, "LONG", D("2"), D("100"))
    events(e)
    e.advance(1_790_006_400_000 + 500)
    mark = e.mark_price(SYM)
    rate = mark.funding_rate
    assert mark.funding_time.timestamp() * 1000 == 1_790_006_400_000
    [pos] = e.pending_positions(KEY)
    expected = -(D("2") * mark.mark_price * rate / 100)
    assert rate != 0
    assert pos.funding == expected
    assert pos.margin is not None
    assert e.balance(KEY).available == D("10000") + expected - pos.margin
    assert ("position", "UPDATE:LONG") in summary(events(e))


def test_private_events_parse_with_the_model_parsers() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "10")], asks=[("100", "10")])
    order = limit(e, "BUY", "1", "100.5", client_id="x")
    evs = events(e)
    assert [c for c, _ in evs] == ["order", "order", "position", "balance"]
    created = parse_order(evs[0][1], 1)
    closed = parse_order(evs[1][1], 1)
    pos = parse_position(evs[2][1], 1)
    bal = parse_balance(evs[3][1], 1)
    assert created.order_id == closed.order_id == order.order_id
    assert created.client_id == "x"
    assert closed.side is Side.BUY
    assert closed.status is OrderStatus.FILLED
    assert closed.time_in_force is None  # the live quirk: effect carries LONG/SHORT
    assert closed.created_ms == e.now_ms
    assert pos.qty == D("1")
    assert pos.position_id == e.pending_positions(KEY)[0].position_id
    assert bal.available == e.balance(KEY).available


def test_quirks_switch() -> None:
    quirky = make_engine()
    plain = make_engine(quirks=False)
    for e in (quirky, plain):
        e.set_book(SYM, bids=[("99.9", "10")], asks=[("100", "10")])
        limit(e, "SELL", "1", "101")
    q = events(quirky)[0][1]
    p = events(plain)[0][1]
    assert (q["side"], q["type"], q["effect"]) == ("Sell", "Limit", "SHORT")
    assert (p["side"], p["type"], p["effect"]) == ("SELL", "LIMIT", "GTC")
    assert q["ctime"].endswith("000000Z")
    assert len(q["ctime"]) == len("2026-01-01T00:00:00.123456789Z")


def test_listing_views() -> None:
    e = make_engine()
    e.set_book(SYM, bids=[("99.9", "10")], asks=[("100", "10")])
    a = limit(e, "BUY", "1", "90", client_id="first")
    b = limit(e, "BUY", "1", "91")
    assert [o.order_id for o in e.pending_orders(KEY)] == [b.order_id, a.order_id]
    assert [o.order_id for o in e.pending_orders(KEY, client_id="first")] == [a.order_id]
    assert e.pending_orders(KEY, symbol="OTHER") == []
    buy(e, "1")
    e.cancel_orders(KEY, SYM, order_ids=[a.order_id])
    hist = e.history_orders(KEY)
    # By creation time, newest first (the market buy was created after ``a``).
    assert [o.status for o in hist] == [OrderStatus.FILLED, OrderStatus.CANCELED]
    assert hist[1].order_id == a.order_id
    assert e.order_detail(KEY, client_id="first").order_id == a.order_id


def test_random_trading_keeps_the_books_consistent() -> None:
    """Random orders over many ticks: balances add up, the book never crosses."""
    e = ExchangeEngine(seed=11, instruments=[TEST])
    e.create_account(KEY, "s", {"USDT": D("100000")})
    rng = random.Random(5)
    maker_fills = 0
    rejected: list[int] = []
    for step in range(150):
        e.advance(e.start_ms + step * 310 * 3)
        book = e.order_book(SYM, 5)
        mid = book.bids[0][0]
        side = "BUY" if rng.random() < 0.5 else "SELL"
        qty = str(rng.randint(1, 300) / 100)
        price = None if rng.random() < 0.3 else mid + D(rng.randint(-20, 20)) / 10
        try:
            e.place_order(
                KEY,
                symbol=SYM,
                side=side,
                order_type="LIMIT" if price else "MARKET",
                qty=qty,
                price=price,
            )
        except SimulatedError as exc:
            rejected.append(exc.code)
        if rng.random() < 0.1:
            e.cancel_all_orders(KEY)
        book = e.order_book(SYM, 15)
        assert book.bids[0][0] < book.asks[0][0]
        account = e.account_by_key(KEY)
        assert account is not None
        bal = e.balance(KEY)
        assert bal.frozen is not None
        assert bal.margin is not None
        total = bal.available + bal.frozen + bal.margin
        assert abs(total - account.wallet["USDT"]) <= D("3e-10")
        for o in e.pending_orders(KEY):
            assert D(0) <= o.filled_qty < o.qty
        for channel, data in events(e):
            if channel == "order" and data["type"] == "Limit" and data["event"] != "CREATE":
                maker_fills += data["orderStatus"] in ("FILLED", "PART_FILLED")
            if channel == "order":
                assert data["orderStatus"] in {
                    "NEW",
                    "PART_FILLED",
                    "FILLED",
                    "CANCELED",
                    "PART_FILLED_CANCELED",
                }
    statuses = {o.status for o in e.history_orders(KEY, limit=1000)}
    assert {OrderStatus.FILLED, OrderStatus.CANCELED} <= statuses
    assert maker_fills > 0
    assert set(rejected) <= {20003}
