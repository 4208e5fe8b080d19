"""Decode micro-benchmark: microseconds per frame, per channel, with ``timeit``.

``decode_us`` is the decoder alone; ``decode_read_us`` also reads every field of every value
(order books convert their levels when a side is first read, so a consumer that reads the
whole book pays that part there).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import timeit
from collections.abc import Callable
from typing import Any

from bitunix_trio._core.frames import Push, decode

from ._wire import TEMPLATES

__all__ = ["decode_micro"]


def _per_call_us(fn: Callable[[str], object], text: str, target_s: float, repeat: int) -> float:
    """Median microseconds per call over ``repeat`` timings of about ``target_s`` each."""
    timer = timeit.Timer("fn(text)", globals={"fn": fn, "text": text})
    probe = 50
    per_call = timer.timeit(probe) / probe  # also the warm-up
    number = max(probe, int(target_s / max(per_call, 1e-9)))
    times = timer.repeat(repeat=repeat, number=number)
    return statistics.median(times) / number * 1e6


def _decode_and_read(text: str) -> None:
    frame = decode(text)
    if type(frame) is Push:
        for item in frame.items:
            for field in dataclasses.fields(item):
                getattr(item, field.name)


def decode_micro(target_s: float, repeat: int) -> dict[str, Any]:
    """Per channel of the feed: frame size, items, ``json.loads`` and ``decode`` µs/frame."""
    channels: dict[str, Any] = {}
    for channel, template in TEMPLATES.items():
        text = template.sample
        frame = decode(text)
        if type(frame) is not Push:
            raise RuntimeError(f"{channel}: the sample frame does not decode: {frame!r}")
        loads_us = _per_call_us(json.loads, text, target_s, repeat)
        decode_us = _per_call_us(decode, text, target_s, repeat)
        read_us = _per_call_us(_decode_and_read, text, target_s, repeat)
        channels[channel] = {
            "bytes": len(text.encode()),
            "items": len(frame.items),
            "json_loads_us": round(loads_us, 3),
            "decode_us": round(decode_us, 3),
            "decode_over_json": round(decode_us / loads_us, 2),
            "decode_read_us": round(read_us, 3),
        }
    return {"status": "ok", "repeat": repeat, "target_s": target_s, "channels": channels}
