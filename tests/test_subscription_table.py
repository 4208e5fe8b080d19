"""The subscription table: one entry per key (spec, sinks, shard, status, verdict), public
keys spread over connections 300 each; pushed values routed by its entries (the connection
protocol's ``receive_push``)."""

from __future__ import annotations

import dataclasses

from golden_frames import SERVER_CASES
from protocol_shell import Collector, KeySpec

from bitunix_trio import OrderBook, Orders, Trades
from bitunix_trio._core.frames import Key, Push, decode, encode_push
from bitunix_trio._core.models import TickerSummary
from bitunix_trio._core.protocol import ConnectionProtocol, Routed
from bitunix_trio._core.subscriptions import MAX_SUBSCRIPTIONS_PER_CONNECTION, SubscriptionTable


def book(symbol: str) -> KeySpec:
    return KeySpec(("depth_book15", symbol))


def add(table: SubscriptionTable, spec: KeySpec, open_shards: list[int] | None = None) -> int:
    entry, _first = table.add(spec, Collector(), open_shards=open_shards or [])
    assert entry.shard is not None
    return entry.shard


def test_sharding_350_gives_300_and_50() -> None:
    assert MAX_SUBSCRIPTIONS_PER_CONNECTION == 300
    table = SubscriptionTable()
    specs = [book(f"S{i}USDT") for i in range(350)]
    assert [add(table, s) for s in specs] == [0] * 300 + [1] * 50
    assert table.counts == (300, 50)
    # Another reference keeps the key where it is.
    entry, first = table.add(specs[3], Collector())
    assert (entry.shard, first, entry.refs) == (0, False, 2)
    assert table.remove(specs[3].key, entry.sinks[0]) == (entry, False)
    assert table.remove(specs[3].key, entry.sinks[0]) == (entry, True)
    assert table.get(specs[3].key) is None
    assert add(table, KeySpec(("ticker", "NEWUSDT"))) == 0  # the freed place is reused
    assert table.remove(("nope", None), Collector()) == (None, False)


def test_private_keys_are_on_no_shard() -> None:
    table = SubscriptionTable(capacity=1)
    entry, first = table.add(Orders(), Collector())
    assert (entry.shard, first, entry.periodic) == (None, True, False)
    assert table.counts == ()
    assert table.on_shard(None) == [entry]


def test_open_connections_with_room_come_first() -> None:
    table = SubscriptionTable(capacity=2)
    specs = [book(f"K{i}USDT") for i in range(6)]
    assert [add(table, s) for s in specs] == [0, 0, 1, 1, 2, 2]
    for spec in specs[2:5]:
        (sink,) = table.get(spec.key).sinks  # type: ignore[union-attr]
        table.remove(spec.key, sink)  # connection 1 empty (and closed), one place free on 2
    assert table.counts == (2, 0, 1)
    new = [book(f"N{i}USDT") for i in range(3)]
    assert add(table, new[0], open_shards=[0, 2]) == 2  # not the gap at 1
    assert add(table, new[1], open_shards=[0, 2]) == 1  # every open one is full
    assert add(table, new[2], open_shards=[0, 1, 2]) == 1
    assert table.counts == (2, 2, 2)
    assert add(table, book("MORE"), open_shards=[0, 1, 2]) == 3
    # Without open shards: the lowest index with room, open or not.
    other = SubscriptionTable(capacity=1)
    add(other, specs[0])
    add(other, specs[1])
    (sink,) = other.get(specs[0].key).sinks  # type: ignore[union-attr]
    other.remove(specs[0].key, sink)
    assert add(other, specs[2]) == 0
    assert add(other, specs[3], open_shards=[1, 5]) == 5  # an index not seen yet


def route(table: SubscriptionTable, push: Push) -> Routed:
    """Who receives ``push`` when it comes on a connection of the stream of ``table``."""
    proto = ConnectionProtocol(wall_clock=lambda: 0.0, entries=table.entries)
    routed, _events = proto.receive_push(push, 1.0)
    return routed


def test_route_gives_each_subscribed_key_its_items() -> None:
    table = SubscriptionTable()
    books, trades, orders = Collector(), Collector(), Collector()
    table.add(OrderBook("BTCUSDT", 15), books)
    table.add(Trades("BTCUSDT"), trades)
    table.add(Orders(), orders)
    level = {"b": [["100", "1"]], "a": [["101", "2"]]}
    frame = decode(encode_push("depth_book15", "BTCUSDT", 1, level))
    assert isinstance(frame, Push)
    ((entry, items),) = route(table, frame)
    assert entry.key == ("depth_book15", "BTCUSDT")
    assert entry.sinks == [books]
    assert items == frame.items
    other = decode(encode_push("depth_book15", "ETHUSDT", 1, level))
    assert isinstance(other, Push)
    assert route(table, other) == ()  # nobody subscribed


def test_route_splits_a_tickers_push_by_symbol() -> None:
    table = SubscriptionTable()
    table.add(KeySpec(("tickers", "BTCUSDT")), Collector())
    table.add(KeySpec(("tickers", "ETHUSDT")), Collector())
    entry = {c.name: c.frame for c in SERVER_CASES}["tickers as an array"]
    assert isinstance(entry, Push)
    (summary,) = entry.items
    assert isinstance(summary, TickerSummary)
    others = [dataclasses.replace(summary, symbol=s) for s in ("XRPUSDT", "ETHUSDT")]
    routed = route(table, Push("tickers", None, 1, (summary, *others)))
    keys: list[Key] = [entry.key for entry, _ in routed]
    assert keys == [("tickers", summary.symbol), ("tickers", "ETHUSDT")]
    assert [list(items) for _, items in routed] == [[summary], [others[1]]]
