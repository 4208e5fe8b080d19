"""The outbound budget: at most five messages in any 1.1 s, waiting, never dropping."""

from __future__ import annotations

import pytest

from bitunix_trio._core.budget import RATE_LIMIT, RATE_PERIOD, OutboundBudget


def test_five_a_second_then_wait_for_the_oldest_to_age_out() -> None:
    # The exchange allows 5 a second; the client keeps a 10 % margin for arrival jitter.
    assert (RATE_LIMIT, RATE_PERIOD) == (5, 1.1)
    budget = OutboundBudget()
    for t in (0.0, 0.1, 0.2, 0.3, 0.4):
        assert budget.slot_at(t) == t
        budget.spend(t)
    assert budget.slot_at(0.5) == 1.1  # the message sent at 0.0 frees its slot at 1.1
    assert budget.slot_at(float("-inf")) == 1.1
    assert budget.slot_at(3.0) == 3.0
    budget.spend(1.1)
    assert budget.slot_at(1.1) == pytest.approx(1.2)


def test_reset_gives_a_full_budget() -> None:
    budget = OutboundBudget(rate_limit=2, rate_period=10.0)
    budget.spend(0.0)
    budget.spend(0.0)
    assert budget.slot_at(0.0) == 10.0
    budget.reset()
    assert budget.slot_at(0.0) == 0.0
