"""The chaos soak, short: five virtual minutes of faults (``nox -s soak`` runs 24 hours).

See ``chaos.py`` for what is injected and checked.
"""

from __future__ import annotations

import trio.testing
from chaos import FAULTS, run_soak


async def test_chaos_soak(autojump_clock: trio.testing.MockClock) -> None:
    report = await run_soak(seed=5, seconds=300)
    assert set(report.faults) == set(FAULTS), report.faults  # every kind of fault
    assert report.max_finished_away > 100  # over a page of orders finished in one spell away
    assert report.orders_checked > 100
    assert report.fills_checked > 50
    assert report.books > 0
    assert report.lost == []
    assert report.duplicated == []
    assert report.problems == []
    assert report.leftover_tasks == []
    assert 0 < report.max_retained_bytes < 2**20  # sampled; the checks are in problems
