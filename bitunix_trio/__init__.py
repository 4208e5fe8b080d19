"""bitunix-trio: a Trio-native client for the BitUnix futures exchange.

Real-time market and account data over WebSocket with the REST API behind it::

    async with bitunix_trio.open_bitunix_stream(credentials=...) as stream:
        async with stream.subscribe(bitunix_trio.Ticker("BTCUSDT")) as tickers:
            async for tick in tickers:
                ...

Everything public is importable from here; modules whose names start with ``_`` are private.
The simulated exchange lives in :mod:`bitunix_trio.testing`.
"""

from __future__ import annotations

from ._core.channels import Balance as Balance
from ._core.channels import ChannelSpec as ChannelSpec
from ._core.channels import Fills as Fills
from ._core.channels import Kline as Kline
from ._core.channels import MarkPrice as MarkPrice
from ._core.channels import OrderBook as OrderBook
from ._core.channels import Orders as Orders
from ._core.channels import Positions as Positions
from ._core.channels import Subscription as Subscription
from ._core.channels import Ticker as Ticker
from ._core.channels import Tickers as Tickers
from ._core.channels import TpSl as TpSl
from ._core.channels import Trades as Trades
from ._core.config import DEFAULT_BUFFER_SIZE as DEFAULT_BUFFER_SIZE
from ._core.config import DEFAULT_HEARTBEAT as DEFAULT_HEARTBEAT
from ._core.config import DEFAULT_RECONNECT_POLICY as DEFAULT_RECONNECT_POLICY
from ._core.config import HeartbeatConfig as HeartbeatConfig
from ._core.config import ReconnectPolicy as ReconnectPolicy
from ._core.credentials import Credentials as Credentials
from ._core.credentials import InsecureCredentialsFileWarning as InsecureCredentialsFileWarning
from ._core.errors import AuthenticationError as AuthenticationError
from ._core.errors import BitunixError as BitunixError
from ._core.errors import BitunixInternalError as BitunixInternalError
from ._core.errors import ClockSkewError as ClockSkewError
from ._core.errors import ConfigurationError as ConfigurationError
from ._core.errors import ConnectError as ConnectError
from ._core.errors import ConnectionLost as ConnectionLost
from ._core.errors import ConnectTimeout as ConnectTimeout
from ._core.errors import ExchangeError as ExchangeError
from ._core.errors import LocalProtocolError as LocalProtocolError
from ._core.errors import ProtocolError as ProtocolError
from ._core.errors import RateLimited as RateLimited
from ._core.errors import RemoteProtocolError as RemoteProtocolError
from ._core.errors import RestError as RestError
from ._core.errors import StreamFailed as StreamFailed
from ._core.errors import SubscriptionRejected as SubscriptionRejected
from ._core.errors import TlsCertificateError as TlsCertificateError
from ._core.errors import TransportError as TransportError
from ._core.errors import UsageError as UsageError
from ._core.fills import Fill as Fill
from ._core.fills import FillCursor as FillCursor
from ._core.models import AccountBalance as AccountBalance
from ._core.models import DataSource as DataSource
from ._core.models import KlineUpdate as KlineUpdate
from ._core.models import MarginMode as MarginMode
from ._core.models import MarkPriceUpdate as MarkPriceUpdate
from ._core.models import Order as Order
from ._core.models import OrderBookUpdate as OrderBookUpdate
from ._core.models import OrderStatus as OrderStatus
from ._core.models import OrderType as OrderType
from ._core.models import Position as Position
from ._core.models import PositionMode as PositionMode
from ._core.models import PositionSide as PositionSide
from ._core.models import PriceType as PriceType
from ._core.models import Side as Side
from ._core.models import StopType as StopType
from ._core.models import TickerSummary as TickerSummary
from ._core.models import TickerUpdate as TickerUpdate
from ._core.models import TimeInForce as TimeInForce
from ._core.models import TpSlOrder as TpSlOrder
from ._core.models import Trade as Trade
from ._core.models import UpdateEvent as UpdateEvent
from ._core.protocol import ConnectionState as ConnectionState
from ._rest.client import BitunixRestClient as BitunixRestClient
from ._rest.client import open_rest_client as open_rest_client
from ._rest.results import AccountTrade as AccountTrade
from ._rest.results import BatchFailure as BatchFailure
from ._rest.results import BatchOrderResult as BatchOrderResult
from ._rest.results import CancelFailure as CancelFailure
from ._rest.results import CancelResult as CancelResult
from ._rest.results import CancelSuccess as CancelSuccess
from ._rest.results import FundingRate as FundingRate
from ._rest.results import HistoricalPosition as HistoricalPosition
from ._rest.results import LeverageMarginMode as LeverageMarginMode
from ._rest.results import PlacedOrder as PlacedOrder
from ._rest.results import PositionTier as PositionTier
from ._rest.results import TradingPair as TradingPair
from ._stream.account import AccountChannel as AccountChannel
from ._stream.channel import Overflow as Overflow
from ._stream.channel import SubscriptionChannel as SubscriptionChannel
from ._stream.channel import SubscriptionStale as SubscriptionStale
from ._stream.channel import SubscriptionStatistics as SubscriptionStatistics
from ._stream.connector import Connector as Connector
from ._stream.connector import WebSocketConnection as WebSocketConnection
from ._stream.connector import trio_websocket_connector as trio_websocket_connector
from ._stream.errors import ConsumerTooSlow as ConsumerTooSlow
from ._stream.errors import SnapshotUnavailable as SnapshotUnavailable
from ._stream.errors import StreamClosed as StreamClosed
from ._stream.errors import SubscriptionLost as SubscriptionLost
from ._stream.merged import MergedChannel as MergedChannel
from ._stream.merged import StreamMessage as StreamMessage
from ._stream.open import open_bitunix_stream as open_bitunix_stream
from ._stream.stream import BitunixStream as BitunixStream
from ._stream.stream import ConnectionStatistics as ConnectionStatistics
from ._stream.stream import StateChange as StateChange
from ._stream.stream import StreamStatistics as StreamStatistics
from ._stream.websockets_connector import websockets_connector as websockets_connector
from ._version import __version__ as __version__

__all__ = [
    "DEFAULT_BUFFER_SIZE",
    "DEFAULT_HEARTBEAT",
    "DEFAULT_RECONNECT_POLICY",
    "AccountBalance",
    "AccountChannel",
    "AccountTrade",
    "AuthenticationError",
    "Balance",
    "BatchFailure",
    "BatchOrderResult",
    "BitunixError",
    "BitunixInternalError",
    "BitunixRestClient",
    "BitunixStream",
    "CancelFailure",
    "CancelResult",
    "CancelSuccess",
    "ChannelSpec",
    "ClockSkewError",
    "ConfigurationError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionLost",
    "ConnectionState",
    "ConnectionStatistics",
    "Connector",
    "ConsumerTooSlow",
    "Credentials",
    "DataSource",
    "ExchangeError",
    "Fill",
    "FillCursor",
    "Fills",
    "FundingRate",
    "HeartbeatConfig",
    "HistoricalPosition",
    "InsecureCredentialsFileWarning",
    "Kline",
    "KlineUpdate",
    "LeverageMarginMode",
    "LocalProtocolError",
    "MarginMode",
    "MarkPrice",
    "MarkPriceUpdate",
    "MergedChannel",
    "Order",
    "OrderBook",
    "OrderBookUpdate",
    "OrderStatus",
    "OrderType",
    "Orders",
    "Overflow",
    "PlacedOrder",
    "Position",
    "PositionMode",
    "PositionSide",
    "PositionTier",
    "Positions",
    "PriceType",
    "ProtocolError",
    "RateLimited",
    "ReconnectPolicy",
    "RemoteProtocolError",
    "RestError",
    "Side",
    "SnapshotUnavailable",
    "StateChange",
    "StopType",
    "StreamClosed",
    "StreamFailed",
    "StreamMessage",
    "StreamStatistics",
    "Subscription",
    "SubscriptionChannel",
    "SubscriptionLost",
    "SubscriptionRejected",
    "SubscriptionStale",
    "SubscriptionStatistics",
    "Ticker",
    "TickerSummary",
    "TickerUpdate",
    "Tickers",
    "TimeInForce",
    "TlsCertificateError",
    "TpSl",
    "TpSlOrder",
    "Trade",
    "Trades",
    "TradingPair",
    "TransportError",
    "UpdateEvent",
    "UsageError",
    "WebSocketConnection",
    "__version__",
    "open_bitunix_stream",
    "open_rest_client",
    "trio_websocket_connector",
    "websockets_connector",
]


def _fixup_module_metadata(namespace: dict[str, object]) -> None:
    """Make public objects claim ``bitunix_trio`` as their module (trio's habit)."""
    for name in __all__:
        obj = namespace[name]
        if getattr(obj, "__module__", "").startswith("bitunix_trio._"):
            try:
                obj.__module__ = __name__
            except (AttributeError, TypeError):  # pragma: no cover - builtins, constants
                pass


_fixup_module_metadata(globals())
del _fixup_module_metadata
