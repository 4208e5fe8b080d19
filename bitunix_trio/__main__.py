"""Command line: ``bitunix-trio <command>`` or ``python -m bitunix_trio <command>``.

``watch SYMBOL... [--demo]``
    Stream live market data as plain lines; ``--demo`` streams from the built-in simulated
    exchange in process, so it works with no network and no account.
``check [public|private|reconnect|all] [--demo]``
    Self-test against the exchange (or the simulated one): one line per check, a verdict,
    exit code 0 (all passed) or 1.
``record SYMBOL... -o FILE [--channels ...] [--private] [--demo] [--duration S]``
    Record every frame and REST response the client receives to a gzip JSON-lines file.
``sim [--host H] [--port N] [--rest-port N] [--seed S]``
    Serve the simulated exchange on 127.0.0.1 until Ctrl-C, so any client can be pointed at it.
``--version``
    Print the version.

The commands live in ``bitunix_trio._cli``.
"""

from __future__ import annotations

import sys

from ._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
