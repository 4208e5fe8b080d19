"""The frames the firehose serves and the order it serves them in (shared by both ends).

Frames are the public pushes of the protocol notes (section 4) in their exact shapes, encoded
once with the library's own encoder. Each frame carries its send time in ``ts``: microseconds
of ``time.monotonic_ns()``, a clock shared by every process on the machine, so the consumer
can measure latency from the frame alone. A stamped frame is ``prefix + str(stamp) + suffix``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from bitunix_trio._core.frames import encode_push

__all__ = [
    "DEFAULT_STREAMS",
    "SYMBOL",
    "TEMPLATES",
    "TRADES_PER_PUSH",
    "FeedParams",
    "Template",
    "count_by_stream",
    "now_us",
    "schedule",
    "symbol_names",
    "template_for",
]

SYMBOL = "BTCUSDT"

#: Trades in one ``trade`` push (the capture in the protocol notes has two).
TRADES_PER_PUSH = 2

#: Streams of the throughput and latency feeds. ``trade`` comes first and the last frame of
#: a feed is always a trade: trades are never dropped, so a consumer that has taken the last
#: trade knows every frame before it went through the reader.
DEFAULT_STREAMS = ("trade", "depth_book15", "ticker", "price")

_TS_MARK = 1790126515693


def now_us() -> int:
    """Microseconds of the monotonic clock (the unit of the frames' ``ts``)."""
    return time.monotonic_ns() // 1000


def _book() -> dict[str, list[list[str]]]:
    bids = [[f"{86699.6 - i * 0.1:.1f}", f"{2.274 + (i * 7919 % 113) / 37:.4f}"] for i in range(15)]
    asks = [
        [f"{86699.7 + i * 0.1:.1f}", f"{0.7095 + (i * 104729 % 97) / 41:.4f}"] for i in range(15)
    ]
    return {"b": bids, "a": asks}


_DATA: dict[str, object] = {
    "depth_book15": _book(),
    "ticker": {
        "s": SYMBOL,
        "o": "85567",
        "la": "86688.2",
        "h": "86815.6",
        "l": "85080",
        "b": "27478.1701",
        "q": "2362759522.50052",
        "r": "1.3103182302",
    },
    "trade": [
        {"t": "2026-04-07T05:47:52Z", "p": "68621.4", "v": "0.7142", "s": "buy"},
        {"t": "2026-04-07T05:47:52Z", "p": "68621.4", "v": "0.0018", "s": "sell"},
    ],
    "price": {
        "ip": "86720.6",
        "mp": "86688.3",
        "fr": "-0.00077",
        "ft": "2026-09-23T00:00:00Z",
        "nft": "2026-09-23T08:00:00Z",
    },
}


@dataclass(frozen=True, slots=True)
class Template:
    """One pre-encoded push with a hole for its ``ts``."""

    channel: str
    prefix: str
    suffix: str

    def render(self, stamp: int) -> str:
        """The frame's text with ``ts`` = ``stamp``."""
        return self.prefix + str(stamp) + self.suffix

    @property
    def sample(self) -> str:
        """The frame with a realistic millisecond ``ts`` (for the decode micro-benchmark)."""
        return self.render(_TS_MARK)


def _template(channel: str) -> Template:
    text = encode_push(channel, SYMBOL, _TS_MARK, _DATA[channel])
    prefix, mark, suffix = text.partition(f'"ts":{_TS_MARK}')
    if not mark or str(_TS_MARK) in suffix:  # pragma: no cover - encoder changed shape
        raise RuntimeError(f"cannot find ts in the encoded {channel} frame: {text!r}")
    return Template(channel, prefix + '"ts":', suffix)


TEMPLATES: dict[str, Template] = {channel: _template(channel) for channel in _DATA}

_BY_SYMBOL: dict[tuple[str, str], Template] = {}


def template_for(channel: str, symbol: str) -> Template:
    """The template of ``channel`` for ``symbol`` (the fan-out feeds push many symbols)."""
    if symbol == SYMBOL:
        return TEMPLATES[channel]
    template = _BY_SYMBOL.get((channel, symbol))
    if template is None:
        text = encode_push(channel, symbol, _TS_MARK, _DATA[channel])
        prefix, _, suffix = text.partition(f'"ts":{_TS_MARK}')
        template = _BY_SYMBOL[(channel, symbol)] = Template(channel, prefix + '"ts":', suffix)
    return template


def symbol_names(count: int) -> tuple[str, ...]:
    """The symbols of a feed of ``count`` symbols (``BTCUSDT`` alone for one)."""
    if count == 1:
        return (SYMBOL,)
    return tuple(f"S{i:04d}USDT" for i in range(count))


def schedule(n: int, streams: Sequence[str]) -> list[str]:
    """The channel of each of ``n`` frames: ``streams`` in turn, the last one a trade when
    ``trade`` is one of them."""
    order = [streams[i % len(streams)] for i in range(n)]
    if order and "trade" in streams:
        order[-1] = "trade"
    return order


def count_by_stream(n: int, streams: Sequence[str]) -> dict[str, int]:
    """How many frames of each channel a feed of ``n`` frames has."""
    counts = dict.fromkeys(streams, 0)
    for channel in schedule(n, streams):
        counts[channel] += 1
    return counts


@dataclass(frozen=True, slots=True)
class FeedParams:
    """What one connection to the firehose asks for (carried in the URL's query).

    Attributes:
        frames: how many frames to send after the subscription arrived.
        streams: channels, in turn.
        pace_us: 0 for as fast as the client reads; otherwise one frame of every stream
            (a burst, as the exchange pushes all streams at the same instant) every
            ``pace_us`` microseconds.
        run_id: echoed in the server's statistics line (connections of one run share
            their subscriptions: the feed starts once every key of the run is subscribed).
        symbols: how many symbols each stream has (fan-out); with more than one, every
            key gets ``frames // len(keys)`` pushes, round robin, on the connection that
            subscribed it.
        drop_after: the first connection of the run is cut (no close frame) after this
            many pushes (0: never).
        silent_after: the first connection of the run goes silent (no data, no pong, the
            socket left open) after this many pushes (0: never).
    """

    frames: int
    streams: tuple[str, ...] = DEFAULT_STREAMS
    pace_us: int = 0
    run_id: int = 0
    symbols: int = 1
    drop_after: int = 0
    silent_after: int = 0

    def url(self, port: int) -> str:
        """The WebSocket URL asking for this feed."""
        fields: dict[str, object] = {
            "frames": self.frames,
            "streams": ",".join(self.streams),
            "pace_us": self.pace_us,
            "run": self.run_id,
        }
        for name in ("symbols", "drop_after", "silent_after"):
            value = getattr(self, name)
            if value != _OPTIONAL_DEFAULTS[name]:
                fields[name] = value
        return f"ws://127.0.0.1:{port}/public/?{urlencode(fields)}"

    @classmethod
    def from_path(cls, path: str) -> FeedParams:
        """Parse the request path of :meth:`url` (ValueError on anything else)."""
        query = parse_qs(urlsplit(path).query)

        def one(name: str) -> str:
            values = query.get(name)
            if not values:
                raise ValueError(f"missing {name}")
            return values[0]

        streams = tuple(one("streams").split(","))
        unknown = [s for s in streams if s not in TEMPLATES]
        if unknown:
            raise ValueError(f"unknown streams {unknown}")
        frames = int(one("frames"))
        if not 0 < frames <= 10_000_000:
            raise ValueError("frames out of range")
        optional = {
            name: int(query[name][0]) if name in query else default
            for name, default in _OPTIONAL_DEFAULTS.items()
        }
        if not 1 <= optional["symbols"] <= 10_000:
            raise ValueError("symbols out of range")
        return cls(frames, streams, int(one("pace_us")), int(one("run")), **optional)

    @property
    def keys(self) -> frozenset[tuple[str, str | None]]:
        """The subscription keys the server waits for before it starts sending."""
        symbols = symbol_names(self.symbols)
        return frozenset((channel, symbol) for channel in self.streams for symbol in symbols)


_OPTIONAL_DEFAULTS = {"symbols": 1, "drop_after": 0, "silent_after": 0}
