"""The command line: ``bitunix-trio <command>`` (or ``python -m bitunix_trio <command>``).

Each command is a module with ``main(argv) -> int`` (the exit code), listed in
:data:`COMMANDS` and imported only when run, so ``--help`` and ``--version`` stay quick.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from bitunix_trio._version import __version__

from .common import prog

__all__ = ["COMMANDS", "Command", "main"]


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand: its usage line, what it does, and the module whose ``main`` runs it."""

    usage: str
    summary: str
    module: str

    def run(self, argv: Sequence[str]) -> int:
        """Run the command with its own arguments; return the exit code."""
        code: int = importlib.import_module(self.module).main(list(argv))
        return code


#: The subcommands, in the order ``--help`` lists them.
COMMANDS: dict[str, Command] = {
    "watch": Command(
        "watch SYMBOL... [--demo]",
        "stream live market data as plain lines (--demo: from the built-in simulated exchange)",
        "bitunix_trio._cli.watch",
    ),
    "check": Command(
        "check [public|private|reconnect|all] [--demo]",
        "self-test: public channels, login and account data, a forced reconnect",
        "bitunix_trio._cli.check",
    ),
    "record": Command(
        "record SYMBOL... -o FILE",
        "record frames and REST responses to a file (--demo: from the simulated exchange)",
        "bitunix_trio._cli.record",
    ),
    "sim": Command(
        "sim [--port N] [--seed S]",
        "serve the simulated exchange on 127.0.0.1 until Ctrl-C",
        "bitunix_trio.testing._cli",
    ),
}


def usage() -> str:
    """The top-level help text."""
    lines = [
        f"usage: {prog()} <command> [options]",
        f"       {prog()} --version",
        "",
        "commands:",
        *(f"  {c.usage}\n      {c.summary}" for c in COMMANDS.values()),
        "",
        f"Run `{prog()} <command> --help` for a command's options.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(usage())
        return 0
    if args[0] in {"-V", "--version"}:
        sys.stdout.write(f"bitunix-trio {__version__}\n")
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        sys.stderr.write(f"unknown command {args[0]!r}\n\n{usage()}")
        return 2
    return command.run(args[1:])
