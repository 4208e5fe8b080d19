"""``bitunix-trio record SYMBOL... -o FILE``: record a market (and an account) to a file.

Opens a stream with a recording connector and REST transport (see
:mod:`bitunix_trio._stream.recording`),
fetches the REST market data of each symbol once (tickers, depth, funding rate, trading
pairs; with ``--private`` also the account, positions and open orders), subscribes to the
chosen channels and writes everything received until Ctrl-C or ``--duration`` seconds.
``--demo`` records from the simulated exchange run in this process (no network).
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import IO, Any

import httpx
import trio

from bitunix_trio._core.channels import spec_from_key
from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import BitunixError, ConfigurationError
from bitunix_trio._stream.connector import default_connector
from bitunix_trio._stream.open import open_bitunix_stream
from bitunix_trio._stream.recording import RecordingWriter
from bitunix_trio._stream.stream import BitunixStream

__all__ = ["DEFAULT_CHANNELS", "main", "record"]

#: Wire channels recorded when ``--channels`` is not given.
DEFAULT_CHANNELS = ("ticker", "depth_book5", "trade")

PrintFn = Callable[[str], object]


@asynccontextmanager
async def _endpoints(demo: bool, seed: int) -> AsyncIterator[dict[str, Any]]:
    if not demo:
        yield {"connector": default_connector, "rest_transport": httpx.AsyncHTTPTransport()}
        return
    from bitunix_trio.testing import open_simulated_exchange

    async with open_simulated_exchange(seed, memory=True) as exchange:
        yield {
            "public_url": exchange.public_url,
            "private_url": exchange.private_url,
            "rest_url": exchange.rest_url,
            "connector": exchange.connector,
            "rest_transport": exchange.rest_transport(),
            "credentials": exchange.credentials,
        }


async def _drain(stream: BitunixStream, channel: str, symbol: str) -> None:
    async with stream.subscribe(spec_from_key(channel, symbol)) as values:
        async for _ in values:
            pass


async def _snapshots(stream: BitunixStream, symbols: Sequence[str], private: bool) -> None:
    rest = stream.rest
    await rest.get_trading_pairs(symbols)
    await rest.get_tickers(symbols)
    for symbol in symbols:
        await rest.get_depth(symbol)
        await rest.get_funding_rate(symbol)
    if private:
        await rest.get_account()
        await rest.get_pending_positions()
        await rest.get_pending_orders()


async def record(
    file: IO[str],
    symbols: Sequence[str],
    channels: Sequence[str] = DEFAULT_CHANNELS,
    *,
    private: bool = False,
    demo: bool = False,
    duration: float | None = None,
    credentials: Credentials | None = None,
    seed: int = 0,
    print_fn: PrintFn = print,
) -> RecordingWriter:
    """Record ``channels`` of ``symbols`` (and, with ``private``, the account) to ``file``.

    Runs for ``duration`` seconds (None: until cancelled); returns the writer (its
    ``frames`` and ``responses`` counts). ``credentials`` are needed with ``private`` on the
    real exchange; ``demo`` records from an in-process simulated exchange instead.
    """
    symbols = [s.upper() for s in symbols]
    for channel in channels:
        for symbol in symbols:
            spec_from_key(channel, symbol)
    async with _endpoints(demo, seed) as options:
        demo_credentials = options.pop("credentials", None)
        if private:
            credentials = credentials if credentials is not None else demo_credentials
            if credentials is None:
                raise ConfigurationError("--private needs credentials (BITUNIX_API_KEY/...)")
        else:
            credentials = None
        writer = RecordingWriter(
            file,
            symbols=symbols,
            channels=channels,
            private=private,
            source="demo" if demo else options.get("public_url", "wss://fapi.bitunix.com"),
            credentials=credentials,
        )
        options["connector"] = writer.connector(options["connector"])
        options["rest_transport"] = writer.transport(options["rest_transport"])
        try:
            with trio.move_on_after(float("inf") if duration is None else duration):
                async with (
                    open_bitunix_stream(credentials, **options) as stream,
                    trio.open_nursery() as nursery,
                ):
                    for channel in channels:
                        for symbol in symbols:
                            nursery.start_soon(_drain, stream, channel, symbol)
                    print_fn(f"recording {', '.join(channels)} of {', '.join(symbols)}")
                    await _snapshots(stream, symbols, private)
                    await trio.sleep_forever()
        finally:
            writer.close()
    return writer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bitunix_trio record",
        description="Record every frame and REST response the client receives to a "
        "gzip JSON-lines file, until Ctrl-C or --duration.",
    )
    parser.add_argument("symbols", nargs="+", metavar="SYMBOL", help="e.g. BTCUSDT")
    parser.add_argument(
        "--channels",
        nargs="+",
        default=list(DEFAULT_CHANNELS),
        metavar="CHANNEL",
        help="wire channels (ticker, tickers, depth_book1/5/15, trade, price, "
        f"market_kline_1min, ...); default: {' '.join(DEFAULT_CHANNELS)}",
    )
    parser.add_argument(
        "--private",
        action="store_true",
        help="also log in and record the account (keys from BITUNIX_API_KEY and "
        "BITUNIX_SECRET_KEY)",
    )
    parser.add_argument(
        "--demo", action="store_true", help="record the simulated exchange run in this process"
    )
    parser.add_argument("--duration", type=float, default=None, help="seconds to record")
    parser.add_argument("--seed", type=int, default=0, help="market seed with --demo")
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="file to write (.jsonl.gz)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``record SYMBOL... -o FILE [...]``; return the exit code (Ctrl-C stops it: 0)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        options = _parser().parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if options.duration is not None and not options.duration > 0:
        sys.stderr.write("error: --duration must be a positive number of seconds\n")
        return 2
    credentials: Credentials | None = None
    try:
        if options.private and not options.demo:
            credentials = Credentials.from_env()
        with gzip.open(options.output, "wt", encoding="utf-8") as file:
            run = partial(
                record,
                file,
                options.symbols,
                options.channels,
                private=options.private,
                demo=options.demo,
                duration=options.duration,
                credentials=credentials,
                seed=options.seed,
                print_fn=partial(print, flush=True),
            )
            writer = _run(run)
    except (BitunixError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    if writer is not None:
        print(
            f"wrote {writer.frames} frames and {writer.responses} REST responses "
            f"to {options.output}",
            flush=True,
        )
    return 0


def _run(run: Callable[[], Any]) -> RecordingWriter | None:
    try:
        result: RecordingWriter = trio.run(run)
    except KeyboardInterrupt:
        return None
    except BaseExceptionGroup as group:
        interrupted, rest = group.split(KeyboardInterrupt)
        if interrupted is None or rest is not None:
            raise
        return None
    return result
