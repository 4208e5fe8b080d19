"""``bitunix-trio watch SYMBOL... [--demo]``: live market data as plain lines.

One line per update: exchange time (UTC), the channel as the user named it, symbol, and the
value (``--depth N`` book levels, last price, mark/index, the trade, the running candle),
then the stream's connection state. State changes get a line of their own. With ``--demo``
the data comes from the simulated exchange started in this process (on 127.0.0.1), which
drops every connection once after a few seconds, on purpose, to show the stream
reconnecting and carrying on.

``watch`` ends with exit code 1 and one line when every subscription has ended (an unknown
symbol goes stale, the exchange refused them): nothing is left to show.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import trio

from bitunix_trio._core.channels import (
    ChannelSpec,
    Kline,
    MarkPrice,
    OrderBook,
    Ticker,
    Tickers,
    Trades,
    normalize_interval,
)
from bitunix_trio._core.errors import BitunixError, ConfigurationError, RemoteProtocolError
from bitunix_trio._core.models import (
    KlineUpdate,
    Level,
    MarkPriceUpdate,
    OrderBookUpdate,
    TickerSummary,
    TickerUpdate,
    Trade,
)
from bitunix_trio._stream.errors import SubscriptionLost
from bitunix_trio._stream.open import open_bitunix_stream
from bitunix_trio._stream.stream import BitunixStream, StateChange

from .common import (
    CommandFailed,
    PrintFn,
    demo_exchange,
    flushing,
    non_negative_seconds,
    positive_seconds,
    prog,
    run_command,
)

__all__ = ["CHANNELS", "DEFAULT_CHANNELS", "format_change", "format_value", "main", "watch"]


@dataclass(frozen=True, slots=True)
class _Options:
    depth: int
    interval: str


#: Channel names ``watch`` accepts, with the spec each one subscribes to (the wire names
#: ``trade``, ``depth_book<N>`` and ``market_kline`` are accepted too).
CHANNELS: dict[str, Callable[[str, _Options], ChannelSpec[Any]]] = {
    "book": lambda symbol, o: OrderBook(symbol, depth=o.depth),
    "ticker": lambda symbol, o: Ticker(symbol),
    "trades": lambda symbol, o: Trades(symbol),
    "price": lambda symbol, o: MarkPrice(symbol),
    "kline": lambda symbol, o: Kline(symbol, o.interval),
    "tickers": lambda symbol, o: Tickers(symbol),
}
_ALIASES = {"trade": "trades", "depth_book": "book", "market_kline": "kline"}
DEFAULT_CHANNELS = ("book", "ticker")
#: Seconds after which ``--demo`` drops every connection once (0 or None: never).
DEFAULT_DROP_AFTER = 5.0


def _clock(ts_ms: int | None) -> str:
    if ts_ms is None:
        return "--:--:--.---"
    moment = datetime.fromtimestamp(ts_ms / 1000, UTC)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _level(level: Level | None) -> str:
    return "-" if level is None else f"{level[0]} x {level[1]}"


def _book_lines(book: OrderBookUpdate, levels: int) -> list[str]:
    """``bid P x Q  ask P x Q`` for the top ``levels`` levels (at least one line)."""
    bids, asks = book.bids[:levels], book.asks[:levels]
    rows = max(1, len(bids), len(asks))
    left = [f"bid {_level(bids[i] if i < len(bids) else None)}" for i in range(rows)]
    width = max(len(text) for text in left)
    right = [f"ask {_level(asks[i] if i < len(asks) else None)}" for i in range(rows)]
    return [f"{a:<{width}}  {b}" for a, b in zip(left, right, strict=True)]


def format_value(channel: str, value: Any, state: str, *, depth: int = 1) -> list[str]:
    """The lines for a received value (one, or ``depth`` for an order book)."""
    symbol = getattr(value, "symbol", "?")
    head = f"{_clock(getattr(value, 'ts', None))}  {channel:<13} {symbol:<10}"
    more: list[str] = []
    if isinstance(value, OrderBookUpdate):
        try:
            body, *more = _book_lines(value, depth)
        except RemoteProtocolError as exc:  # a level that is not a number
            body = f"unreadable book: {exc}"
    elif isinstance(value, TickerUpdate):
        body = f"last {value.last_price}  24h {value.change:+.2f}%"
    elif isinstance(value, TickerSummary):
        bid, ask = value.best_bid, value.best_ask
        body = f"last {value.last_price}  bid {bid or '-'}  ask {ask or '-'}"
    elif isinstance(value, MarkPriceUpdate):
        body = f"mark {value.mark_price}  index {value.index_price}"
    elif isinstance(value, Trade):
        body = f"{value.side.name} {value.qty} @ {value.price}"
    elif isinstance(value, KlineUpdate):
        body = f"{value.interval} o {value.open}  h {value.high}  l {value.low}  c {value.close}"
    else:
        body = f"last {getattr(value, 'last_price', getattr(value, 'close', '?'))}"
    indent = " " * (len(head) + 1)
    return [f"{head} {body}  [{state}]", *(indent + line for line in more)]


def format_change(change: StateChange) -> str:
    """One line for a state change of the stream."""
    reason = f" ({change.reason})" if change.reason else ""
    return f"{'':12}  {'state':<13} {change.old.name} -> {change.new.name}{reason}"


async def _follow(
    stream: BitunixStream, label: str, spec: ChannelSpec[Any], depth: int, print_fn: PrintFn
) -> str | None:
    """Print what ``spec`` receives; return why it ended (None: the stream closed)."""
    try:
        async with stream.subscribe(spec) as values:
            async for value in values:
                for line in format_value(label, value, stream.state.name, depth=depth):
                    print_fn(line)
    except (SubscriptionLost, BitunixError) as exc:
        print_fn(f"{'':12}  {label:<13} {spec.symbol or '':<10} ended: {exc}")
        return str(exc)
    return None


async def _follow_state(stream: BitunixStream, print_fn: PrintFn) -> None:
    async with stream.state_events() as changes:
        async for change in changes:
            if change.connection is None:
                print_fn(format_change(change))


@asynccontextmanager
async def _source(demo: bool, memory: bool, seed: int) -> AsyncIterator[tuple[dict[str, Any], Any]]:
    """(options of ``open_bitunix_stream``, the simulated exchange or None)."""
    if not demo:
        yield {}, None
        return
    async with demo_exchange(memory=memory, seed=seed) as exchange:
        yield {**exchange.stream_options(), "credentials": None}, exchange


def _resolve(channels: Sequence[str]) -> list[str]:
    names = []
    for typed in channels:
        name = typed.strip().lower()
        if _ALIASES.get(name, name) not in CHANNELS:
            raise ConfigurationError(
                f"unknown channel {typed!r}; choose from {', '.join(CHANNELS)}"
            )
        names.append(name)
    if not names:
        raise ConfigurationError(f"watch needs at least one channel, from {', '.join(CHANNELS)}")
    return names


async def watch(
    symbols: Sequence[str],
    *,
    demo: bool,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    depth: int = 1,
    interval: str = "1min",
    duration: float | None = None,
    drop_after: float | None = DEFAULT_DROP_AFTER,
    print_fn: PrintFn = print,
    seed: int = 0,
    memory: bool = False,
) -> None:
    """Print live updates of ``symbols`` until ``duration`` seconds pass (or forever).

    Arguments:
        symbols: e.g. ``["BTCUSDT", "ETHUSDT"]``.
        demo: stream from a simulated exchange started here instead of the real one; it
            drops every connection once, ``drop_after`` seconds in (0 or None: never), to
            show a reconnect.
        channels: any of ``book``, ``ticker``, ``trades``, ``price``, ``kline``, ``tickers``
            (shown as given).
        depth: order book depth (1, 5 or 15); that many levels are printed.
        interval: the candle interval of ``kline`` (``1min``, ``15min``, ``1h``, ``1day``...).
        duration: stop after watching this many seconds (None: until cancelled or Ctrl-C);
            starting the demo exchange does not count.
        print_fn: where lines go.
        seed: the simulated market's seed (demo only).
        memory: run the simulated exchange in memory, without sockets (demo only; tests).

    Raises :class:`~bitunix_trio.ConfigurationError` for bad arguments, and
    :class:`CommandFailed` once every subscription has ended (nothing left to show).
    """
    if not symbols:
        raise ConfigurationError("watch needs at least one symbol")
    if duration is not None and not duration >= 0:
        raise ConfigurationError(f"duration must be zero or more seconds, got {duration!r}")
    labels = _resolve(channels)
    options = _Options(depth=depth, interval=normalize_interval(interval))
    symbols = [symbol.strip().upper() for symbol in symbols]
    follows = [
        (label, CHANNELS[_ALIASES.get(label, label)](symbol, options))
        for symbol in symbols
        for label in labels
    ]
    ended: list[str | None] = []
    async with _source(demo, memory, seed) as (stream_options, exchange):
        where = "the simulated exchange (demo)" if demo else "fapi.bitunix.com"
        print_fn(f"watching {', '.join(labels)} of {', '.join(symbols)} on {where}; Ctrl-C to stop")
        with trio.move_on_after(float("inf") if duration is None else duration):
            async with (
                open_bitunix_stream(**stream_options) as stream,
                trio.open_nursery() as nursery,
            ):

                async def follow(label: str, spec: ChannelSpec[Any]) -> None:
                    ended.append(await _follow(stream, label, spec, depth, print_fn))
                    if len(ended) == len(follows):
                        nursery.cancel_scope.cancel()

                nursery.start_soon(_follow_state, stream, print_fn)
                for label, spec in follows:
                    nursery.start_soon(follow, label, spec)
                if exchange is not None and drop_after:
                    await trio.sleep(drop_after)
                    print_fn(f"{'':12}  {'demo':<13} the exchange drops every connection now")
                    exchange.drop_all()
    if len(ended) == len(follows) and any(ended):
        last = next(reason for reason in reversed(ended) if reason)
        raise CommandFailed(f"every subscription ended (the last: {last})")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog("watch"),
        description="Stream live BitUnix futures market data as plain lines.",
        epilog=(
            "--demo streams from a simulated exchange started in this process (no network, "
            f"no account); it drops every connection once, {DEFAULT_DROP_AFTER:g} s in by "
            "default (--drop-after), on purpose: to show the stream reconnecting and "
            "carrying on. Exit codes: 0 when --duration is over, 130 on Ctrl-C, 1 on an "
            "error or once every subscription has ended (an unknown symbol, say), 2 for a "
            "bad argument."
        ),
    )
    parser.add_argument("symbols", nargs="+", metavar="SYMBOL", help="e.g. BTCUSDT ETHUSDT")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="stream from the built-in simulated exchange (default: the real exchange); "
        "it drops every connection once after --drop-after seconds, on purpose",
    )
    parser.add_argument(
        "--channels",
        default=",".join(DEFAULT_CHANNELS),
        metavar="NAMES",
        help=f"comma-separated, from: {', '.join(CHANNELS)} (default: %(default)s)",
    )
    parser.add_argument(
        "--depth",
        type=int,
        default=1,
        choices=(1, 5, 15),
        help="order book depth: the levels shown per side (default: %(default)s)",
    )
    parser.add_argument(
        "--interval",
        default="1min",
        help="candle interval of the kline channel, e.g. 1min, 15min, 1h, 1day "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--duration",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="stop after this many seconds (default: run until Ctrl-C)",
    )
    parser.add_argument(
        "--drop-after",
        type=non_negative_seconds,
        default=DEFAULT_DROP_AFTER,
        metavar="SECONDS",
        help="with --demo: seconds before the simulated exchange drops every connection "
        "once, 0 for never (default: %(default)g)",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    print_fn: PrintFn = print,
    memory: bool = False,
    clock: trio.abc.Clock | None = None,
) -> int:
    """``watch`` command line; returns the exit code (``memory`` and ``clock``: see
    :func:`watch` and :func:`run_command`)."""
    args = _parser().parse_intermixed_args(list(sys.argv[1:] if argv is None else argv))
    run = partial(
        watch,
        args.symbols,
        demo=args.demo,
        channels=args.channels.split(","),
        depth=args.depth,
        interval=args.interval,
        duration=args.duration,
        drop_after=args.drop_after or None,
        print_fn=flushing(print_fn),
        memory=memory,
    )
    return run_command(run, clock=clock)
