"""Golden frames: every captured frame of the protocol notes, with its typed value.

Used in both directions, in the style of h11's ``SIMPLE_CASES``: ``decode(text) == frame``
and ``encode(frame) == canonical``. ``canonical`` is the text our encoders produce; it equals
``text`` whenever the capture is already compact and loss-free (a frame with nanosecond times,
pretty-printing, or a tolerated variant shape has a different canonical form, which must
decode to the same frame too).

Other test modules may import these tables (``from golden_frames import SERVER_CASES``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal as D

from bitunix_trio._core.frames import (
    ClientFrame,
    ErrorFrame,
    Greeting,
    LoginReply,
    LoginRequest,
    PingRequest,
    Pong,
    Push,
    ServerFrame,
    SubscribeRefused,
    SubscribeRequest,
    UnsubscribeReply,
    UnsubscribeRequest,
    encode_error,
    encode_greeting,
    encode_login,
    encode_login_reply,
    encode_ping,
    encode_push,
    encode_subscribe,
    encode_subscribe_refused,
    encode_unsubscribe,
)
from bitunix_trio._core.models import (
    AccountBalance,
    KlineUpdate,
    MarginMode,
    MarkPriceUpdate,
    Order,
    OrderBookUpdate,
    OrderStatus,
    OrderType,
    Position,
    PositionMode,
    PositionSide,
    PriceType,
    Side,
    StopType,
    TickerSummary,
    TickerUpdate,
    TimeInForce,
    TpSlOrder,
    Trade,
    UpdateEvent,
)
from bitunix_trio._core.wire import to_wire

__all__ = ["CLIENT_CASES", "SERVER_CASES", "ClientCase", "ServerCase"]


@dataclass(frozen=True)
class ServerCase:
    """A frame the exchange sends."""

    name: str
    text: str
    frame: ServerFrame
    canonical: str | None = None  # None: same as text

    @property
    def encoded(self) -> str:
        """The text our encoder must produce."""
        return self.text if self.canonical is None else self.canonical


@dataclass(frozen=True)
class ClientCase:
    """A frame a client sends."""

    name: str
    text: str
    frame: ClientFrame


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# --- public pushes -----------------------------------------------------------------------------

BOOK15_DOC_TEXT = """{"ch":"depth_book15","symbol":"BTCUSDT","ts":1790126515693,
 "data":{"b":[["86699.6","2.274"],["86699.5","2.7407"],["86699.4","3.093"]],
         "a":[["86699.7","0.7095"],["86699.8","2.1992"],["86699.9","1.457"]]}}"""
BOOK15_TEXT = (
    '{"ch":"depth_book15","symbol":"BTCUSDT","ts":1790126515693,'
    '"data":{"b":[["86699.6","2.274"],["86699.5","2.7407"],["86699.4","3.093"]],'
    '"a":[["86699.7","0.7095"],["86699.8","2.1992"],["86699.9","1.457"]]}}'
)
BOOK15 = OrderBookUpdate(
    symbol="BTCUSDT",
    bids=((D("86699.6"), D("2.274")), (D("86699.5"), D("2.7407")), (D("86699.4"), D("3.093"))),
    asks=((D("86699.7"), D("0.7095")), (D("86699.8"), D("2.1992")), (D("86699.9"), D("1.457"))),
    depth=15,
    ts=1790126515693,
)

TICKER = TickerUpdate(
    symbol="BTCUSDT",
    last_price=D("86688.2"),
    open=D("85567"),
    high=D("86815.6"),
    low=D("85080"),
    base_volume=D("27478.1701"),
    quote_volume=D("2362759522.50052"),
    change=D("1.3103182302"),
    ts=1790126515684,
)

TICKERS_ENTRY = TickerSummary(
    symbol="BTCUSDT",
    last_price=D("68650.9"),
    open=D("69141.6"),
    high=D("70319.9"),
    low=D("68241.9"),
    base_volume=D("26295.3977"),
    quote_volume=D("1823374525.0193"),
    change=D("-0.7097029863"),
    best_bid=D("68650.9"),
    best_ask=D("68651"),
    best_bid_qty=D("0.9747"),
    best_ask_qty=D("2.3606"),
    ts=1732178884994,
)
TICKERS_ITEM_TEXT = (
    '{"s":"BTCUSDT","la":"68650.9","o":"69141.6","h":"70319.9","l":"68241.9","b":"26295.3977",'
    '"q":"1823374525.0193","r":"-0.7097029863","bd":"68650.9","ak":"68651","bv":"0.9747",'
    '"av":"2.3606"}'
)

MARK_PRICE = MarkPriceUpdate(
    symbol="BTCUSDT",
    mark_price=D("86688.3"),
    index_price=D("86720.6"),
    funding_rate=D("-0.00077"),
    funding_time=_utc(2026, 9, 23, 0, 0, 0),
    next_funding_time=_utc(2026, 9, 23, 8, 0, 0),
    ts=1790126515695,
)

TRADES = (
    Trade(
        "BTCUSDT", D("68621.4"), D("0.7142"), Side.BUY, _utc(2026, 4, 7, 5, 47, 52), 1775540872598
    ),
    Trade(
        "BTCUSDT", D("68621.4"), D("0.0018"), Side.SELL, _utc(2026, 4, 7, 5, 47, 52), 1775540872598
    ),
)

KLINE_1MIN = KlineUpdate(
    symbol="BTCUSDT",
    interval="1min",
    price_type=PriceType.MARKET,
    open=D("68581.4"),
    high=D("68590"),
    low=D("68579.5"),
    close=D("68583.4"),
    base_volume=D("5.2395"),
    quote_volume=D("359348.14078"),
    open_time_ms=1775541360000,
    ts=1775541412718,
)
KLINE_DATA_TEXT = (
    '{"o":"68581.4","c":"68583.4","h":"68590","l":"68579.5","b":"5.2395","q":"359348.14078"}'
)

# --- private pushes ----------------------------------------------------------------------------

BALANCE = AccountBalance(
    coin="USDT",
    available=D("1000.0"),
    frozen=D("100.0"),
    margin=D("200.0"),
    ts=1651234567890,
    isolation_frozen=D("50.0"),
    cross_frozen=D("50.0"),
    isolation_margin=D("100.0"),
    cross_margin=D("100.0"),
    experience_money=D("50.0"),
)
BALANCE_DATA_TEXT = (
    '{"coin":"USDT","available":"1000.0","frozen":"100.0","isolationFrozen":"50.0",'
    '"crossFrozen":"50.0","margin":"200.0","isolationMargin":"100.0","crossMargin":"100.0",'
    '"expMoney":"50.0"}'
)

POSITION = Position(
    position_id="12345",
    symbol="BTCUSDT",
    side=PositionSide.LONG,
    qty=D("0.5"),
    entry_value=D("20000.50"),
    average_price=None,
    leverage=20,
    margin=D("500.25"),
    margin_mode=MarginMode.ISOLATION,
    position_mode=PositionMode.ONE_WAY,
    realized_pnl=D("100.25"),
    unrealized_pnl=D("200.50"),
    fee=D("5.75"),
    funding=D("1.25"),
    liquidation_price=None,
    event=UpdateEvent.OPEN,
    ts=1651234567890,
    created_ms=1745687173155,
)
POSITION_DATA_DOC = (
    '{"event":"OPEN","positionId":"12345","marginMode":"ISOLATION","positionMode":"ONE_WAY",'
    '"side":"LONG","leverage":"20","margin":"500.25","ctime":"2025-04-26T17:06:13.155255000Z",'
    '"qty":"0.5","entryValue":"20000.50","symbol":"BTCUSDT","realizedPNL":"100.25",'
    '"unrealizedPNL":"200.50","funding":"1.25","fee":"5.75"}'
)

ORDER = Order(
    order_id="ord123456",
    client_id="my-1",
    symbol="BTCUSDT",
    side=Side.BUY,
    order_type=OrderType.LIMIT,
    status=OrderStatus.NEW,
    price=D("50000.0"),
    qty=D("1.0"),
    filled_qty=D("0"),
    average_price=D("0"),
    fee=D("0.1"),
    reduce_only=False,
    time_in_force=TimeInForce.GTC,
    leverage=10,
    margin_mode=MarginMode.ISOLATION,
    position_mode=PositionMode.ONE_WAY,
    event=UpdateEvent.CREATE,
    created_ms=1715847189123,
    updated_ms=1715847189123,
    ts=1651234567890,
    tp_price=D("52000"),
    tp_stop_type=StopType.MARK_PRICE,
    tp_order_type=OrderType.LIMIT,
    tp_order_price=D("52000"),
    sl_price=D("48000"),
    sl_stop_type=StopType.MARK_PRICE,
    sl_order_type=OrderType.LIMIT,
    sl_order_price=D("48000"),
)
ORDER_DATA_DOC = (
    '{"event":"CREATE","orderId":"ord123456","symbol":"BTCUSDT","positionType":"ISOLATION",'
    '"positionMode":"ONE_WAY","side":"BUY","effect":"GTC","type":"LIMIT","qty":"1.0",'
    '"reductionOnly":false,"price":"50000.0","ctime":"2024-05-16T08:13:09.123456789Z",'
    '"mtime":"2024-05-16T08:13:09.123456789Z","leverage":"10","orderStatus":"NEW","fee":"0.1",'
    '"averagePrice":"0","dealAmount":"0","clientId":"my-1","tpStopType":"MARK_PRICE",'
    '"tpPrice":"52000","tpOrderType":"LIMIT","tpOrderPrice":"52000","slStopType":"MARK_PRICE",'
    '"slPrice":"48000","slOrderType":"LIMIT","slOrderPrice":"48000"}'
)

TPSL = TpSlOrder(
    order_id="tpsl123456",
    position_id="pos123456",
    symbol="BTCUSDT",
    side=Side.BUY,
    status=OrderStatus.NEW,
    event=UpdateEvent.CREATE,
    tpsl_type="POSITION_TPSL",
    leverage=10,
    position_mode=PositionMode.ONE_WAY,
    tp_qty=D("1.0"),
    sl_qty=D("1.0"),
    tp_price=D("52000.0"),
    tp_stop_type=StopType.LAST_PRICE,
    tp_order_type=OrderType.LIMIT,
    tp_order_price=D("52000.0"),
    sl_price=D("48000.0"),
    sl_stop_type=StopType.LAST_PRICE,
    sl_order_type=OrderType.LIMIT,
    sl_order_price=D("48000.0"),
    created_ms=1715847189123,
    ts=1651234567890,
)
TPSL_DATA_DOC = (
    '{"event":"CREATE","positionId":"pos123456","orderId":"tpsl123456","symbol":"BTCUSDT",'
    '"leverage":"10","side":"BUY","positionMode":"ONE_WAY","status":"NEW",'
    '"ctime":"2024-05-16T08:13:09.123456789Z","type":"POSITION_TPSL","tpQty":"1.0",'
    '"slQty":"1.0","tpStopType":"LAST_PRICE","tpPrice":"52000.0","tpOrderType":"LIMIT",'
    '"tpOrderPrice":"52000.0","slStopType":"LAST_PRICE","slPrice":"48000.0",'
    '"slOrderType":"LIMIT","slOrderPrice":"48000.0"}'
)


def _ns(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


def _book(channel: str, depth: int | None, bids: int, asks: int) -> OrderBookUpdate:
    return OrderBookUpdate("BTCUSDT", BOOK15.bids[:bids], BOOK15.asks[:asks], depth, 1790126515693)


EMPTY_NO_SYMBOL = OrderBookUpdate("", (), (), 15, 1790126491101)

SERVER_CASES: list[ServerCase] = [
    # --- control frames (section 2) ---
    ServerCase("greeting", '{"op":"connect","data":{"result":true}}', Greeting(True)),
    ServerCase(
        "greeting with string data",
        '{"op":"connect","data":"connected"}',
        Greeting(True),
        '{"op":"connect","data":{"result":true}}',
    ),
    ServerCase(
        "pong",
        '{"op":"ping","pong":1790126498,"ping":1790126491}',
        Pong(pong=1790126498, ping=1790126491),
    ),
    ServerCase(
        "unsubscribe reply",
        '{"op":"unsubscribe","ts":1790126500916,"data":"success"}',
        UnsubscribeReply(ts=1790126500916, data="success"),
    ),
    ServerCase(
        "over 300 refusal",
        '{"op":"subscribe","data":{"msg":"subscribe channel > 300","nonce":"","result":false}}',
        SubscribeRefused("subscribe channel > 300"),
    ),
    ServerCase("login success", '{"op":"login","data":{"result":true}}', LoginReply(True, None)),
    ServerCase(
        "login failure",
        '{"op":"login","data":{"result":false,"msg":"signature error","nonce":""}}',
        LoginReply(False, "signature error"),
    ),
    ServerCase(
        "login failure without message",
        '{"op":"login","data":{"result":false}}',
        LoginReply(False, None),
    ),
    ServerCase("error frame", '{"error":"bad request"}', ErrorFrame("bad request")),
    # --- public pushes (section 4) ---
    ServerCase(
        "depth_book15 as documented",
        BOOK15_DOC_TEXT,
        Push("depth_book15", "BTCUSDT", 1790126515693, (BOOK15,)),
        BOOK15_TEXT,
    ),
    ServerCase(
        "depth_book15",
        BOOK15_TEXT,
        Push("depth_book15", "BTCUSDT", 1790126515693, (BOOK15,)),
    ),
    ServerCase(
        "depth_book1",
        '{"ch":"depth_book1","symbol":"BTCUSDT","ts":1790126515693,'
        '"data":{"b":[["86699.6","2.274"]],"a":[["86699.7","0.7095"]]}}',
        Push("depth_book1", "BTCUSDT", 1790126515693, (_book("depth_book1", 1, 1, 1),)),
    ),
    ServerCase(
        "depth_book5",
        '{"ch":"depth_book5","symbol":"BTCUSDT","ts":1790126515693,'
        '"data":{"b":[["86699.6","2.274"],["86699.5","2.7407"]],"a":[["86699.7","0.7095"]]}}',
        Push("depth_book5", "BTCUSDT", 1790126515693, (_book("depth_book5", 5, 2, 1),)),
    ),
    ServerCase(
        "depth_books (whole book)",
        _ns(BOOK15_TEXT, "depth_book15", "depth_books"),
        Push("depth_books", "BTCUSDT", 1790126515693, (_book("depth_books", None, 3, 3),)),
    ),
    ServerCase(
        "unknown symbol: empty levels",
        '{"ch":"depth_book15","symbol":"NOPEUSDT","ts":1790126491101,'
        '"data":{"b":[["",""],["",""]],"a":[["",""],["",""]]}}',
        Push(
            "depth_book15",
            "NOPEUSDT",
            1790126491101,
            (OrderBookUpdate("NOPEUSDT", (), (), 15, 1790126491101),),
        ),
        '{"ch":"depth_book15","symbol":"NOPEUSDT","ts":1790126491101,"data":{"b":[],"a":[]}}',
    ),
    ServerCase(
        "no symbol: empty levels, no symbol key",
        '{"ch":"depth_book15","ts":1790126491101,'
        '"data":{"b":[["",""],["",""]],"a":[["",""],["",""]]}}',
        Push(
            "depth_book15", None, 1790126491101, (OrderBookUpdate("", (), (), 15, 1790126491101),)
        ),
        '{"ch":"depth_book15","ts":1790126491101,"data":{"b":[],"a":[]}}',
    ),
    ServerCase(
        "price",
        '{"ch":"price","symbol":"BTCUSDT","ts":1790126515695,"data":{"ip":"86720.6",'
        '"mp":"86688.3","fr":"-0.00077","ft":"2026-09-23T00:00:00Z","nft":"2026-09-23T08:00:00Z"}}',
        Push("price", "BTCUSDT", 1790126515695, (MARK_PRICE,)),
    ),
    ServerCase(
        "ticker",
        '{"ch":"ticker","symbol":"BTCUSDT","ts":1790126515684,"data":{"s":"BTCUSDT","o":"85567",'
        '"la":"86688.2","h":"86815.6","l":"85080","b":"27478.1701","q":"2362759522.50052",'
        '"r":"1.3103182302"}}',
        Push("ticker", "BTCUSDT", 1790126515684, (TICKER,)),
    ),
    ServerCase(
        "tickers as an array",
        f'{{"ch":"tickers","ts":1732178884994,"data":[{TICKERS_ITEM_TEXT}]}}',
        Push("tickers", None, 1732178884994, (TICKERS_ENTRY,)),
    ),
    ServerCase(
        "tickers as a per-symbol object",
        f'{{"ch":"tickers","ts":1732178884994,"data":{TICKERS_ITEM_TEXT}}}',
        Push("tickers", None, 1732178884994, (TICKERS_ENTRY,)),
        f'{{"ch":"tickers","ts":1732178884994,"data":[{TICKERS_ITEM_TEXT}]}}',
    ),
    ServerCase(
        "trade",
        '{"ch":"trade","symbol":"BTCUSDT","ts":1775540872598,"data":['
        '{"t":"2026-04-07T05:47:52Z","p":"68621.4","v":"0.7142","s":"buy"},'
        '{"t":"2026-04-07T05:47:52Z","p":"68621.4","v":"0.0018","s":"sell"}]}',
        Push("trade", "BTCUSDT", 1775540872598, TRADES),
    ),
    ServerCase(
        "trade with nanosecond time",
        '{"ch":"trade","symbol":"BTCUSDT","ts":1733312207960,"data":['
        '{"t":"2024-12-04T11:36:47.959908526Z","p":"68621.4","v":"0.7142","s":"buy"}]}',
        Push(
            "trade",
            "BTCUSDT",
            1733312207960,
            (
                Trade(
                    "BTCUSDT",
                    D("68621.4"),
                    D("0.7142"),
                    Side.BUY,
                    _utc(2024, 12, 4, 11, 36, 47, 959908),
                    1733312207960,
                ),
            ),
        ),
        '{"ch":"trade","symbol":"BTCUSDT","ts":1733312207960,"data":['
        '{"t":"2024-12-04T11:36:47.959908Z","p":"68621.4","v":"0.7142","s":"buy"}]}',
    ),
    ServerCase(
        "market_kline_1min",
        f'{{"ch":"market_kline_1min","symbol":"BTCUSDT","ts":1775541412718,"data":{KLINE_DATA_TEXT}}}',
        Push("market_kline_1min", "BTCUSDT", 1775541412718, (KLINE_1MIN,)),
    ),
    ServerCase(
        "mark_kline_1day",
        f'{{"ch":"mark_kline_1day","symbol":"BTCUSDT","ts":1775541412718,"data":{KLINE_DATA_TEXT}}}',
        Push(
            "mark_kline_1day",
            "BTCUSDT",
            1775541412718,
            (
                KlineUpdate(
                    "BTCUSDT",
                    "1day",
                    PriceType.MARK,
                    D("68581.4"),
                    D("68590"),
                    D("68579.5"),
                    D("68583.4"),
                    D("5.2395"),
                    D("359348.14078"),
                    1775520000000,
                    1775541412718,
                ),
            ),
        ),
    ),
    # --- private pushes (section 5) ---
    ServerCase(
        "balance",
        f'{{"ch":"balance","ts":1651234567890,"data":{BALANCE_DATA_TEXT}}}',
        Push("balance", None, 1651234567890, (BALANCE,)),
    ),
    ServerCase(
        "balance as a list",
        f'{{"ch":"balance","ts":1651234567890,"data":[{BALANCE_DATA_TEXT}]}}',
        Push("balance", None, 1651234567890, (BALANCE,)),
        f'{{"ch":"balance","ts":1651234567890,"data":{BALANCE_DATA_TEXT}}}',
    ),
    ServerCase(
        "position",
        f'{{"ch":"position","ts":1651234567890,"data":{POSITION_DATA_DOC}}}',
        Push("position", None, 1651234567890, (POSITION,)),
        '{"ch":"position","ts":1651234567890,"data":'
        + _ns(POSITION_DATA_DOC, "13.155255000Z", "13.155000000Z")
        + "}",
    ),
    ServerCase(
        "order",
        f'{{"ch":"order","ts":1651234567890,"data":{ORDER_DATA_DOC}}}',
        Push("order", None, 1651234567890, (ORDER,)),
        '{"ch":"order","ts":1651234567890,"data":'
        + ORDER_DATA_DOC.replace("09.123456789Z", "09.123000000Z")
        + "}",
    ),
    ServerCase(
        "order as a list of two",
        f'{{"ch":"order","ts":1651234567890,"data":[{ORDER_DATA_DOC},{ORDER_DATA_DOC}]}}',
        Push("order", None, 1651234567890, (ORDER, ORDER)),
        '{"ch":"order","ts":1651234567890,"data":['
        + ",".join([ORDER_DATA_DOC.replace("09.123456789Z", "09.123000000Z")] * 2)
        + "]}",
    ),
    ServerCase(
        "tpsl",
        f'{{"ch":"tpsl","ts":1651234567890,"data":{TPSL_DATA_DOC}}}',
        Push("tpsl", None, 1651234567890, (TPSL,)),
        '{"ch":"tpsl","ts":1651234567890,"data":'
        + _ns(TPSL_DATA_DOC, "09.123456789Z", "09.123000000Z")
        + "}",
    ),
]


CLIENT_CASES: list[ClientCase] = [
    ClientCase(
        "subscribe",
        '{"op":"subscribe","args":[{"symbol":"BTCUSDT","ch":"depth_book15"},'
        '{"symbol":"BTCUSDT","ch":"price"}]}',
        SubscribeRequest((("depth_book15", "BTCUSDT"), ("price", "BTCUSDT"))),
    ),
    ClientCase(
        "unsubscribe",
        '{"op":"unsubscribe","args":[{"symbol":"BTCUSDT","ch":"market_kline_1min"}]}',
        UnsubscribeRequest((("market_kline_1min", "BTCUSDT"),)),
    ),
    ClientCase(
        "private subscribe",
        '{"op":"subscribe","args":[{"ch":"balance"},{"ch":"position"},{"ch":"order"}]}',
        SubscribeRequest((("balance", None), ("position", None), ("order", None))),
    ),
    ClientCase("ping", '{"op":"ping","ping":1732519687}', PingRequest(1732519687)),
    ClientCase(
        "login",
        '{"op":"login","args":[{"apiKey":"yourApiKey","timestamp":1747402389,'
        '"nonce":"o9jnhu8ijko2nbhy36fgt0mnjuyhgtsh",'
        '"sign":"a3bfb87edfc362b67c66042164e4321715b063d31cfb7b8bb44fbcaffd2ea44c"}]}',
        LoginRequest(
            api_key="yourApiKey",
            timestamp=1747402389,
            nonce="o9jnhu8ijko2nbhy36fgt0mnjuyhgtsh",
            sign="a3bfb87edfc362b67c66042164e4321715b063d31cfb7b8bb44fbcaffd2ea44c",
        ),
    ),
]


# ---------------------------------------------------------------------------------------------
# Any frame in its canonical text, through the library's encoders (the inverse of decode and
# decode_client): the tables above and the property tests check the round trip.


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def push_data(push: Push) -> object:
    """The ``data`` of a Push in canonical form: a list for ``trade`` and ``tickers`` (and for
    several private items), else the single item's object."""
    wires = [to_wire(item) for item in push.items]
    if push.channel in ("trade", "tickers") or len(wires) != 1:
        return wires
    return wires[0]


def encode_frame(frame: ServerFrame) -> str:
    """Encode any server frame in its canonical text (the inverse of :func:`decode`)."""
    if isinstance(frame, Push):
        return encode_push(frame.channel, frame.symbol, frame.ts, push_data(frame))
    if isinstance(frame, Greeting):
        if frame.result:
            return encode_greeting()
        return '{"op":"connect","data":{"result":false}}'
    if isinstance(frame, Pong):
        return _dumps({"op": "ping", "pong": frame.pong, "ping": frame.ping})
    if isinstance(frame, UnsubscribeReply):
        return _dumps({"op": "unsubscribe", "ts": frame.ts, "data": frame.data})
    if isinstance(frame, SubscribeRefused):
        return encode_subscribe_refused(frame.message)
    if isinstance(frame, LoginReply):
        return encode_login_reply(frame.success, frame.message)
    if isinstance(frame, ErrorFrame):
        return encode_error(frame.message)
    return frame.text


def encode_client_frame(frame: ClientFrame) -> str:
    """Encode any client frame in its canonical text (the inverse of :func:`decode_client`)."""
    if isinstance(frame, SubscribeRequest):
        return encode_subscribe(frame.args)
    if isinstance(frame, UnsubscribeRequest):
        return encode_unsubscribe(frame.args)
    if isinstance(frame, PingRequest):
        return encode_ping(frame.ping)
    if isinstance(frame, LoginRequest):
        return encode_login(
            {
                "apiKey": frame.api_key,
                "timestamp": frame.timestamp,
                "nonce": frame.nonce,
                "sign": frame.sign,
            }
        )
    return frame.text
