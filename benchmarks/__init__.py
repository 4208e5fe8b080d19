"""Benchmarks of bitunix-trio's hot path: ``python -m benchmarks`` (or ``nox -s bench``).

Every figure comes from a loopback WebSocket on 127.0.0.1: a firehose server (a child
process, so its own work does not share the interpreter with what is measured) serves
pre-encoded frames in the exact shapes of the exchange's public pushes, and a client
consumes them three ways, side by side:

* ``baseline``: a bare trio-websocket receive loop that only ``json.loads`` each frame;
* ``decoder``: the same loop with the library's decoder (``bitunix_trio._frames.decode``);
* ``library``: ``open_bitunix_stream`` with subscriptions, consuming their channels.

Also: a decode micro-benchmark (``timeit``), receive latency percentiles under a paced feed,
and memory with a consumer that never reads. Results go to ``bench-results/results.json``
and a table on stdout. Nothing here asserts on speed.
"""

from __future__ import annotations

__all__ = ["SCHEMA_VERSION"]

#: Version of the layout of ``results.json``.
SCHEMA_VERSION = 1
