"""The Trio half of the error tree: errors that are also Trio's channel errors, and how the
exceptions of a nursery become the one exception a caller sees.

:class:`SubscriptionLost`, :class:`ConsumerTooSlow` and :class:`StreamClosed` derive from
both :class:`~bitunix_trio.BitunixError` and Trio's own channel exceptions, so code written
for any ``trio.abc.ReceiveChannel`` handles them as it already does (the rest of the tree is
in :mod:`bitunix_trio._core.errors`).

:func:`collapse` turns the stream's nursery group into exactly one exception (design.md
section 4); :func:`first_failure` takes the one failure out of a group that holds only
that; :func:`wrap_unexpected` makes a typed error of a fatal one; :func:`reraise` raises
without chaining the exception being handled.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn

import trio

from bitunix_trio._core.errors import BitunixError, BitunixInternalError

__all__ = [
    "ConsumerTooSlow",
    "SnapshotUnavailable",
    "StreamClosed",
    "SubscriptionLost",
    "collapse",
    "first_failure",
    "leaves",
    "reraise",
    "wrap_unexpected",
]


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


def first_failure(group: BaseExceptionGroup[BaseException]) -> Exception:
    """The first ``Exception`` leaf of a group that holds nothing else (else re-raise it)."""
    matched, rest = group.split(Exception)
    if rest is not None or matched is None:
        raise group
    leaf: BaseException = matched
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    assert isinstance(leaf, Exception)
    return leaf


def wrap_unexpected(exc: BaseException) -> BitunixError:
    """A typed error for a fatal exception (unexpected ones become BitunixInternalError)."""
    if isinstance(exc, BitunixError):
        return exc
    error = BitunixInternalError()
    error.__cause__ = exc
    return error


def reraise(exc: BaseException) -> NoReturn:
    """Raise ``exc`` again without chaining the exception being handled onto it."""
    context = exc.__context__
    try:
        raise exc
    finally:
        exc.__context__ = context
        del exc, context


def leaves(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions of ``exc`` and of the groups nested in it (``exc`` itself when it is
    not a group), depth first."""
    if isinstance(exc, BaseExceptionGroup):
        for child in exc.exceptions:
            yield from leaves(child)
    else:
        yield exc


def collapse(
    group: BaseExceptionGroup[BaseException], user_error: BaseException | None
) -> NoReturn:
    """Exactly one exception out of the stream's nursery group (design.md section 4)."""
    every = list(leaves(group))
    for leaf in every:
        if isinstance(leaf, KeyboardInterrupt):
            reraise(leaf)
    if user_error is not None:
        # Trio may rebuild a group on its way out (``split``); its leaves stay the same.
        found = {id(leaf) for leaf in every}
        if all(id(leaf) in found for leaf in leaves(user_error)):
            reraise(user_error)
    real = [leaf for leaf in every if not isinstance(leaf, trio.Cancelled)]
    if not real:
        reraise(every[0])
    if len(real) == 1:
        if isinstance(real[0], BitunixError):
            reraise(real[0])
        raise BitunixInternalError() from real[0]
    raise BitunixInternalError() from group
