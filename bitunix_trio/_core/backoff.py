"""Exponential reconnect backoff with a cap and full jitter.

The delay before reconnect attempt ``n`` (``n`` = consecutive failures so far, from 0) is::

    rng.uniform(0, min(policy.max_delay, policy.initial_delay * policy.factor ** n))

A connection that stays up for ``policy.stable_after`` seconds resets ``n`` to 0; one that
drops sooner does not, so a server that accepts and immediately drops us is still retried
ever more slowly. Time is an argument (the supervisor passes ``trio.current_time()``) and
randomness comes from an injected :class:`random.Random`, so sequences are reproducible.

The supervisor's loop::

    backoff = Backoff(policy, rng)
    while True:
        try:
            connection = await connect()
        except TransientError:
            await trio.sleep(backoff.next_delay(trio.current_time()))  # may raise
            continue
        backoff.connected(trio.current_time())
        await serve(connection)                 # returns or raises when the connection is lost
        await trio.sleep(backoff.next_delay(trio.current_time()))  # counts as a disconnect

Every exponential wait of the library is :func:`exponential_delay` (reconnects here, REST
retries, failed polling rounds and reconciliations): ``initial * factor ** n``, at most
``cap``.

This module is pure: it imports only the standard library.
"""

from __future__ import annotations

import math
import random

from .config import DEFAULT_RECONNECT_POLICY, ReconnectPolicy

__all__ = ["DEFAULT_MAX_BACKOFF", "Backoff", "BackoffExhausted", "exponential_delay"]

#: Longest wait between failed polling rounds or reconciliations.
DEFAULT_MAX_BACKOFF = 30.0


def exponential_delay(initial: float, attempt: int, cap: float, factor: float = 2.0) -> float:
    """The wait after ``attempt`` failures in a row: ``initial * factor ** attempt``, at most
    ``cap`` (never an overflow, however many failures)."""
    try:
        bound = initial * factor**attempt
    except OverflowError:
        bound = math.inf
    return min(cap, bound)


class BackoffExhausted(Exception):
    """``policy.max_attempts`` consecutive attempts failed: the supervisor should give up.

    ``attempts`` is the number of failed attempts. The supervisor reports the last
    connection error (not this signal) as the cause of the stream's failure.
    """

    def __init__(self, attempts: int):
        super().__init__(attempts)
        self.attempts = attempts

    def __str__(self) -> str:
        return f"gave up after {self.attempts} failed reconnect attempts"


class Backoff:
    """Reconnect delays for one connection slot.

    Arguments:
        policy: the :class:`~bitunix_trio.ReconnectPolicy`.
        rng: the source of jitter; a fresh unseeded :class:`random.Random` by default.

    Call :meth:`connected` when a connection is established, :meth:`disconnected` (or
    directly :meth:`next_delay`) when it is lost, and :meth:`next_delay` before each
    reconnect attempt.
    """

    __slots__ = ("_attempts", "_connected_at", "_policy", "_rng")

    def __init__(
        self,
        policy: ReconnectPolicy = DEFAULT_RECONNECT_POLICY,
        rng: random.Random | None = None,
    ) -> None:
        self._policy = policy
        self._rng = random.Random() if rng is None else rng
        self._attempts = 0
        self._connected_at: float | None = None

    def __repr__(self) -> str:
        return (
            f"Backoff(attempts={self._attempts}, connected_at={self._connected_at!r}, "
            f"policy={self._policy!r})"
        )

    @property
    def policy(self) -> ReconnectPolicy:
        """The policy this backoff follows."""
        return self._policy

    @property
    def attempts(self) -> int:
        """Consecutive failed attempts since the last reset (the ``n`` of the formula)."""
        return self._attempts

    @property
    def connected_at(self) -> float | None:
        """When the current connection was established, or ``None`` while disconnected."""
        return self._connected_at

    @property
    def exhausted(self) -> bool:
        """Whether ``policy.max_attempts`` attempts have failed in a row.

        When true, the next :meth:`next_delay` raises :class:`BackoffExhausted` (unless a
        stable connection resets the count first).
        """
        limit = self._policy.max_attempts
        return limit is not None and self._attempts >= limit

    def cap(self, attempt: int | None = None) -> float:
        """The upper bound of the delay for ``attempt`` (default: the next one)."""
        n = self._attempts if attempt is None else attempt
        policy = self._policy
        return exponential_delay(policy.initial_delay, n, policy.max_delay, policy.factor)

    def connected(self, now: float) -> None:
        """Record that a connection was established at ``now``."""
        self._connected_at = now

    def should_reset(self, now: float) -> bool:
        """Whether the current connection has been up for ``policy.stable_after`` seconds."""
        since = self._connected_at
        return since is not None and now - since >= self._policy.stable_after

    def disconnected(self, now: float) -> None:
        """Record that the connection was lost at ``now``.

        If it had been up for ``policy.stable_after`` seconds the attempt count resets;
        otherwise the next delay keeps growing. Calling it while disconnected does nothing.
        """
        if self.should_reset(now):
            self._attempts = 0
        self._connected_at = None

    def reset(self) -> None:
        """Start again from ``policy.initial_delay``."""
        self._attempts = 0

    def next_delay(self, now: float) -> float:
        """The delay (seconds) to wait before the next attempt, counting one more failure.

        If a connection is recorded as up, it is first treated as lost at ``now`` (see
        :meth:`disconnected`).

        Raises :class:`BackoffExhausted` once ``policy.max_attempts`` attempts have failed.
        """
        self.disconnected(now)
        if self.exhausted:
            raise BackoffExhausted(self._attempts)
        delay = self._rng.uniform(0.0, self.cap())
        self._attempts += 1
        return delay
