"""``python -m bitunix_trio watch SYMBOL... [--demo]``: live market data as plain lines.

One line per update: exchange time (UTC), channel, symbol, best bid/ask (order book), last
price (ticker), mark/index (price) or the trade, and the stream's connection state. State
changes get a line of their own. With ``--demo`` the data comes from the simulated exchange
started in this process (on 127.0.0.1), which drops every connection once after a few
seconds, to show the stream reconnecting and carrying on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import trio

from ._channel_errors import SubscriptionLost
from ._channels import ChannelSpec, MarkPrice, OrderBook, Ticker, Trades
from ._exceptions import BitunixError, ConfigurationError, RemoteProtocolError
from ._models import MarkPriceUpdate, OrderBookUpdate, TickerUpdate, Trade
from ._open import open_bitunix_stream
from ._stream import BitunixStream, StateChange

__all__ = ["CHANNELS", "format_value", "main", "watch"]

#: Channel names ``watch`` accepts, with the spec each one subscribes to.
CHANNELS: dict[str, Callable[[str, int], ChannelSpec[Any]]] = {
    "book": lambda symbol, depth: OrderBook(symbol, depth=depth),
    "ticker": lambda symbol, depth: Ticker(symbol),
    "trades": lambda symbol, depth: Trades(symbol),
    "price": lambda symbol, depth: MarkPrice(symbol),
}
DEFAULT_CHANNELS = ("book", "ticker")

PrintFn = Callable[[str], object]


def _clock(ts_ms: int | None) -> str:
    if ts_ms is None:
        return "--:--:--.---"
    moment = datetime.fromtimestamp(ts_ms / 1000, UTC)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _level(level: tuple[Any, Any] | None) -> str:
    return "-" if level is None else f"{level[0]} x {level[1]}"


def format_value(channel: str, value: Any, state: str) -> str:
    """One line for a received value."""
    symbol = getattr(value, "symbol", "?")
    head = f"{_clock(getattr(value, 'ts', None))}  {channel:<13} {symbol:<10}"
    if isinstance(value, OrderBookUpdate):
        try:
            body = f"bid {_level(value.best_bid)}  ask {_level(value.best_ask)}"
        except RemoteProtocolError as exc:  # a level that is not a number
            body = f"unreadable book: {exc}"
    elif isinstance(value, TickerUpdate):
        body = f"last {value.last_price}  24h {value.change:+.2f}%"
    elif isinstance(value, MarkPriceUpdate):
        body = f"mark {value.mark_price}  index {value.index_price}"
    elif isinstance(value, Trade):
        body = f"{value.side.name} {value.qty} @ {value.price}"
    else:
        body = f"last {getattr(value, 'last_price', getattr(value, 'close', '?'))}"
    return f"{head} {body}  [{state}]"


def format_change(change: StateChange) -> str:
    """One line for a state change of the stream."""
    reason = f" ({change.reason})" if change.reason else ""
    return f"{'':12}  {'state':<13} {change.old.name} -> {change.new.name}{reason}"


async def _follow(stream: BitunixStream, spec: ChannelSpec[Any], print_fn: PrintFn) -> None:
    channel = spec.wire_channel
    try:
        async with stream.subscribe(spec) as values:
            async for value in values:
                print_fn(format_value(channel, value, stream.state.name))
    except (SubscriptionLost, BitunixError) as exc:
        print_fn(f"{'':12}  {channel:<13} {spec.symbol or '':<10} ended: {exc}")


async def _follow_state(stream: BitunixStream, print_fn: PrintFn) -> None:
    async with stream.state_events() as changes:
        async for change in changes:
            if change.connection is None:
                print_fn(format_change(change))


@asynccontextmanager
async def _demo_exchange(memory: bool, seed: int) -> AsyncIterator[dict[str, Any]]:
    from .testing import open_simulated_exchange

    async with open_simulated_exchange(seed, memory=memory) as exchange:
        options: dict[str, Any] = {
            "public_url": exchange.public_url,
            "private_url": exchange.private_url,
            "rest_url": exchange.rest_url,
            "exchange": exchange,
        }
        if memory:
            options["connector"] = exchange.connector
            options["rest_transport"] = exchange.rest_transport()
        yield options


@asynccontextmanager
async def _real_exchange() -> AsyncIterator[dict[str, Any]]:
    yield {}
    await trio.lowlevel.checkpoint()


async def watch(
    symbols: Sequence[str],
    *,
    demo: bool,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    depth: int = 1,
    duration: float | None = None,
    drop_after: float | None = 5.0,
    print_fn: PrintFn = print,
    seed: int = 0,
    memory: bool = False,
) -> None:
    """Print live updates of ``symbols`` until ``duration`` seconds pass (or forever).

    Arguments:
        symbols: e.g. ``["BTCUSDT", "ETHUSDT"]``.
        demo: stream from a simulated exchange started here instead of the real one; it
            drops every connection once, ``drop_after`` seconds in, to show a reconnect.
        channels: any of ``book``, ``ticker``, ``trades``, ``price``.
        depth: order book depth (1, 5 or 15).
        duration: stop after this many seconds (None: until cancelled or Ctrl-C).
        print_fn: where lines go.
        seed: the simulated market's seed (demo only).
        memory: run the simulated exchange in memory, without sockets (demo only; tests).
    """
    if not symbols:
        raise ConfigurationError("watch needs at least one symbol")
    unknown = [name for name in channels if name not in CHANNELS]
    if unknown:
        raise ConfigurationError(
            f"unknown channel {unknown[0]!r}; choose from {', '.join(CHANNELS)}"
        )
    symbols = [symbol.upper() for symbol in symbols]
    specs = [CHANNELS[name](symbol, depth) for symbol in symbols for name in channels]
    source = _demo_exchange(memory, seed) if demo else _real_exchange()
    with trio.move_on_after(float("inf") if duration is None else duration):
        async with source as options:
            exchange = options.pop("exchange", None)
            where = "the simulated exchange (demo)" if demo else "fapi.bitunix.com"
            print_fn(
                f"watching {', '.join(s.wire_channel for s in specs[: len(channels)])} "
                f"of {', '.join(symbols)} on {where}; Ctrl-C to stop"
            )
            async with open_bitunix_stream(**options) as stream, trio.open_nursery() as nursery:
                nursery.start_soon(_follow_state, stream, print_fn)
                for spec in specs:
                    nursery.start_soon(_follow, stream, spec, print_fn)
                if exchange is not None and drop_after is not None:
                    await trio.sleep(drop_after)
                    print_fn(f"{'':12}  {'demo':<13} the exchange drops every connection now")
                    exchange.drop_all()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bitunix_trio watch",
        description="Stream live BitUnix futures market data as plain lines.",
    )
    parser.add_argument("symbols", nargs="+", metavar="SYMBOL", help="e.g. BTCUSDT")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="stream from the built-in simulated exchange (no network, no account)",
    )
    parser.add_argument("--depth", type=int, default=1, choices=(1, 5, 15), help="book depth")
    parser.add_argument(
        "--channels",
        default=",".join(DEFAULT_CHANNELS),
        help=f"comma-separated, from: {', '.join(CHANNELS)} (default: %(default)s)",
    )
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument(
        "--drop-after",
        type=float,
        default=5.0,
        help="demo: seconds before the simulated exchange drops every connection once",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, print_fn: PrintFn = print) -> int:
    """``watch`` command line; returns the exit code."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    channels = [name.strip() for name in args.channels.split(",") if name.strip()]
    run = partial(
        watch,
        args.symbols,
        demo=args.demo,
        channels=channels,
        depth=args.depth,
        duration=args.duration,
        drop_after=args.drop_after,
        print_fn=partial(_flushing, print_fn),
    )
    try:
        trio.run(run)
    except KeyboardInterrupt:
        return 130
    except BitunixError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


def _flushing(print_fn: PrintFn, line: str) -> None:
    print_fn(line)
    if print_fn is print:
        sys.stdout.flush()
