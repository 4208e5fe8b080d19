"""The enums of the value types, parsed from the exchange's spellings.

Each enum's :meth:`~_ParsingEnum.parse` accepts a wire value in any case (``Buy``, ``BUY``,
``buy``), with the live quirks (``NEW_`` for NEW, REST's ``BUY``/``SELL`` for position sides,
...). They are exported from :mod:`bitunix_trio._core.models` with the value types.
"""

from __future__ import annotations

import enum
from typing import Any, Self

__all__ = [
    "DataSource",
    "MarginMode",
    "OrderStatus",
    "OrderType",
    "PositionMode",
    "PositionSide",
    "PriceType",
    "Side",
    "StopType",
    "TimeInForce",
    "UpdateEvent",
]


class _ParsingEnum(enum.StrEnum):
    """A string enum whose :meth:`parse` accepts the exchange's spellings."""

    @classmethod
    def parse(cls, value: object) -> Self:
        """Return the member for a wire value, in any case; raise ValueError if unknown."""
        table: dict[object, Self] = _LOOKUPS[cls]
        try:
            return table[value]
        except KeyError:
            pass
        if not isinstance(value, str):
            raise TypeError(f"{cls.__name__} must be a string, not {type(value).__name__}")
        key = value.strip().upper().replace("-", "_").replace(" ", "_")
        member = table.get(key) or table.get(key.rstrip("_"))
        if member is None:
            raise ValueError(f"unknown {cls.__name__}: {value!r}")
        if len(table) < 256:
            table[value] = member
        return member


_LOOKUPS: dict[type[_ParsingEnum], dict[object, Any]] = {}


def _register(cls: type[_ParsingEnum], **aliases: str) -> None:
    table: dict[object, Any] = {}
    for member in cls:
        table[member.value] = member
        table[member.value.upper()] = member
        table[member.name] = member
    for alias, name in aliases.items():
        table[alias] = cls[name]
    _LOOKUPS[cls] = table


class DataSource(_ParsingEnum):
    """Where a value came from.

    ``WEBSOCKET``: pushed; ``REST``: polled while the WebSocket was down; ``RECOVERED``: a
    change that happened out of sight, found over REST after a reconnect; ``SNAPSHOT``: the
    state of the account when a subscription started (``Orders()``, ``Positions()``,
    ``Balance()``), fetched over REST.
    """

    WEBSOCKET = "websocket"
    REST = "rest"
    RECOVERED = "recovered"
    SNAPSHOT = "snapshot"


class Side(_ParsingEnum):
    """Order or trade side (a trade's side is the taker's)."""

    BUY = "BUY"
    SELL = "SELL"


class PositionSide(_ParsingEnum):
    """Direction of a position (REST reports ``BUY``/``SELL``, meaning LONG/SHORT)."""

    LONG = "LONG"
    SHORT = "SHORT"


class OrderType(_ParsingEnum):
    """Order type (live pushes say ``Limit``/``Market``)."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"


class OrderStatus(_ParsingEnum):
    """Status of an order (``NEW_`` on the wire means NEW).

    ``FAILED`` only occurs on take-profit/stop-loss orders (the trigger could not place its
    order); ``UNKNOWN`` stands for any status this library does not know yet.
    """

    INIT = "INIT"
    NEW = "NEW"
    PART_FILLED = "PART_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    PART_FILLED_CANCELED = "PART_FILLED_CANCELED"
    SYSTEM_CANCELED = "SYSTEM_CANCELED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse_lenient(cls, value: object) -> OrderStatus:
        """Like :meth:`parse`, but an unknown string gives ``UNKNOWN``."""
        try:
            return cls.parse(value)
        except ValueError:
            return cls.UNKNOWN


class TimeInForce(_ParsingEnum):
    """Time in force (the wire calls it ``effect``)."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "POST_ONLY"


class MarginMode(_ParsingEnum):
    """Margin mode of an order or position."""

    ISOLATION = "ISOLATION"
    CROSS = "CROSS"


class PositionMode(_ParsingEnum):
    """One-way or hedge mode."""

    ONE_WAY = "ONE_WAY"
    HEDGE = "HEDGE"


class UpdateEvent(_ParsingEnum):
    """Why a private push was sent."""

    CREATE = "CREATE"
    OPEN = "OPEN"
    UPDATE = "UPDATE"
    CLOSE = "CLOSE"


class PriceType(_ParsingEnum):
    """Which price a kline follows: the last traded price or the mark price."""

    MARKET = "market"
    MARK = "mark"


class StopType(_ParsingEnum):
    """Which price triggers a take-profit or stop-loss (live pushes say ``Last``/``Mark``)."""

    MARK_PRICE = "MARK_PRICE"
    LAST_PRICE = "LAST_PRICE"


_register(DataSource)
_register(Side)
_register(PositionSide, BUY="LONG", SELL="SHORT")
_register(OrderType)
_register(OrderStatus, CANCELLED="CANCELED", PARTIALLY_FILLED="PART_FILLED")
_register(TimeInForce, POSTONLY="POST_ONLY")
_register(MarginMode, ISOLATED="ISOLATION")
_register(PositionMode, ONEWAY="ONE_WAY")
_register(UpdateEvent)
_register(PriceType, LAST_PRICE="MARKET", MARK_PRICE="MARK", LAST="MARKET")
_register(StopType, MARK="MARK_PRICE", LAST="LAST_PRICE")
