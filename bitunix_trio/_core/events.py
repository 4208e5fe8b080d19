"""What the sans-I/O connection core reports: states, key statuses and events.

:class:`~bitunix_trio._core.protocol.ConnectionProtocol` returns these values from its inputs;
the Trio layer acts on them. Subscription keys are ``(wire_channel, symbol)``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .frames import Key, Malformed, Unknown

__all__ = [
    "BadFrame",
    "ConnectionDead",
    "ConnectionState",
    "Event",
    "ExchangeMessage",
    "KeyStatus",
    "LoginFailed",
    "StateChange",
    "StateChanged",
    "SubscribeAccepted",
    "SubscriptionRefused",
    "SubscriptionStale",
]


class ConnectionState(enum.Enum):
    """State of the stream or of one of its connections."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    AUTHENTICATED = "authenticated"
    RECONNECTING = "reconnecting"
    DEGRADED = "degraded"
    CLOSED = "closed"

    def __repr__(self) -> str:
        return f"ConnectionState.{self.name}"


class KeyStatus(enum.Enum):
    """Where one subscription key stands on its connection."""

    WANTED = "wanted"
    SENT = "sent"
    LIVE = "live"
    STALE = "stale"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The connection moved from ``old`` to ``new``."""

    old: ConnectionState
    new: ConnectionState
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LoginFailed:
    """The exchange refused the login (``message`` is its text, if any)."""

    message: str | None


@dataclass(frozen=True, slots=True)
class SubscribeAccepted:
    """These keys were not refused: data arrived, or a later ping was answered first."""

    keys: tuple[Key, ...]


@dataclass(frozen=True, slots=True)
class SubscriptionRefused:
    """The exchange refused these keys (``message`` is its text)."""

    keys: tuple[Key, ...]
    message: str


@dataclass(frozen=True, slots=True)
class SubscriptionStale:
    """``key`` got no data for ``stale_after`` seconds on a connection that is alive."""

    key: Key
    reason: str


@dataclass(frozen=True, slots=True)
class ConnectionDead:
    """The connection must be dropped and reconnected."""

    reason: str


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame that could not be used (malformed or unknown); counted, never fatal."""

    frame: Malformed | Unknown


@dataclass(frozen=True, slots=True)
class ExchangeMessage:
    """An ``{"error": ...}`` frame from the exchange."""

    message: str


Event = (
    StateChanged
    | LoginFailed
    | SubscribeAccepted
    | SubscriptionRefused
    | SubscriptionStale
    | ConnectionDead
    | BadFrame
    | ExchangeMessage
)


@dataclass(frozen=True, slots=True)
class StateChange:
    """A state transition of the stream (``connection`` None) or of one connection.

    ``connection`` names the connection (``"public#0"``, ``"private"``); ``time`` is Trio's
    clock; ``reason`` says why, when known (the error that closed a connection...). A
    notice about the stream (say, that trades cannot be back-filled while degraded) comes
    as a change with ``old == new``.
    """

    old: ConnectionState
    new: ConnectionState
    reason: str | None
    connection: str | None
    time: float
