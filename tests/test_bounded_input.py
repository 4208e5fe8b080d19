"""Hostile numbers, bodies and texts: each is refused quickly with a typed error, and no
reader or background loop stops because of one.

Numbers: every number from a push, a REST row or an argument passes one gate (length,
exponent, finiteness, sign, time range). REST bodies: read with a size cap inside the
request deadline, parsed without recursion errors. Exchange text: escaped wherever it is
logged or put into an exception message.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from conftest import open_sim_stream
from golden_frames import ORDER_DATA_DOC

from bitunix_trio._core.channels import Orders, Ticker
from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import (
    BitunixError,
    BitunixInternalError,
    ConfigurationError,
    RemoteProtocolError,
    RestError,
)
from bitunix_trio._core.frames import ErrorFrame, Malformed, Push, decode
from bitunix_trio._core.models import OrderBookUpdate, TickerUpdate, to_levels
from bitunix_trio._core.numbers import (
    MAX_EXPONENT,
    MAX_NUMBER_CHARS,
    PLAIN_MAX_CHARS,
    plain_book,
)
from bitunix_trio._core.protocol import ConnectionState
from bitunix_trio._core.rest_wire import parse_rest_order
from bitunix_trio._core.wire import parse_order
from bitunix_trio._fallback.poller import poll_market
from bitunix_trio._rest.args import decimal_text, place_order_body, time_ms
from bitunix_trio._rest.client import open_rest_client
from bitunix_trio.testing import SimulatedExchange
from bitunix_trio.testing._servers.faults import MALFORMED_REST_BODIES

BASE = "http://127.0.0.1"
CREDS = Credentials("k" * 32, "s" * 32)


def order_push(**changes: object) -> str:
    data = json.loads(ORDER_DATA_DOC)
    data.update(changes)
    return json.dumps({"ch": "order", "ts": 1651234567890, "data": data})


def book_push(bids: list[list[str]], ts: int = 1790126515693) -> str:
    return json.dumps(
        {"ch": "depth_book15", "symbol": "BTCUSDT", "ts": ts, "data": {"b": bids, "a": []}}
    )


def ticker_push(**changes: object) -> str:
    data = {"s": "BTCUSDT", "la": "2", "o": "1", "h": "3", "l": "0.5", "b": "10", "q": "20"}
    data["r"] = "0.1"
    data.update({k: str(v) for k, v in changes.items()})
    return json.dumps({"ch": "ticker", "symbol": "BTCUSDT", "ts": 1, "data": data})


def timed_decode(text: str) -> tuple[object, float]:
    started = time.perf_counter()
    frame = decode(text)
    return frame, time.perf_counter() - started


# -- numbers in pushes ----------------------------------------------------------------------


@pytest.mark.parametrize("leverage", ["1e1000000", "1e999999999", "1E+999999999", "-5"])
def test_order_push_with_a_huge_or_negative_leverage_is_malformed_at_once(leverage: str) -> None:
    frame, seconds = timed_decode(order_push(leverage=leverage))
    assert isinstance(frame, Malformed), frame
    assert "leverage" in frame.reason
    assert seconds < 0.05


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", "-50000"),
        ("price", "1E+999999999"),
        ("qty", "1e-999999999"),
        ("qty", "NaN"),
        ("price", "9" * 100_000),
        ("tpPrice", "Infinity"),
    ],
)
def test_order_push_with_a_bad_price_or_quantity_is_malformed(field: str, value: str) -> None:
    frame, seconds = timed_decode(order_push(**{field: value}))
    assert isinstance(frame, Malformed), frame
    assert field in frame.reason
    assert seconds < 0.05


@pytest.mark.parametrize("ts", [2**63 - 1, -1, 10**30])
def test_push_timestamps_out_of_range_are_malformed(ts: int) -> None:
    frame = decode(book_push([["1", "2"]], ts=ts))
    assert isinstance(frame, Malformed), frame
    assert "ts" in frame.reason


@pytest.mark.parametrize("ctime", [str(2**63 - 1), 2**63 - 1, "99999999999999999999"])
def test_order_times_out_of_range_are_malformed(ctime: object) -> None:
    frame = decode(order_push(ctime=ctime))
    assert isinstance(frame, Malformed), frame
    assert "ctime" in frame.reason


def test_every_decoded_order_has_a_repr_and_a_time() -> None:
    frame = decode(order_push(leverage="1e1000000"))
    assert isinstance(frame, Malformed)
    good = decode(order_push(leverage="20"))
    assert isinstance(good, Push)
    [order] = good.items
    assert "leverage=20" in repr(order)
    assert order.time.year == 2022


@pytest.mark.parametrize("level", [["-1", "2"], ["1E+999999999", "1"], ["1", "1e-999999999"]])
def test_book_levels_out_of_bounds_raise_remote_protocol_error(level: list[str]) -> None:
    frame = decode(book_push([level]))
    assert isinstance(frame, Push)  # levels are converted when read
    [book] = frame.items
    assert isinstance(book, OrderBookUpdate)
    started = time.perf_counter()
    with pytest.raises(RemoteProtocolError, match="BTCUSDT"):
        book.bids  # noqa: B018
    assert time.perf_counter() - started < 0.05


PLAIN_LEVELS = [
    ["86699.6", "2.2740"],
    ["0", "0.0"],
    ["007.50", "5."],
    [".5", "1" * 40],
    ["0." + "0" * 37 + "1", "9" * 39 + "."],
]


@pytest.mark.parametrize(
    "levels",
    [
        PLAIN_LEVELS,
        [["1" + "0" * 40, "1"]],  # 41 digits: not the plain form, and 1e40 is within bounds
        [["1" + "0" * 41, "1"]],  # 1e41: out of bounds
        [["0." + "0" * 40 + "1", "1"]],  # 1e-41: out of bounds
        [["1e5", "1"]],
        [["-0", "1"]],
        [["NaN", "1"]],
        [["", ""], ["1", "2"]],  # an empty level is dropped
        [["1.2.3", "1"]],
        [[".", "1"]],
        [["\u0661\u0662", "1"]],  # Arabic-Indic digits: not ASCII
        [["ab", "1"]],
    ],
)
def test_reading_every_level_gives_what_the_checked_path_gives(levels: list[list[str]]) -> None:
    compact = json.dumps(
        {"ch": "depth_book15", "symbol": "BTCUSDT", "ts": 1, "data": {"b": levels, "a": levels}},
        separators=(",", ":"),
    )
    frame = decode(compact)
    assert isinstance(frame, Push)
    [book] = frame.items
    assert isinstance(book, OrderBookUpdate)
    try:
        expected = to_levels(levels)
    except (ValueError, TypeError, ArithmeticError):
        with pytest.raises(RemoteProtocolError, match="BTCUSDT"):
            book.bids  # noqa: B018
        return
    assert book.bids == book.asks == expected
    # The same Decimals, exponents included (Decimal("5.") is not Decimal("5.0")).
    assert [tuple(map(repr, level)) for level in book.bids] == [
        tuple(map(repr, level)) for level in expected
    ]


def test_plain_books_convert_in_one_call_and_nothing_else_does() -> None:
    def wire(levels: list[list[str]], **more: object) -> bytes:
        return json.dumps({"b": levels, "a": [], **more}, separators=(",", ":")).encode()

    both = plain_book(wire(PLAIN_LEVELS))
    assert both is not None
    assert both == (to_levels(PLAIN_LEVELS), ())
    assert PLAIN_MAX_CHARS - 1 <= MAX_EXPONENT
    assert PLAIN_MAX_CHARS <= MAX_NUMBER_CHARS
    for refused in (
        wire([["1" * (PLAIN_MAX_CHARS + 1), "1"]]),
        wire([["1E5", "1"]]),
        wire([["-1", "1"]]),
        wire([["Infinity", "1"]]),
        wire([["", ""]]),
        wire([["1", "2"]], x="y"),
        json.dumps({"b": [["1", "2"]], "a": []}).encode(),  # whitespace
    ):
        assert plain_book(refused) is None, refused


@pytest.mark.parametrize(
    ("field", "value"), [("la", "-2"), ("h", "1E+999999999"), ("r", "1e-999999999")]
)
def test_ticker_numbers_out_of_bounds_are_malformed(field: str, value: str) -> None:
    frame = decode(ticker_push(**{field: value}))
    assert isinstance(frame, Malformed), frame
    assert field in frame.reason


def test_negative_change_still_decodes() -> None:
    frame = decode(ticker_push(r="-1.5"))
    assert isinstance(frame, Push)
    [ticker] = frame.items
    assert isinstance(ticker, TickerUpdate)
    assert ticker.change == Decimal("-1.5")


def test_gate_errors_name_the_field_and_are_typed() -> None:
    data = json.loads(ORDER_DATA_DOC)
    data["leverage"] = "1e1000000"
    with pytest.raises(RemoteProtocolError, match="leverage"):
        parse_order(data, 1)
    data["leverage"] = "10"
    data["mtime"] = 2**63 - 1
    with pytest.raises(RemoteProtocolError, match="mtime"):
        parse_rest_order(data)


# -- numbers in arguments -------------------------------------------------------------------


@pytest.mark.parametrize("qty", ["1e-999999999", "1e999999999", "1E+41", "1e-41", "9" * 10_000])
def test_place_order_refuses_unbounded_quantities(qty: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigurationError, match="qty"):
        place_order_body(
            "BTCUSDT",
            "BUY",
            "LIMIT",
            qty,
            "100",
            reduce_only=False,
            time_in_force=None,
            trade_side=None,
            position_id=None,
            tp=(None, None, None, None),
            sl=(None, None, None, None),
        )
    assert time.perf_counter() - started < 0.05


def test_decimal_text_bounds() -> None:
    assert decimal_text("qty", "0.0001") == "0.0001"
    assert decimal_text("qty", "1E+5") == "100000"
    assert decimal_text("price", "-1", positive=False) == "-1"
    with pytest.raises(ConfigurationError, match="price"):
        decimal_text("price", 10**1000)
    with pytest.raises(ConfigurationError, match="greater than zero"):
        decimal_text("qty", "0e999999999")


@pytest.mark.parametrize("zero", ["0e999999999", "-0E+999999999", "0e-999999999", "0.000"])
def test_decimal_text_of_a_zero_is_zero_at_once(zero: str) -> None:
    started = time.perf_counter()
    assert decimal_text("price", zero, positive=False) == "0"
    assert decimal_text("price", Decimal(zero), positive=False) == "0"
    assert time.perf_counter() - started < 0.05
    with pytest.raises(ConfigurationError, match="start_time"):
        time_ms("start_time", 2**63 - 1)


# -- REST replies ---------------------------------------------------------------------------


def _rows(*rows: dict[str, Any]) -> bytes:
    return json.dumps({"code": 0, "msg": "ok", "data": {"orderList": list(rows)}}).encode()


async def test_rest_row_with_a_huge_leverage_fails_fast_and_typed() -> None:
    row = json.loads(ORDER_DATA_DOC)
    row["leverage"] = "1e1000000"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_rows(row))

    started = time.perf_counter()
    async with open_rest_client(
        CREDS, BASE, transport=httpx.MockTransport(handler), timeout=3, max_retries=0
    ) as client:
        with pytest.raises(RestError, match="leverage"):
            await client.get_pending_orders()
    assert time.perf_counter() - started < 1.0


async def test_rest_deep_nesting_is_a_rest_error() -> None:
    body = b'{"code":0,"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    async with open_rest_client(
        None, BASE, transport=httpx.MockTransport(handler), max_retries=0
    ) as client:
        with pytest.raises(RestError, match="not JSON"):
            await client.get_tickers()


async def _endless() -> AsyncIterator[bytes]:
    chunk = b"[" * 65536
    while True:
        yield chunk
        await trio.lowlevel.checkpoint()


# httpx's byte iterators are nested async generators: stopping early drops the inner one
# unexhausted, which Trio reports as a ResourceWarning (encode/httpx#3686).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_rest_endless_body_is_cut_at_the_cap() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_endless())

    started = time.perf_counter()
    async with open_rest_client(
        None,
        BASE,
        transport=httpx.MockTransport(handler),
        max_retries=0,
        max_body_bytes=1024 * 1024,
    ) as client:
        with pytest.raises(RestError, match="max_body_bytes=1048576"):
            await client.get_tickers()
    assert time.perf_counter() - started < 2.0


async def test_rest_declared_length_over_the_cap_is_refused_unread() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b" " * 5_000_000)

    async with open_rest_client(
        None, BASE, transport=httpx.MockTransport(handler), max_retries=0
    ) as client:
        with pytest.raises(RestError, match="max_body_bytes=4194304"):
            await client.get_tickers()


async def test_rest_deadline_covers_the_body(autojump_clock: trio.testing.MockClock) -> None:
    async def slow() -> AsyncIterator[bytes]:
        yield b'{"code":0,'
        await trio.sleep(60)
        yield b'"data":[]}'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=slow())

    async with open_rest_client(
        None, BASE, transport=httpx.MockTransport(handler), timeout=3, max_retries=0
    ) as client:
        with pytest.raises(BitunixError, match="no reply within 3"):
            await client.get_tickers()
    assert trio.current_time() == pytest.approx(3.0)


async def test_rest_error_message_with_newlines_is_escaped() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"code": 20001, "msg": "bad\nINFO fake line\x1b[2J", "data": None}
        return httpx.Response(200, content=json.dumps(body).encode())

    async with open_rest_client(
        None, BASE, transport=httpx.MockTransport(handler), max_retries=0
    ) as client:
        with pytest.raises(BitunixError) as info:
            await client.get_tickers()
    text = str(info.value)
    assert text.isprintable()
    assert "bad\\nINFO fake line\\x1b[2J" in text


# -- through the stream ---------------------------------------------------------------------


async def test_stream_counts_a_hostile_push_and_keeps_reading(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    started = time.perf_counter()
    async with (
        open_sim_stream(memory_sim, seed=1, credentials=memory_sim.credentials) as stream,
        stream.subscribe(Orders()),
        stream.subscribe(Ticker("BTCUSDT")) as tickers,
    ):
        await tickers.receive()
        memory_sim.send_text(order_push(leverage="1e1000000"))
        memory_sim.send_text(book_push([["1", "2"]], ts=2**63 - 1))
        while stream.statistics().malformed < 4:  # both frames, on both sockets
            await tickers.receive()
        await tickers.receive()  # and the reader goes on
        assert stream.state is ConnectionState.AUTHENTICATED
    assert time.perf_counter() - started < 10


async def test_error_frame_text_cannot_forge_log_lines(
    memory_sim: SimulatedExchange,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "bitunix_trio")
    text = json.dumps({"error": "oops\n2026-01-01 INFO bitunix_trio: all good\r\x1b[31m"})
    assert decode(text) == ErrorFrame("oops\n2026-01-01 INFO bitunix_trio: all good\r\x1b[31m")
    async with (
        open_sim_stream(memory_sim, seed=1) as stream,
        stream.subscribe(Ticker("BTCUSDT")) as tickers,
    ):
        await tickers.receive()
        memory_sim.send_text(text)
        memory_sim.send_text(book_push([["\n\x1b", "1"]]))
        for _ in range(5):
            await tickers.receive()
    said = [r.getMessage() for r in caplog.records if "exchange says" in r.getMessage()]
    assert said == [
        "public#0: exchange says: oops\\n2026-01-01 INFO bitunix_trio: all good\\r\\x1b[31m"
    ]
    for record in caplog.records:
        message = record.getMessage()
        assert message.isprintable(), message


async def test_malformed_rest_during_login_reconcile_does_not_end_the_stream(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    memory_sim.malformed_rest()
    async with (
        open_sim_stream(
            memory_sim,
            seed=1,
            credentials=memory_sim.credentials,
            reconcile_interval=30.0,
            reconcile_quiet_after=None,
        ) as stream,
        stream.subscribe(Orders()),
    ):
        await trio.sleep(20)
        assert stream.state is ConnectionState.AUTHENTICATED
        memory_sim.malformed_rest(False)
        await trio.sleep(60)
        assert stream.state is ConnectionState.AUTHENTICATED
        assert await stream.reconcile() == []


async def test_malformed_rest_during_fallback_polling_backs_off_and_recovers(
    memory_sim: SimulatedExchange,
    autojump_clock: trio.testing.MockClock,
) -> None:
    memory_sim.malformed_rest()
    delivered: list[object] = []
    errors: list[str] = []

    def on_error(exc: Exception | None) -> None:
        errors.append(type(exc).__name__)

    async with (
        open_rest_client(
            None, memory_sim.rest_url, transport=memory_sim.rest_transport(), max_retries=0
        ) as rest,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(
            lambda: poll_market(
                rest,
                lambda: [Ticker("BTCUSDT")],
                lambda key, value: delivered.append(value),
                on_unavailable=lambda spec, reason: None,
                on_error=on_error,
            )
        )
        await trio.sleep(10)
        assert delivered == []
        memory_sim.malformed_rest(False)
        await trio.sleep(30)
        nursery.cancel_scope.cancel()
    assert delivered
    assert errors == ["RestError", "NoneType"]


async def test_every_malformed_rest_reply_is_a_typed_error(
    memory_sim: SimulatedExchange, autojump_clock: trio.testing.MockClock
) -> None:
    memory_sim.malformed_rest()
    seen: list[type[BaseException]] = []
    async with open_rest_client(
        memory_sim.credentials,
        memory_sim.rest_url,
        transport=memory_sim.rest_transport(),
        max_retries=0,
    ) as rest:
        for _ in range(len(MALFORMED_REST_BODIES)):
            with pytest.raises(BitunixError) as info:
                await rest.get_history_orders("ETHUSDT")
            assert not isinstance(info.value, BitunixInternalError), info.value
            seen.append(type(info.value))
        memory_sim.malformed_rest(False)
        await rest.get_history_orders("ETHUSDT")
    assert len(seen) == len(MALFORMED_REST_BODIES)
