"""``bitunix-trio check [public|private|reconnect|all] [--demo]``: the self-test.

``public``
    Connects and receives every public channel of ``--symbol``: ticker, order book at depths
    1, 5 and 15, trades, klines (last and mark price), mark price, tickers.
``private``
    Logs in with the API keys of ``BITUNIX_API_KEY`` / ``BITUNIX_SECRET_KEY`` and reads the
    account (balance and open positions) through the stream's REST client.
``reconnect``
    Drops the connection on purpose (:meth:`~bitunix_trio.BitunixStream.reconnect`), sees it
    come back and data flow again.

One line per check with its timing, then the verdict; exit code 0 when every check passed,
1 otherwise. The common failures get one line that names the cause: no network, missing
keys, keys the exchange refuses, an unknown symbol. ``--demo`` runs the same checks against
the simulated exchange started in this process (with its demo keys).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio

from bitunix_trio._cli.common import (
    PrintFn,
    demo_exchange,
    flushing,
    positive_seconds,
    prog,
    run_command,
)
from bitunix_trio._core.channels import (
    ChannelSpec,
    Kline,
    MarkPrice,
    OrderBook,
    Ticker,
    Tickers,
    Trades,
)
from bitunix_trio._core.credentials import API_KEY_ENV, SECRET_KEY_ENV, Credentials
from bitunix_trio._core.errors import (
    AuthenticationError,
    BitunixError,
    ConfigurationError,
    SubscriptionRejected,
    TransportError,
)
from bitunix_trio._core.models import OrderBookUpdate, Trade
from bitunix_trio._stream.errors import SubscriptionLost
from bitunix_trio._stream.open import open_bitunix_stream
from bitunix_trio._stream.stream import BitunixStream

__all__ = ["CHECKS", "CheckResult", "check", "main", "public_channels"]

#: The check groups, in the order ``all`` runs them.
CHECKS = ("public", "private", "reconnect")
DEFAULT_SYMBOL = "BTCUSDT"
#: Seconds a check waits for its data.
DEFAULT_WAIT = 15.0

LoadCredentials = Callable[[], Credentials]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check: ``seconds`` it took, and what it saw or why it failed."""

    group: str
    name: str
    ok: bool
    seconds: float | None
    detail: str
    #: For a failure with a known common cause: the verdict's one line about it.
    cause: str | None = None

    def line(self) -> str:
        """``ok    public     ticker           0.310 s  last 86704.4``."""
        status = "ok" if self.ok else "FAIL"
        timing = "" if self.seconds is None else f"{self.seconds:.3f} s"
        return f"{status:<5} {self.group:<10} {self.name:<16} {timing:>9}  {self.detail}"


def public_channels(symbol: str) -> list[tuple[str, ChannelSpec[Any]]]:
    """Every public channel of ``symbol``, named as the check lines show them."""
    return [
        ("ticker", Ticker(symbol)),
        ("book 1", OrderBook(symbol, depth=1)),
        ("book 5", OrderBook(symbol, depth=5)),
        ("book 15", OrderBook(symbol, depth=15)),
        ("trades", Trades(symbol)),
        ("kline 1min", Kline(symbol, "1min")),
        ("mark kline 1min", Kline(symbol, "1min", "mark")),
        ("price", MarkPrice(symbol)),
        ("tickers", Tickers(symbol)),
    ]


def _describe(value: Any) -> str | None:
    """What a value shows in its check line; None if it carries no data (the empty book
    the exchange sends once for an unknown symbol)."""
    if isinstance(value, OrderBookUpdate):
        if not value.bids and not value.asks:
            return None
        bid, ask = value.best_bid, value.best_ask
        return (
            f"{len(value.bids)}+{len(value.asks)} levels, bid {bid and bid[0]} ask {ask and ask[0]}"
        )
    if isinstance(value, Trade):
        return f"{value.side.name} {value.qty} @ {value.price}"
    for name in ("last_price", "mark_price", "close"):
        if hasattr(value, name):
            return f"{name.replace('_', ' ')} {getattr(value, name)}"
    return type(value).__name__  # pragma: no cover - every public value has one of those


class _Run:
    """The results of one ``check`` run, printed as they come."""

    def __init__(self, print_fn: PrintFn) -> None:
        self.print_fn = print_fn
        self.results: list[CheckResult] = []

    def add(self, result: CheckResult) -> None:
        self.results.append(result)
        self.print_fn(result.line())


def _since(start: float) -> float:
    return trio.current_time() - start


def _connect_failure(group: str, exc: BitunixError, start: float) -> CheckResult:
    """The line for a stream that could not be opened."""
    if isinstance(exc, AuthenticationError):
        return CheckResult(
            group,
            "login",
            False,
            _since(start),
            f"the exchange refused the API keys: {exc}",
            f"the exchange refused the API keys ({exc}): check {API_KEY_ENV} and "
            f"{SECRET_KEY_ENV}, and that the keys are enabled for futures",
        )
    if isinstance(exc, TransportError):
        return CheckResult(
            group,
            "connect",
            False,
            _since(start),
            str(exc),
            f"cannot reach the exchange (no network?): {exc}",
        )
    return CheckResult(group, "connect", False, _since(start), f"{type(exc).__name__}: {exc}")


async def _first_value(
    stream: BitunixStream, spec: ChannelSpec[Any], wait: float
) -> tuple[str | None, str]:
    """(what the first value with data showed, or None; why there was none)."""
    with trio.move_on_after(wait):
        try:
            async with stream.subscribe(spec) as values:
                async for value in values:
                    shown = _describe(value)
                    if shown is not None:
                        return shown, ""
        except (SubscriptionRejected, SubscriptionLost) as exc:
            return None, str(exc)
        return None, "the subscription ended"
    return None, f"no data in {wait:g} s"


async def _public(run: _Run, options: Mapping[str, Any], symbol: str, wait: float) -> None:
    start = trio.current_time()
    try:
        async with open_bitunix_stream(**options, credentials=None) as stream:
            run.add(CheckResult("public", "connect", True, _since(start), "connected"))
            channels = public_channels(symbol)
            outcomes: dict[str, CheckResult] = {}

            async def one(name: str, spec: ChannelSpec[Any]) -> None:
                begin = trio.current_time()
                shown, why = await _first_value(stream, spec, wait)
                took = _since(begin)
                if shown is None:
                    outcomes[name] = CheckResult("public", name, False, took, why)
                else:
                    outcomes[name] = CheckResult("public", name, True, took, shown)

            async with trio.open_nursery() as nursery:
                for name, spec in channels:
                    nursery.start_soon(one, name, spec)
    except BitunixError as exc:
        run.add(_connect_failure("public", exc, start))
        return
    for name, _ in channels:
        run.add(outcomes[name])
    if not any(outcomes[name].ok for name, _ in channels):
        last = run.results[-1]
        run.results[-1] = CheckResult(
            last.group,
            last.name,
            last.ok,
            last.seconds,
            last.detail,
            f"no data for {symbol} on any public channel: unknown or delisted symbol?",
        )


async def _private(
    run: _Run, options: Mapping[str, Any], load_credentials: LoadCredentials, wait: float
) -> None:
    try:
        credentials = load_credentials()
    except ConfigurationError as exc:
        run.add(
            CheckResult(
                "private",
                "credentials",
                False,
                None,
                str(exc),
                f"the private checks need API keys: {exc} (set {API_KEY_ENV} and {SECRET_KEY_ENV})",
            )
        )
        return
    start = trio.current_time()
    try:
        async with open_bitunix_stream(**options, credentials=credentials) as stream:
            run.add(CheckResult("private", "login", True, _since(start), "logged in"))
            begin = trio.current_time()
            try:
                with trio.fail_after(wait):
                    account = await stream.rest.get_account()
                    positions = await stream.rest.get_pending_positions()
            except (BitunixError, trio.TooSlowError) as exc:
                why = str(exc) or f"no answer in {wait:g} s"
                run.add(CheckResult("private", "account", False, _since(begin), why))
            else:
                detail = (
                    f"available {account.available} {account.coin}, "
                    f"{len(positions)} open position{'' if len(positions) == 1 else 's'}"
                )
                run.add(CheckResult("private", "account", True, _since(begin), detail))
    except BitunixError as exc:
        run.add(_connect_failure("private", exc, start))


async def _reconnect(run: _Run, options: Mapping[str, Any], symbol: str, wait: float) -> None:
    start = trio.current_time()
    spec = OrderBook(symbol, depth=1)
    try:
        async with (
            open_bitunix_stream(**options, credentials=None) as stream,
            stream.subscribe(spec) as books,
        ):
            with trio.move_on_after(wait):
                await books.receive()
            if books.statistics().taken == 0:
                why = f"no data for {symbol} in {wait:g} s, so no reconnect to check"
                run.add(CheckResult("reconnect", "reconnect", False, _since(start), why))
                return
            begin = trio.current_time()
            with trio.move_on_after(wait):
                await stream.reconnect()
            took = _since(begin)
            if stream.state.name not in {"CONNECTED", "AUTHENTICATED"}:
                why = f"not connected again after {wait:g} s"
                run.add(CheckResult("reconnect", "reconnect", False, took, why))
                return
            detail = "connection dropped on purpose, connected again"
            run.add(CheckResult("reconnect", "reconnect", True, took, detail))
            while True:  # whatever came before the drop
                try:
                    books.receive_nowait()
                except trio.WouldBlock:
                    break
            begin = trio.current_time()
            with trio.move_on_after(wait):
                book = await books.receive()
                shown = _describe(book) or "an empty book"
                run.add(CheckResult("reconnect", "data again", True, _since(begin), shown))
                return
            why = f"no data in {wait:g} s after the reconnect"
            run.add(CheckResult("reconnect", "data again", False, _since(begin), why))
    except BitunixError as exc:
        run.add(_connect_failure("reconnect", exc, start))


async def check(
    which: str = "all",
    *,
    symbol: str = DEFAULT_SYMBOL,
    stream_options: Mapping[str, Any] | None = None,
    load_credentials: LoadCredentials = Credentials.from_env,
    wait: float = DEFAULT_WAIT,
    where: str = "fapi.bitunix.com",
    print_fn: PrintFn = print,
) -> bool:
    """Run the checks of ``which`` (``public``, ``private``, ``reconnect`` or ``all``),
    printing one line per check and the verdict; return whether every check passed.

    Arguments:
        symbol: the symbol whose channels are checked.
        stream_options: keyword arguments of ``open_bitunix_stream`` (URLs, connector...)
            other than ``credentials`` (default: the real exchange); REST polling while
            the WebSocket is down is off unless ``fallback_grace`` is given.
        load_credentials: gives the API keys of the private checks (raises
            :class:`~bitunix_trio.ConfigurationError` when there are none).
        wait: seconds each check waits for its data.
        where: how the header names the exchange.
    """
    groups = list(CHECKS) if which == "all" else [which]
    if any(group not in CHECKS for group in groups):
        raise ConfigurationError(f"unknown check {which!r}; choose from {', '.join(CHECKS)}, all")
    options = dict(stream_options or {})
    options.pop("credentials", None)
    # What is checked is the WebSocket: no REST polling standing in for a channel.
    options.setdefault("fallback_grace", None)
    symbol = symbol.strip().upper()
    print_fn(f"checking {', '.join(groups)} on {where} with {symbol}")
    run = _Run(print_fn)
    start = trio.current_time()
    for group in groups:
        if group == "public":
            await _public(run, options, symbol, wait)
        elif group == "private":
            await _private(run, options, load_credentials, wait)
        else:
            await _reconnect(run, options, symbol, wait)
    failed = [result for result in run.results if not result.ok]
    total = len(run.results)
    took = f"{_since(start):.1f} s"
    if not failed:
        print_fn(f"PASS: all {total} checks passed in {took}")
        return True
    causes = list(dict.fromkeys(r.cause for r in failed if r.cause is not None))
    summary = f"{len(failed)} of {total} checks failed in {took}"
    print_fn(f"FAIL: {'; '.join(causes)} ({summary})" if causes else f"FAIL: {summary}")
    return False


@asynccontextmanager
async def _target(demo: bool, memory: bool) -> AsyncIterator[tuple[dict[str, Any], Any, str]]:
    """(stream options, credentials loader, name) of the exchange to check."""
    if not demo:
        yield {}, Credentials.from_env, "fapi.bitunix.com"
        return
    async with demo_exchange(memory=memory, seed=0) as exchange:
        credentials = exchange.credentials
        yield exchange.stream_options(), lambda: credentials, "the simulated exchange (demo)"


async def _run(which: str, demo: bool, memory: bool, **kwargs: Any) -> bool:
    async with _target(demo, memory) as (options, load, where):
        return await check(
            which, stream_options=options, load_credentials=load, where=where, **kwargs
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog("check"),
        description=(
            "Self-test against the BitUnix futures exchange: public receives every public "
            f"channel of --symbol; private logs in with {API_KEY_ENV} and {SECRET_KEY_ENV} "
            "and reads the account; reconnect drops the connection on purpose and sees data "
            "again. One line per check with its timing, then the verdict."
        ),
        epilog="Exit codes: 0 when every check passed, 1 otherwise, 2 for a bad argument.",
    )
    parser.add_argument(
        "which",
        nargs="?",
        default="all",
        choices=(*CHECKS, "all"),
        help="which checks to run (default: all)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="check the built-in simulated exchange, with its demo keys, instead of the "
        "real one (default: the real exchange)",
    )
    parser.add_argument(
        "--symbol", default=DEFAULT_SYMBOL, help="the symbol to check (default: %(default)s)"
    )
    parser.add_argument(
        "--timeout",
        dest="wait",
        type=positive_seconds,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help="how long each check waits for its data (default: %(default)g)",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    print_fn: PrintFn = print,
    memory: bool = False,
    clock: trio.abc.Clock | None = None,
) -> int:
    """``check`` command line; returns the exit code (``memory``: run the demo exchange in
    memory; ``clock``: Trio's clock; both for tests)."""
    args = _parser().parse_intermixed_args(list(sys.argv[1:] if argv is None else argv))
    passed = False

    async def run() -> None:
        nonlocal passed
        passed = await _run(
            args.which,
            args.demo,
            memory,
            symbol=args.symbol,
            wait=args.wait,
            print_fn=flushing(print_fn),
        )

    code = run_command(run, clock=clock)
    return code if code or passed else 1
