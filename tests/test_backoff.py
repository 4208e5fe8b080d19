"""Reconnect backoff: seeded sequences, bounds, resets and giving up."""

from __future__ import annotations

import copy
import pickle
import random

import pytest

from bitunix_trio._core.backoff import Backoff, BackoffExhausted
from bitunix_trio._core.config import DEFAULT_RECONNECT_POLICY, ReconnectPolicy

# What Backoff(ReconnectPolicy(), random.Random(1234)) gives for ten failures in a row.
SEEDED_1234 = [
    0.4832267678460694,
    0.4407325991753527,
    0.014982940117174381,
    3.6439038497964966,
    7.514151978910112,
    9.315641168943186,
    20.146904444639553,
    2.5181468051125186,
    22.994427983753887,
    7.104293260893533,
]
CAPS = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


# Read state through functions: mypy would otherwise keep an attribute narrowed across the
# method calls that change it.
def connected_at(backoff: Backoff) -> float | None:
    return backoff.connected_at


def exhausted(backoff: Backoff) -> bool:
    return backoff.exhausted


def test_seeded_sequence() -> None:
    backoff = Backoff(ReconnectPolicy(), random.Random(1234))
    delays = []
    for n in range(10):
        assert backoff.attempts == n
        assert backoff.cap() == CAPS[n]
        delays.append(backoff.next_delay(float(n)))
    assert delays == SEEDED_1234
    assert all(0 <= d <= cap for d, cap in zip(delays, CAPS, strict=True))


def test_formula_is_full_jitter() -> None:
    policy = ReconnectPolicy(initial_delay=0.25, max_delay=7.0, factor=3.0)
    backoff = Backoff(policy, random.Random(99))
    reference = random.Random(99)
    for n in range(12):
        expected = reference.uniform(0, min(7.0, 0.25 * 3.0**n))
        assert backoff.next_delay(0.0) == expected


def test_bounds_over_many_draws() -> None:
    policy = ReconnectPolicy(initial_delay=0.5, max_delay=30.0)
    backoff = Backoff(policy, random.Random(5))
    for n in range(300):
        cap = min(30.0, 0.5 * 2.0**n)
        delay = backoff.next_delay(0.0)
        assert 0.0 <= delay <= cap <= policy.max_delay


def test_cap_never_overflows() -> None:
    backoff = Backoff(ReconnectPolicy(max_delay=12.0, factor=10.0), random.Random(0))
    assert backoff.cap(10_000) == 12.0
    assert backoff.cap(0) == 0.5
    assert backoff.cap(1) == 5.0
    backoff = Backoff(ReconnectPolicy(factor=1.0, initial_delay=2.0), random.Random(0))
    assert [backoff.cap(n) for n in (0, 5, 50)] == [2.0, 2.0, 2.0]


def test_reset_after_a_stable_connection() -> None:
    backoff = Backoff(ReconnectPolicy(), random.Random(1234))
    for _ in range(6):
        backoff.next_delay(0.0)
    assert backoff.attempts == 6
    backoff.connected(100.0)
    assert connected_at(backoff) == 100.0
    assert not backoff.should_reset(129.999)
    assert backoff.should_reset(130.0)
    backoff.disconnected(130.0)
    assert backoff.attempts == 0
    assert connected_at(backoff) is None
    # The next delay is drawn from [0, initial_delay] again.
    assert backoff.cap() == 0.5
    assert 0.0 <= backoff.next_delay(130.0) <= 0.5
    assert backoff.attempts == 1


def test_next_delay_implies_disconnect() -> None:
    backoff = Backoff(ReconnectPolicy(stable_after=10.0), random.Random(1234))
    for _ in range(4):
        backoff.next_delay(0.0)
    backoff.connected(50.0)
    delay = backoff.next_delay(65.0)  # lost after 15 s: stable, so reset first
    reference = random.Random(1234)
    expected = [reference.uniform(0, cap) for cap in (0.5, 1.0, 2.0, 4.0, 0.5)]
    assert delay == expected[-1]
    assert backoff.attempts == 1
    assert backoff.connected_at is None


def test_seeded_sequence_across_a_reset() -> None:
    backoff = Backoff(ReconnectPolicy(), random.Random(1234))
    first = [backoff.next_delay(0.0) for _ in range(3)]
    backoff.connected(10.0)
    after = [backoff.next_delay(45.0) for _ in range(3)]
    reference = random.Random(1234)
    expected = [reference.uniform(0, cap) for cap in (0.5, 1.0, 2.0, 0.5, 1.0, 2.0)]
    assert first + after == expected


def test_no_reset_after_a_short_lived_connection() -> None:
    backoff = Backoff(ReconnectPolicy(), random.Random(1234))
    for _ in range(5):
        backoff.next_delay(0.0)
    # The server accepts, then drops us after 29.9 s: keep backing off.
    backoff.connected(100.0)
    backoff.disconnected(129.9)
    assert backoff.attempts == 5
    assert backoff.cap() == 16.0
    delay = backoff.next_delay(129.9)
    assert delay == SEEDED_1234[5]
    assert backoff.attempts == 6


def test_time_spent_disconnected_does_not_count_as_stable() -> None:
    backoff = Backoff(ReconnectPolicy(stable_after=30.0), random.Random(0))
    for _ in range(3):
        backoff.next_delay(0.0)
    backoff.connected(0.0)
    backoff.disconnected(1.0)
    backoff.disconnected(1000.0)  # no connection is up: nothing to reset
    assert not backoff.should_reset(1000.0)
    backoff.next_delay(5000.0)
    assert backoff.attempts == 4


def test_repeated_flapping_keeps_growing() -> None:
    backoff = Backoff(ReconnectPolicy(stable_after=30.0), random.Random(1234))
    now = 0.0
    for n in range(8):
        assert backoff.cap() == CAPS[n]
        now += backoff.next_delay(now)
        backoff.connected(now)
        now += 1.0  # every connection dies after a second
    assert backoff.attempts == 8


def test_stable_after_zero_resets_on_every_connection() -> None:
    backoff = Backoff(ReconnectPolicy(stable_after=0.0), random.Random(0))
    backoff.next_delay(0.0)
    backoff.next_delay(0.0)
    backoff.connected(1.0)
    backoff.disconnected(1.0)
    assert backoff.attempts == 0


def test_explicit_reset() -> None:
    backoff = Backoff(ReconnectPolicy(), random.Random(0))
    for _ in range(4):
        backoff.next_delay(0.0)
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.cap() == 0.5


def test_max_attempts() -> None:
    backoff = Backoff(ReconnectPolicy(max_attempts=3), random.Random(1234))
    assert [backoff.next_delay(0.0) for _ in range(3)] == SEEDED_1234[:3]
    assert backoff.exhausted
    with pytest.raises(BackoffExhausted) as info:
        backoff.next_delay(1.0)
    assert info.value.attempts == 3
    assert str(info.value) == "gave up after 3 failed reconnect attempts"
    assert backoff.attempts == 3  # raising does not count an attempt
    with pytest.raises(BackoffExhausted):
        backoff.next_delay(2.0)


def test_max_attempts_refilled_by_a_stable_connection() -> None:
    backoff = Backoff(ReconnectPolicy(max_attempts=2, stable_after=30.0), random.Random(0))
    backoff.next_delay(0.0)
    backoff.connected(1.0)
    backoff.next_delay(2.0)  # short-lived: the count goes on
    assert backoff.exhausted
    backoff.connected(3.0)
    assert exhausted(backoff)  # until the connection proves stable and is lost
    backoff.disconnected(40.0)
    assert not exhausted(backoff)
    backoff.next_delay(40.0)
    backoff.next_delay(41.0)
    with pytest.raises(BackoffExhausted):
        backoff.next_delay(42.0)


def test_unlimited_by_default() -> None:
    backoff = Backoff(DEFAULT_RECONNECT_POLICY, random.Random(0))
    for _ in range(1000):
        assert 0.0 <= backoff.next_delay(0.0) <= 30.0
    assert not backoff.exhausted
    assert backoff.attempts == 1000


def test_defaults_and_repr() -> None:
    backoff = Backoff()
    assert backoff.policy is DEFAULT_RECONNECT_POLICY
    assert 0.0 <= backoff.next_delay(0.0) <= 0.5
    assert repr(backoff).startswith("Backoff(attempts=1, connected_at=None, policy=")


def test_exhausted_pickles() -> None:
    exc = BackoffExhausted(7)
    for clone in (pickle.loads(pickle.dumps(exc)), copy.copy(exc)):
        assert isinstance(clone, BackoffExhausted)
        assert clone.attempts == 7
        assert str(clone) == str(exc)
