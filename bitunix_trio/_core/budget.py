"""The outbound message budget of one connection: a sliding-window rate limit."""

from __future__ import annotations

from collections import deque

__all__ = ["RATE_LIMIT", "RATE_PERIOD", "OutboundBudget"]

#: Messages a client may send per ``RATE_PERIOD`` seconds (pings included). The exchange
#: allows 5 a second and disconnects a client that sends more; it counts by arrival, and
#: frames sent exactly a second apart can arrive closer together (queueing on either side),
#: so the client keeps a 10 % margin: at most 5 in any 1.1 s.
RATE_LIMIT = 5
RATE_PERIOD = 1.1


class OutboundBudget:
    """At most ``rate_limit`` messages in any ``rate_period`` seconds; time is an argument.

    Messages wait for a slot, never drop: :meth:`slot_at` says when the next one may go and
    :meth:`spend` records one sent.
    """

    __slots__ = ("_sent_times", "rate_limit", "rate_period")

    def __init__(self, rate_limit: int = RATE_LIMIT, rate_period: float = RATE_PERIOD) -> None:
        self.rate_limit = rate_limit
        self.rate_period = rate_period
        self._sent_times: deque[float] = deque(maxlen=rate_limit)

    def slot_at(self, now: float) -> float:
        """The earliest time, not before ``now``, at which a message may be sent."""
        times = self._sent_times
        if len(times) < self.rate_limit:
            return now
        return max(now, times[0] + self.rate_period)

    def spend(self, now: float) -> None:
        """Record a message sent at ``now``."""
        self._sent_times.append(now)

    def reset(self) -> None:
        """Forget every message sent (a new socket starts with a full budget)."""
        self._sent_times.clear()
