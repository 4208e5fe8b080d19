"""``open_bitunix_stream``: a :class:`~bitunix_trio._stream.stream.BitunixStream` for one block.

::

    async with open_bitunix_stream(credentials) as stream:
        async with stream.subscribe(OrderBook("BTCUSDT", depth=15)) as books:
            async for book in books:
                ...

The arguments are checked before anything starts (:class:`ConfigurationError`). Then the
REST client is opened and the stream's
:class:`~bitunix_trio._stream.supervisor.StreamSupervisor` built complete (connections,
subscription table, REST fallback) and run for the block
(:meth:`~bitunix_trio._stream.supervisor.StreamSupervisor.running`; the task tree is drawn
in the README's "How it works"). Leaving the block closes every socket cleanly, then
cancels what is left.

Error rules: exactly one exception leaves the block. A failure while entering (cannot
connect, wrong credentials) is raised as itself; the body's own exception leaves unchanged;
``KeyboardInterrupt`` stays ``KeyboardInterrupt``; an outer cancel scope cancels cleanly; a
fatal error while running (credentials revoked, reconnects exhausted) cancels the body and
leaves as itself; a group that should never happen becomes ``BitunixInternalError``.
"""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from bitunix_trio._core.config import (
    DEFAULT_BUFFER_SIZE,
    DEFAULT_HEARTBEAT,
    DEFAULT_RECONNECT_POLICY,
    HeartbeatConfig,
    ReconnectPolicy,
    check_buffer_size,
    check_seconds,
    check_ssl_context,
    check_transport_url,
)
from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import ConfigurationError
from bitunix_trio._core.ledger import AccountLedger
from bitunix_trio._core.usage import async_with_only
from bitunix_trio._fallback.fallback import FallbackOptions
from bitunix_trio._fallback.poller import DEFAULT_POLL_INTERVAL
from bitunix_trio._fallback.reconciliation import DEFAULT_QUIET_AFTER, DEFAULT_RECONCILE_INTERVAL
from bitunix_trio._rest.client import rest_client

from .connector import (
    DEFAULT_CLOSE_TIMEOUT,
    Connector,
    NetworkConnector,
    check_ws_url,
    default_connector,
    tls_connector,
    trio_websocket_connector,
)
from .stream import BitunixStream
from .supervisor import StreamSupervisor
from .websockets_connector import websockets_connector

__all__ = ["DEFAULT_FALLBACK_GRACE", "open_bitunix_stream"]

#: Seconds a public connection stays down before REST polling feeds its subscriptions.
DEFAULT_FALLBACK_GRACE = 5.0


def _network_connector(connector: object) -> NetworkConnector | None:
    """``connector`` if it is one of ours over real sockets (it takes ``ssl_context``)."""
    for known in (trio_websocket_connector, websockets_connector):
        if connector is known:
            return known
    return None


@async_with_only("bitunix_trio.open_bitunix_stream(...)", "stream", "stream", BitunixStream)
async def open_bitunix_stream(
    credentials: Credentials | None = None,
    public_url: str = "wss://fapi.bitunix.com/public/",
    private_url: str = "wss://fapi.bitunix.com/private/",
    rest_url: str = "https://fapi.bitunix.com",
    *,
    connector: Connector | None = None,
    reconnect: ReconnectPolicy = DEFAULT_RECONNECT_POLICY,
    heartbeat: HeartbeatConfig = DEFAULT_HEARTBEAT,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    rng: random.Random | None = None,
    rest_transport: Any = None,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
    wall_clock: Callable[[], float] = time.time,
    fallback_grace: float | None = DEFAULT_FALLBACK_GRACE,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    reconcile_interval: float | None = DEFAULT_RECONCILE_INTERVAL,
    reconcile_quiet_after: float | None = DEFAULT_QUIET_AFTER,
    ssl_context: ssl.SSLContext | None = None,
    allow_insecure_transport: bool = False,
) -> AsyncIterator[BitunixStream]:
    """Open a stream to the BitUnix futures exchange for the duration of the block.

    Entering connects the public socket (and, with ``credentials``, the private one and
    logs in); a failure there is raised from the ``async with`` (:class:`ConnectError`,
    :class:`ConnectTimeout`, :class:`AuthenticationError`). Then the stream reconnects by
    itself, with backoff, and replays every subscription; consumers see it only as state
    events.

    Arguments:
        credentials: :class:`Credentials`, needed for the private channels (orders,
            positions, balance, tpsl) and private REST calls.
        public_url, private_url, rest_url: the exchange's endpoints.
        connector: how to open a WebSocket: a :class:`Connector` returning a
            :class:`WebSocketConnection`. The default, :func:`trio_websocket_connector`,
            uses trio-websocket over TCP/TLS; :func:`websockets_connector` uses
            websockets' Trio implementation (faster; the ``fast`` extra). Both take
            ``ssl_context`` and the URL checks below. The simulated exchange offers
            ``exchange.connector`` (in memory); your own connector decides how bytes travel.
        reconnect: :class:`ReconnectPolicy` (backoff, connect timeout, giving up).
        heartbeat: :class:`HeartbeatConfig` (ping interval, reply timeout, stale threshold).
        buffer_size: default buffer of lossless subscriptions (trades, account data).
        rng: the random source of backoff jitter (seed it for reproducible schedules).
        rest_transport: an ``httpx`` transport for ``stream.rest`` (tests, the simulator).
        close_timeout: seconds a clean close of a socket may take.
        wall_clock: Unix time, for ping values, login timestamps and REST signatures.
        fallback_grace: once a public connection has been down this many seconds, its
            market subscriptions are fed from REST (``DataSource.REST``) every
            ``poll_interval`` seconds until it is back, and the stream is ``DEGRADED``;
            None: never.
        reconcile_interval, reconcile_quiet_after: with credentials, the account channels
            are reconciled with REST after every (re)login, every ``reconcile_interval``
            seconds and after ``reconcile_quiet_after`` quiet seconds with orders open
            (None: not that one). Recovered values carry ``DataSource.RECOVERED``; each
            change reaches consumers once.
        ssl_context: an :class:`ssl.SSLContext` to verify the exchange with, for both the
            WebSockets and REST (a private CA, a TLS-intercepting proxy); default: the
            system's trusted certificates. A context that skips verification is refused
            unless ``allow_insecure_transport``.
        allow_insecure_transport: accept ``ws://``/``http://`` URLs to hosts other than this
            machine (loopback is always accepted) and an ``ssl_context`` that skips
            verification: logins and signed requests can then be read, and replayed, on
            the way. URLs served by your own ``connector`` or ``rest_transport`` are not
            checked: they decide how bytes travel.
    """
    if credentials is not None and not isinstance(credentials, Credentials):
        raise ConfigurationError(
            f"credentials must be a Credentials or None, got {type(credentials).__name__}"
        )
    check_ws_url(public_url, "public_url")
    check_ws_url(private_url, "private_url")
    insecure = allow_insecure_transport
    verify = check_ssl_context(ssl_context, allow_insecure_transport=insecure)
    if connector is None:
        connector = default_connector
    network = _network_connector(connector)
    if network is not None:
        for url, name in ((public_url, "public_url"), (private_url, "private_url")):
            check_transport_url(url, name, allow_insecure_transport=insecure)
        if verify is not None:
            connector = tls_connector(verify, network)
    if rest_transport is None:
        check_transport_url(rest_url, "rest_url", allow_insecure_transport=insecure)
    if not isinstance(reconnect, ReconnectPolicy):
        raise ConfigurationError("reconnect must be a ReconnectPolicy")
    if not isinstance(heartbeat, HeartbeatConfig):
        raise ConfigurationError("heartbeat must be a HeartbeatConfig")
    buffer_size = check_buffer_size(buffer_size, name="buffer_size")
    close_timeout = check_seconds(close_timeout, "close_timeout")
    options = FallbackOptions.check(
        fallback_grace, poll_interval, reconcile_interval, reconcile_quiet_after
    )
    ledger = AccountLedger(start_ms=int(wall_clock() * 1000))
    async with rest_client(
        credentials,
        rest_url,
        transport=rest_transport,
        ssl_context=verify,
        allow_insecure_transport=insecure,
        clock=wall_clock,
        on_placed=None if credentials is None else ledger.note_placed,
    ) as rest:
        supervisor = StreamSupervisor(
            credentials=credentials,
            public_url=public_url,
            private_url=private_url,
            connector=connector,
            reconnect=reconnect,
            heartbeat=heartbeat,
            buffer_size=buffer_size,
            rng=random.Random() if rng is None else rng,
            wall_clock=wall_clock,
            close_timeout=close_timeout,
            rest=rest,
            ledger=ledger,
            fallback=options,
        )
        async with supervisor.running():
            yield BitunixStream(supervisor)
