"""Command line: ``python -m bitunix_trio {watch,sim,record} ...``.

``watch SYMBOL... [--demo]``
    Stream live market data as plain lines; ``--demo`` streams from the built-in simulated
    exchange in process, so it works with no network and no account.
``record SYMBOL... -o FILE [--channels ...] [--private] [--demo] [--duration S]``
    Record every frame and REST response the client receives to a gzip JSON-lines file.
``sim [--host H] [--port N] [--rest-port N] [--seed S]``
    Serve the simulated exchange on 127.0.0.1 until Ctrl-C, so any client can be pointed at it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = """\
usage: python -m bitunix_trio <command> [options]

commands:
  watch SYMBOL... [--demo]   stream live market data (--demo: from the built-in simulated exchange)
  sim [--port N] [--seed S]  serve the simulated exchange on 127.0.0.1 until Ctrl-C
  record SYMBOL... -o FILE   record frames and REST responses to a file (--demo: simulated)

Run `python -m bitunix_trio <command> --help` for a command's options.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "watch":
        from ._watch import main as watch_main

        return watch_main(rest)
    if command == "record":
        from ._record import main as record_main

        return record_main(rest)
    if command == "sim":
        from .testing._cli import main as sim_main

        return sim_main(rest)
    sys.stderr.write(f"unknown command {command!r}\n\n{USAGE}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
