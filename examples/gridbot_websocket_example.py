"""Run the grid bot (``examples/gridbot.py``), against the simulated exchange by default.

    python examples/gridbot_websocket_example.py                 # simulated, WebSocket fills
    python examples/gridbot_websocket_example.py --rest          # simulated, REST polling
    python examples/gridbot_websocket_example.py --symbol BTCUSDT --grids 6 --seconds 300

Against the real exchange (real orders, real money: read gridbot.py first). The grid's
range and quantity must then be given; the orders stay open when the bot stops (the next
start carries on with them) unless ``--cancel-on-exit``::

    BITUNIX_API_KEY=... BITUNIX_SECRET_KEY=... python examples/gridbot_websocket_example.py \\
        --live --symbol ETHUSDT --lower 2900 --upper 3300 --grids 8 --qty 0.01

Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import math
import sys
from contextlib import AsyncExitStack
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import trio
from gridbot import GridBot, GridBotConfig

import bitunix_trio as bt

#: On the simulated exchange without --lower/--upper: the grid spans the price +- this.
SIM_RANGE = Decimal("0.005")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="gridbot_websocket_example.py", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--symbol", default="ETHUSDT")
    parser.add_argument("--lower", type=Decimal, help="lowest grid line (price)")
    parser.add_argument("--upper", type=Decimal, help="highest grid line (price)")
    parser.add_argument("--grids", type=int, default=10, help="intervals between the lines")
    parser.add_argument("--qty", type=Decimal, help="quantity per order (default: the minimum)")
    parser.add_argument("--rest", action="store_true", help="poll REST instead of WebSocket")
    parser.add_argument("--seconds", type=float, default=math.inf, help="stop after this")
    parser.add_argument("--seed", type=int, default=0, help="simulated market seed")
    parser.add_argument("--cancel-on-exit", action="store_true", help="cancel the grid at the end")
    parser.add_argument("--live", action="store_true", help="trade on the real exchange")
    args = parser.parse_args(argv)
    if args.live:
        missing = [f"--{n}" for n in ("lower", "upper", "qty") if getattr(args, n) is None]
        if missing:
            parser.error(f"--live needs the grid given: {' '.join(missing)}")
    return args


async def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the bot until ``--seconds`` or Ctrl-C."""
    args = parse_args(argv)
    prog = "gridbot_websocket_example.py"
    if args.live:
        try:
            credentials = bt.Credentials.from_env()
        except bt.ConfigurationError as exc:
            # One line, no traceback: the keys are missing, not the code broken.
            raise SystemExit(f"{prog}: --live trades with your API keys: {exc}") from None

    async with AsyncExitStack() as stack:
        if args.live:
            options: dict[str, Any] = {"credentials": credentials}
        else:
            from bitunix_trio.testing import open_simulated_exchange

            exchange = await stack.enter_async_context(open_simulated_exchange(args.seed))
            print(f"simulated exchange at {exchange.rest_url} (seed {args.seed})")
            options = exchange.stream_options()
        stream = await stack.enter_async_context(bt.open_bitunix_stream(**options))
        try:
            config = await make_config(stream.rest, args)
        except bt.ConfigurationError as exc:
            raise SystemExit(f"{prog}: {exc}") from None
        bot = GridBot(stream, config, use_websocket=not args.rest)
        with trio.move_on_after(args.seconds):
            async with trio.open_nursery() as nursery:
                await nursery.start(bot.run)
                print(bot.board())
        print(bot.board())


async def make_config(rest: bt.BitunixRestClient, args: argparse.Namespace) -> GridBotConfig:
    """The grid of the command line; on the simulator, missing values around the price."""
    symbol = args.symbol.upper()
    lower, upper, qty = args.lower, args.upper, args.qty
    if lower is None or upper is None or qty is None:
        pairs = await rest.get_trading_pairs([symbol])
        if not pairs:
            raise bt.ConfigurationError(f"{symbol} is not a contract of the exchange")
        [ticker] = await rest.get_tickers([symbol])
        tick = Decimal(1).scaleb(-(pairs[0].quote_precision or 0))
        price = ticker.last_price

        def on_tick(p: Decimal) -> Decimal:
            return (p / tick).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) * tick

        lower = lower if lower is not None else on_tick(price * (1 - SIM_RANGE))
        upper = upper if upper is not None else on_tick(price * (1 + SIM_RANGE))
        qty = qty if qty is not None else pairs[0].min_trade_volume or Decimal(1)
    return GridBotConfig(symbol, lower, upper, args.grids, qty, cancel_on_exit=args.cancel_on_exit)


if __name__ == "__main__":
    try:
        trio.run(main, sys.argv[1:])
    except KeyboardInterrupt:
        pass
