"""What the commands share: the program name, argument types, the demo exchange, and running
a command's Trio function with one clear line (never a traceback) for the expected failures.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio

from bitunix_trio._core.errors import BitunixError
from bitunix_trio._stream.errors import leaves as exception_leaves

if TYPE_CHECKING:
    from bitunix_trio.testing import SimulatedExchange

__all__ = [
    "CommandFailed",
    "PrintFn",
    "demo_exchange",
    "non_negative_seconds",
    "positive_seconds",
    "prog",
    "run_command",
]

PrintFn = Callable[[str], object]

#: Exit codes.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class CommandFailed(Exception):
    """The command cannot go on; its message is the one line shown (``error: ...``)."""


def prog(command: str | None = None) -> str:
    """How the user called us (``bitunix-trio`` or ``python -m bitunix_trio``), plus
    ``command``: for usage lines."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    base = "bitunix-trio" if name.startswith("bitunix-trio") else "python -m bitunix_trio"
    return base if command is None else f"{base} {command}"


def _seconds(text: str, *, allow_zero: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value > 0 or (allow_zero and value == 0)) or value == float("inf"):
        kind = "zero or more" if allow_zero else "more than zero"
        raise argparse.ArgumentTypeError(f"seconds must be {kind} and finite, got {text!r}")
    return value


def positive_seconds(text: str) -> float:
    """argparse type: a finite number of seconds above zero."""
    return _seconds(text, allow_zero=False)


def non_negative_seconds(text: str) -> float:
    """argparse type: a finite number of seconds, zero allowed."""
    return _seconds(text, allow_zero=True)


@asynccontextmanager
async def demo_exchange(*, memory: bool, seed: int) -> AsyncIterator[SimulatedExchange]:
    """The simulated exchange for ``--demo``: on 127.0.0.1, or in memory (tests)."""
    try:
        from bitunix_trio.testing import open_simulated_exchange
    except ImportError as exc:  # pragma: no cover - the testing extra is not installed
        raise CommandFailed(
            f"--demo needs the simulated exchange ({exc.name} is missing): "
            "pip install 'bitunix-trio[testing]'"
        ) from None
    async with open_simulated_exchange(seed, memory=memory) as exchange:
        yield exchange


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at devnull so that the interpreter's final flush
    does not fail again (the recipe of the ``signal`` module's documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (captured, closed)
        pass


def run_command(
    fn: Callable[[], Awaitable[object]],
    *,
    errors: PrintFn | None = None,
    clock: trio.abc.Clock | None = None,
) -> int:
    """``trio.run(fn)``; return the exit code, turning the expected failures into one line.

    0 when ``fn`` returns; 1 with ``error: <message>`` on stderr for a
    :class:`CommandFailed` or a :class:`~bitunix_trio.BitunixError`; 1 (and stdout sent to
    devnull) when stdout is a pipe whose reader went away (``... | head``); 130 on Ctrl-C.
    Anything else is a bug and keeps its traceback. ``clock`` is Trio's clock (tests).
    """
    say = errors or (lambda line: sys.stderr.write(line + "\n"))
    try:
        trio.run(fn, clock=clock)
    except BaseException as exc:
        leaves = list(exception_leaves(exc))
        if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
            return EXIT_INTERRUPTED
        if any(isinstance(leaf, BrokenPipeError) for leaf in leaves):
            _silence_stdout()
            return EXIT_FAILED
        known = [leaf for leaf in leaves if isinstance(leaf, CommandFailed | BitunixError)]
        if known and len(known) == len(leaves):
            say(f"error: {known[0]}")
            return EXIT_FAILED
        raise
    return EXIT_OK


def flushing(print_fn: PrintFn) -> PrintFn:
    """``print_fn``, flushing stdout after each line when it is :func:`print` (so that a
    pipe sees lines as they come, and a closed pipe is noticed at once)."""
    if print_fn is not print:
        return print_fn

    def emit(line: str) -> None:
        print(line, flush=True)

    return emit
