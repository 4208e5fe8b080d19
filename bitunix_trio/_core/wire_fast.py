"""Typed decoders for the market pushes: the hot path of :func:`bitunix_trio._core.frames.decode`.

A push is decoded in two steps with `msgspec <https://jcristharif.com/msgspec/>`_: the
envelope (``ch``, ``symbol``, ``ts``, and ``data`` kept as raw JSON), then ``data`` straight
into a typed struct of the channel (strings where the exchange sends strings). msgspec checks
the whole shape in C while it parses, so what is left in Python is building the values.

These parsers accept only the shapes the exchange sends; anything else raises (ValueError,
which msgspec's errors are, or the errors of the ``_core.wire`` helpers) and the frame goes to the
general path in ``_core.frames``, which gives the same values for what both accept, and says why
a frame is malformed. So this module is an optimisation only: it decides no outcome of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from .models import (
    _LOOKUPS,
    KLINE_INTERVALS,
    DataSource,
    KlineUpdate,
    MarkPriceUpdate,
    PriceType,
    Side,
    TickerSummary,
    TickerUpdate,
    Trade,
    book_from_wire,
)
from .numbers import MAX_EXPONENT as _MAX_EXP
from .numbers import MAX_NUMBER_CHARS as _MAX_CHARS
from .wire import _need_symbol as _need
from .wire import kline_open_time, parse_iso_datetime

__all__ = ["ENVELOPE", "FAST_PARSERS", "Envelope", "FastParser"]

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


# --- order books -------------------------------------------------------------------------


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


# --- ticker and tickers ------------------------------------------------------------------


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


# --- trades ------------------------------------------------------------------------------


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


# --- mark price --------------------------------------------------------------------------


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


# --- klines ------------------------------------------------------------------------------


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
