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

from ._account_feed import AccountChannel as AccountChannel
from ._channel_errors import ConsumerTooSlow as ConsumerTooSlow
from ._channel_errors import SnapshotUnavailable as SnapshotUnavailable
from ._channel_errors import StreamClosed as StreamClosed
from ._channel_errors import SubscriptionLost as SubscriptionLost
from ._channels import Balance as Balance
from ._channels import ChannelSpec as ChannelSpec
from ._channels import Kline as Kline
from ._channels import MarkPrice as MarkPrice
from ._channels import OrderBook as OrderBook
from ._channels import Orders as Orders
from ._channels import Positions as Positions
from ._channels import Subscription as Subscription
from ._channels import Ticker as Ticker
from ._channels import Tickers as Tickers
from ._channels import TpSl as TpSl
from ._channels import Trades as Trades
from ._config import DEFAULT_BUFFER_SIZE as DEFAULT_BUFFER_SIZE
from ._config import DEFAULT_HEARTBEAT as DEFAULT_HEARTBEAT
from ._config import DEFAULT_RECONNECT_POLICY as DEFAULT_RECONNECT_POLICY
from ._config import HeartbeatConfig as HeartbeatConfig
from ._config import ReconnectPolicy as ReconnectPolicy
from ._connector import Connector as Connector
from ._connector import WebSocketConnection as WebSocketConnection
from ._connector import trio_websocket_connector as trio_websocket_connector
from ._credentials import Credentials as Credentials
from ._credentials import InsecureCredentialsFileWarning as InsecureCredentialsFileWarning
from ._exceptions import AuthenticationError as AuthenticationError
from ._exceptions import BitunixError as BitunixError
from ._exceptions import BitunixInternalError as BitunixInternalError
from ._exceptions import ClockSkewError as ClockSkewError
from ._exceptions import ConfigurationError as ConfigurationError
from ._exceptions import ConnectError as ConnectError
from ._exceptions import ConnectionLost as ConnectionLost
from ._exceptions import ConnectTimeout as ConnectTimeout
from ._exceptions import ExchangeError as ExchangeError
from ._exceptions import LocalProtocolError as LocalProtocolError
from ._exceptions import ProtocolError as ProtocolError
from ._exceptions import RateLimited as RateLimited
from ._exceptions import RemoteProtocolError as RemoteProtocolError
from ._exceptions import RestError as RestError
from ._exceptions import StreamFailed as StreamFailed
from ._exceptions import SubscriptionRejected as SubscriptionRejected
from ._exceptions import TlsCertificateError as TlsCertificateError
from ._exceptions import TransportError as TransportError
from ._exceptions import UsageError as UsageError
from ._merged import MergedChannel as MergedChannel
from ._merged import StreamMessage as StreamMessage
from ._models import AccountBalance as AccountBalance
from ._models import DataSource as DataSource
from ._models import KlineUpdate as KlineUpdate
from ._models import MarginMode as MarginMode
from ._models import MarkPriceUpdate as MarkPriceUpdate
from ._models import Order as Order
from ._models import OrderBookUpdate as OrderBookUpdate
from ._models import OrderStatus as OrderStatus
from ._models import OrderType as OrderType
from ._models import Position as Position
from ._models import PositionMode as PositionMode
from ._models import PositionSide as PositionSide
from ._models import PriceType as PriceType
from ._models import Side as Side
from ._models import StopType as StopType
from ._models import TickerSummary as TickerSummary
from ._models import TickerUpdate as TickerUpdate
from ._models import TimeInForce as TimeInForce
from ._models import TpSlOrder as TpSlOrder
from ._models import Trade as Trade
from ._models import UpdateEvent as UpdateEvent
from ._open import open_bitunix_stream as open_bitunix_stream
from ._protocol import ConnectionState as ConnectionState
from ._rest import BitunixRestClient as BitunixRestClient
from ._rest import open_rest_client as open_rest_client
from ._rest_types import AccountTrade as AccountTrade
from ._rest_types import BatchFailure as BatchFailure
from ._rest_types import BatchOrderResult as BatchOrderResult
from ._rest_types import CancelFailure as CancelFailure
from ._rest_types import CancelResult as CancelResult
from ._rest_types import CancelSuccess as CancelSuccess
from ._rest_types import FundingRate as FundingRate
from ._rest_types import HistoricalPosition as HistoricalPosition
from ._rest_types import LeverageMarginMode as LeverageMarginMode
from ._rest_types import PlacedOrder as PlacedOrder
from ._rest_types import PositionTier as PositionTier
from ._rest_types import TradingPair as TradingPair
from ._stream import BitunixStream as BitunixStream
from ._stream import ConnectionStatistics as ConnectionStatistics
from ._stream import StateChange as StateChange
from ._stream import StreamStatistics as StreamStatistics
from ._subscription import Overflow as Overflow
from ._subscription import SubscriptionChannel as SubscriptionChannel
from ._subscription import SubscriptionStale as SubscriptionStale
from ._subscription import SubscriptionStatistics as SubscriptionStatistics
from ._version import __version__ as __version__
from ._websockets import websockets_connector as websockets_connector

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
