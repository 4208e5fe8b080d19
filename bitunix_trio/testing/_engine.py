"""The simulated exchange's engine: market, accounts and matching, sans-I/O.

Pure and deterministic: the same seed and the same sequence of calls give the same
outputs. Time (integer milliseconds) is passed in; nothing here sleeps or does I/O.
(Skeleton: the API is final, the bodies are being filled in.)
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["Account", "ExchangeEngine", "Instrument", "SimulatedError"]


class SimulatedError(Exception):
    """An error the simulated exchange answers with: a real BitUnix ``code`` and ``msg``."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg

    def __str__(self) -> str:
        return f"{self.code}: {self.msg}"


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable contract: symbol, coins, starting price and size rules."""

    symbol: str
    base: str
    quote: str
    price: Decimal
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal
    max_leverage: int
    status: str = "OPEN"


DEFAULT_INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument(
        "BTCUSDT",
        "BTC",
        "USDT",
        Decimal("86700"),
        Decimal("0.1"),
        Decimal("0.0001"),
        Decimal("0.0001"),
        125,
    ),
    Instrument(
        "ETHUSDT",
        "ETH",
        "USDT",
        Decimal("3100"),
        Decimal("0.01"),
        Decimal("0.001"),
        Decimal("0.001"),
        100,
    ),
    Instrument(
        "SOLUSDT",
        "SOL",
        "USDT",
        Decimal("140"),
        Decimal("0.001"),
        Decimal("0.01"),
        Decimal("0.01"),
        75,
    ),
)


@dataclass(slots=True, eq=False)
class Account:
    """A simulated account; servers read ``secret_key`` to verify signatures."""

    api_key: str
    secret_key: str = field(repr=False)
    wallet: dict[str, Decimal] = field(default_factory=dict)
    leverage: int = 10


class ExchangeEngine:
    """Market, accounts and matching of the simulated BitUnix futures exchange."""

    def __init__(
        self,
        *,
        seed: int = 0,
        instruments: Sequence[Instrument] | None = None,
        start_ms: int = 1_790_000_000_000,
        tick_ms: int = 310,
        quirks: bool = True,
    ) -> None:
        self.seed = seed
        self.instruments = {i.symbol: i for i in (instruments or DEFAULT_INSTRUMENTS)}
        self.start_ms = start_ms
        self.tick_ms = tick_ms
        self.quirks = quirks
        self._now_ms = start_ms
        self._rng = random.Random(seed)
        self._accounts: dict[str, Account] = {}

    @property
    def now_ms(self) -> int:
        """The engine's current time in milliseconds."""
        return self._now_ms

    def advance(self, now_ms: int) -> None:
        """Run the market forward to ``now_ms`` in whole ticks of ``tick_ms``."""
        self._now_ms = max(self._now_ms, now_ms)

    # market views
    def is_listed(self, symbol: str) -> bool:
        """True for OPEN instruments; unknown and PREVIEW symbols are not listed."""
        inst = self.instruments.get(symbol.upper())
        return inst is not None and inst.status == "OPEN"

    def ticker(self, symbol: str) -> Any:
        """The ``ticker`` value of ``symbol`` now."""
        raise NotImplementedError

    def order_book(self, symbol: str, depth: int | str = 15) -> Any:
        """The book window of ``depth`` levels (1, 5, 15, 50 or "max")."""
        raise NotImplementedError

    def last_trades(self, symbol: str) -> list[Any]:
        """The trades of the latest tick."""
        raise NotImplementedError

    def kline(self, symbol: str, interval_wire: str, price_type: str = "market") -> Any:
        """The running candle of a WebSocket interval ("1min", "60min", "1day", ...)."""
        raise NotImplementedError

    def kline_history(
        self,
        symbol: str,
        interval_rest: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 100,
        price_type: str = "market",
    ) -> list[Any]:
        """Candles of a REST interval ("1m" .. "1M") for the REST kline endpoint."""
        raise NotImplementedError

    def mark_price(self, symbol: str) -> Any:
        """Mark/index price and funding of ``symbol``."""
        raise NotImplementedError

    def ticker_summary(self, symbol: str) -> Any:
        """A ``tickers`` entry (ticker plus best bid/ask)."""
        raise NotImplementedError

    def funding_rate(self, symbol: str) -> dict[str, str]:
        """The REST funding-rate row of ``symbol``."""
        raise NotImplementedError

    def trading_pairs(self, symbols: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """REST ``trading_pairs`` rows."""
        raise NotImplementedError

    # accounts
    def create_account(
        self,
        api_key: str,
        secret_key: str,
        balances: Mapping[str, Decimal] | None = None,
        leverage: int = 10,
    ) -> Account:
        """Create (or replace) an account."""
        acct = Account(
            api_key,
            secret_key,
            dict(balances or {"USDT": Decimal("10000")}),
            leverage,
        )
        self._accounts[api_key] = acct
        return acct

    def account_by_key(self, api_key: str) -> Account | None:
        """The account of ``api_key`` or None."""
        return self._accounts.get(api_key)

    # trading
    def place_order(
        self,
        api_key: str,
        *,
        symbol: str,
        side: str,
        order_type: str,
        qty: Decimal,
        price: Decimal | None = None,
        client_id: str | None = None,
        reduce_only: bool = False,
        effect: str = "GTC",
        trade_side: str | None = None,
        tp_price: Decimal | None = None,
        sl_price: Decimal | None = None,
    ) -> Any:
        """Place an order; raises SimulatedError with the real codes."""
        raise NotImplementedError

    def cancel_orders(
        self,
        api_key: str,
        symbol: str,
        order_ids: Sequence[str] = (),
        client_ids: Sequence[str] = (),
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Cancel orders: (successList, failureList) in the REST shape."""
        raise NotImplementedError

    def cancel_all_orders(self, api_key: str, symbol: str | None = None) -> list[Any]:
        """Cancel every open order (of ``symbol``)."""
        raise NotImplementedError

    def pending_orders(
        self,
        api_key: str,
        symbol: str | None = None,
        order_id: str | None = None,
        client_id: str | None = None,
    ) -> list[Any]:
        """Open orders, newest first."""
        raise NotImplementedError

    def history_orders(self, api_key: str, symbol: str | None = None) -> list[Any]:
        """Finished orders, newest first."""
        raise NotImplementedError

    def order_detail(
        self, api_key: str, order_id: str | None = None, client_id: str | None = None
    ) -> Any:
        """One order by id or client id."""
        raise NotImplementedError

    def pending_positions(self, api_key: str, symbol: str | None = None) -> list[Any]:
        """Open positions."""
        raise NotImplementedError

    def balance(self, api_key: str, coin: str = "USDT") -> Any:
        """The balance of ``coin``."""
        raise NotImplementedError

    def drain_private_events(self, api_key: str) -> list[tuple[str, dict[str, Any]]]:
        """Return and clear the queued (channel, wire data) pushes of ``api_key``."""
        return []

    # admin hooks
    def set_mid_price(self, symbol: str, price: Decimal) -> None:
        """Move the market of ``symbol`` to ``price`` now."""
        raise NotImplementedError

    def fill_order(
        self,
        api_key: str,
        order_id: str,
        qty: Decimal | None = None,
        price: Decimal | None = None,
    ) -> Any:
        """Force a (partial) fill of an open order."""
        raise NotImplementedError

    def cancel_order_by_exchange(self, api_key: str, order_id: str) -> Any:
        """Cancel an order as the venue does (SYSTEM_CANCELED)."""
        raise NotImplementedError

    def set_position(
        self, api_key: str, symbol: str, side: str, qty: Decimal, entry_price: Decimal
    ) -> None:
        """Replace the position of ``symbol``."""
        raise NotImplementedError

    def credit(self, api_key: str, coin: str, amount: Decimal) -> None:
        """Add (or with a negative amount remove) funds."""
        raise NotImplementedError
