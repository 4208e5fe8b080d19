"""The exceptions bitunix-trio raises.

Every error the library raises on purpose is a :class:`BitunixError`::

    BitunixError
    ├─ ConfigurationError (also ValueError)      bad arguments, raised eagerly
    ├─ UsageError (also TypeError)               used without 'async with'; shows the line
    ├─ TransportError
    │   ├─ ConnectError
    │   │   └─ ConnectTimeout
    │   └─ ConnectionLost(close_code, reason)     normally absorbed by the supervisor
    ├─ ProtocolError
    │   ├─ LocalProtocolError
    │   └─ RemoteProtocolError
    ├─ ExchangeError(code, message)
    │   ├─ AuthenticationError                    never retried
    │   │   └─ ClockSkewError(offset)             refused: the local clock is off
    │   ├─ SubscriptionRejected(spec)             raised at subscribe()
    │   └─ RateLimited
    ├─ RestError(status, code, message)
    ├─ SubscriptionLost (also trio.BrokenResourceError)
    │   └─ ConsumerTooSlow
    ├─ StreamClosed (also trio.ClosedResourceError)
    ├─ StreamFailed                               __cause__ = the root error
    └─ BitunixInternalError                       "please report"; __cause__ = the group

``SubscriptionLost``, ``ConsumerTooSlow`` and ``StreamClosed`` also derive from Trio's
channel exceptions, so they live in the Trio layer (``bitunix_trio._stream.errors``); this
module stays free of any I/O library.

Every exception passes its arguments to ``BaseException.__init__`` so that ``copy`` and
``pickle`` round-trip it, and none of them ever carries a secret.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BitunixError",
    "BitunixInternalError",
    "ClockSkewError",
    "ConfigurationError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionLost",
    "ExchangeError",
    "LocalProtocolError",
    "ProtocolError",
    "RateLimited",
    "RemoteProtocolError",
    "RestError",
    "StreamFailed",
    "SubscriptionRejected",
    "TlsCertificateError",
    "TransportError",
    "UsageError",
]


class BitunixError(Exception):
    """Base class of every error bitunix-trio raises on purpose."""


class ConfigurationError(BitunixError, ValueError):
    """An argument or a configuration file is invalid; raised before any I/O happens."""


class UsageError(BitunixError, TypeError):
    """The library was used the wrong way, e.g. ``open_bitunix_stream(...)``,
    ``open_rest_client(...)`` or ``stream.subscribe(...)`` without ``async with``.

    The message names what went wrong and shows the line to write instead.
    """


class TransportError(BitunixError):
    """The network connection to the exchange failed."""


class ConnectError(TransportError):
    """A connection (TCP, TLS or the WebSocket handshake) could not be opened."""


class TlsCertificateError(ConnectError):
    """The server's TLS certificate could not be verified (unknown CA, expired, wrong host
    name).

    Raised at once from the first connect (the configuration, an ``ssl_context``, or the
    network path is wrong: a TLS-intercepting proxy, say); on a later reconnect it is
    retried like any other connect failure.
    """


class ConnectTimeout(ConnectError):
    """Opening a connection took longer than the configured connect timeout."""


class ConnectionLost(TransportError):
    """An open WebSocket connection ended.

    ``close_code`` is the WebSocket close code (``1006`` when the peer vanished without a
    close frame, as the exchange does when it drops an idle socket) or ``None`` when the
    connection was declared dead locally (a missed heartbeat, a silent socket).
    """

    def __init__(self, close_code: int | None = None, reason: str = "WebSocket disconnected"):
        super().__init__(close_code, reason)
        self.close_code = close_code
        self.reason = reason

    def __str__(self) -> str:
        if self.close_code is None:
            return self.reason
        return f"{self.reason} (close code {self.close_code})"


class ProtocolError(BitunixError):
    """A frame broke the wire protocol."""


class LocalProtocolError(ProtocolError):
    """We were asked to send something the protocol does not allow."""


class RemoteProtocolError(ProtocolError):
    """The exchange sent something the protocol does not allow."""


class ExchangeError(BitunixError):
    """The exchange answered with an error ``code`` and ``message``.

    ``hint`` is what the client adds when it knows more than the exchange said (the pair's
    minimum quantity and precisions for a refused order, the closest known symbols for an
    unknown one), or None; it ends the text of the error.
    """

    #: What the client knows that helps with this error (None: nothing to add).
    hint: str | None = None

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message, code)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        text = self.message if self.code is None else f"{self.message} (code {self.code})"
        return text if self.hint is None else f"{text}: {self.hint}"


class AuthenticationError(ExchangeError):
    """The exchange refused the API key or the signature. Never retried automatically."""

    def __init__(self, message: str = "Authentication failed", code: int | None = None):
        super().__init__(message, code)


class ClockSkewError(AuthenticationError):
    """A signed request or login was refused and the local clock is off the exchange's.

    BitUnix refuses signatures whose timestamp is too far from its own clock. ``offset`` is
    the exchange's clock minus the local one, in seconds (from the reply's ``Date`` header),
    or None when the exchange named the timestamp without saying its time. Synchronise the
    local clock (NTP) or pass a corrected ``clock``/``wall_clock``.
    """

    def __init__(self, message: str, code: int | None = None, offset: float | None = None):
        BitunixError.__init__(self, message, code, offset)
        self.message = message
        self.code = code
        self.offset = offset


class SubscriptionRejected(ExchangeError):
    """The exchange refused a subscription; raised by ``subscribe()``.

    ``spec`` is the channel spec that was refused.
    """

    def __init__(
        self,
        message: str = "Subscription failed",
        code: int | None = None,
        spec: object = None,
    ):
        BitunixError.__init__(self, message, code, spec)
        self.message = message
        self.code = code
        self.spec = spec

    def __str__(self) -> str:
        text = super().__str__()
        return text if self.spec is None else f"{text}: {self.spec!r}"


class RateLimited(ExchangeError):
    """The exchange (or the client-side limiter) refused a request for going too fast."""


class RestError(BitunixError):
    """A REST request failed: ``status`` is the HTTP status, ``code`` the exchange's code.

    BitUnix answers most errors with HTTP 200 and a non-zero ``code`` in the body.
    """

    def __init__(self, message: str, status: int | None = None, code: int | None = None):
        super().__init__(message, status, code)
        self.message = message
        self.status = status
        self.code = code

    def __str__(self) -> str:
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.code is not None:
            details.append(f"code {self.code}")
        return f"{self.message} ({', '.join(details)})" if details else self.message


class StreamFailed(BitunixError):
    """The stream stopped for good; ``__cause__`` is the error that stopped it."""


class BitunixInternalError(BitunixError):
    """Something happened that never should: please report a bug.

    ``__cause__`` holds the original exception (often an exception group).
    """

    def __init__(
        self,
        message: str = (
            "bitunix-trio hit an internal error; please report a bug at "
            "https://github.com/bitunix-trio/bitunix-trio/issues"
        ),
    ):
        super().__init__(message)
