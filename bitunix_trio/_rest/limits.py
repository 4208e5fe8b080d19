"""The REST budgets every client in the process shares: one per API key, one per IP.

The exchange limits REST calls to 10 a second per account (5 a second for cancels) and
market data to 10 a second per IP (see ``bitunix-protocol.md`` section 6). It counts by
arrival, so requests sent exactly 0.1 s apart can arrive 11 in one second; the client
keeps the WebSocket budget's 10 % margin: ``rate`` requests per
:data:`REST_RATE_PERIOD` (1.1) seconds.

Two clients with the same key (a stream's ``stream.rest`` and a separate
``open_rest_client``, say) draw from one budget, so together they stay within the
exchange's limit. The budgets live in the current Trio run (their times are its clock);
they are found by a hash of the API key, never by the key itself.
"""

from __future__ import annotations

import hashlib

import trio

from bitunix_trio._core.credentials import Credentials

from .replies import Bucket, RateLimiter

__all__ = ["REST_RATE_PERIOD", "RestLimiters", "rest_limiters"]

#: The period over which ``rate_limit`` requests may go (seconds): a 10 % margin over the
#: exchange's per-second count, as the WebSocket budget keeps (5 messages per 1.1 s).
REST_RATE_PERIOD = 1.1

_BUCKETS: trio.lowlevel.RunVar[dict[tuple[str, str, str], Bucket]] = trio.lowlevel.RunVar(
    "bitunix_trio_rest_buckets"
)


def _shared(kind: str, base_url: str, who: str) -> Bucket:
    try:
        buckets = _BUCKETS.get()
    except LookupError:
        buckets = {}
        _BUCKETS.set(buckets)
    return buckets.setdefault((kind, base_url, who), Bucket())


def _key_digest(credentials: Credentials) -> str:
    return hashlib.sha256(credentials.api_key.encode("utf-8")).hexdigest()


class RestLimiters:
    """The limiters of one client: signed calls, public calls and cancels."""

    __slots__ = ("cancel", "private", "public")

    def __init__(
        self, private: RateLimiter | None, public: RateLimiter | None, cancel: RateLimiter | None
    ) -> None:
        self.private = private
        self.public = public
        self.cancel = cancel


def rest_limiters(
    credentials: Credentials | None,
    base_url: str,
    *,
    rate_limit: float | None,
    rate_burst: int,
    cancel_rate_limit: float | None,
) -> RestLimiters:
    """The limiters of a client of ``base_url``, drawing from the process-wide budgets.

    Must be called inside a Trio run. Signed calls and cancels draw from the budgets of
    ``credentials``' API key, unsigned calls from the budget of this process (its IP).
    """
    who = _key_digest(credentials) if credentials is not None else ""

    def limiter(rate: float | None, kind: str, owner: str) -> RateLimiter | None:
        if rate is None:
            return None
        bucket = _shared(kind, base_url, owner)
        return RateLimiter(rate, rate_burst, period=REST_RATE_PERIOD, bucket=bucket)

    return RestLimiters(
        private=limiter(rate_limit, "private", who),
        public=limiter(rate_limit, "public", ""),
        cancel=limiter(cancel_rate_limit, "cancel", who),
    )
