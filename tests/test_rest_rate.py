"""The REST limiter against the simulated exchange's own count: a margin, exact slot times,
one budget per API key shared by every client of the process."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio
import trio.testing

from bitunix_trio._core.errors import RateLimited
from bitunix_trio._rest.client import open_rest_client
from bitunix_trio._rest.replies import RateLimiter
from bitunix_trio.testing import SimulatedExchange

ACCOUNT = "/api/v1/futures/account"


def most_in_one_second(times: Sequence[float]) -> int:
    """The most requests in any closed one-second window [t, t + 1]."""
    ordered = sorted(times)
    return max(
        (sum(1 for u in ordered if t <= u <= t + 1.0) for t in ordered),
        default=0,
    )


def test_slot_times_are_exact() -> None:
    limiter = RateLimiter(10.0, period=1.1)
    times = [limiter.reserve(0.0) for _ in range(101)]
    assert times[30] == 3.3
    assert times == [k * 110_000_000 / 1e9 for k in range(101)]


async def test_burst_never_exceeds_ten_in_a_second(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    options = memory_sim.rest_options()
    async with (
        open_rest_client(**options, max_retries=0) as rest,
        trio.open_nursery() as nursery,
    ):
        for _ in range(100):
            nursery.start_soon(rest.get_account)
    times = [r.time for r in memory_sim.recorder.rest_requests(path=ACCOUNT)]
    assert len(times) == 100
    assert most_in_one_second(times) <= 10


async def test_two_clients_of_one_key_share_the_budget(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    options = memory_sim.rest_options()
    async with (
        open_rest_client(**options, max_retries=0) as first,
        open_rest_client(**options, max_retries=0) as second,
        trio.open_nursery() as nursery,
    ):
        for _ in range(50):
            nursery.start_soon(first.get_account)
            nursery.start_soon(second.get_account)
    times = [r.time for r in memory_sim.recorder.rest_requests(path=ACCOUNT)]
    assert len(times) == 100
    assert most_in_one_second(times) <= 10


async def test_public_calls_of_two_clients_share_the_budget(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    options = {**memory_sim.rest_options(), "credentials": None}
    async with (
        open_rest_client(**options, max_retries=0) as first,
        open_rest_client(**options, max_retries=0) as second,
        trio.open_nursery() as nursery,
    ):
        for _ in range(20):
            nursery.start_soon(first.get_tickers)
            nursery.start_soon(second.get_tickers)
    times = [r.time for r in memory_sim.recorder.rest_requests()]
    assert len(times) == 40
    assert most_in_one_second(times) <= 10


@pytest.mark.loopback
async def test_loopback_burst_is_never_refused(sim: SimulatedExchange) -> None:
    refused: list[RateLimited] = []

    async def one(rest: object) -> None:
        try:
            await rest.get_tickers()  # type: ignore[attr-defined]
        except RateLimited as exc:
            refused.append(exc)

    async with (
        open_rest_client(None, sim.rest_url, max_retries=0) as rest,
        trio.open_nursery() as nursery,
    ):
        for _ in range(40):
            nursery.start_soon(one, rest)
    assert refused == []
    assert len(sim.recorder.rest_requests()) == 40
