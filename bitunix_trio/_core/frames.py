"""The codec between WebSocket text and typed frames, for both ends of the connection.

:func:`decode` turns any text the exchange may send into a :data:`ServerFrame`; it never
raises: broken JSON, wrong types or missing fields give :class:`Malformed`, an ``op`` or
``ch`` it does not know gives :class:`Unknown` (wsproto reports bad frames as events, not
exceptions). Market pushes in the shapes the exchange sends are decoded here by typed
decoders (:data:`ENVELOPE`, then :data:`FAST_PARSERS`: msgspec checks the JSON while it
parses it); any other frame, and any push those refuse, takes the general path (JSON
objects, then the parsers of :mod:`bitunix_trio._core.wire`), which gives the same values
and says why a frame is malformed. The ``encode_*`` functions produce compact JSON in the
exact shapes of the protocol. The server side (:func:`decode_client` and the server
encoders) is here too, so that the simulated exchange speaks the same protocol from the
same code.

Routing: a :class:`Push` carries one value per item (a trade push several). Its routing
key (:data:`Key`) is derived here and nowhere else: :func:`push_key` gives the key of every
item of a push, ``(channel, None)`` on the private channels and ``(channel, symbol)`` on
the others, or None when each item carries its own (``tickers``, or a push without a
symbol), which :func:`item_key` gives: ``(channel, item.symbol)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from .models import (
    _LOOKUPS,
    KLINE_INTERVALS,
    AccountBalance,
    DataSource,
    KlineUpdate,
    MarkPriceUpdate,
    Order,
    OrderBookUpdate,
    Position,
    PriceType,
    Side,
    TickerSummary,
    TickerUpdate,
    TpSlOrder,
    Trade,
    book_from_wire,
    fast_init,
)
from .numbers import MAX_EXPONENT as _MAX_EXP
from .numbers import MAX_NUMBER_CHARS as _MAX_CHARS
from .numbers import MAX_TIME_MS
from .wire import PUSH_PARSERS, kline_open_time, parse_iso_datetime
from .wire import _need_symbol as _need

__all__ = [
    "ENVELOPE",
    "FAST_PARSERS",
    "ClientFrame",
    "Envelope",
    "ErrorFrame",
    "FastParser",
    "Greeting",
    "LoginReply",
    "LoginRequest",
    "Malformed",
    "PingRequest",
    "Pong",
    "Push",
    "ServerFrame",
    "SubscribeRefused",
    "SubscribeRequest",
    "Unknown",
    "UnsubscribeReply",
    "UnsubscribeRequest",
    "decode",
    "decode_client",
    "encode_greeting",
    "encode_login",
    "encode_login_reply",
    "encode_ping",
    "encode_pong",
    "encode_push",
    "encode_subscribe",
    "encode_subscribe_refused",
    "encode_unsubscribe",
    "encode_unsubscribe_reply",
    "item_key",
    "push_key",
]

#: A subscription's routing key: ``(wire_channel, symbol)`` (symbol None for private channels).
Key = tuple[str, str | None]
#: Where routed values go: ``deliver(key, value)``.
Deliver = Callable[[Key, object], object]
Item = (
    TickerUpdate
    | TickerSummary
    | OrderBookUpdate
    | Trade
    | KlineUpdate
    | MarkPriceUpdate
    | Order
    | Position
    | AccountBalance
    | TpSlOrder
)

#: Texts longer than this are cut in ``Malformed.text``/``Unknown.text``.
MAX_KEPT_TEXT = 1000

#: Wire names of the private channels.
PRIVATE_CHANNELS = frozenset({"order", "position", "balance", "tpsl"})

# Exceptions a parser may raise on bad input (InvalidOperation is an ArithmeticError;
# msgspec's DecodeError is a ValueError only from msgspec 0.20 on).
_BAD_INPUT = (
    msgspec.DecodeError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    InvalidOperation,
    ArithmeticError,
)


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Server -> client frames


@dataclass(frozen=True, slots=True)
class Greeting:
    """The connect greeting ``{"op":"connect","data":{"result":true}}``.

    ``result`` is False only when ``data.result`` is literally false; any other ``data`` shape
    counts as a greeting.
    """

    result: bool = True


@dataclass(frozen=True, slots=True)
class Pong:
    """Reply to a JSON ping: ``pong`` echoes our value, ``ping`` is the server's second at
    which the socket opened."""

    pong: int | None
    ping: int | None


@dataclass(frozen=True, slots=True)
class UnsubscribeReply:
    """``{"op":"unsubscribe","ts":...,"data":"success"}``: names no channel."""

    ts: int | None
    data: str | None = "success"


@dataclass(frozen=True, slots=True)
class SubscribeRefused:
    """A subscribe was refused (``subscribe channel > 300``)."""

    message: str


@dataclass(frozen=True, slots=True)
class LoginReply:
    """Answer to a login: success, or failure with the exchange's message if any."""

    success: bool
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Push:
    """A data push: one value per item, all from the same frame.

    ``symbol`` is the envelope's symbol (None on private channels and on ``tickers``).
    """

    channel: str
    symbol: str | None
    ts: int
    items: tuple[Item, ...]

    @property
    def private(self) -> bool:
        """True for the private (account) channels."""
        return self.channel in PRIVATE_CHANNELS


fast_init(Push)


def push_key(channel: str, symbol: str | None) -> Key | None:
    """The routing key of every item of a push on ``channel`` whose envelope names
    ``symbol``: ``(channel, None)`` on the private channels, ``(channel, symbol)`` on the
    others; None when each item carries its own (``tickers``, or no symbol): see
    :func:`item_key`."""
    if channel in PRIVATE_CHANNELS:
        return (channel, None)
    if symbol is not None and channel != "tickers":
        return (channel, symbol)
    return None


def item_key(channel: str, item: object) -> Key:
    """The routing key of one item of a push whose :func:`push_key` is None:
    ``(channel, item.symbol)``."""
    return (channel, getattr(item, "symbol", None))


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    """A ``{"error": "..."}`` frame."""

    message: str


@dataclass(frozen=True, slots=True)
class Malformed:
    """Text that is not a valid frame; ``reason`` says why (``text`` is cut at 1000 chars)."""

    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """A well-formed frame of a kind this library does not know (an ``op`` or ``ch``)."""

    text: str
    reason: str


ServerFrame = (
    Greeting
    | Pong
    | UnsubscribeReply
    | SubscribeRefused
    | LoginReply
    | Push
    | ErrorFrame
    | Malformed
    | Unknown
)


def _keep(text: str | bytes) -> str:
    if isinstance(text, bytes | bytearray):
        text = bytes(text[: MAX_KEPT_TEXT * 4]).decode("utf-8", "replace")
    return text if len(text) <= MAX_KEPT_TEXT else text[:MAX_KEPT_TEXT]


_loads = msgspec.json.Decoder().decode


def _load(text: str | bytes) -> tuple[dict[str, Any] | None, str]:
    """JSON object or (None, reason)."""
    try:
        obj = _loads(text)
    except (msgspec.DecodeError, ValueError, TypeError, RecursionError) as exc:
        return None, f"invalid JSON: {str(exc)[:100]}"
    if type(obj) is not dict:
        return None, f"expected a JSON object, got {type(obj).__name__}"
    return obj, ""


def _int_or_none(value: object) -> int | None:
    return value if type(value) is int else None


def _decode_push(obj: dict[str, Any], text: str | bytes) -> ServerFrame:
    channel = obj["ch"]
    parser = PUSH_PARSERS.get(channel) if type(channel) is str else None
    if parser is None:
        return Unknown(_keep(text), f"unknown channel {channel!r}"[:120])
    ts = obj.get("ts")
    if type(ts) is not int:
        return Malformed(_keep(text), f"{channel}: ts must be an integer")
    if not 0 <= ts <= MAX_TIME_MS:
        return Malformed(_keep(text), f"{channel}: ts is not a time between 1970 and 9999 in ms")
    symbol = obj.get("symbol")
    if symbol is not None and type(symbol) is not str:
        return Malformed(_keep(text), f"{channel}: symbol must be a string")
    if "data" not in obj:
        return Malformed(_keep(text), f"{channel}: no data")
    try:
        items = parser(symbol, ts, obj["data"])
    except _BAD_INPUT as exc:
        return Malformed(_keep(text), f"{channel}: bad data ({type(exc).__name__}: {exc})"[:200])
    return Push(channel, symbol, ts, items)


def _decode_op(obj: dict[str, Any], text: str | bytes) -> ServerFrame:
    op = obj["op"]
    data = obj.get("data")
    if op == "ping":
        return Pong(_int_or_none(obj.get("pong")), _int_or_none(obj.get("ping")))
    if op == "connect":
        return Greeting(not (type(data) is dict and data.get("result") is False))
    if op == "unsubscribe":
        return UnsubscribeReply(_int_or_none(obj.get("ts")), data if type(data) is str else None)
    if op == "login":
        if type(data) is not dict or type(data.get("result")) is not bool:
            return Malformed(_keep(text), "login reply without data.result")
        message = data.get("msg")
        return LoginReply(data["result"], message if type(message) is str else None)
    if op == "subscribe":
        if type(data) is dict and data.get("result") is False:
            message = data.get("msg")
            return SubscribeRefused(message if type(message) is str else "subscription refused")
        return Unknown(_keep(text), "subscribe reply that is not a refusal")
    return Unknown(_keep(text), f"unknown op {op!r}"[:120])


# ---------------------------------------------------------------------------------------------
# Market pushes: the typed path
#
# A market push is decoded in two steps with msgspec: the envelope (``ch``, ``symbol``,
# ``ts``, and ``data`` kept as raw JSON), then ``data`` straight into a typed struct of the
# channel (strings where the exchange sends strings); msgspec checks the whole shape in C while
# it parses, so what is left in Python is building the values. These parsers accept only the
# shapes the exchange sends; anything else raises (ValueError, which msgspec's errors are, or
# the errors of the ``wire`` helpers) and the frame takes the general path, which gives the
# same values for what both accept and says why a frame is malformed: the typed path is an
# optimisation only, it decides no outcome of its own.

_WS = DataSource.WEBSOCKET
_UNSET = msgspec.UNSET

FastParser = Callable[[str | None, int, msgspec.Raw], tuple[Any, ...]]


class Envelope(msgspec.Struct):
    """``{"ch": .., "symbol": .., "ts": .., "data": ..}``; ``op`` is set on control frames."""

    ch: str
    ts: int
    data: msgspec.Raw
    symbol: str | None = None
    op: Any = _UNSET


#: Decodes the envelope of a push (raises msgspec.ValidationError on anything else).
ENVELOPE = msgspec.json.Decoder(Envelope)


def _numbers(*texts: str) -> tuple[Decimal, ...]:
    """Numeric strings as bounded, finite, non-negative Decimals (ValueError or
    InvalidOperation otherwise; the general path then says which field was refused)."""
    for text in texts:
        if len(text) > _MAX_CHARS:
            raise ValueError("number text too long")
    values = tuple(map(Decimal, texts))
    for value in values:
        if (
            not value.is_finite()
            or value.is_signed()
            or not -_MAX_EXP <= value.adjusted() <= _MAX_EXP
        ):
            raise ValueError("number out of bounds")
    return values


def _signed(text: str) -> Decimal:
    """One numeric string that may be negative (a change, a funding rate), bounded."""
    if len(text) > _MAX_CHARS:
        raise ValueError("number text too long")
    value = Decimal(text)
    if not value.is_finite() or not -_MAX_EXP <= value.adjusted() <= _MAX_EXP:
        raise ValueError("number out of bounds")
    return value


# -- order books -------------------------------------------------------------------------


class _Book(msgspec.Struct):
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]


_BOOK = msgspec.json.Decoder(_Book).decode
_book_from_wire = book_from_wire


def _book(depth: int | None) -> FastParser:
    def parse(symbol: str | None, ts: int, data: msgspec.Raw) -> tuple[Any, ...]:
        book = _BOOK(data)
        symbol = "" if symbol is None else symbol
        return (_book_from_wire(symbol, book.b, book.a, depth, ts, _WS, data),)

    return parse


# -- ticker and tickers ------------------------------------------------------------------


class _Ticker(msgspec.Struct):
    la: str
    o: str
    h: str
    l: str  # noqa: E741 - the wire's name
    b: str
    q: str
    r: str
    s: str | None = None


_TICKER = msgspec.json.Decoder(_Ticker).decode


def _ticker(symbol: str | None, ts: int, data: msgspec.Raw) -> tuple[Any, ...]:
    t = _TICKER(data)
    s = t.s or symbol
    if s is None:
        raise TypeError("no symbol")
    last, open_, high, low, base, quote = _numbers(t.la, t.o, t.h, t.l, t.b, t.q)
    change = _signed(t.r)
    return (TickerUpdate(s, last, open_, high, low, base, quote, change, ts, _WS),)


class _Summary(_Ticker):
    bd: str | None = None
    ak: str | None = None
    bv: str | None = None
    av: str | None = None


_SUMMARIES = msgspec.json.Decoder(list[_Summary] | _Summary).decode


def _optional(text: str | None) -> Decimal | None:
    return None if text is None or text == "" else _numbers(text)[0]


def _tickers(symbol: str | None, ts: int, data: msgspec.Raw) -> tuple[Any, ...]:
    decoded = _SUMMARIES(data)
    entries = decoded if isinstance(decoded, list) else [decoded]
    out = []
    for t in entries:
        s = t.s or symbol
        if s is None:
            raise TypeError("no symbol")
        last, open_, high, low, base, quote = _numbers(t.la, t.o, t.h, t.l, t.b, t.q)
        change = _signed(t.r)
        out.append(
            TickerSummary(
                s,
                last,
                open_,
                high,
                low,
                base,
                quote,
                change,
                _optional(t.bd),
                _optional(t.ak),
                _optional(t.bv),
                _optional(t.av),
                ts,
                _WS,
            )
        )
    return tuple(out)


# -- trades ------------------------------------------------------------------------------


class _Trade(msgspec.Struct):
    t: str
    p: str
    v: str
    s: str


_TRADES = msgspec.json.Decoder(list[_Trade]).decode
_SIDES: dict[object, Side] = _LOOKUPS[Side]
_side = Side.parse


def _trades(symbol: str | None, ts: int, data: msgspec.Raw) -> tuple[Any, ...]:
    symbol = _need(symbol)
    out = []
    times: dict[str, datetime] = {}  # the trades of one push mostly share their second
    for t in _TRADES(data):
        time = times.get(t.t)
        if time is None:
            time = times[t.t] = parse_iso_datetime(t.t)
        price, qty = _numbers(t.p, t.v)
        out.append(Trade(symbol, price, qty, _SIDES.get(t.s) or _side(t.s), time, ts, _WS))
    return tuple(out)


# -- mark price --------------------------------------------------------------------------


class _Price(msgspec.Struct):
    mp: str
    ip: str
    fr: str
    ft: str
    nft: str


_PRICE = msgspec.json.Decoder(_Price).decode


def _price(symbol: str | None, ts: int, data: msgspec.Raw) -> tuple[Any, ...]:
    symbol = _need(symbol)
    p = _PRICE(data)
    mark, index = _numbers(p.mp, p.ip)
    rate = _signed(p.fr)
    return (
        MarkPriceUpdate(
            symbol,
            mark,
            index,
            rate,
            parse_iso_datetime(p.ft),
            parse_iso_datetime(p.nft),
            ts,
            _WS,
        ),
    )


# -- klines ------------------------------------------------------------------------------


class _Kline(msgspec.Struct):
    o: str
    h: str
    l: str  # noqa: E741 - the wire's name
    c: str
    b: str
    q: str


_KLINE = msgspec.json.Decoder(_Kline).decode


def _kline(interval: str, price_type: PriceType) -> FastParser:
    def parse(symbol: str | None, ts: int, data: msgspec.Raw) -> tuple[Any, ...]:
        symbol = _need(symbol)
        k = _KLINE(data)
        open_, high, low, close, base, quote = _numbers(k.o, k.h, k.l, k.c, k.b, k.q)
        return (
            KlineUpdate(
                symbol,
                interval,
                price_type,
                open_,
                high,
                low,
                close,
                base,
                quote,
                kline_open_time(ts, interval),
                ts,
                _WS,
            ),
        )

    return parse


#: Typed parsers by wire channel: ``(envelope symbol, ts, raw data) -> items``.
FAST_PARSERS: dict[str, FastParser] = {
    "depth_book1": _book(1),
    "depth_book5": _book(5),
    "depth_book15": _book(15),
    "depth_books": _book(None),
    "ticker": _ticker,
    "tickers": _tickers,
    "trade": _trades,
    "price": _price,
}
for _interval in KLINE_INTERVALS:
    for _pt in PriceType:
        FAST_PARSERS[f"{_pt.value}_kline_{_interval}"] = _kline(_interval, _pt)


_decode_envelope = ENVELOPE.decode
_fast_parsers = FAST_PARSERS.get


def decode(text: str | bytes) -> ServerFrame:
    """Decode one frame from the exchange. Never raises."""
    # Market pushes in the shapes the exchange sends take the typed path (the JSON is
    # checked while it is parsed); everything else, including any push that path refuses,
    # takes the general one, which decides what the frame is.
    try:
        envelope = _decode_envelope(text)
    except (msgspec.DecodeError, ValueError, TypeError, RecursionError):
        return _decode(text)
    parse = _fast_parsers(envelope.ch)
    if parse is None or envelope.op is not _UNSET:
        return _decode(text)
    symbol = envelope.symbol
    ts = envelope.ts
    if not 0 <= ts <= MAX_TIME_MS:
        return _decode(text)
    try:
        items = parse(symbol, ts, envelope.data)
    except _BAD_INPUT:
        return _decode(text)
    return Push(envelope.ch, symbol, ts, items)


def _decode(text: str | bytes) -> ServerFrame:
    obj, reason = _load(text)
    if obj is None:
        return Malformed(_keep(text), reason)
    try:
        if "op" in obj:  # control frames carry op; pushes carry ch and never op
            return _decode_op(obj, text)
        if "ch" in obj:
            return _decode_push(obj, text)
    except _BAD_INPUT as exc:  # pragma: no cover - the branches above check types
        return Malformed(_keep(text), f"{type(exc).__name__}: {exc}"[:200])
    error = obj.get("error")
    if type(error) is str:
        return ErrorFrame(error)
    return Unknown(_keep(text), "frame has neither op nor ch")


# ---------------------------------------------------------------------------------------------
# Client -> server encoders


def _args(keys: Sequence[Key]) -> list[dict[str, str]]:
    args = []
    for channel, symbol in keys:
        args.append({"ch": channel} if symbol is None else {"symbol": symbol, "ch": channel})
    return args


def encode_subscribe(keys: Sequence[Key]) -> str:
    """``{"op":"subscribe","args":[{"symbol":..,"ch":..},..]}`` (no symbol key when None)."""
    return _dumps({"op": "subscribe", "args": _args(keys)})


def encode_unsubscribe(keys: Sequence[Key]) -> str:
    """``{"op":"unsubscribe","args":[...]}``."""
    return _dumps({"op": "unsubscribe", "args": _args(keys)})


def encode_ping(seconds: int) -> str:
    """``{"op":"ping","ping":<unix seconds>}``."""
    return _dumps({"op": "ping", "ping": int(seconds)})


def encode_login(args: Mapping[str, object]) -> str:
    """``{"op":"login","args":[<args>]}`` with the object from ``ws_login_args``."""
    return _dumps({"op": "login", "args": [dict(args)]})


# ---------------------------------------------------------------------------------------------
# Client -> server frames (decoded by the simulated exchange)


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    """``{"op":"subscribe","args":[...]}`` as ``(channel, symbol or None)`` pairs (symbols
    as sent, not upper-cased)."""

    args: tuple[Key, ...]


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest:
    """``{"op":"unsubscribe","args":[...]}``."""

    args: tuple[Key, ...]


@dataclass(frozen=True, slots=True)
class PingRequest:
    """``{"op":"ping","ping":N}``."""

    ping: int


@dataclass(frozen=True, slots=True)
class LoginRequest:
    """``{"op":"login","args":[{"apiKey":..,"timestamp":..,"nonce":..,"sign":..}]}``."""

    api_key: str
    timestamp: int
    nonce: str
    sign: str


ClientFrame = (
    SubscribeRequest | UnsubscribeRequest | PingRequest | LoginRequest | Malformed | Unknown
)


def _parse_args(args: object) -> tuple[Key, ...]:
    if type(args) is not list:
        raise TypeError("args must be a list")
    keys: list[Key] = []
    for arg in args:
        if type(arg) is not dict:
            raise TypeError("each arg must be an object")
        channel = arg["ch"]
        symbol = arg.get("symbol")
        if type(channel) is not str or (symbol is not None and type(symbol) is not str):
            raise TypeError("ch and symbol must be strings")
        keys.append((channel, symbol))
    return tuple(keys)


def _decode_client_op(obj: dict[str, Any]) -> ClientFrame | str:
    op = obj.get("op")
    if op == "ping":
        ping = obj.get("ping")
        if type(ping) is not int:
            raise TypeError("ping must be an integer")
        return PingRequest(ping)
    if op == "subscribe":
        return SubscribeRequest(_parse_args(obj["args"]))
    if op == "unsubscribe":
        return UnsubscribeRequest(_parse_args(obj["args"]))
    if op == "login":
        args = obj["args"]
        if type(args) is not list or len(args) != 1 or type(args[0]) is not dict:
            raise TypeError("login args must be a list of one object")
        arg = args[0]
        api_key, timestamp, nonce, sign = arg["apiKey"], arg["timestamp"], arg["nonce"], arg["sign"]
        if type(timestamp) is not int:
            raise TypeError("timestamp must be an integer")
        if not all(type(v) is str for v in (api_key, nonce, sign)):
            raise TypeError("apiKey, nonce and sign must be strings")
        return LoginRequest(api_key, timestamp, nonce, sign)
    return f"unknown op {op!r}"[:120]


def decode_client(text: str | bytes) -> ClientFrame:
    """Decode one frame sent by a client. Never raises."""
    obj, reason = _load(text)
    if obj is None:
        return Malformed(_keep(text), reason)
    if "op" not in obj:
        return Unknown(_keep(text), "frame has no op")
    try:
        result = _decode_client_op(obj)
    except _BAD_INPUT as exc:
        return Malformed(_keep(text), f"{type(exc).__name__}: {exc}"[:200])
    if isinstance(result, str):
        return Unknown(_keep(text), result)
    return result


# ---------------------------------------------------------------------------------------------
# Server -> client encoders (used by the simulated exchange)


def encode_greeting() -> str:
    """``{"op":"connect","data":{"result":true}}``."""
    return '{"op":"connect","data":{"result":true}}'


def encode_pong(pong: int, ping: int) -> str:
    """``{"op":"ping","pong":<client's value>,"ping":<socket-open second>}``."""
    return _dumps({"op": "ping", "pong": pong, "ping": ping})


def encode_unsubscribe_reply(ts: int) -> str:
    """``{"op":"unsubscribe","ts":<ms>,"data":"success"}``."""
    return _dumps({"op": "unsubscribe", "ts": ts, "data": "success"})


def encode_subscribe_refused(message: str = "subscribe channel > 300") -> str:
    """``{"op":"subscribe","data":{"msg":"subscribe channel > 300","nonce":"","result":false}}``."""
    return _dumps({"op": "subscribe", "data": {"msg": message, "nonce": "", "result": False}})


def encode_login_reply(success: bool, message: str | None = None) -> str:
    """``{"op":"login","data":{"result":true}}``, or with ``"msg"`` on failure."""
    data: dict[str, object] = {"result": success}
    if message is not None:
        data = {"result": success, "msg": message, "nonce": ""}
    return _dumps({"op": "login", "data": data})


def encode_push(channel: str, symbol: str | None, ts: int, data: object) -> str:
    """``{"ch":..,"symbol":..,"ts":..,"data":..}`` (no ``symbol`` key when None)."""
    if symbol is None:
        return _dumps({"ch": channel, "ts": ts, "data": data})
    return _dumps({"ch": channel, "symbol": symbol, "ts": ts, "data": data})


def encode_error(message: str) -> str:
    """``{"error":"..."}``."""
    return _dumps({"error": message})
