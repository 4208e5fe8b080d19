"""Fuzzing as tests: every decoder either decodes or refuses with a typed error, quickly.

Inputs are valid frames and rows with fields replaced by hostile values: numbers with huge
exponents or digit counts, negative, NaN and infinite numbers, out-of-range timestamps,
control characters, wrong types and deep nesting. Every call must finish within
``BUDGET_S`` (CPU time measured around the call, so a busy machine does not make Hypothesis'
own deadline flaky) and either succeed or raise a :class:`BitunixError`. The connection
protocol is driven by random event sequences and keeps its invariants.

``BITUNIX_FUZZ_EXAMPLES`` sets the examples per property (default 40; ``nox -s fuzz`` runs
many more).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from golden_frames import (
    BALANCE_DATA_TEXT,
    BOOK15_TEXT,
    KLINE_DATA_TEXT,
    ORDER_DATA_DOC,
    POSITION_DATA_DOC,
    TICKERS_ITEM_TEXT,
    TPSL_DATA_DOC,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from protocol_shell import Shell

from bitunix_trio._core.budget import RATE_LIMIT, RATE_PERIOD
from bitunix_trio._core.errors import BitunixError, ConfigurationError
from bitunix_trio._core.events import StateChanged
from bitunix_trio._core.frames import Malformed, Push, Unknown, decode, decode_client
from bitunix_trio._core.protocol import ConnectionProtocol, ConnectionState
from bitunix_trio._core.rest_wire import (
    parse_rest_account,
    parse_rest_depth,
    parse_rest_kline,
    parse_rest_order,
    parse_rest_position,
    parse_rest_ticker,
)
from bitunix_trio._rest.args import check_int, decimal_text, place_order_body, time_ms
from bitunix_trio._rest.replies import unwrap_envelope
from bitunix_trio._rest.results import (
    parse_cancel_result,
    parse_funding_rate,
    parse_trading_pair,
)
from bitunix_trio._rest.session import RestSession

EXAMPLES = int(os.environ.get("BITUNIX_FUZZ_EXAMPLES", "40"))
#: Seconds one decode may take (the failures this guards against took seconds to minutes).
BUDGET_S = 0.1
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- hostile values -------------------------------------------------------------------------

exponents = st.one_of(st.integers(-60, 60), st.integers(-(10**18), 10**18))
hostile_number_texts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=8).map(str),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-99, 99), exponents),
    st.builds(lambda m, e: f"{m}E+{e}", st.integers(1, 9), st.integers(0, 10**12)),
    st.integers(1, 200_000).map(lambda n: "9" * n),
    st.integers(1, 200_000).map(lambda n: "0." + "0" * n + "1"),
    st.sampled_from(["NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "-0", "", " 1 "]),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: str(-abs(d))),
    st.text(max_size=20),
)
control_texts = st.text(
    alphabet=st.sampled_from(["\n", "\r", "\x1b", "\x00", "\u2028", "a", "1", ".", "-", "e"]),
    max_size=30,
)
hostile_ints = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), 10**30, -1, 0]),
)
deep = st.integers(1, 5000).map(lambda n: json.loads("[" * min(n, 900) + "]" * min(n, 900)))
hostile_values = st.one_of(
    hostile_number_texts,
    hostile_ints,
    st.floats(allow_nan=False, allow_infinity=False),
    control_texts,
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    deep,
)


def mutate(template: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``template`` with some of its fields replaced by hostile values."""
    keys = sorted(template)
    return st.dictionaries(st.sampled_from(keys), hostile_values, max_size=4).map(
        lambda changes: {**template, **changes}
    )


def _call(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, float]:
    started = time.process_time()
    try:
        result = fn(*args)
    except BitunixError as exc:
        result = exc
    return result, time.process_time() - started


def timed(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn``; the call must use less than BUDGET_S of CPU and raise nothing but a
    BitunixError (returned, not raised, so properties can look at it). CPU time, and one
    second try when over budget, keep a busy machine or a garbage collection from failing
    the test; the failures guarded against cost seconds every time."""
    result, elapsed = _call(fn, args)
    if elapsed >= BUDGET_S:
        result, elapsed = _call(fn, args)
    assert elapsed < BUDGET_S, f"{getattr(fn, '__name__', fn)} took {elapsed:.3f} s of CPU"
    return result


def read_everything(frame: object) -> None:
    """Read every field, the repr and the time of every item of a push (books convert
    their levels when read: that may be refused, as a BitunixError)."""
    if type(frame) is not Push:
        return
    for item in frame.items:
        for name in dir(item):
            if not name.startswith("_"):
                timed(getattr, item, name)
        timed(repr, item)
        timed(lambda item=item: item.time)


# -- WebSocket pushes -----------------------------------------------------------------------

_KLINE = json.loads(KLINE_DATA_TEXT)
_BOOK = json.loads(BOOK15_TEXT)
_SUMMARY = json.loads(TICKERS_ITEM_TEXT)
_TICKER_KEYS = {"s", "la", "o", "h", "l", "b", "q", "r"}
PUSH_TEMPLATES: dict[str, tuple[str | None, dict[str, Any]]] = {
    "ticker": ("BTCUSDT", {k: v for k, v in _SUMMARY.items() if k in _TICKER_KEYS}),
    "tickers": (None, _SUMMARY),
    "trade": ("BTCUSDT", {"t": "2026-01-01T00:00:00.123456789Z", "p": "1", "v": "2", "s": "buy"}),
    "price": (
        "BTCUSDT",
        {"mp": "1", "ip": "1", "fr": "0.0001", "ft": "2026-01-01T00:00:00Z", "nft": "2026-01-01"},
    ),
    "market_kline_1min": ("BTCUSDT", _KLINE),
    "order": (None, json.loads(ORDER_DATA_DOC)),
    "position": (None, json.loads(POSITION_DATA_DOC)),
    "balance": (None, json.loads(BALANCE_DATA_TEXT)),
    "tpsl": (None, json.loads(TPSL_DATA_DOC)),
}


@st.composite
def hostile_pushes(draw: st.DrawFn) -> str:
    channel = draw(st.sampled_from(sorted(PUSH_TEMPLATES)))
    symbol, template = PUSH_TEMPLATES[channel]
    data: Any = draw(mutate(template))
    if channel in ("trade", "tickers"):
        data = [data]
    ts = draw(st.one_of(st.just(1790126515693), hostile_ints))
    envelope: dict[str, Any] = {"ch": channel, "ts": ts, "data": data}
    if symbol is not None:
        envelope["symbol"] = symbol
    return json.dumps(envelope)


level_values = st.one_of(hostile_number_texts, st.sampled_from(["1", "0.5", "100.25"]))


@st.composite
def hostile_books(draw: st.DrawFn) -> str:
    levels = draw(st.lists(st.lists(level_values, min_size=2, max_size=2), max_size=5))
    frame = dict(_BOOK)
    frame["data"] = {"b": levels, "a": list(reversed(levels))}
    frame["ts"] = draw(st.one_of(st.just(1), hostile_ints))
    return json.dumps(frame)


@FUZZ
@given(st.one_of(hostile_pushes(), hostile_books()))
def test_every_push_decodes_or_is_malformed_quickly(text: str) -> None:
    frame = timed(decode, text)
    assert isinstance(frame, Push | Malformed | Unknown), frame
    read_everything(frame)


@FUZZ
@given(st.integers(1, 200_000), st.sampled_from(["[", '{"a":']))
def test_deep_nesting_is_malformed(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    frame = timed(decode, '{"ch":"ticker","ts":1,"data":' + opener * depth + closer * depth + "}")
    assert isinstance(frame, Malformed | Push)
    assert isinstance(timed(decode_client, opener * depth), Malformed)


@FUZZ
@given(control_texts)
def test_error_frames_keep_their_text(text: str) -> None:
    frame = timed(decode, json.dumps({"error": text}))
    assert getattr(frame, "message", None) == text


# -- REST envelopes and rows ----------------------------------------------------------------

envelope_bodies = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda code, msg, data: json.dumps({"code": code, "msg": msg, "data": data}).encode(),
        st.one_of(hostile_ints, hostile_number_texts, st.none()),
        st.one_of(control_texts, hostile_values),
        hostile_values,
    ),
    st.integers(1, 200_000).map(lambda n: b'{"code":0,"data":' + b"[" * n + b"]" * n + b"}"),
)


@FUZZ
@given(st.sampled_from([200, 400, 429, 500, 503]), envelope_bodies)
def test_every_envelope_is_data_or_a_typed_error(status: int, body: bytes) -> None:
    result = timed(unwrap_envelope, status, body, "GET", "/api/v1/futures/market/tickers")
    if isinstance(result, BitunixError):
        assert str(result).isprintable()


_ROW_ORDER = {**json.loads(ORDER_DATA_DOC), "ctime": 1715847189123, "mtime": "1715847189123"}
_ROW_TICKER = {
    "symbol": "BTCUSDT",
    "markPrice": "1",
    "lastPrice": "1",
    "open": "1",
    "last": "1",
    "quoteVol": "1",
    "baseVol": "1",
    "high": "1",
    "low": "1",
}
_ROW_KLINE = {"open": "1", "high": "2", "low": "0.5", "close": "1", "time": 1, "baseVol": "1"}
_ROW_KLINE["quoteVol"] = "1"
_ROW_PAIR = {"symbol": "BTCUSDT", "minTradeVolume": "0.001", "basePrecision": 3, "maxLeverage": 125}
_ROW_FUNDING = {"symbol": "BTCUSDT", "fundingRate": "0.0001", "nextFundingTime": "1715847189123"}
REST_PARSERS: dict[str, tuple[Callable[[dict[str, Any]], object], dict[str, Any]]] = {
    "order": (parse_rest_order, _ROW_ORDER),
    "position": (parse_rest_position, {**json.loads(POSITION_DATA_DOC), "ctime": 1}),
    "ticker": (lambda row: parse_rest_ticker(row, 1), _ROW_TICKER),
    "kline": (
        lambda row: parse_rest_kline({**row, "quoteVol": "1"}, "BTCUSDT", "1min"),
        _ROW_KLINE,
    ),
    "account": (lambda row: parse_rest_account(row, 1), json.loads(BALANCE_DATA_TEXT)),
    "depth": (
        lambda row: parse_rest_depth(row, "BTCUSDT", 1),
        {"bids": [["1", "2"]], "asks": [["3", "4"]]},
    ),
    "pair": (lambda row: parse_trading_pair(row, 1), _ROW_PAIR),
    "funding": (lambda row: parse_funding_rate(row, 1), _ROW_FUNDING),
    "cancel": (parse_cancel_result, {"successList": [{"orderId": "1"}], "failureList": []}),
}


@st.composite
def hostile_rows(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(sorted(REST_PARSERS)))
    return name, draw(mutate(REST_PARSERS[name][1]))


@FUZZ
@given(hostile_rows())
def test_every_rest_row_parses_or_is_a_typed_error(case: tuple[str, dict[str, Any]]) -> None:
    name, row = case
    parser = REST_PARSERS[name][0]
    result = timed(RestSession.parse, name, parser, row)
    if not isinstance(result, BitunixError):
        timed(repr, result)


# -- arguments ------------------------------------------------------------------------------

arguments = st.one_of(
    hostile_number_texts,
    hostile_ints,
    st.decimals(),
    st.floats(),
    st.none(),
    st.booleans(),
    control_texts,
)


@FUZZ
@given(arguments, st.booleans())
def test_decimal_arguments_are_plain_text_or_configuration_errors(
    value: object, positive: bool
) -> None:
    result = timed(lambda: decimal_text("qty", value, positive=positive))
    if isinstance(result, BitunixError):
        assert isinstance(result, ConfigurationError)
        assert str(result).startswith("qty")
    else:
        assert isinstance(result, str)
        assert len(result) < 100
        assert Decimal(result).is_finite()


@FUZZ
@given(arguments, arguments)
def test_order_arguments_are_checked(qty: object, price: object) -> None:
    no_tpsl = (None, None, None, None)
    result = timed(
        lambda: place_order_body(
            "BTCUSDT",
            "BUY",
            "LIMIT",
            qty,
            price,
            reduce_only=False,
            time_in_force=None,
            trade_side=None,
            position_id=None,
            tp=no_tpsl,
            sl=(price, None, None, None),
        )
    )
    assert isinstance(result, dict | ConfigurationError)


@FUZZ
@given(arguments)
def test_int_and_time_arguments_are_checked(value: object) -> None:
    for result in (
        timed(time_ms, "start_time", value),
        timed(lambda: check_int("limit", value, low=1)),
    ):
        assert result is None or isinstance(result, int | ConfigurationError)


# -- the connection protocol ----------------------------------------------------------------

_SERVER_TEXTS = st.one_of(
    hostile_pushes(),
    hostile_books(),
    st.sampled_from(
        [
            '{"op":"connect","data":{"result":true}}',
            '{"op":"login","data":{"result":true}}',
            '{"op":"login","data":{"result":false,"msg":"no\\nway"}}',
            '{"op":"ping","pong":1,"ping":1}',
            '{"op":"subscribe","data":{"msg":"subscribe channel > 300","result":false}}',
            '{"op":"unsubscribe","ts":1,"data":"success"}',
            '{"error":"bad\\nthing"}',
            '{"ch":"ticker","symbol":"BTCUSDT","ts":1,"data":{"s":"BTCUSDT","la":"1","o":"1",'
            '"h":"1","l":"1","b":"1","q":"1","r":"0"}}',
            "garbage",
        ]
    ),
    st.text(max_size=50),
)
_KEYS = st.sampled_from(
    [("ticker", "BTCUSDT"), ("depth_book15", "BTCUSDT"), ("trade", "ETHUSDT"), ("order", None)]
)
_ACTIVE = (ConnectionState.CONNECTED, ConnectionState.AUTHENTICATED)


class ProtocolMachine(RuleBasedStateMachine):
    """Random inputs to one ConnectionProtocol; checks what must hold after each."""

    @initialize(private=st.booleans())
    def start(self, private: bool) -> None:
        login = (
            (lambda: {"apiKey": "k", "timestamp": 1, "nonce": "n", "sign": "s"})
            if private
            else None
        )
        self.shell = Shell(ConnectionProtocol(login=login, wall_clock=lambda: 1_700_000_000.0))
        self.proto = self.shell.proto
        self.private = private
        self.now = 0.0
        self.sent: list[float] = []
        self.closed = False

    def _check_events(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, StateChanged):
                assert event.old is not ConnectionState.CLOSED, event
                assert event.old is not event.new

    @rule(dt=st.floats(0, 30, allow_nan=False))
    def advance(self, dt: float) -> None:
        self.now += dt
        self._check_events(timed(self.proto.tick, self.now))

    @rule()
    def connecting(self) -> None:
        self._check_events(self.proto.connecting())

    @rule()
    def connected(self) -> None:
        if self.closed:
            return
        self._check_events(self.proto.connected(self.now))
        self.sent = []  # a new socket: the exchange counts frames per connection

    @rule(reason=st.one_of(st.none(), control_texts))
    def disconnected(self, reason: str | None) -> None:
        self._check_events(self.proto.disconnected(reason))

    @precondition(lambda self: not self.closed)
    @rule()
    def close(self) -> None:
        self._check_events(self.proto.close())
        self.closed = True

    @rule(key=_KEYS)
    def subscribe(self, key: tuple[str, str | None]) -> None:
        assert isinstance(self.shell.subscribe(key), bool)

    @rule(key=_KEYS)
    def unsubscribe(self, key: tuple[str, str | None]) -> None:
        assert isinstance(self.shell.unsubscribe(key), bool)

    @rule(text=_SERVER_TEXTS)
    def receive(self, text: str) -> None:
        bad = self.proto.bad_frames
        events = timed(self.shell.receive, text, self.now)
        assert not isinstance(events, BitunixError), events
        self._check_events([e for e in events if not isinstance(e, Push)])
        assert self.proto.bad_frames - bad in (0, 1)

    @rule()
    def send(self) -> None:
        for frame in self.proto.pop_frames(self.now):
            assert not isinstance(decode_client(frame), Malformed | Unknown), frame
            self.sent.append(self.now)

    @invariant()
    def state_is_consistent(self) -> None:
        proto = self.proto
        if self.closed:
            assert proto.state is ConnectionState.CLOSED
        if proto.ready:
            assert proto.state in _ACTIVE
        if proto.state not in _ACTIVE:
            assert not proto.wants_write
        deadline = self.shell.next_deadline()
        assert deadline == deadline  # never NaN

    @invariant()
    def budget_holds(self) -> None:
        # At most RATE_LIMIT frames of one socket in any RATE_PERIOD window: any
        # RATE_LIMIT + 1 frames in a row span at least RATE_PERIOD (up to float rounding).
        sent = self.sent
        for first, last in zip(sent, sent[RATE_LIMIT:], strict=False):
            assert last - first >= RATE_PERIOD - 1e-9, sent


ProtocolMachine.TestCase.settings = settings(
    max_examples=max(10, EXAMPLES // 2),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestProtocolMachine = ProtocolMachine.TestCase
