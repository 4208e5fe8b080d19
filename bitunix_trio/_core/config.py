"""Configuration values: reconnect policy, heartbeat and subscription defaults.

Every setting is a frozen value object checked when it is built, so a bad setting raises
:class:`~bitunix_trio.ConfigurationError` at the call that made it, before any I/O::

    policy = ReconnectPolicy(max_delay=10.0, max_attempts=20)
    heartbeat = HeartbeatConfig(interval=20.0)

Use :func:`dataclasses.replace` to derive a variant of a default::

    dataclasses.replace(DEFAULT_RECONNECT_POLICY, max_attempts=5)

This module is pure: it imports only the standard library.
"""

from __future__ import annotations

import ipaddress
import math
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ConfigurationError

__all__ = [
    "DEFAULT_BUFFER_SIZE",
    "DEFAULT_HEARTBEAT",
    "DEFAULT_RECONNECT_POLICY",
    "EXCHANGE_IDLE_TIMEOUT",
    "MAX_HEARTBEAT_INTERVAL",
    "HeartbeatConfig",
    "ReconnectPolicy",
    "check_buffer_size",
    "check_ssl_context",
    "check_transport_url",
    "is_loopback_host",
]

#: How long the exchange keeps a socket that sends nothing, in seconds (observed: ~60 s,
#: then the TCP connection is dropped without a close frame).
EXCHANGE_IDLE_TIMEOUT = 60.0

#: The longest ping interval :class:`HeartbeatConfig` accepts, in seconds: three quarters of
#: the exchange's idle timeout, so that one late ping still keeps the socket open.
MAX_HEARTBEAT_INTERVAL = 45.0

#: Default number of messages a subscription buffers for a slow consumer.
DEFAULT_BUFFER_SIZE = 256


def check_seconds(value: object, name: str, *, zero: bool = False) -> float:
    """``value`` as a float if it is a finite positive number of seconds (zero too with
    ``zero``): the one check of every duration the library takes (the connection policies,
    the stream's, the fallback's and the REST client's options).

    Raises :class:`~bitunix_trio.ConfigurationError` naming ``name`` otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a number of seconds, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigurationError(f"{name} must be finite, got {number!r}")
    if number < 0 or (number == 0 and not zero):
        bound = "zero or positive" if zero else "positive"
        raise ConfigurationError(f"{name} must be {bound}, got {number!r}")
    return number


def check_optional_seconds(value: object, name: str, *, zero: bool = False) -> float | None:
    """Like :func:`check_seconds`, with None allowed (and returned)."""
    return None if value is None else check_seconds(value, name, zero=zero)


def check_buffer_size(size: object, *, name: str = "buffer") -> int:
    """Return ``size`` if it is a valid subscription buffer size (an int >= 1).

    Raises :class:`~bitunix_trio.ConfigurationError` otherwise.
    """
    if isinstance(size, bool) or not isinstance(size, int):
        raise ConfigurationError(f"{name} must be an int, got {type(size).__name__}")
    if size < 1:
        raise ConfigurationError(f"{name} must be at least 1, got {size}")
    return size


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How the stream reconnects after it loses a connection.

    The delay before reconnect attempt ``n`` (counting from 0) is drawn uniformly from
    ``[0, min(max_delay, initial_delay * factor**n)]`` ("full jitter"), so many clients that
    lost the exchange together do not come back in lock step.

    Arguments:
        initial_delay: upper bound of the first delay, in seconds. Default 0.5.
        max_delay: cap on any delay's upper bound, in seconds; at least ``initial_delay``.
            Default 30.
        factor: growth of the bound per failed attempt; at least 1. Default 2.
        stable_after: a connection that stays up this many seconds resets the attempt count,
            so the next loss starts again from ``initial_delay``. A connection that drops
            sooner does not: a server that accepts and then immediately drops us still gets
            exponentially growing delays. Default 30.
        max_attempts: give up (the stream fails) after this many consecutive failed attempts;
            ``None`` retries forever. Default ``None``.
        connect_timeout: how long one connect (TCP, TLS, WebSocket handshake and, on the
            private socket, login) may take, in seconds. Default 10.
        relogin_retries: how many times in a row a re-login the exchange refuses after a
            reconnect is retried (with the same backoff) before the stream fails with
            :class:`~bitunix_trio.AuthenticationError`; a login that succeeds resets the
            count. ``0`` fails at the first refusal. A refused *first* login always fails
            at once: a wrong or revoked key is reported, not retried. Default 5.

    Usage::

        ReconnectPolicy()                                  # the defaults
        ReconnectPolicy(max_delay=5.0, max_attempts=10)    # impatient
        ReconnectPolicy(relogin_retries=0)                 # a refused re-login is fatal
    """

    initial_delay: float = 0.5
    max_delay: float = 30.0
    factor: float = 2.0
    stable_after: float = 30.0
    max_attempts: int | None = None
    connect_timeout: float = 10.0
    relogin_retries: int = 5

    def __post_init__(self) -> None:
        owner = "ReconnectPolicy"
        initial = check_seconds(self.initial_delay, f"{owner}.initial_delay")
        cap = check_seconds(self.max_delay, f"{owner}.max_delay")
        if cap < initial:
            raise ConfigurationError(
                f"ReconnectPolicy.max_delay ({cap!r}) must be at least initial_delay ({initial!r})"
            )
        factor = self.factor
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            raise ConfigurationError(
                f"ReconnectPolicy.factor must be a number, got {type(factor).__name__}"
            )
        if not math.isfinite(factor) or factor < 1:
            raise ConfigurationError(
                f"ReconnectPolicy.factor must be a finite number >= 1, got {factor!r}"
            )
        check_seconds(self.stable_after, f"{owner}.stable_after", zero=True)
        attempts = self.max_attempts
        if attempts is not None:
            if isinstance(attempts, bool) or not isinstance(attempts, int):
                raise ConfigurationError(
                    "ReconnectPolicy.max_attempts must be an int or None, "
                    f"got {type(attempts).__name__}"
                )
            if attempts < 1:
                raise ConfigurationError(
                    f"ReconnectPolicy.max_attempts must be at least 1 (or None), got {attempts}"
                )
        check_seconds(self.connect_timeout, f"{owner}.connect_timeout")
        retries = self.relogin_retries
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise ConfigurationError(
                f"ReconnectPolicy.relogin_retries must be an int, got {type(retries).__name__}"
            )
        if retries < 0:
            raise ConfigurationError(
                f"ReconnectPolicy.relogin_retries must be at least 0, got {retries}"
            )


@dataclass(frozen=True, slots=True)
class HeartbeatConfig:
    """How the stream checks that a connection is alive.

    The exchange drops a socket that sends nothing for about a minute, without a close
    frame, so the client sends a JSON ping every ``interval`` seconds; that also tells it
    when the socket has silently died.

    Arguments:
        interval: seconds between pings. Positive and at most
            :data:`MAX_HEARTBEAT_INTERVAL` (45 s, well under the exchange's 60 s idle
            drop). Default 15.
        timeout: seconds the reply to a ping may take before the connection is declared
            dead; less than ``interval``. Default 5.
        stale_after: seconds without any data for a subscription before it is reported
            stale; a connection with live subscriptions that is entirely silent for this
            long is declared dead (public channels push every few hundred milliseconds).
            Default 10.

    Usage::

        HeartbeatConfig()                       # ping every 15 s, 5 s to answer
        HeartbeatConfig(interval=20.0, timeout=8.0, stale_after=30.0)
    """

    interval: float = 15.0
    timeout: float = 5.0
    stale_after: float = 10.0

    def __post_init__(self) -> None:
        owner = "HeartbeatConfig"
        interval = check_seconds(self.interval, f"{owner}.interval")
        timeout = check_seconds(self.timeout, f"{owner}.timeout")
        check_seconds(self.stale_after, f"{owner}.stale_after")
        if interval > MAX_HEARTBEAT_INTERVAL:
            raise ConfigurationError(
                f"HeartbeatConfig.interval must be at most {MAX_HEARTBEAT_INTERVAL:g} s "
                f"(the exchange drops a socket idle for about {EXCHANGE_IDLE_TIMEOUT:g} s), "
                f"got {interval!r}"
            )
        if timeout >= interval:
            raise ConfigurationError(
                f"HeartbeatConfig.timeout ({timeout!r}) must be less than interval ({interval!r})"
            )


#: The reconnect policy used when none is given.
DEFAULT_RECONNECT_POLICY = ReconnectPolicy()

#: The heartbeat settings used when none are given.
DEFAULT_HEARTBEAT = HeartbeatConfig()


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` is this machine: ``localhost``, 127.0.0.0/8 or ``::1``."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_SECURE_SCHEME = {"ws": "wss", "http": "https"}


def check_transport_url(url: str, name: str, *, allow_insecure_transport: bool) -> str:
    """Return ``url`` unless it is clear text (``ws://``, ``http://``) to another machine.

    Signed REST requests and logins would cross the network readable by anyone on the
    way; :class:`~bitunix_trio.ConfigurationError` unless ``allow_insecure_transport``.
    Loopback hosts are always allowed (a local simulated exchange, a local TLS proxy).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in _SECURE_SCHEME and not allow_insecure_transport:
        host = parts.hostname
        if not is_loopback_host(host):
            raise ConfigurationError(
                f"{name} {url!r} is not encrypted: requests to {host} would cross the "
                f"network in clear text; use {_SECURE_SCHEME[scheme]}:// (or pass "
                "allow_insecure_transport=True if the network path is trusted)"
            )
    return url


def check_ssl_context(context: object, *, allow_insecure_transport: bool) -> ssl.SSLContext | None:
    """Return ``context`` (an :class:`ssl.SSLContext` or None) if it verifies the server.

    A context that skips certificate or host-name verification is refused
    (:class:`~bitunix_trio.ConfigurationError`) unless ``allow_insecure_transport``.
    """
    if context is None:
        return None
    if not isinstance(context, ssl.SSLContext):
        raise ConfigurationError(
            f"ssl_context must be an ssl.SSLContext or None, got {type(context).__name__}"
        )
    if not allow_insecure_transport:
        if context.verify_mode == ssl.CERT_NONE:
            raise ConfigurationError(
                "ssl_context does not verify the server's certificate (verify_mode is "
                "CERT_NONE); use ssl.create_default_context() (with "
                "cafile= for a private CA), or pass allow_insecure_transport=True"
            )
        if not context.check_hostname:
            raise ConfigurationError(
                "ssl_context does not check the server's host name (check_hostname is "
                "False); set it to True, or pass allow_insecure_transport=True"
            )
    return context
