"""The frame codec: golden frames both ways, encoders, routing, and bad input as values."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal as D

import pytest
from golden_frames import (
    CLIENT_CASES,
    SERVER_CASES,
    ClientCase,
    ServerCase,
    encode_client_frame,
    encode_frame,
)

from bitunix_trio._core.errors import RemoteProtocolError
from bitunix_trio._core.frames import (
    MAX_KEPT_TEXT,
    ErrorFrame,
    Greeting,
    Key,
    LoginReply,
    Malformed,
    PingRequest,
    Pong,
    Push,
    SubscribeRefused,
    SubscribeRequest,
    Unknown,
    UnsubscribeReply,
    decode,
    decode_client,
    encode_error,
    encode_greeting,
    encode_login,
    encode_login_reply,
    encode_ping,
    encode_pong,
    encode_push,
    encode_subscribe,
    encode_subscribe_refused,
    encode_unsubscribe,
    encode_unsubscribe_reply,
    item_key,
    push_key,
)
from bitunix_trio._core.models import (
    KLINE_INTERVALS,
    KlineUpdate,
    Order,
    OrderBookUpdate,
    PriceType,
    TickerSummary,
)
from bitunix_trio._core.wire import (
    order_book_to_wire,
    order_to_wire,
    to_wire,
)


def _ids(case: ServerCase | ClientCase) -> str:
    return case.name


# --- golden frames, both directions -----------------------------------------------------------


@pytest.mark.parametrize("case", SERVER_CASES, ids=_ids)
def test_decode_golden(case: ServerCase) -> None:
    assert decode(case.text) == case.frame


@pytest.mark.parametrize("case", SERVER_CASES, ids=_ids)
def test_encode_golden(case: ServerCase) -> None:
    assert encode_frame(case.frame) == case.encoded


@pytest.mark.parametrize("case", SERVER_CASES, ids=_ids)
def test_canonical_decodes_to_the_same_frame(case: ServerCase) -> None:
    assert decode(case.encoded) == case.frame
    assert decode(case.encoded.encode()) == case.frame  # bytes work too


@pytest.mark.parametrize("case", CLIENT_CASES, ids=_ids)
def test_client_golden_both_ways(case: ClientCase) -> None:
    assert decode_client(case.text) == case.frame
    assert encode_client_frame(case.frame) == case.text


def test_every_documented_channel_has_a_golden_case() -> None:
    channels = {c.frame.channel for c in SERVER_CASES if isinstance(c.frame, Push)}
    assert channels >= {
        "depth_book1",
        "depth_book5",
        "depth_book15",
        "depth_books",
        "price",
        "ticker",
        "tickers",
        "trade",
        "market_kline_1min",
        "mark_kline_1day",
        "balance",
        "position",
        "order",
        "tpsl",
    }


# --- client encoders --------------------------------------------------------------------------


def test_encode_subscribe_exact() -> None:
    text = encode_subscribe([("depth_book15", "BTCUSDT"), ("price", "BTCUSDT")])
    assert text == (
        '{"op":"subscribe","args":[{"symbol":"BTCUSDT","ch":"depth_book15"},'
        '{"symbol":"BTCUSDT","ch":"price"}]}'
    )


def test_encode_subscribe_private_has_no_symbol_key() -> None:
    assert encode_subscribe([("order", None)]) == '{"op":"subscribe","args":[{"ch":"order"}]}'


def test_encode_unsubscribe_and_ping_and_login() -> None:
    assert encode_unsubscribe([("trade", "ETHUSDT")]) == (
        '{"op":"unsubscribe","args":[{"symbol":"ETHUSDT","ch":"trade"}]}'
    )
    assert encode_ping(1732519687) == '{"op":"ping","ping":1732519687}'
    args = {"apiKey": "k", "timestamp": 1747402389, "nonce": "n", "sign": "s"}
    assert encode_login(args) == (
        '{"op":"login","args":[{"apiKey":"k","timestamp":1747402389,"nonce":"n","sign":"s"}]}'
    )


def test_encode_many_keys_in_one_frame() -> None:
    keys = [("ticker", f"SYM{i}USDT") for i in range(300)]
    frame = decode_client(encode_subscribe(keys))
    assert frame == SubscribeRequest(tuple(keys))


# --- server encoders --------------------------------------------------------------------------


def test_server_encoders_exact() -> None:
    assert encode_greeting() == '{"op":"connect","data":{"result":true}}'
    assert encode_pong(5, 3) == '{"op":"ping","pong":5,"ping":3}'
    assert encode_unsubscribe_reply(7) == '{"op":"unsubscribe","ts":7,"data":"success"}'
    assert encode_subscribe_refused() == (
        '{"op":"subscribe","data":{"msg":"subscribe channel > 300","nonce":"","result":false}}'
    )
    assert encode_login_reply(True) == '{"op":"login","data":{"result":true}}'
    assert encode_login_reply(False, "no") == (
        '{"op":"login","data":{"result":false,"msg":"no","nonce":""}}'
    )
    assert encode_error("x") == '{"error":"x"}'


def test_encode_push_with_model_wire_data() -> None:
    case = next(c for c in SERVER_CASES if c.name == "depth_book15")
    assert isinstance(case.frame, Push)
    book = case.frame.items[0]
    assert isinstance(book, OrderBookUpdate)
    text = encode_push("depth_book15", "BTCUSDT", book.ts, order_book_to_wire(book))
    assert text == case.text


def test_encode_push_private_has_no_symbol() -> None:
    case = next(c for c in SERVER_CASES if c.name == "order")
    assert isinstance(case.frame, Push)
    order = case.frame.items[0]
    assert isinstance(order, Order)
    text = encode_push("order", None, 1651234567890, order_to_wire(order))
    assert text == case.encoded
    assert '"symbol":"BTCUSDT"' in text  # inside data only
    assert text.startswith('{"ch":"order","ts":')


def test_padded_empty_book_is_what_an_unknown_symbol_gets() -> None:
    empty = OrderBookUpdate("NOPEUSDT", (), (), 15, 1)
    text = encode_push("depth_book15", "NOPEUSDT", 1, order_book_to_wire(empty, pad_to=15))
    assert json.loads(text)["data"]["b"] == [["", ""]] * 15
    assert decode(text) == Push("depth_book15", "NOPEUSDT", 1, (empty,))


def test_every_kline_channel_decodes() -> None:
    data = json.loads(
        '{"o":"1","c":"2","h":"3","l":"0.5","b":"10","q":"20"}',
    )
    for interval in KLINE_INTERVALS:
        for price_type in PriceType:
            channel = f"{price_type.value}_kline_{interval}"
            frame = decode(encode_push(channel, "ETHUSDT", 1775541412718, data))
            assert isinstance(frame, Push), channel
            (item,) = frame.items
            assert isinstance(item, KlineUpdate)
            assert (item.interval, item.price_type) == (interval, price_type)
            assert item.open_time_ms <= item.ts
            assert to_wire(item) == data


# --- routing ----------------------------------------------------------------------------------


def routes(push: Push) -> list[tuple[Key, object]]:
    """``(routing key, item)`` for each item, as the reader routes them."""
    key = push_key(push.channel, push.symbol)
    return [(item_key(push.channel, item) if key is None else key, item) for item in push.items]


def test_routes_public_private_and_tickers() -> None:
    by_name = {c.name: c.frame for c in SERVER_CASES}
    book = by_name["depth_book15"]
    order = by_name["order as a list of two"]
    trades = by_name["trade"]
    no_symbol = by_name["no symbol: empty levels, no symbol key"]
    assert isinstance(book, Push)
    assert isinstance(order, Push)
    assert isinstance(trades, Push)
    assert isinstance(no_symbol, Push)
    assert [k for k, _ in routes(book)] == [("depth_book15", "BTCUSDT")]
    assert [k for k, _ in routes(order)] == [("order", None), ("order", None)]
    assert order.private
    assert not book.private
    assert [k for k, _ in routes(trades)] == [("trade", "BTCUSDT")] * 2
    # No symbol in the envelope nor in the book: a key no subscription has.
    assert [k for k, _ in routes(no_symbol)] == [("depth_book15", "")]

    entry = by_name["tickers as an array"]
    assert isinstance(entry, Push)
    (summary,) = entry.items
    assert isinstance(summary, TickerSummary)
    other = dataclasses.replace(summary, symbol="ETHUSDT")
    frame = decode(encode_frame(Push("tickers", None, 1, (summary, other))))
    assert isinstance(frame, Push)
    assert [k for k, _ in routes(frame)] == [("tickers", "BTCUSDT"), ("tickers", "ETHUSDT")]


def test_ticker_trusts_data_symbol_but_routes_by_envelope() -> None:
    # The documented example has envelope BNBUSDT and data.s BTCUSDT (a doc copy-paste).
    text = (
        '{"ch":"ticker","symbol":"BNBUSDT","ts":1,"data":{"s":"BTCUSDT","o":"1","la":"2",'
        '"h":"3","l":"1","b":"4","q":"5","r":"6"}}'
    )
    frame = decode(text)
    assert isinstance(frame, Push)
    ((key, item),) = routes(frame)
    assert key == ("ticker", "BNBUSDT")
    assert getattr(item, "symbol", None) == "BTCUSDT"


# --- bad input becomes a value ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "invalid JSON"),
        ("not json", "invalid JSON"),
        ("[1,2]", "expected a JSON object, got list"),
        ("42", "expected a JSON object, got int"),
        ('{"ch":"ticker","symbol":"BTCUSDT","data":{}}', "ts must be an integer"),
        ('{"ch":"ticker","symbol":"BTCUSDT","ts":"1","data":{}}', "ts must be an integer"),
        ('{"ch":"ticker","symbol":"BTCUSDT","ts":true,"data":{}}', "ts must be an integer"),
        ('{"ch":"ticker","symbol":5,"ts":1,"data":{}}', "symbol must be a string"),
        ('{"ch":"ticker","symbol":"BTCUSDT","ts":1}', "no data"),
        ('{"ch":"ticker","symbol":"BTCUSDT","ts":1,"data":{}}', "ticker: bad data (KeyError"),
        ('{"ch":"ticker","symbol":"BTCUSDT","ts":1,"data":[]}', "ticker: bad data"),
        ('{"ch":"depth_book5","symbol":"X","ts":1,"data":{"b":[["1"]],"a":[]}}', "bad data"),
        ('{"ch":"depth_book5","symbol":"X","ts":1,"data":{"b":[["1","2","3"]],"a":[]}}', "bad"),
        ('{"ch":"depth_book5","symbol":"X","ts":1,"data":{"b":[[null,"1"]],"a":[]}}', "bad"),
        ('{"ch":"depth_book5","symbol":"X","ts":1,"data":{"b":[],"a":[["1",true]]}}', "bad"),
        ('{"ch":"depth_book5","symbol":"X","ts":1,"data":{"b":["12"],"a":[]}}', "bad data"),
        ('{"ch":"depth_book5","symbol":"X","ts":1,"data":{"b":[{"1":2}],"a":[]}}', "bad data"),
        ('{"ch":"depth_book5","symbol":"X","ts":1,"data":{"b":5,"a":[]}}', "bad data"),
        ('{"ch":"depth_book5","symbol":"X","ts":1,"data":{"b":[]}}', "bad data"),
        ('{"ch":"trade","ts":1,"data":[]}', "trade: bad data (KeyError"),
        ('{"ch":"trade","symbol":"X","ts":1,"data":{}}', "trade: bad data (TypeError"),
        ('{"ch":"trade","symbol":"X","ts":1,"data":[{"t":"x","p":"1","v":"1","s":"buy"}]}', "bad"),
        (
            '{"ch":"trade","symbol":"X","ts":1,"data":[{"t":"2026-01-01T00:00:00Z","p":"1",'
            '"v":"1","s":"hold"}]}',
            "unknown Side",
        ),
        ('{"ch":"price","symbol":"X","ts":1,"data":{"ip":"1"}}', "price: bad data"),
        ('{"ch":"order","ts":1,"data":"nope"}', "order: bad data"),
        ('{"ch":"order","ts":1,"data":[{"orderId":"1"}]}', "order: bad data"),
        ('{"ch":"market_kline_1min","ts":1,"data":{}}', "bad data"),
        ('{"ch":"mark_kline_1month","symbol":"X","ts":1.5,"data":{}}', "ts must be"),
        ('{"ch":"mark_kline_1month","symbol":"X","ts":1e400,"data":{}}', "invalid JSON"),
        ('{"ch":"ticker","symbol":"X","ts":NaN,"data":{}}', "invalid JSON"),
        (
            '{"ch":"mark_kline_1month","symbol":"X","ts":' + "9" * 30 + ',"data":'
            '{"o":"1","c":"2","h":"3","l":"0.5","b":"10","q":"20"}}',
            "ts is not a time",
        ),
        ('{"op":"login","data":"ok"}', "login reply without data.result"),
        ('{"op":"login"}', "login reply without data.result"),
    ],
)
def test_malformed(text: str, reason: str) -> None:
    frame = decode(text)
    assert isinstance(frame, Malformed), frame
    assert reason in frame.reason
    assert frame.text == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"ch":"depth_book20","symbol":"X","ts":1,"data":{}}', "unknown channel 'depth_book20'"),
        ('{"ch":"market_kline_7min","symbol":"X","ts":1,"data":{}}', "unknown channel"),
        ('{"ch":["x"],"ts":1,"data":{}}', "unknown channel"),
        ('{"topic":"ticker"}', "neither op nor ch"),
        ("{}", "neither op nor ch"),
        ('{"op":"pong","ts":1}', "unknown op 'pong'"),
        ('{"op":"subscribe","ch":"ticker","data":{"result":true}}', "not a refusal"),
        ('{"op":null}', "unknown op None"),
        ('{"error":5}', "neither op nor ch"),
    ],
)
def test_unknown(text: str, reason: str) -> None:
    frame = decode(text)
    assert isinstance(frame, Unknown), frame
    assert reason in frame.reason


def test_tolerated_variants() -> None:
    assert decode('{"op":"connect"}') == Greeting(True)
    assert decode('{"op":"connect","data":{"result":false}}') == Greeting(False)
    assert decode('{"op":"connect","data":[1]}') == Greeting(True)
    assert decode('{"op":"ping","pong":"x"}') == Pong(None, None)
    assert decode('{"op":"unsubscribe","data":"success"}') == UnsubscribeReply(None, "success")
    assert decode('{"op":"subscribe","data":{"result":false}}') == SubscribeRefused(
        "subscription refused"
    )
    assert decode('{"op":"login","data":{"result":false,"msg":7}}') == LoginReply(False, None)
    assert decode('{"error":"x","op":"login","data":{"result":true}}') == LoginReply(True)
    assert decode('{"error":"boom"}') == ErrorFrame("boom")


def test_long_text_is_cut_in_malformed() -> None:
    text = '{"ch":"ticker","ts":1,"data":"' + "x" * 5000 + '"}'
    frame = decode(text)
    assert isinstance(frame, Malformed)
    assert len(frame.text) == MAX_KEPT_TEXT
    frame = decode(b"\xff\xfe" + b"x" * 5000)
    assert isinstance(frame, Malformed)
    assert len(frame.text) <= MAX_KEPT_TEXT


def test_deeply_nested_json_is_malformed_not_a_crash() -> None:
    frame = decode("[" * 100_000 + "]" * 100_000)
    assert isinstance(frame, Malformed)


def test_json_numbers_where_strings_are_expected_still_decode() -> None:
    frame = decode(
        '{"ch":"depth_book1","symbol":"X","ts":1,"data":{"b":[[1.5,2]],"a":[["1.6",3.25]]}}'
    )
    assert isinstance(frame, Push)
    (book,) = frame.items
    assert isinstance(book, OrderBookUpdate)
    assert book.bids == ((D("1.5"), D("2")),)
    assert book.asks == ((D("1.6"), D("3.25")),)


@pytest.mark.parametrize(
    ("bids", "asks"),
    [
        ('[["x","1"]]', "[]"),
        ('[["NaN","1"]]', "[]"),
        ('[["1","2"]]', '[["1","Infinity"]]'),
        ('[["1","2"]]', '[["1","1e"]]'),
    ],
)
def test_book_numbers_are_checked_when_read(bids: str, asks: str) -> None:
    # The shape is checked at decode time, the numbers when a side is first read: a book
    # that nobody reads costs no conversion.
    text = f'{{"ch":"depth_book5","symbol":"XUSDT","ts":1,"data":{{"b":{bids},"a":{asks}}}}}'
    frame = decode(text)
    assert isinstance(frame, Push)
    (book,) = frame.items
    assert isinstance(book, OrderBookUpdate)
    bad_side = "bids" if bids != '[["1","2"]]' else "asks"
    with pytest.raises(RemoteProtocolError, match="XUSDT: invalid order book level"):
        getattr(book, bad_side)
    with pytest.raises(RemoteProtocolError):
        book.best_bid if bad_side == "bids" else book.best_ask  # noqa: B018
    with pytest.raises(RemoteProtocolError):
        encode_frame(frame)
    assert "<invalid" in repr(book)


def test_book_sides_convert_once() -> None:
    text = '{"ch":"depth_book1","symbol":"X","ts":1,"data":{"b":[["1.5","2"]],"a":[["","" ]]}}'
    frame = decode(text)
    assert isinstance(frame, Push)
    (book,) = frame.items
    assert isinstance(book, OrderBookUpdate)
    first = book.bids
    assert first == ((D("1.5"), D("2")),)
    assert book.bids is first
    assert book.asks == ()
    assert book == OrderBookUpdate("X", ((D("1.5"), D("2")),), (), 1, 1)


# --- client frames, bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"op":"ping"}',
        '{"op":"ping","ping":"1"}',
        '{"op":"ping","ts":1732519687000}',
        '{"op":"subscribe"}',
        '{"op":"subscribe","args":{}}',
        '{"op":"subscribe","args":[1]}',
        '{"op":"subscribe","args":[{"symbol":"X"}]}',
        '{"op":"subscribe","args":[{"ch":5}]}',
        '{"op":"login","args":[]}',
        '{"op":"login","args":[{"apiKey":"k","timestamp":"1","nonce":"n","sign":"s"}]}',
        '{"op":"login","args":[{"apiKey":"k","timestamp":1,"nonce":"n"}]}',
        '{"op":"login","args":[{"apiKey":1,"timestamp":1,"nonce":"n","sign":"s"}]}',
    ],
)
def test_client_malformed(text: str) -> None:
    assert isinstance(decode_client(text), Malformed)


@pytest.mark.parametrize("text", ['{"op":"hello"}', '{"ch":"ticker"}', '{"op":[1]}'])
def test_client_unknown(text: str) -> None:
    assert isinstance(decode_client(text), Unknown)


def test_client_symbol_kept_as_sent() -> None:
    frame = decode_client('{"op":"subscribe","args":[{"symbol":"btcusdt","ch":"ticker"}]}')
    assert frame == SubscribeRequest((("ticker", "btcusdt"),))
    assert decode_client(b'{"op":"ping","ping":3}') == PingRequest(3)
