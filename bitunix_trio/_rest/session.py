"""Sending one REST call: rate limits, signing, the per-attempt deadline, retries.

:class:`RestSession` owns the ``httpx.AsyncClient`` and is the only code that calls it.
Retries follow one rule: a call marked *idempotent* (every GET, and cancels) is retried
after :class:`RateLimited`, :class:`TransportError` or an HTTP 429/5xx reply, waiting
``retry_delay * 2**n`` seconds (capped at ``max_retry_delay``) before retry ``n + 1``, at
most ``max_retries`` times. Nothing else is ever retried here; placing orders has its own
resolution logic in the client.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
import trio

from bitunix_trio._core.backoff import exponential_delay
from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import (
    AuthenticationError,
    BitunixError,
    ClockSkewError,
    ConfigurationError,
    RateLimited,
    RestError,
    TransportError,
)
from bitunix_trio._core.log import logger
from bitunix_trio._core.signing import compact_json, new_nonce, now_ms, query_values, rest_headers
from bitunix_trio._core.text import printable

from .args import new_client_id
from .replies import (
    DEFAULT_MAX_BODY_BYTES,
    RateLimiter,
    read_body,
    translate_httpx_error,
    unwrap_envelope,
)

__all__ = ["CLOCK_SKEW_HINT", "RETRY_STATUSES", "RestSession", "clock_skew_error"]

#: The exchange's "signature error" code (also what a stale timestamp gets).
SIGNATURE_CODE = 10007


#: HTTP statuses worth retrying for idempotent calls (besides the exchange's 10005/10006).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

_T = TypeVar("_T")


#: Seconds the local clock may be off the exchange's (by its ``Date`` header, which has
#: one-second resolution) before a refused signature is reported as a clock problem.
CLOCK_SKEW_HINT = 5.0


def clock_skew_error(
    exc: AuthenticationError, date_header: str | None, local_time: float
) -> ClockSkewError | None:
    """A :class:`ClockSkewError` for a refused signature (code 10007) when the reply's
    ``Date`` shows the local clock ``CLOCK_SKEW_HINT`` seconds or more off; else None."""
    if exc.code != SIGNATURE_CODE or not date_header:
        return None
    try:
        server = email.utils.parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    offset = server - local_time
    if abs(offset) < CLOCK_SKEW_HINT:
        return None
    way = "behind" if offset > 0 else "ahead of"
    message = (
        f"{exc.message}: the local clock is {abs(offset):.0f} s {way} the exchange's "
        "(its Date header), so signed requests look stale to it; synchronise the clock"
    )
    return ClockSkewError(message, exc.code, offset)


def retryable(exc: BitunixError) -> bool:
    """Whether an idempotent call that failed with ``exc`` may be tried again."""
    if isinstance(exc, RateLimited | TransportError):
        return True
    return isinstance(exc, RestError) and exc.status in RETRY_STATUSES


class RestSession:
    """The transport half of the REST client (one per ``open_rest_client`` block)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        credentials: Credentials | None,
        timeout: float | None,
        max_retries: int,
        retry_delay: float,
        max_retry_delay: float,
        limiter: RateLimiter | None,
        cancel_limiter: RateLimiter | None,
        public_limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.http = http
        self.credentials = credentials
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.limiter = limiter
        self.cancel_limiter = cancel_limiter
        self.public_limiter = limiter if public_limiter is None else public_limiter
        self.clock = clock
        self.rng = rng
        self.max_body_bytes = max_body_bytes

    # ------------------------------------------------------------------ small helpers

    def now_ms(self) -> int:
        """Wall-clock ms from the injected clock (stamps REST values that carry no time)."""
        return now_ms(self.clock)

    def new_client_id(self) -> str:
        """A fresh client order id from the injected random source."""
        return new_client_id(self.rng)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        return exponential_delay(self.retry_delay, attempt, self.max_retry_delay)

    @staticmethod
    def parse(where: str, parser: Callable[..., _T], *args: Any) -> _T:
        """Run a reply parser; a reply of the wrong shape becomes a :class:`RestError`."""
        try:
            return parser(*args)
        except (ValueError, KeyError, TypeError, ArithmeticError, AttributeError) as exc:
            raise RestError(
                f"{where}: unexpected reply ({type(exc).__name__}: {printable(exc)})", status=200
            ) from exc

    # ------------------------------------------------------------------ sending

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        body: Mapping[str, object] | None = None,
        signed: bool = False,
        idempotent: bool = True,
        cancel: bool = False,
    ) -> Any:
        """Send a call (retrying an idempotent one as described above) and return ``data``."""
        attempt = 0
        while True:
            try:
                return await self.attempt(
                    method, path, params=params, body=body, signed=signed, cancel=cancel
                )
            except BitunixError as exc:
                if not idempotent or attempt >= self.max_retries or not retryable(exc):
                    raise
                delay = self.backoff(attempt)
                attempt += 1
                logger.warning(
                    "%s %s failed (%s: %s); retry %d of %d in %.2f s",
                    method,
                    path,
                    type(exc).__name__,
                    exc,
                    attempt,
                    self.max_retries,
                    delay,
                )
                await trio.sleep(delay)

    def build_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        body: str | None,
        signed: bool,
    ) -> httpx.Request:
        """The request to send, signed if asked (and credentials are known).

        The signed headers (API key, nonce, timestamp, signature: replayable for a while)
        live only in this frame, which is gone before any I/O can fail, and in the request,
        whose ``repr`` shows the method and URL alone; so error reporters that capture local
        variables never see them.
        """
        headers = {"Content-Type": "application/json", "language": "en-US"}
        if signed and self.credentials is not None:
            headers = rest_headers(
                self.credentials,
                nonce=new_nonce(self.rng),
                timestamp_ms=now_ms(self.clock),
                params=query,
                body=body or "",
            )
        content = body.encode("utf-8") if body is not None else None
        return self.http.build_request(
            method, path, params=query or None, content=content, headers=headers
        )

    async def attempt(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        body: Mapping[str, object] | None = None,
        signed: bool = False,
        cancel: bool = False,
    ) -> Any:
        """Send one request exactly once and return the envelope's ``data``."""
        try:
            query = query_values(params)
            text = compact_json(body) if body is not None else ""
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"{method} {path}: cannot send these arguments: {exc}"
            ) from None
        # Signed calls count against the API key, others against this process (its IP).
        # The stricter cancel bucket first, so the global slot is taken when sending.
        signing = signed and self.credentials is not None
        main = self.limiter if signing else self.public_limiter
        limiters = ([self.cancel_limiter] if cancel else []) + [main]
        for limiter in limiters:
            if limiter is not None:
                await limiter.acquire()
        request = self.build_request(
            method, path, query, text if body is not None else None, signed
        )
        started = trio.current_time()
        status = 0
        content: bytes | None = None
        # The deadline covers the whole reply, body included; the body is read in chunks
        # and refused as soon as it grows past max_body_bytes.
        with trio.move_on_after(self.timeout if self.timeout is not None else float("inf")):
            try:
                response = await self.http.send(request, stream=True)
                try:
                    status = response.status_code
                    content = await read_body(response, self.max_body_bytes, method, path)
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                raise translate_httpx_error(exc, method, path) from exc
        if content is None:
            raise TransportError(
                f"{method} {path}: no reply within {self.timeout} s; outcome unknown"
            )
        logger.debug(
            "%s %s -> HTTP %d in %.3f s", method, path, status, trio.current_time() - started
        )
        try:
            return unwrap_envelope(status, content, method, path)
        except AuthenticationError as exc:
            skew = clock_skew_error(exc, response.headers.get("date"), self.clock())
            if skew is not None:
                raise skew from exc
            raise
