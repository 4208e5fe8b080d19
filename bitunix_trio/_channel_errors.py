"""Subscription and stream errors that are also Trio's channel errors.

They derive from both :class:`~bitunix_trio.BitunixError` and Trio's own channel exceptions,
so code written for any ``trio.abc.ReceiveChannel`` handles them as it already does.
"""

from __future__ import annotations

import trio

from ._exceptions import BitunixError

__all__ = ["ConsumerTooSlow", "SnapshotUnavailable", "StreamClosed", "SubscriptionLost"]


class SubscriptionLost(BitunixError, trio.BrokenResourceError):
    """A subscription ended abnormally; raised by its ``receive()``.

    ``reason`` says why (the stream failed, the consumer fell behind, ...).
    """

    def __init__(self, reason: str = "Subscription lost", spec: object = None):
        super().__init__(reason, spec)
        self.reason = reason
        self.spec = spec

    def __str__(self) -> str:
        return self.reason if self.spec is None else f"{self.reason}: {self.spec!r}"


class ConsumerTooSlow(SubscriptionLost):
    """The consumer of a lossless subscription (trades, account data) fell behind.

    The subscription's buffer filled up; rather than drop a trade or a fill silently, the
    subscription ends with this error. Other subscriptions are unaffected.
    """

    def __init__(
        self,
        reason: str = "Consumer too slow: subscription buffer full",
        spec: object = None,
    ):
        super().__init__(reason, spec)


class SnapshotUnavailable(SubscriptionLost):
    """The snapshot an account subscription starts with (``Orders()``, ``Positions()``,
    ``Balance()``) could not be fetched over REST; raised by ``channel.snapshot()`` and
    ``receive()``, and the subscription ends (``__cause__`` is the last REST error).

    Subscribe again to retry, or subscribe with ``snapshot=False`` for changes only.
    """

    def __init__(
        self,
        reason: str = "the account snapshot could not be fetched over REST",
        spec: object = None,
    ):
        super().__init__(reason, spec)


class StreamClosed(BitunixError, trio.ClosedResourceError):
    """The stream (or this subscription) was already closed when it was used."""
