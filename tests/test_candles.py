"""The sans-I/O candle tracker: bucket arithmetic for every interval, closed candles from
rollover, recovery after an interruption, exactly once and in order."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bitunix_trio._core.candles import (
    CandleTracker,
    aggregate_candles,
    bucket_start,
    bucket_starts,
    next_bucket_start,
    previous_bucket_start,
)
from bitunix_trio._core.models import KLINE_INTERVALS, DataSource, KlineUpdate, PriceType


def ms(text: str) -> int:
    """Milliseconds of an ISO-8601 UTC time."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


T = "2024-05-16T08:13:09.123"  # a Thursday

#: interval, a time, the start of its bucket, the start of the next bucket.
BUCKETS = [
    ("1min", T, "2024-05-16T08:13", "2024-05-16T08:14"),
    ("3min", T, "2024-05-16T08:12", "2024-05-16T08:15"),
    ("5min", T, "2024-05-16T08:10", "2024-05-16T08:15"),
    ("15min", T, "2024-05-16T08:00", "2024-05-16T08:15"),
    ("30min", T, "2024-05-16T08:00", "2024-05-16T08:30"),
    ("60min", T, "2024-05-16T08:00", "2024-05-16T09:00"),
    ("2h", T, "2024-05-16T08:00", "2024-05-16T10:00"),
    ("4h", T, "2024-05-16T08:00", "2024-05-16T12:00"),
    ("6h", T, "2024-05-16T06:00", "2024-05-16T12:00"),
    ("8h", T, "2024-05-16T08:00", "2024-05-16T16:00"),
    ("12h", T, "2024-05-16T00:00", "2024-05-16T12:00"),
    ("1day", T, "2024-05-16T00:00", "2024-05-17T00:00"),
    # 19859 days after the epoch: 3-day buckets counted from 1970-01-01 start on day 19857.
    ("3day", T, "2024-05-14T00:00", "2024-05-17T00:00"),
    ("1week", T, "2024-05-13T00:00", "2024-05-20T00:00"),  # Monday to Monday
    ("1week", "2024-05-13T00:00", "2024-05-13T00:00", "2024-05-20T00:00"),
    ("1week", "2024-05-12T23:59:59.999", "2024-05-06T00:00", "2024-05-13T00:00"),
    ("1week", "1970-01-01T00:00", "1969-12-29T00:00", "1970-01-05T00:00"),
    ("1month", T, "2024-05-01T00:00", "2024-06-01T00:00"),
    ("1month", "2023-12-31T23:59:59.999", "2023-12-01T00:00", "2024-01-01T00:00"),
    ("1month", "2024-02-29T12:00", "2024-02-01T00:00", "2024-03-01T00:00"),  # leap year
    ("1month", "2023-02-28T12:00", "2023-02-01T00:00", "2023-03-01T00:00"),
    ("1min", "2024-05-16T08:13", "2024-05-16T08:13", "2024-05-16T08:14"),  # on the edge
]


def test_every_interval_is_in_the_table() -> None:
    assert {row[0] for row in BUCKETS} == set(KLINE_INTERVALS)


@pytest.mark.parametrize(("interval", "at", "start", "following"), BUCKETS)
def test_bucket_arithmetic(interval: str, at: str, start: str, following: str) -> None:
    assert bucket_start(interval, ms(at)) == ms(start)
    assert next_bucket_start(interval, ms(start)) == ms(following)
    assert previous_bucket_start(interval, ms(following)) == ms(start)
    assert bucket_start(interval, ms(following) - 1) == ms(start)


def test_bucket_starts_spans_months_of_different_lengths() -> None:
    starts = bucket_starts("1month", ms("2024-01-15T00:00"), ms("2024-04-01T00:00"))
    assert starts == [ms(f"2024-0{m}-01T00:00") for m in (1, 2, 3, 4)]
    assert bucket_starts("1min", ms("2024-01-01T00:05"), ms("2024-01-01T00:04")) == []


# -- the tracker ------------------------------------------------------------------------------

MINUTE = 60_000
BASE = ms("2024-05-16T08:00")


def kline(
    at: int, close: str, *, source: DataSource = DataSource.WEBSOCKET, interval: str = "1min"
) -> KlineUpdate:
    """A pushed running candle at ``at`` ms (its bucket derived from it)."""
    price = Decimal(close)
    return KlineUpdate(
        "BTCUSDT",
        interval,
        PriceType.MARKET,
        price,
        price,
        price,
        price,
        Decimal(1),
        price,
        bucket_start(interval, at),
        at,
        source,
    )


def rest(start: int, close: str) -> KlineUpdate:
    """A REST candle of the minute starting at ``start``."""
    return dataclasses.replace(kline(start, close, source=DataSource.REST), ts=start)


def described(values: list[KlineUpdate]) -> list[tuple[int, str, bool, str]]:
    """(minute after BASE, close, closed, source) per value."""
    return [
        ((v.open_time_ms - BASE) // MINUTE, str(v.close), v.closed, v.source.name) for v in values
    ]


def test_rollover_closes_the_previous_bucket_with_its_last_value() -> None:
    tracker = CandleTracker("1min")
    out = tracker.push(kline(BASE + 1_000, "1"))
    out += tracker.push(kline(BASE + 59_000, "2"))
    out += tracker.push(kline(BASE + MINUTE + 500, "3"))
    out += tracker.push(kline(BASE + 2 * MINUTE + 500, "4"))
    assert described(out) == [
        (0, "1", False, "WEBSOCKET"),
        (0, "2", False, "WEBSOCKET"),
        (0, "2", True, "WEBSOCKET"),
        (1, "3", False, "WEBSOCKET"),
        (1, "3", True, "WEBSOCKET"),
        (2, "4", False, "WEBSOCKET"),
    ]
    assert tracker.last_closed == BASE + MINUTE
    # the closed value is the last push as it was (its push time)
    assert out[2].ts == BASE + 59_000


def test_late_and_out_of_order_values_close_nothing() -> None:
    tracker = CandleTracker("1min")
    tracker.push(kline(BASE + 1_000, "1"))
    tracker.push(kline(BASE + MINUTE + 1_000, "2"))
    assert tracker.push(kline(BASE + 2_000, "99")) == []
    assert described(tracker.push(kline(BASE + MINUTE + 2_000, "3"))) == [
        (1, "3", False, "WEBSOCKET")
    ]


def test_rest_polls_pass_through_as_running_values() -> None:
    tracker = CandleTracker("1min")
    tracker.push(kline(BASE + 1_000, "1"))
    polled = dataclasses.replace(kline(BASE + 5 * MINUTE, "9", source=DataSource.REST))
    assert described(tracker.push(polled)) == [(5, "9", False, "REST")]
    assert tracker.last_closed is None


def test_a_gap_is_recovered_from_rest_in_order_exactly_once() -> None:
    tracker = CandleTracker("1min")
    tracker.push(kline(BASE + 1_000, "1"))
    tracker.push(kline(BASE + MINUTE + 1_000, "2"))  # closes minute 0
    tracker.interrupted()  # while minute 1 runs; minutes 1..3 close unseen
    assert tracker.take_request() is None
    assert tracker.push(kline(BASE + 4 * MINUTE + 300, "5")) == []  # held
    assert repr(tracker) == f"<CandleTracker 1min recovering last_closed={BASE}>"
    assert tracker.take_request() == (BASE + MINUTE, BASE + 3 * MINUTE)
    assert tracker.take_request() is None  # once
    assert tracker.push(kline(BASE + 4 * MINUTE + 600, "6")) == []  # held, replaces
    out = tracker.recovered([rest(BASE + m * MINUTE, f"10{m}") for m in (0, 1, 2, 3, 4)])
    assert described(out) == [
        (1, "101", True, "RECOVERED"),
        (2, "102", True, "RECOVERED"),
        (3, "103", True, "RECOVERED"),
        (4, "6", False, "WEBSOCKET"),
    ]
    assert not tracker.recovering
    out = tracker.push(kline(BASE + 5 * MINUTE + 100, "7"))
    assert described(out) == [(4, "6", True, "WEBSOCKET"), (5, "7", False, "WEBSOCKET")]


def test_a_short_interruption_inside_one_bucket_needs_no_rest() -> None:
    tracker = CandleTracker("1min")
    tracker.push(kline(BASE + 1_000, "1"))
    tracker.interrupted()
    out = tracker.push(kline(BASE + 30_000, "2"))
    assert described(out) == [(0, "2", False, "WEBSOCKET")]
    assert tracker.take_request() is None


def test_nothing_seen_before_an_interruption_means_nothing_to_recover() -> None:
    tracker = CandleTracker("1min")
    tracker.interrupted()
    out = tracker.push(kline(BASE + 3 * MINUTE, "1"))
    assert described(out) == [(3, "1", False, "WEBSOCKET")]
    assert tracker.take_request() is None


def test_buckets_closing_while_recovering_follow_the_recovered_ones() -> None:
    tracker = CandleTracker("1min")
    tracker.push(kline(BASE + 1_000, "1"))
    tracker.interrupted()
    tracker.push(kline(BASE + 2 * MINUTE + 1_000, "51"))
    tracker.push(kline(BASE + 3 * MINUTE + 1_000, "52"))  # closes minute 2 while held
    assert tracker.take_request() == (BASE, BASE + MINUTE)
    out = tracker.recovered([rest(BASE, "100"), rest(BASE + MINUTE, "101")])
    assert described(out) == [
        (0, "100", True, "RECOVERED"),
        (1, "101", True, "RECOVERED"),
        (2, "51", False, "WEBSOCKET"),
        (2, "51", True, "WEBSOCKET"),
        (3, "52", False, "WEBSOCKET"),
    ]


def test_rest_rows_outside_the_range_or_missing_are_not_invented() -> None:
    tracker = CandleTracker("1min")
    tracker.push(kline(BASE + 1_000, "1"))
    tracker.interrupted()
    tracker.push(kline(BASE + 3 * MINUTE + 1_000, "53"))
    assert tracker.take_request() == (BASE, BASE + 2 * MINUTE)
    out = tracker.recovered([rest(BASE + 2 * MINUTE, "102"), rest(BASE + 3 * MINUTE, "103")])
    assert described(out) == [(2, "102", True, "RECOVERED"), (3, "53", False, "WEBSOCKET")]
    assert tracker.last_closed == BASE + 2 * MINUTE


def test_abandoned_recovery_releases_what_was_held_and_names_the_lost_range() -> None:
    tracker = CandleTracker("1min")
    tracker.push(kline(BASE + 1_000, "1"))
    tracker.interrupted()
    tracker.push(kline(BASE + 3 * MINUTE + 1_000, "53"))
    assert tracker.take_request() == (BASE, BASE + 2 * MINUTE)
    out, lost = tracker.abandoned()
    assert described(out) == [(3, "53", False, "WEBSOCKET")]
    assert lost == (BASE, BASE + 2 * MINUTE)
    assert tracker.recovered([rest(BASE, "100")]) == []  # too late: nothing twice


def test_interrupted_again_while_recovering_recovers_again() -> None:
    tracker = CandleTracker("1min")
    tracker.push(kline(BASE + 1_000, "1"))
    tracker.interrupted()
    tracker.push(kline(BASE + 2 * MINUTE + 1_000, "51"))
    assert tracker.take_request() == (BASE, BASE + MINUTE)
    tracker.interrupted()  # lost again before REST answered
    out = tracker.recovered([rest(BASE, "100"), rest(BASE + MINUTE, "101")])
    assert described(out) == [
        (0, "100", True, "RECOVERED"),
        (1, "101", True, "RECOVERED"),
        (2, "51", False, "WEBSOCKET"),
    ]
    assert tracker.push(kline(BASE + 5 * MINUTE, "52")) == []
    assert tracker.take_request() == (BASE + 2 * MINUTE, BASE + 4 * MINUTE)


def test_month_buckets_recover_calendar_months() -> None:
    tracker = CandleTracker("1month")
    tracker.push(kline(ms("2024-01-20T00:00"), "1", interval="1month"))
    tracker.interrupted()
    tracker.push(kline(ms("2024-04-02T00:00"), "4", interval="1month"))
    assert tracker.take_request() == (ms("2024-01-01T00:00"), ms("2024-03-01T00:00"))


def test_aggregate_one_minute_candles_into_three_minute_candles() -> None:
    minutes = [
        dataclasses.replace(rest(BASE + m * MINUTE, c), high=Decimal(h), low=Decimal(lo))
        for m, c, h, lo in [
            (0, "10", "12", "9"),
            (1, "11", "15", "10"),
            (2, "13", "14", "8"),
            (3, "20", "21", "19"),
        ]
    ]
    out = aggregate_candles(minutes, "3min")
    assert [(c.open_time_ms, c.open, c.high, c.low, c.close, c.base_volume) for c in out] == [
        (BASE, Decimal(10), Decimal(15), Decimal(8), Decimal(13), Decimal(3)),
        (BASE + 3 * MINUTE, Decimal(20), Decimal(21), Decimal(19), Decimal(20), Decimal(1)),
    ]
    assert {c.interval for c in out} == {"3min"}
