"""A small grid bot on bitunix-trio.

It places a grid of limit orders around the current price (``levels`` buys below it and
``levels`` sells above it, ``step`` apart) over REST, then listens on the orders channel:
when a buy at price P fills, it places a sell at P + step; when a sell at P fills, a buy at
P - step. So every completed buy/sell pair earns ``step * qty`` (minus fees). It prints its
state after every fill.

The stream does the hard part: it reconnects by itself, and after a reconnect it reconciles
the account over REST, so a fill that happened while the WebSocket was down still arrives
(marked ``source=RECOVERED``), exactly once. The bot itself only has to react to fills.

Run it against the built-in simulated exchange (no account, no money; Ctrl-C stops it)::

    python examples/grid_bot.py
    python examples/grid_bot.py --symbol ETHUSDT --levels 4 --seconds 120

Against the real exchange (real orders, real money: read the code first)::

    BITUNIX_API_KEY=... BITUNIX_SECRET_KEY=... python examples/grid_bot.py --live \\
        --symbol BTCUSDT --qty 0.0001 --step 50
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import trio

import bitunix_trio as bt


@dataclass(frozen=True)
class GridConfig:
    """What the grid looks like.

    ``step`` and ``qty`` default to what the exchange's rules suggest: a step of 0.05 % of
    the price (on the price grid) and the minimum order quantity.
    """

    symbol: str = "BTCUSDT"
    levels: int = 3
    step: Decimal | None = None
    qty: Decimal | None = None


@dataclass
class GridOrder:
    """One order of the grid, known by its client id before it is even placed."""

    client_id: str
    side: bt.Side
    price: Decimal
    qty: Decimal
    order_id: str | None = None


@dataclass
class Fill:
    """A filled grid order, as the bot saw it."""

    side: bt.Side
    price: Decimal
    qty: Decimal
    order_id: str
    client_id: str
    source: bt.DataSource


@dataclass
class GridBot:
    """The grid's state and its reaction to order updates.

    ``rest`` places and cancels orders; ``out`` prints (tests pass a list's ``append``).
    """

    rest: bt.BitunixRestClient
    config: GridConfig
    out: Callable[[str], object] = print
    step: Decimal = Decimal(0)
    qty: Decimal = Decimal(0)
    tick: Decimal = Decimal("0.01")
    #: Open grid orders by client id.
    open: dict[str, GridOrder] = field(default_factory=dict)
    #: Every fill, in the order the bot saw them.
    fills: list[Fill] = field(default_factory=list)
    #: Grid orders that ended without filling (cancelled by the venue...).
    lost: list[GridOrder] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _prefix: str = "grid"

    # -- setting up ----------------------------------------------------------------------

    async def prepare(self) -> Decimal:
        """Read the symbol's rules and the price; fill in step and qty; return the price."""
        symbol = self.config.symbol
        [pair] = await self.rest.get_trading_pairs([symbol])
        [ticker] = await self.rest.get_tickers([symbol])
        if pair.quote_precision is not None:
            self.tick = Decimal(1).scaleb(-pair.quote_precision)
        price = ticker.last_price
        step = self.config.step
        if step is None:
            step = max(self.tick, self._on_grid(price * Decimal("0.0005")))
        self.step = step
        qty = self.config.qty
        if qty is None:
            qty = pair.min_trade_volume or Decimal(1)
        self.qty = qty
        # Client ids unique to this run, so a restart never collides with old orders.
        self._prefix = f"grid{ticker.ts % 1_000_000_000:09d}"
        return price

    def _on_grid(self, price: Decimal) -> Decimal:
        return (price / self.tick).quantize(Decimal(1), rounding=ROUND_HALF_UP) * self.tick

    async def place_grid(self, price: Decimal) -> None:
        """Place ``levels`` buys below ``price`` and ``levels`` sells above it."""
        center = self._on_grid(price)
        for k in range(1, self.config.levels + 1):
            await self.place(bt.Side.BUY, center - k * self.step)
            await self.place(bt.Side.SELL, center + k * self.step)
        self.show(f"grid placed around {center} (step {self.step}, qty {self.qty})")

    async def place(self, side: bt.Side, price: Decimal) -> GridOrder:
        """Place one grid order (recorded first, so its updates are recognised however
        early they arrive)."""
        order = GridOrder(f"{self._prefix}x{next(self._ids)}", side, price, self.qty)
        self.open[order.client_id] = order
        try:
            placed = await self.rest.place_order(
                self.config.symbol, side, "LIMIT", self.qty, price, client_id=order.client_id
            )
        except bt.ExchangeError as exc:
            del self.open[order.client_id]
            self.out(f"could not place {side} at {price}: {exc}")
            raise
        order.order_id = placed.order_id
        return order

    # -- reacting ------------------------------------------------------------------------

    async def on_order(self, update: bt.Order) -> None:
        """Handle one update of the orders channel."""
        if update.symbol != self.config.symbol or update.client_id not in self.open:
            return  # not ours, or already handled
        order = self.open[update.client_id]
        order.order_id = update.order_id
        if update.status is bt.OrderStatus.FILLED:
            del self.open[update.client_id]
            self.fills.append(
                Fill(
                    order.side,
                    order.price,
                    update.filled_qty,
                    update.order_id,
                    order.client_id,
                    update.source,
                )
            )
            if order.side is bt.Side.BUY:
                await self.place(bt.Side.SELL, order.price + self.step)
            else:
                await self.place(bt.Side.BUY, order.price - self.step)
            how = (
                " (recovered after a disconnect)"
                if update.source is bt.DataSource.RECOVERED
                else ""
            )
            self.show(f"{order.side} {update.filled_qty} @ {order.price} filled{how}")
        elif update.status in _ENDED:
            del self.open[update.client_id]
            self.lost.append(order)
            self.show(f"{order.side} @ {order.price} ended unfilled: {update.status}")

    @property
    def round_trips(self) -> int:
        """Completed buy+sell pairs."""
        buys = sum(1 for f in self.fills if f.side is bt.Side.BUY)
        return min(buys, len(self.fills) - buys)

    def show(self, what: str) -> None:
        """Print one line of state."""
        buys = sorted(o.price for o in self.open.values() if o.side is bt.Side.BUY)
        sells = sorted(o.price for o in self.open.values() if o.side is bt.Side.SELL)
        span = f"buys {_span(buys)}, sells {_span(sells)}"
        profit = self.round_trips * self.step * self.qty
        self.out(
            f"{self.config.symbol}: {what} | open: {span} | fills {len(self.fills)},"
            f" round trips {self.round_trips} (~{profit} gross)"
        )

    async def run(
        self, stream: bt.BitunixStream, *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Trade until cancelled: subscribe to orders first (so no fill is missed), place
        the grid, then react to every order update. Cancels the grid on the way out."""
        async with stream.subscribe(bt.Orders()) as orders:
            try:
                price = await self.prepare()
                await self.place_grid(price)
                task_status.started()
                async for update in orders:
                    await self.on_order(update)
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(10):
                    await self.cancel_grid()

    async def cancel_grid(self) -> None:
        """Cancel every open grid order (best effort)."""
        ids = [o.order_id for o in self.open.values() if o.order_id is not None]
        if ids:
            try:
                await self.rest.cancel_orders(self.config.symbol, ids)
            except bt.BitunixError as exc:
                self.out(f"could not cancel the grid: {exc}")
            else:
                self.out(f"cancelled {len(ids)} grid orders")


_ENDED = frozenset(
    {
        bt.OrderStatus.CANCELED,
        bt.OrderStatus.PART_FILLED_CANCELED,
        bt.OrderStatus.SYSTEM_CANCELED,
        bt.OrderStatus.EXPIRED,
        bt.OrderStatus.FAILED,
    }
)


def _span(prices: list[Decimal]) -> str:
    if not prices:
        return "none"
    return f"{len(prices)} at {prices[0]}..{prices[-1]}"


# -- running it ----------------------------------------------------------------------------


async def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the bot (against the simulator unless ``--live``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--levels", type=int, default=3)
    parser.add_argument("--step", type=Decimal, default=None, help="price distance")
    parser.add_argument("--qty", type=Decimal, default=None, help="quantity per order")
    parser.add_argument("--seconds", type=float, default=math.inf, help="stop after this")
    parser.add_argument("--seed", type=int, default=0, help="simulated market seed")
    parser.add_argument("--live", action="store_true", help="trade on the real exchange")
    args = parser.parse_args(argv)
    config = GridConfig(args.symbol.upper(), args.levels, args.step, args.qty)
    if args.live:
        try:
            credentials = bt.Credentials.from_env()
        except bt.ConfigurationError as exc:
            # One line, no traceback: the keys are missing, not the code broken.
            raise SystemExit(f"{parser.prog}: --live trades with your API keys: {exc}") from None

    async with AsyncExitStack() as stack:
        if args.live:
            options: dict[str, Any] = {"credentials": credentials}
        else:
            from bitunix_trio.testing import open_simulated_exchange

            exchange = await stack.enter_async_context(open_simulated_exchange(args.seed))
            print(f"simulated exchange at {exchange.rest_url} (seed {args.seed})")
            options = {
                "credentials": exchange.credentials,
                "public_url": exchange.public_url,
                "private_url": exchange.private_url,
                "rest_url": exchange.rest_url,
            }
        stream = await stack.enter_async_context(bt.open_bitunix_stream(**options))
        bot = GridBot(stream.rest, config)
        with trio.move_on_after(args.seconds):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_show_states, stream)
                await bot.run(stream)


async def _show_states(stream: bt.BitunixStream) -> None:
    async with stream.state_events() as changes:
        async for change in changes:
            if change.connection is None:
                reason = f" ({change.reason})" if change.reason else ""
                print(f"stream {change.old.name} -> {change.new.name}{reason}")


if __name__ == "__main__":
    try:
        trio.run(main, sys.argv[1:])
    except KeyboardInterrupt:
        pass
