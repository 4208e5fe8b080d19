"""``open_simulated_exchange``: the simulated BitUnix futures exchange and its handle.

The exchange is an :class:`~bitunix_trio.testing._engine.engine.ExchangeEngine` (market, accounts,
matching; deterministic from a seed) behind two adapters:

* WebSocket (``/public/``, ``/private/``): ``trio.serve_tcp`` on ``host`` + trio-websocket,
  over a stream the exchange can cut without a close frame (see ``_servers.ws``);
* REST: the ASGI app of ``_servers.rest`` under hypercorn (trio worker) on its own port.

With ``memory=True`` nothing binds a socket: clients connect through
:meth:`SimulatedExchange.connector` (memory streams, same server code) and
:meth:`SimulatedExchange.rest_transport` (``httpx.ASGITransport``), so
``trio.testing.MockClock(autojump_threshold=0)`` tests are exact.

Example::

    async with open_simulated_exchange(seed=7) as exchange:
        async with trio_websocket.open_websocket_url(exchange.public_url) as ws:
            ...
"""

from __future__ import annotations

import inspect
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from functools import partial
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import trio
import trio.testing
import trio_websocket

from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import ConfigurationError
from bitunix_trio._core.models import AccountBalance, Order, Position
from bitunix_trio._rest.client import open_rest_client
from bitunix_trio._stream.connector import TrioWebSocketConnection, WebSocketConnection
from bitunix_trio._stream.errors import leaves as exception_leaves
from bitunix_trio._stream.errors import reraise
from bitunix_trio._stream.open import open_bitunix_stream
from bitunix_trio._stream.recording import Recording

from ._engine.engine import ExchangeEngine
from ._engine.market import instruments_for
from ._servers.faults import FaultState
from ._servers.recorder import Recorder
from ._servers.replay import Replay, ReplayRestApp, open_replay
from ._servers.rest import RestApp, RestSettings
from ._servers.ws import ConnectionInfo, SimClock, WsServer, WsSettings

__all__ = ["SimulatedExchange", "demo_credentials", "open_simulated_exchange"]

_HEX = "0123456789abcdef"
MEMORY_HOST = "sim.invalid"


def demo_credentials(seed: int = 0) -> Credentials:
    """The demo API key and secret of the exchange opened with ``seed`` (deterministic).

    These are simulator-only values: printing them is harmless.
    """
    rng = random.Random(f"bitunix-trio simulated exchange credentials {seed}")
    api_key = "".join(rng.choice(_HEX) for _ in range(32))
    secret_key = "".join(rng.choice(_HEX) for _ in range(32))
    return Credentials(api_key, secret_key)


class _Offline:
    """What :meth:`SimulatedExchange.offline` returns: usable with ``with`` and ``async with``."""

    def __init__(
        self,
        exchange: SimulatedExchange,
        go_offline: Callable[[], None],
        go_online: Callable[[], None],
    ) -> None:
        self._exchange = exchange
        self._go_offline = go_offline
        self._go_online = go_online

    def __enter__(self) -> SimulatedExchange:
        self._go_offline()
        return self._exchange

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._go_online()

    async def __aenter__(self) -> SimulatedExchange:
        exchange = self.__enter__()
        await trio.lowlevel.checkpoint()
        return exchange

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
        await trio.lowlevel.checkpoint()


class SimulatedExchange:
    """Handle of a running simulated exchange (made by :func:`open_simulated_exchange`).

    Attributes:
        public_url: ``ws://HOST:PORT/public/`` (``ws://sim.invalid/public/`` in memory).
        private_url: ``ws://HOST:PORT/private/``.
        rest_url: ``http://HOST:PORT`` of the REST API (``http://sim.invalid`` in memory).
        credentials: a :class:`~bitunix_trio.Credentials` the exchange accepts (demo values
            derived from the seed).
        engine: the :class:`ExchangeEngine` (market, accounts, admin hooks).
        recorder: every WebSocket frame and REST request received (:class:`Recorder`).
        memory: whether this is the in-memory flavour (no socket bound).
        replay: the :class:`Replay` being served (``open_simulated_exchange(replay=...)``),
            else None.

    Fault methods are synchronous and take effect at once; each is documented below.
    """

    replay: Replay | None = None

    def __init__(
        self,
        *,
        engine: ExchangeEngine,
        credentials: Credentials,
        recorder: Recorder,
        faults: FaultState,
        ws: WsServer,
        rest: RestApp,
        nursery: trio.Nursery,
        public_url: str,
        private_url: str,
        rest_url: str,
        memory: bool,
    ) -> None:
        self.engine = engine
        self.credentials = credentials
        self.recorder = recorder
        self.public_url = public_url
        self.private_url = private_url
        self.rest_url = rest_url
        self.memory = memory
        self._faults = faults
        self._ws = ws
        self._rest = rest
        self._nursery = nursery

    def __repr__(self) -> str:
        flavour = "memory" if self.memory else self.rest_url
        return f"<SimulatedExchange {flavour} seed={self.engine.seed}>"

    # -- state ---------------------------------------------------------------------------

    @property
    def connections(self) -> tuple[ConnectionInfo, ...]:
        """Snapshots of the live WebSocket connections, oldest first."""
        return self._ws.connections()

    @property
    def connection_count(self) -> int:
        """The number of live WebSocket connections."""
        return len(self._ws.connections())

    @property
    def faults(self) -> FaultState:
        """The current fault switches (read them; change them with the fault methods)."""
        return self._faults

    @property
    def rest_app(self) -> RestApp:
        """The ASGI application of the REST side."""
        return self._rest

    @property
    def tick(self) -> int:
        """The number of market ticks (every 310 ms) since the exchange opened."""
        return self._ws.tick

    def now_ms(self) -> int:
        """The exchange's clock now, in Unix milliseconds (follows Trio's clock).

        It starts at the wall clock when the exchange opens (or at ``start_time``) and
        advances with Trio's clock: real time over loopback, virtual time under
        ``MockClock``. Every ``ts``, trade time, ``ctime`` and kline time comes from it.
        """
        return self._ws.clock.now_ms()

    @property
    def start_ms(self) -> int:
        """The exchange's clock (Unix milliseconds) when it opened (Trio time ``t0``)."""
        return self._ws.clock.start_ms

    def wall_clock(self) -> float:
        """The exchange's clock now, in seconds since the epoch (a client's ``wall_clock``
        that agrees with the exchange, in virtual time too); :meth:`stream_options` and
        :meth:`rest_options` pass it. A clock-skew fault (:meth:`skew_clock`) does not move
        it."""
        return self._ws.clock.now_ms() / 1000

    async def wait_for_connections(self, count: int, *, path: str | None = None) -> None:
        """Wait until exactly ``count`` sockets (of ``path``, if given) are open."""
        while True:
            live = [
                c
                for c in self._ws.connections()
                if path is None or c.path.rstrip("/") == path.rstrip("/")
            ]
            if len(live) == count:
                return
            await self._ws.wait_changed()

    # -- in-process transports -----------------------------------------------------------

    async def connector(self, nursery: trio.Nursery, url: str) -> WebSocketConnection:
        """Open a WebSocket to this exchange over an in-memory stream (no socket).

        A ``Connector`` for ``open_bitunix_stream(connector=...)``: the server end runs the
        same code as loopback connections; only the path of ``url`` matters. While the
        WebSocket side is down the handshake is refused (HTTP 503), as by the loopback
        server: trio-websocket raises ``ConnectionRejected`` from its task in ``nursery``
        (the stream reports it as :class:`~bitunix_trio.ConnectError`).
        """
        ws, transport = await self._memory_websocket(nursery, url)
        return TrioWebSocketConnection(ws, transport)

    async def _memory_websocket(
        self, nursery: trio.Nursery, url: str
    ) -> tuple[trio_websocket.WebSocketConnection, trio.abc.Stream]:
        """A raw trio-websocket client over an in-memory stream, and that stream."""
        client_end, server_end = trio.testing.memory_stream_pair()
        self._nursery.start_soon(self._ws.serve_stream, server_end)
        parts = urlsplit(url)
        resource = parts.path or "/"
        if parts.query:
            resource += "?" + parts.query
        # trio-websocket's annotation says SocketStream, but any trio Stream works.
        stream: Any = client_end
        ws = await trio_websocket.wrap_client_stream(
            nursery, stream, parts.hostname or MEMORY_HOST, resource
        )
        return ws, client_end

    def rest_transport(self) -> httpx.ASGITransport:
        """An ``httpx`` transport that calls the REST app in process."""
        return httpx.ASGITransport(app=self._rest)

    def rest_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` for the REST API (in process for the memory flavour)."""
        if self.memory:
            kwargs.setdefault("transport", self.rest_transport())
        return httpx.AsyncClient(base_url=self.rest_url, **kwargs)

    def stream_options(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments that point ``open_bitunix_stream`` at this exchange.

        ``open_bitunix_stream(**exchange.stream_options())`` connects with the exchange's
        demo credentials. The options are ``credentials``, ``public_url``, ``private_url``,
        ``rest_url`` and ``wall_clock`` (:meth:`wall_clock`), and for the in-memory flavour
        also the in-process ``connector`` and ``rest_transport``. ``overrides`` replace or
        add any keyword argument of ``open_bitunix_stream``, e.g.
        ``exchange.stream_options(credentials=None)`` for a public-only stream or
        ``exchange.stream_options(heartbeat=...)``; a name that ``open_bitunix_stream``
        does not take raises ``ConfigurationError``.
        """
        options: dict[str, Any] = {
            "credentials": self.credentials,
            "public_url": self.public_url,
            "private_url": self.private_url,
            "rest_url": self.rest_url,
            "wall_clock": self.wall_clock,
        }
        if self.memory:
            options["connector"] = self.connector
            options["rest_transport"] = self.rest_transport()
        return _with_overrides(options, overrides, open_bitunix_stream)

    def rest_options(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments that point ``open_rest_client`` at this exchange.

        ``open_rest_client(**exchange.rest_options())`` calls it with the demo credentials.
        The options are ``credentials``, ``base_url`` and ``clock`` (:meth:`wall_clock`),
        and for the in-memory flavour ``transport``. ``overrides`` replace or add any
        keyword argument of ``open_rest_client``, e.g.
        ``exchange.rest_options(credentials=None, timeout=2)``; a name that
        ``open_rest_client`` does not take raises ``ConfigurationError``.
        """
        options: dict[str, Any] = {
            "credentials": self.credentials,
            "base_url": self.rest_url,
            "clock": self.wall_clock,
        }
        if self.memory:
            options["transport"] = self.rest_transport()
        return _with_overrides(options, overrides, open_rest_client)

    # -- account changes -----------------------------------------------------------------

    def flush(self) -> None:
        """Push queued private events to logged-in sockets now (else: on the next tick)."""
        self._ws.flush_private()

    def fill_order(
        self,
        order_id: str,
        qty: Decimal | None = None,
        price: Decimal | None = None,
        *,
        api_key: str | None = None,
    ) -> Order:
        """Fill (part of) an open order of the demo account (or ``api_key``'s) as a maker;
        the pushes go out at once to logged-in sockets."""
        result = self.engine.fill_order(api_key or self.credentials.api_key, order_id, qty, price)
        self.flush()
        return result

    def cancel_order(self, order_id: str, *, api_key: str | None = None) -> Order:
        """Cancel an open order as the venue does (``SYSTEM_CANCELED``)."""
        result = self.engine.cancel_order_by_exchange(api_key or self.credentials.api_key, order_id)
        self.flush()
        return result

    def set_position(
        self,
        symbol: str,
        side: str,
        qty: Decimal | str,
        entry_price: Decimal | str,
        *,
        api_key: str | None = None,
    ) -> Position | None:
        """Replace the position of ``symbol`` (qty 0 closes it; None is returned then)."""
        result = self.engine.set_position(
            api_key or self.credentials.api_key, symbol, side, qty, entry_price
        )
        self.flush()
        return result

    def credit(
        self, coin: str, amount: Decimal | str, *, api_key: str | None = None
    ) -> AccountBalance:
        """Add (or, negative, remove) funds; returns the new balance."""
        result = self.engine.credit(api_key or self.credentials.api_key, coin, amount)
        self.flush()
        return result

    def set_mid_price(self, symbol: str, price: Decimal | str) -> None:
        """Move the market of ``symbol`` to ``price`` (resting orders it crosses fill)."""
        self.engine.set_mid_price(symbol, price)
        self.flush()

    # -- faults --------------------------------------------------------------------------

    def drop_all(self) -> None:
        """Cut every WebSocket with no close frame (clients see 1006). They may reconnect."""
        self._ws.drop_all("dropped by drop_all()")

    def close_all(self, code: int = 1011, reason: str = "") -> None:
        """Close every WebSocket with a proper close frame carrying ``code`` and ``reason``."""
        self._ws.close_all(code, reason)

    def go_silent(self, on: bool = True) -> None:
        """Keep sockets open but send nothing and answer nothing (no pushes, no pongs, no
        replies) while on. Sockets still count pings, so they are not dropped as idle."""
        self._faults.silent = on

    def stop_answering_pings(self, on: bool = True) -> None:
        """Leave JSON pings unanswered while on (pushes continue)."""
        self._faults.no_pong = on

    def reject_next_logins(self, n: int = 1) -> None:
        """Fail the next ``n`` logins (``{"op":"login","data":{"result":false,...}}``)."""
        self._faults.reject_logins = n

    def refuse_subscriptions(self, on: bool = True) -> None:
        """Answer every subscribe with the over-300 refusal frame and add nothing, while on."""
        self._faults.refuse_subscriptions = on

    def send_garbage(self, n: int = 1) -> None:
        """Send ``n`` garbage frames (non-JSON, truncated and ill-shaped JSON) to every socket,
        after what is already queued. The sockets stay open."""
        self._ws.send_garbage(n)

    def send_text(self, text: str) -> None:
        """Send one text frame, exactly as given (any JSON, or none), to every socket, after
        what is already queued."""
        self._ws.send_text(text)

    def malformed_rest(self, on: bool = True) -> None:
        """Answer every REST call with HTTP 200 and a body no client can use while on: JSON
        nested 100,000 deep, truncated JSON, a value that is not an envelope, the wrong
        shapes, impossible numbers, bytes that are not UTF-8, in turn (from the first each
        time it is switched on)."""
        self._faults.malformed_rest = on
        self._faults.malformed_index = 0

    def throttle_rest(self, on: bool = True) -> None:
        """Answer every REST call with code 10006 (rate limited) while on."""
        self._faults.throttle_rest = on

    def rest_down(self, on: bool = True) -> None:
        """Answer every REST call with HTTP 503 and an HTML body while on."""
        self._faults.rest_down = on

    def ws_down(self, on: bool = True) -> None:
        """While on, refuse WebSocket handshakes (HTTP 503) and drop the open sockets."""
        self._faults.ws_down = on
        if on:
            self._ws.drop_all("dropped by ws_down()")

    def offline(self) -> _Offline:
        """``with``/``async with`` block during which the WebSocket side is down.

        Entering drops every socket (no close frame) and refuses reconnection; private events
        produced inside the block (fills, cancels, position changes through the admin hooks)
        are discarded, as the real exchange does not replay them: clients must reconcile over
        REST when they are back. Leaving lets clients reconnect.
        """
        return _Offline(self, self._go_offline, self._go_online)

    def skew_clock(self, seconds: float) -> None:
        """Set the exchange's own clock ``seconds`` ahead of the market clock (negative:
        behind; 0 puts it right).

        From now on signed REST requests and logins are judged by the skewed clock, and the
        REST ``Date`` header shows it; pushes keep their times. A client that signs with
        :meth:`wall_time` (or the real clock, over loopback) then sees what a bot whose clock
        is off by ``-seconds`` sees live: once that passes the freshness window (60 s), REST
        calls answer 10007 ``"Timestamp expired"`` and logins fail.
        """
        self._ws.clock.skew_ms = round(seconds * 1000)

    def reset_faults(self) -> None:
        """Switch every fault off (the clock skew included)."""
        self._faults.reset()
        self._ws.clock.skew_ms = 0

    def _go_offline(self) -> None:
        self._faults.offline_depth += 1
        self._ws.drop_all("dropped by offline()")
        self._ws.flush_private()

    def _go_online(self) -> None:
        self._ws.flush_private()
        self._faults.offline_depth = max(0, self._faults.offline_depth - 1)


@asynccontextmanager
async def open_simulated_exchange(
    seed: int = 0,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    rest_port: int = 0,
    memory: bool = False,
    engine: ExchangeEngine | None = None,
    start_time: float | datetime | None = None,
    symbols: Sequence[str] | None = None,
    credentials: Credentials | None = None,
    balances: Mapping[str, Decimal] | None = None,
    idle_timeout: float | None = 60.0,
    max_messages_per_second: int | None = 5,
    max_streams_per_connection: int = 300,
    rest_rate_limits: bool = True,
    replay: str | os.PathLike[str] | Recording | None = None,
    speed: float = 1.0,
    loop: bool = False,
    freshness_window: float | None = 60.0,
) -> AsyncIterator[SimulatedExchange]:
    """Run a simulated BitUnix futures exchange for the duration of the block.

    Arguments:
        seed: seeds the market and the demo credentials; the same seed gives the same
            market (and the same pushes at the same times).
        host, port: where the WebSocket side listens (port 0: chosen by the OS).
        rest_port: where the REST side listens (0: chosen by the OS).
        memory: bind nothing; connect with :meth:`SimulatedExchange.connector` and
            :meth:`SimulatedExchange.rest_transport` (exact under ``MockClock``).
        engine: an engine to serve (default: an ``ExchangeEngine`` of ``seed``, ``symbols``
            and ``start_time``); the exchange's clock then starts at its ``now_ms``.
        start_time: where the exchange's clock starts (Unix seconds or an aware
            ``datetime``); default: the wall clock when the exchange opens. From there the
            clock follows Trio's (real time over loopback, virtual under ``MockClock``).
            Give a fixed start for runs that must repeat exactly (with the same ``seed``).
        symbols: the listed perpetuals (default :data:`DEFAULT_SYMBOLS`: 24 listed USDT
            perpetuals plus the PREVIEW ``NEWUSDT``); known symbols get their catalogue
            tick size, lot and price (:data:`INSTRUMENT_CATALOGUE`), others a generic
            instrument.
        credentials: the account to create (default :func:`demo_credentials`).
        balances: starting balances of that account (the engine's default otherwise).
        idle_timeout: drop sockets with no JSON ping for this long (None: never).
        max_messages_per_second: drop clients sending more (None: no limit).
        max_streams_per_connection: subscriptions per socket before the refusal frame.
        rest_rate_limits: apply the REST rate limits (10/s, cancel 5/s).
        replay: a recording (``bitunix-trio record``: a file, or a loaded
            :class:`Recording`) to serve instead of the simulated market: its pushes to
            subscribers at their recorded times, its REST answers (see
            ``bitunix_trio.testing._servers.replay``); ``exchange.replay`` is the :class:`Replay`.
        speed: with ``replay``, how many times faster than recorded.
        loop: with ``replay``, start over at the end (else the pushes stop there).
        freshness_window: seconds a signed REST request's or a login's timestamp may be off
            the exchange's clock (None: any age); REST nonces are refused when reused
            within it.

    Everything (servers, sockets, tasks) is torn down when the block exits.
    """
    if engine is None:
        engine = ExchangeEngine(
            seed=seed,
            instruments=None if symbols is None else instruments_for(symbols),
            start_ms=start_ms_of(start_time),
        )
    elif start_time is not None or symbols is not None:
        raise ValueError(
            "start_time and symbols configure the default engine: with engine=, "
            "give them to the ExchangeEngine"
        )
    if credentials is None:
        credentials = demo_credentials(seed)
    if engine.account_by_key(credentials.api_key) is None:
        if balances is None:
            engine.create_account(credentials.api_key, credentials.secret_key)
        else:
            engine.create_account(credentials.api_key, credentials.secret_key, balances)
    faults = FaultState()
    recorder = Recorder()
    try:
        async with trio.open_nursery() as nursery:
            clock = SimClock(engine.now_ms, engine.tick_ms)
            ws = WsServer(
                engine,
                clock,
                faults,
                recorder,
                WsSettings(
                    idle_timeout=idle_timeout,
                    max_messages_per_second=max_messages_per_second,
                    max_streams=max_streams_per_connection,
                    freshness_window=freshness_window,
                ),
            )
            ws.remember_key(credentials.api_key)
            replayer = None if replay is None else open_replay(replay, speed=speed, loop=loop)
            rest = (RestApp if replayer is None else ReplayRestApp)(
                engine,
                clock,
                faults,
                recorder,
                on_private_change=ws.flush_private,
                settings=RestSettings(
                    rate_limits=rest_rate_limits, freshness_window=freshness_window
                ),
            )
            if replayer is None:
                await nursery.start(ws.run_ticker)
            else:
                cast(ReplayRestApp, rest).replay = replayer
                await nursery.start(replayer.run, ws)
            shutdown = trio.Event()
            rest_done = trio.Event()
            if memory:
                ws_base = f"ws://{MEMORY_HOST}"
                rest_url = f"http://{MEMORY_HOST}"
            else:
                listeners = await nursery.start(
                    partial(trio.serve_tcp, ws.serve_stream, port, host=host)
                )
                ws_port = listeners[0].socket.getsockname()[1]
                ws_base = f"ws://{_url_host(host)}:{ws_port}"
                rest_url = await nursery.start(
                    _serve_rest, rest, host, rest_port, shutdown, rest_done
                )
            exchange = SimulatedExchange(
                engine=engine,
                credentials=credentials,
                recorder=recorder,
                faults=faults,
                ws=ws,
                rest=rest,
                nursery=nursery,
                public_url=f"{ws_base}/public/",
                private_url=f"{ws_base}/private/",
                rest_url=rest_url,
                memory=memory,
            )
            exchange.replay = replayer
            try:
                yield exchange
            finally:
                ws.drop_all("exchange closed")
                if not memory:
                    shutdown.set()
                    with trio.move_on_after(2.0):
                        await rest_done.wait()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # The block's own exception (or a cancellation) leaves unwrapped.
        leaves = list(exception_leaves(group))
        if len(leaves) != 1:
            raise
        reraise(leaves[0])


def _with_overrides(
    options: dict[str, Any], overrides: dict[str, Any], target: Callable[..., object]
) -> dict[str, Any]:
    """``options`` updated with ``overrides``, every name of which ``target`` must take."""
    accepted = inspect.signature(target).parameters
    unknown = sorted(name for name in overrides if name not in accepted)
    if unknown:
        raise ConfigurationError(
            f"{target.__name__}() takes no argument named {', '.join(map(repr, unknown))}"
        )
    return {**options, **overrides}


def start_ms_of(start_time: float | datetime | None) -> int:
    """Unix milliseconds of ``start_time`` (Unix seconds, aware datetime, None: now)."""
    if start_time is None:
        return int(time.time() * 1000)
    if isinstance(start_time, datetime):
        if start_time.tzinfo is None:
            raise ValueError("start_time must be an aware datetime (e.g. tzinfo=UTC)")
        return round(start_time.timestamp() * 1000)
    if isinstance(start_time, bool) or not isinstance(start_time, int | float):
        raise TypeError("start_time must be Unix seconds, an aware datetime or None")
    if not 0 <= start_time < 10**11:
        raise ValueError(f"start_time must be Unix seconds, not {start_time!r}")
    return round(start_time * 1000)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _serve_rest(
    app: RestApp,
    host: str,
    port: int,
    shutdown: trio.Event,
    done: trio.Event,
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the REST app with hypercorn's trio worker until ``shutdown`` is set."""
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"{_url_host(host)}:{port}"]
    config.errorlog = None
    config.accesslog = None
    config.include_date_header = False  # the app dates its answers by the exchange's clock
    config.graceful_timeout = 1.0
    try:
        async with trio.open_nursery() as nursery:
            binds: list[str] = await nursery.start(
                partial(serve, cast(Any, app), config, shutdown_trigger=shutdown.wait)
            )
            task_status.started(binds[0])
    finally:
        done.set()
