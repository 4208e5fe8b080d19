"""``python -m bitunix_trio sim``: serve the simulated exchange until Ctrl-C.

Prints the WebSocket and REST URLs and the demo credentials (simulator-only values, so
printing them is harmless), then serves any client pointed at them.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

import trio

from bitunix_trio._core.errors import ConfigurationError

from ._engine.market import instruments_for
from ._exchange import SimulatedExchange, open_simulated_exchange

__all__ = ["main", "serve_sim"]


async def serve_sim(
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    rest_port: int = 0,
    *,
    symbols: Sequence[str] | None = None,
    start_time: float | None = None,
    print_fn: Callable[[str], object] = print,
    replay: str | None = None,
    speed: float = 1.0,
    loop: bool = False,
    task_status: trio.TaskStatus[SimulatedExchange] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve a simulated exchange on ``host`` until cancelled.

    ``port`` is the WebSocket port and ``rest_port`` the REST port (0: chosen by the OS).
    ``symbols`` are the listed perpetuals (default: the 24 of ``DEFAULT_SYMBOLS`` and the
    PREVIEW ``NEWUSDT``); ``start_time`` (Unix seconds) fixes where the exchange's clock
    starts (default: the wall clock).
    Prints the URLs and the demo credentials with ``print_fn``, then reports the
    :class:`SimulatedExchange` handle through ``task_status`` (for ``nursery.start``).
    ``replay`` serves a recording file ``speed`` times faster (``loop``: over and over).
    """
    async with open_simulated_exchange(
        seed,
        host=host,
        port=port,
        rest_port=rest_port,
        symbols=symbols,
        start_time=start_time,
        replay=replay,
        speed=speed,
        loop=loop,
    ) as ex:
        title = f"Simulated BitUnix futures exchange (seed {seed})"
        if ex.replay is not None:
            title = f"Simulated BitUnix futures exchange replaying {replay} ({ex.replay!r})"
        listed = [s for s in ex.engine.instruments if ex.engine.is_listed(s)]
        lines = [
            title,
            f"  symbols:           {', '.join(listed)}",
            f"  public WebSocket:  {ex.public_url}",
            f"  private WebSocket: {ex.private_url}",
            f"  REST:              {ex.rest_url}",
            "  demo credentials (simulator only):",
            f"    api key:    {ex.credentials.api_key}",
            f"    secret key: {ex.credentials.secret_key}",
            "Press Ctrl-C to stop.",
        ]
        for line in lines:
            print_fn(line)
        task_status.started(ex)
        await trio.sleep_forever()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bitunix_trio sim",
        description="Serve the simulated BitUnix futures exchange until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="WebSocket port (0: any free port)")
    parser.add_argument("--rest-port", type=int, default=0, help="REST port (0: any free port)")
    parser.add_argument("--seed", type=int, default=0, help="market and credentials seed")
    parser.add_argument(
        "--replay", metavar="FILE", help="serve a recording (bitunix-trio record) as the market"
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="with --replay: times faster than recorded"
    )
    parser.add_argument("--loop", action="store_true", help="with --replay: start over at the end")
    parser.add_argument(
        "--symbols",
        type=_symbols,
        default=None,
        help="comma-separated USDT perpetuals to list, e.g. BTCUSDT,ETHUSDT (default: 24)",
    )
    parser.add_argument(
        "--start-time",
        type=float,
        default=None,
        help="Unix seconds where the exchange's clock starts (default: now), for repeatable runs",
    )
    return parser


def _symbols(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    try:
        instruments_for(names)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return names


async def _serve_until_signalled(serve: Callable[..., Awaitable[object]]) -> None:
    """Run ``serve`` (a ``nursery.start``-able task) until SIGINT or SIGTERM.

    The signal cancels the server like any other cancellation, so shutdown never depends on
    where a ``KeyboardInterrupt`` would have landed; an error while starting is raised as is.
    """
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(serve)
                async for _ in signals:
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sim [--host H] [--port N] [--rest-port N] [--seed S] [--symbols A,B]
    [--start-time T] [--replay FILE [--speed N] [--loop]]``; return the exit code.

    A leading ``sim`` in ``argv`` is accepted. Ctrl-C (SIGINT) or SIGTERM stops the server
    and returns 0.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "sim":
        args = args[1:]
    try:
        options = _parser().parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    serve = partial(
        serve_sim,
        options.host,
        options.port,
        options.seed,
        options.rest_port,
        symbols=options.symbols,
        start_time=options.start_time,
        print_fn=partial(print, flush=True),
        replay=options.replay,
        speed=options.speed,
        loop=options.loop,
    )
    try:
        trio.run(_serve_until_signalled, serve)
    except KeyboardInterrupt:  # Ctrl-C before the signal receiver was in place
        pass
    except OSError as exc:  # a port in use, an address that is not ours
        ports = {"WebSocket": options.port, "REST": options.rest_port}
        sys.stderr.write(f"error: {_listen_failure(options.host, ports, exc)}\n")
        return 1
    except BaseExceptionGroup as group:
        interrupted, rest = group.split(KeyboardInterrupt)
        if interrupted is None or rest is not None:
            raise
    except ConfigurationError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    print("Stopped.", flush=True)
    return 0


def _listen_failure(host: str, ports: dict[str, int], exc: OSError) -> str:
    """One line for a failure to listen: the busy port(s), found by trying them again."""
    busy = []
    for name, port in ports.items():
        if port:
            try:
                with socket.create_server((host, port)):
                    pass
            except OSError:
                busy.append(f"port {port} ({name})")
    where = f"{host}, {' and '.join(busy)}" if busy else host
    return f"cannot listen on {where}: {exc.strerror or exc}"
