"""Benchmarks of bitunix-trio's hot path: ``python -m benchmarks`` (or ``nox -s bench``).

Every figure comes from a loopback WebSocket on 127.0.0.1: a firehose server (a child
process, so its own work does not share the interpreter with what is measured) serves
pre-encoded frames in the exact shapes of the exchange's public pushes, and a client
consumes them three ways, side by side:

* ``baseline``: a bare trio-websocket receive loop that only ``json.loads`` each frame;
* ``decoder``: the same loop with the library's decoder (``bitunix_trio._core.frames.decode``);
* ``library``: ``open_bitunix_stream`` with subscriptions, consuming their channels.

Run with them and reported apart (``throughput.parts``): ``handoff``, the decoder loop
delivering each value to a subscription channel read by its own consumer task, without the
stream (so decoding, the hand-off to consumer tasks and the stream's book-keeping can be told
apart). Also: a decode micro-benchmark (``timeit``, decoding alone and decoding then reading
every field), receive latency percentiles under a paced feed,
and memory with a consumer that never reads. Results go to ``bench-results/results.json``
and a table on stdout. Nothing here asserts on speed.
"""

from __future__ import annotations

__all__ = ["SCHEMA_VERSION"]

#: Version of the layout of ``results.json``.
SCHEMA_VERSION = 2
