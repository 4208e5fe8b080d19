"""Shared fixtures: simulated exchanges and raw (library-free) clients for them.

* ``sim``: a simulated exchange on 127.0.0.1 (OS-chosen ports; real time). Mark tests that
  use it ``@pytest.mark.loopback``.
* ``memory_sim``: the in-memory flavour (no socket bound) under
  ``MockClock(autojump_threshold=0)``: the test must also take pytest-trio's
  ``autojump_clock`` fixture (the exchange opens at virtual time 0), so times are exact.
  Connect with ``memory_sim.connector`` or ``raw_ws``; call REST with
  ``memory_sim.rest_client()``.
* ``raw_ws``: ``async with raw_ws(exchange, url) as ws`` gives a plain trio-websocket
  connection to either flavour and closes its TCP stream afterwards (trio-websocket leaves a
  client socket open after an abnormal closure).
* ``signed``: ``await signed(client, "GET", path, params=..., body=...)`` sends a correctly
  signed private REST request with the exchange's demo credentials (or ``credentials=``).
* ``transport``: each connector of the library over real sockets in turn (trio-websocket,
  websockets): a loopback test taking it runs once per transport.

Helpers for test modules (``from conftest import ...``): ``recv``, ``send``,
``expect_silence`` and ``until_closed`` speak JSON frames over a raw connection;
``library_tasks`` names the stream's and its transports' tasks still running;
``open_sim_stream`` opens the streaming client against a simulated exchange;
``request_times`` lists when the exchange answered REST requests.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import pytest
import trio
import trio.testing
import trio_websocket

from bitunix_trio._core import signing as _signing
from bitunix_trio._core.credentials import Credentials
from bitunix_trio._stream.connector import Connector, trio_websocket_connector
from bitunix_trio._stream.open import open_bitunix_stream
from bitunix_trio._stream.stream import BitunixStream
from bitunix_trio._stream.websockets_connector import websockets_connector
from bitunix_trio.testing import SimulatedExchange, open_simulated_exchange

#: The library's connectors over real sockets, by the name of the library they use.
TRANSPORTS: dict[str, Connector] = {
    "trio-websocket": trio_websocket_connector,
    "websockets": websockets_connector,
}


@pytest.fixture(params=list(TRANSPORTS))
def transport(request: pytest.FixtureRequest) -> Connector:
    """Each of the library's transports in turn (pass it as ``connector=``)."""
    return TRANSPORTS[request.param]


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedExchange]:
    """A simulated exchange serving on 127.0.0.1 (seed 0)."""
    async with open_simulated_exchange(seed=0) as exchange:
        yield exchange


@pytest.fixture
async def memory_sim(autojump_clock: trio.testing.MockClock) -> AsyncIterator[SimulatedExchange]:
    """The in-memory simulated exchange (seed 0) under an autojumping MockClock.

    pytest-trio only runs a test under a clock the test function itself takes, so a test
    using this fixture must also take ``autojump_clock``.
    """
    if trio.lowlevel.current_clock() is not autojump_clock:
        raise pytest.UsageError("a test using memory_sim must also take autojump_clock")
    async with open_simulated_exchange(seed=0, memory=True) as exchange:
        yield exchange


RawWs = Callable[[SimulatedExchange, str], AbstractAsyncContextManager[Any]]


@asynccontextmanager
async def open_raw_ws(
    exchange: SimulatedExchange, url: str
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """A plain trio-websocket client connection to ``url`` of ``exchange``.

    A refused handshake raises ``trio_websocket.ConnectionRejected`` (unwrapped).
    """
    try:
        async with trio.open_nursery() as nursery:
            stream: trio.abc.Stream | None = None
            if exchange.memory:
                ws, stream = await exchange._memory_websocket(nursery, url)
            else:
                parts = urlsplit(url)
                assert parts.hostname is not None
                assert parts.port is not None
                tcp = await trio.open_tcp_stream(parts.hostname, parts.port)
                stream = tcp
                try:
                    ws = await trio_websocket.wrap_client_stream(
                        nursery, tcp, parts.hostname, parts.path or "/"
                    )
                except BaseException:
                    await trio.aclose_forcefully(tcp)
                    raise
            try:
                yield ws
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(2):
                    await ws.aclose()
                    if stream is not None:
                        await trio.aclose_forcefully(stream)
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        rejected, rest = group.split(trio_websocket.ConnectionRejected)
        if rejected is None or rest is not None:
            raise
        leaf: BaseException = rejected
        while isinstance(leaf, BaseExceptionGroup):
            leaf = leaf.exceptions[0]
        raise leaf from None


@pytest.fixture
def raw_ws() -> RawWs:
    """``async with raw_ws(exchange, url) as ws``: a raw trio-websocket client."""
    return open_raw_ws


class Signed(Protocol):
    """Signature of the ``signed`` fixture."""

    def __call__(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        body: object = None,
        credentials: Credentials | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Awaitable[httpx.Response]: ...


_nonces = itertools.count(1)


def make_signed(exchange: SimulatedExchange) -> Signed:
    """A helper sending signed private requests to ``exchange``."""

    async def send(
        client: httpx.AsyncClient,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        body: object = None,
        credentials: Credentials | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        creds = credentials or exchange.credentials
        text = "" if body is None else _signing.compact_json(body)
        query = _signing.query_values(params)
        signed_headers = _signing.rest_headers(
            creds,
            nonce=f"nonce{next(_nonces):027d}",
            timestamp_ms=exchange.now_ms(),
            params=query,
            body=text,
        )
        signed_headers.update(headers or {})
        return await client.request(
            method, path, params=query, content=text.encode(), headers=signed_headers
        )

    return send


@pytest.fixture
def signed() -> Callable[[SimulatedExchange], Signed]:
    """``signed(exchange)`` gives a function sending signed requests to that exchange."""
    return make_signed


# -- raw WebSocket frames ------------------------------------------------------------------


async def recv(ws: trio_websocket.WebSocketConnection) -> dict[str, Any]:
    """The next frame, which must be a JSON object."""
    text = await ws.get_message()
    assert isinstance(text, str)
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


async def send(ws: trio_websocket.WebSocketConnection, obj: object) -> None:
    """Send ``obj`` as compact JSON."""
    await ws.send_message(json.dumps(obj, separators=(",", ":")))


async def expect_silence(ws: trio_websocket.WebSocketConnection, seconds: float) -> None:
    """No frame arrives for ``seconds``."""
    with trio.move_on_after(seconds):
        message = await ws.get_message()
        pytest.fail(f"expected silence, got {message!r}")


async def until_closed(ws: trio_websocket.WebSocketConnection) -> trio_websocket.CloseReason:
    """Read (and drop) frames until the connection ends; return how it ended."""
    while True:
        try:
            await ws.get_message()
        except trio_websocket.ConnectionClosed as exc:
            reason = exc.reason
            break
    assert reason is not None
    return reason


# -- tasks left running --------------------------------------------------------------------


def _all_tasks() -> Iterator[trio.lowlevel.Task]:
    def walk(task: trio.lowlevel.Task) -> Iterator[trio.lowlevel.Task]:
        yield task
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                yield from walk(child)

    root = trio.lowlevel.current_root_task()
    assert root is not None
    yield from walk(root)


def library_tasks() -> list[str]:
    """Running tasks of the stream and of its transports (client or server side)."""
    prefixes = (
        "bitunix_trio._stream.open",
        "bitunix_trio._stream.pool",
        "bitunix_trio._stream.stream",
        "bitunix_trio._stream.connection",
        "trio_websocket",
        "websockets",
    )
    return sorted(task.name for task in _all_tasks() if task.name.startswith(prefixes))


# -- the streaming client --------------------------------------------------------------------


def open_sim_stream(
    exchange: SimulatedExchange, *, seed: int, **kwargs: Any
) -> AbstractAsyncContextManager[BitunixStream]:
    """``open_bitunix_stream`` pointed at ``exchange`` (in process for the memory flavour),
    anonymous unless ``credentials=`` is given, reconnecting with ``random.Random(seed)``;
    any other keyword overrides."""
    options = {**exchange.stream_options(), "credentials": None, "rng": random.Random(seed)}
    options.update(kwargs)
    return open_bitunix_stream(**options)


#: Stream options under which only a (re)login reconciles the account (no periodic or quiet
#: reconciliation).
QUIET = {"reconcile_interval": None, "reconcile_quiet_after": None}


def resting_order(
    exchange: SimulatedExchange, symbol: str, side: str, price: object, qty: str = "0.01"
) -> str:
    """The id of a limit order placed on ``exchange`` directly (not through a client), its
    pushes sent."""
    order = exchange.engine.place_order(
        exchange.credentials.api_key,
        symbol=symbol,
        side=side,
        order_type="LIMIT",
        qty=Decimal(qty),
        price=Decimal(str(price)),
    )
    exchange.flush()
    return order.order_id


def request_times(exchange: SimulatedExchange, prefix: str = "") -> list[float]:
    """When ``exchange`` answered each REST request whose path starts with ``prefix``
    (Trio time, rounded to the microsecond)."""
    return [round(r.time, 6) for r in exchange.recorder.requests if r.path.startswith(prefix)]
