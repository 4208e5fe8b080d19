"""Property tests: the decoders never raise, whatever they are fed.

Inputs: arbitrary text and bytes, arbitrary JSON values, and valid frames from the golden
tables with fields removed, retyped or replaced. Every frame that decodes to something other
than ``Malformed``/``Unknown`` must also survive a round trip through the encoder.
"""

from __future__ import annotations

import json
from typing import Any

from golden_frames import CLIENT_CASES, SERVER_CASES, encode_client_frame, encode_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitunix_trio._core import frames as _frames
from bitunix_trio._core.errors import RemoteProtocolError
from bitunix_trio._core.frames import (
    ENVELOPE,
    FAST_PARSERS,
    ClientFrame,
    Malformed,
    Push,
    ServerFrame,
    Unknown,
    decode,
    decode_client,
    item_key,
    push_key,
)
from bitunix_trio._core.models import OrderBookUpdate

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    # strings the parsers look at: numbers, times, enum spellings, empty levels
    | st.sampled_from(
        [
            "",
            "1",
            "-0.5",
            "NaN",
            "sNaN",
            "Infinity",
            "1e999999",
            "2024-05-16T08:13:09.123456789Z",
            "2026-09-23T00:00:00+02:00",
            "buy",
            "Sell",
            "NEW_",
            "Limit",
            "LONG",
            "BTCUSDT",
            "depth_book15",
        ]
    )
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
KNOWN_KEYS = st.sampled_from(
    ["op", "ch", "symbol", "ts", "data", "args", "ping", "pong", "error", "result", "msg"]
)
JSON_OBJECTS = st.dictionaries(KNOWN_KEYS | st.text(max_size=8), JSON_VALUES, max_size=6)

SERVER_OBJECTS = [json.loads(case.text) for case in SERVER_CASES]
CLIENT_OBJECTS = [json.loads(case.text) for case in CLIENT_CASES]


def _unreadable_book(frame: ServerFrame) -> bool:
    """Whether the frame holds an order book whose numbers are invalid: its shape passed
    the decoder, and reading a side raises RemoteProtocolError naming the symbol."""
    if not isinstance(frame, Push):
        return False
    for item in frame.items:
        if isinstance(item, OrderBookUpdate):
            try:
                item.bids, item.asks  # noqa: B018
            except RemoteProtocolError as exc:
                message = str(exc)
            else:
                continue
            assert f"{item.symbol or 'order book'}: invalid order book level" in message
            assert "<invalid" in repr(item)
            return True
    return False


def _check_server(frame: ServerFrame) -> None:
    if isinstance(frame, Malformed | Unknown):
        assert isinstance(frame.reason, str)
        assert frame.reason
        return
    if _unreadable_book(frame):
        return
    again = decode(encode_frame(frame))
    assert again == frame
    if isinstance(frame, Push):
        key = push_key(frame.channel, frame.symbol)
        for item in frame.items:
            assert (key or item_key(frame.channel, item))[0] == frame.channel


def _check_client(frame: ClientFrame) -> None:
    if isinstance(frame, Malformed | Unknown):
        assert frame.reason
        return
    assert decode_client(encode_client_frame(frame)) == frame


@SETTINGS
@given(st.text())
def test_arbitrary_text(text: str) -> None:
    _check_server(decode(text))
    _check_client(decode_client(text))


@SETTINGS
@given(st.binary())
def test_arbitrary_bytes(data: bytes) -> None:
    _check_server(decode(data))
    _check_client(decode_client(data))


@SETTINGS
@given(JSON_VALUES)
def test_arbitrary_json(value: Any) -> None:
    text = json.dumps(value)
    _check_server(decode(text))
    _check_client(decode_client(text))


@SETTINGS
@given(JSON_OBJECTS)
def test_arbitrary_json_objects_with_protocol_keys(value: dict[str, Any]) -> None:
    text = json.dumps(value)
    _check_server(decode(text))
    _check_client(decode_client(text))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (sequence of keys/indexes) into a JSON value, the root excluded."""
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        items: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return out
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


@st.composite
def mutated(draw: st.DrawFn, objects: list[Any], under: str | None = None) -> str:
    """A valid frame with a few fields removed, retyped or replaced (only inside the
    top-level key ``under`` if given)."""
    value = json.loads(json.dumps(draw(st.sampled_from(objects))))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(value) if under is None or (p[0] == under and len(p) > 1)]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["remove", "replace", "stringify", "wrap"]))
        if action == "remove":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif action == "stringify":
            parent[path[-1]] = json.dumps(parent[path[-1]])
        else:
            parent[path[-1]] = [parent[path[-1]]]
    return json.dumps(value, separators=(",", ":"))


@SETTINGS
@given(mutated(SERVER_OBJECTS))
def test_mutated_server_frames(text: str) -> None:
    _check_server(decode(text))


PUSH_OBJECTS = [obj for obj in SERVER_OBJECTS if "ch" in obj]


@SETTINGS
@given(mutated(PUSH_OBJECTS, under="data"))
def test_mutated_push_data(text: str) -> None:
    _check_server(decode(text))


@SETTINGS
@given(mutated(CLIENT_OBJECTS))
def test_mutated_client_frames(text: str) -> None:
    _check_client(decode_client(text))


@SETTINGS
@given(mutated(SERVER_OBJECTS), st.integers(0, 200))
def test_truncated_frames(text: str, cut: int) -> None:
    _check_server(decode(text[:cut]))
    _check_client(decode_client(text[:cut]))


# --- the typed path of decode agrees with the general one ----------------------------------


def _agree(text: str | bytes) -> None:
    """``decode`` (typed path for market pushes, general path otherwise) gives what the
    general path alone gives."""
    fast, general = decode(text), _frames._decode(text)
    if _unreadable_book(fast) or _unreadable_book(general):
        assert _unreadable_book(fast)
        assert _unreadable_book(general)
        return
    assert fast == general


MARKET_PUSHES = [obj for obj in PUSH_OBJECTS if obj["ch"] in FAST_PARSERS]


def test_golden_market_pushes_take_the_typed_path() -> None:
    assert {obj["ch"] for obj in MARKET_PUSHES} >= {
        "depth_book15",
        "ticker",
        "tickers",
        "trade",
        "price",
        "market_kline_1min",
    }
    for obj in MARKET_PUSHES:
        text = json.dumps(obj)
        envelope = ENVELOPE.decode(text)
        items = FAST_PARSERS[envelope.ch](envelope.symbol, envelope.ts, envelope.data)
        assert Push(envelope.ch, envelope.symbol, envelope.ts, items) == _frames._decode(text)
        _agree(text)


@SETTINGS
@given(mutated(MARKET_PUSHES, under="data"))
def test_typed_path_agrees_on_mutated_market_data(text: str) -> None:
    _agree(text)


@SETTINGS
@given(mutated(MARKET_PUSHES))
def test_typed_path_agrees_on_mutated_market_pushes(text: str) -> None:
    _agree(text)


@SETTINGS
@given(JSON_OBJECTS)
def test_typed_path_agrees_on_arbitrary_objects(value: dict[str, Any]) -> None:
    _agree(json.dumps(value))
