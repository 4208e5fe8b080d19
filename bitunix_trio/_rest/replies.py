"""The REST client's one boundary: rate limiting, the reply envelope, and error mapping.

Everything the HTTP layer can throw and everything the exchange can answer is turned into
the library's own errors here, and nowhere else:

==========================================  ================================================
what happened                               raised
==========================================  ================================================
``code`` 10003, 10004, 10007 (no key,       :class:`AuthenticationError` (never retried)
IP not whitelisted, bad signature)
``code`` 10005, 10006 (too many / too       :class:`RateLimited`
frequent requests), or HTTP 429
``code`` 404 (unknown path; HTTP 200)       :class:`RestError` with ``status`` and ``code``
any other non-zero ``code``                 :class:`ExchangeError` with ``code`` and the
                                            exchange's ``msg`` (or ``message``)
HTTP status other than 2xx                  :class:`RestError` with ``status`` (and ``code``
                                            when the body still is an envelope)
a body that is not JSON, or not a           :class:`RestError` with ``status``
``{code, data, msg}`` object, or nested
too deeply to parse
a body longer than ``max_body_bytes``       :class:`RestError` naming the limit
``httpx.ConnectTimeout``/``PoolTimeout``    :class:`ConnectTimeout` (nothing was sent)
``httpx.ConnectError``                      :class:`ConnectError` (nothing was sent);
                                            :class:`TlsCertificateError` when the
                                            server's certificate was not accepted
a read/write timeout, or the per-request    :class:`TransportError` (the outcome is unknown)
deadline expiring
any other ``httpx.TransportError``          :class:`TransportError`
``httpx.InvalidURL``/``UnsupportedProtocol``  :class:`ConfigurationError`
==========================================  ================================================

No message built here contains a header, a signature or a secret: only the method, the path,
the HTTP status and what the exchange said.
"""

from __future__ import annotations

import json
import math
import ssl
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, cast

import httpx
import trio

from bitunix_trio._core.errors import (
    AuthenticationError,
    BitunixError,
    ConfigurationError,
    ConnectError,
    ConnectTimeout,
    ExchangeError,
    RateLimited,
    RestError,
    TlsCertificateError,
    TransportError,
)
from bitunix_trio._core.text import printable

__all__ = [
    "AUTH_CODES",
    "DEFAULT_MAX_BODY_BYTES",
    "NS_PER_SECOND",
    "RATE_LIMIT_CODES",
    "Bucket",
    "RateLimiter",
    "error_for_code",
    "read_body",
    "translate_httpx_error",
    "unwrap_envelope",
]

#: Exchange codes meaning the key, the IP or the signature was refused.
AUTH_CODES = frozenset({10003, 10004, 10007})
#: Exchange codes meaning "slow down".
RATE_LIMIT_CODES = frozenset({10005, 10006})
#: The code of an unknown path (answered with HTTP 200).
NOT_FOUND_CODE = 404

_SNIPPET = 120
#: Nanoseconds per second (limiter slot times are integer nanoseconds).
NS_PER_SECOND = 1_000_000_000

#: The largest REST reply body read by default (the biggest real replies, the full book of
#: a busy symbol or 200 klines, are well under 1 MiB).
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


class RateLimiter:
    """A token bucket on the Trio clock: ``rate`` requests per ``period`` seconds, ``burst``
    at once.

    :meth:`acquire` waits for a slot and never fails. Slots are handed out in the order
    callers arrive (generic cell rate algorithm: each caller reserves the next theoretical
    arrival time synchronously, then sleeps until it), so concurrent callers are spaced
    ``period / rate`` seconds apart once the burst is used up. Times are kept in integer
    nanoseconds, so slot times never drift by rounding.

    Limiters built with the same ``bucket`` share one budget (every client of one API key,
    say); each keeps its own spacing and burst.
    """

    __slots__ = ("bucket", "burst", "interval_ns", "period", "rate", "tolerance_ns")

    def __init__(
        self, rate: float, burst: int = 1, *, period: float = 1.0, bucket: Bucket | None = None
    ) -> None:
        checked: object = rate
        if (
            isinstance(checked, bool)
            or not isinstance(checked, int | float)
            or not 0 < checked < float("inf")
        ):
            raise ConfigurationError(f"rate limit must be > 0 requests/s, got {rate!r}")
        count: object = burst
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ConfigurationError(f"burst must be an int >= 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = burst
        self.period = period
        self.interval_ns = max(1, math.ceil(round(period * NS_PER_SECOND) / self.rate))
        self.tolerance_ns = (burst - 1) * self.interval_ns
        self.bucket = Bucket() if bucket is None else bucket

    def reserve(self, now: float) -> float:
        """Reserve the next slot at or after ``now`` and return its time."""
        now_ns = round(now * NS_PER_SECOND)
        bucket = self.bucket
        # ``bucket.next_ns``: the theoretical arrival time of the next request.
        due = max(bucket.next_ns, now_ns)
        start = max(now_ns, due - self.tolerance_ns)
        bucket.next_ns = due + self.interval_ns
        return start / NS_PER_SECOND

    async def acquire(self) -> None:
        """Wait until this caller may send one request."""
        start = self.reserve(trio.current_time())
        if start > trio.current_time():
            await trio.sleep_until(start)
        else:
            await trio.lowlevel.checkpoint()


class Bucket:
    """The budget one or more :class:`RateLimiter` draw from (integer nanoseconds)."""

    __slots__ = ("next_ns",)

    def __init__(self) -> None:
        self.next_ns = -(2**63)


def _where(method: str, path: str) -> str:
    return f"{method} {path}"


def error_for_code(code: int, message: str, *, status: int | None = None) -> BitunixError:
    """The library error for a non-zero exchange ``code`` (see the module docstring)."""
    if code in AUTH_CODES:
        return AuthenticationError(message, code)
    if code in RATE_LIMIT_CODES:
        return RateLimited(message, code)
    if code == NOT_FOUND_CODE:
        return RestError(message, status=status, code=code)
    return ExchangeError(message, code)


def _snippet(content: bytes) -> str:
    text = content[:_SNIPPET].decode("utf-8", errors="replace")
    return repr(text) + ("…" if len(content) > _SNIPPET else "")


def _envelope_code(payload: Any) -> int | None:
    """The integer ``code`` of an envelope, or None when ``payload`` is not one."""
    if not isinstance(payload, dict) or "code" not in payload:
        return None
    code = payload["code"]
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str):
        try:
            return int(code.strip())
        except ValueError:
            return None
    return None


def _envelope_message(payload: dict[str, Any], default: str) -> str:
    for key in ("msg", "message"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return printable(value)
    return default


def unwrap_envelope(status: int, content: bytes, method: str, path: str) -> Any:
    """Check one reply and return its ``data``, or raise the mapped error."""
    where = _where(method, path)
    payload: Any = None
    parsed = False
    if content:
        try:
            payload = json.loads(content)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            pass
        else:
            parsed = True
    code = _envelope_code(payload)
    if not 200 <= status < 300:
        message = (
            _envelope_message(payload, f"{where} failed")
            if code is not None
            else f"{where} answered HTTP {status}"
        )
        if status == 429:
            raise RateLimited(message, code)
        raise RestError(message, status=status, code=code)
    if not parsed:
        raise RestError(f"{where} answered a body that is not JSON: {_snippet(content)}", status)
    if code is None:
        raise RestError(
            f"{where} answered JSON that is not a {{code, data, msg}} envelope: "
            f"{_snippet(content)}",
            status,
        )
    if code == 0:
        return payload.get("data")
    raise error_for_code(code, _envelope_message(payload, f"{where} failed"), status=status)


def _certificate_failure(exc: BaseException) -> str | None:
    """Why certificate verification failed, if that is what ``exc`` comes from."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        error = todo.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, ssl.SSLCertVerificationError):
            return error.verify_message or error.reason or str(error)
        todo.extend(e for e in (error.__cause__, error.__context__) if e is not None)
    return None


async def read_body(response: httpx.Response, limit: int, method: str, path: str) -> bytes:
    """The body of a streamed reply, refused with :class:`RestError` as soon as it is
    longer than ``limit`` bytes (decoded: a compressed body counts at its full size)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and len(declared) < 20 and int(declared) > limit:
        raise _too_long(response.status_code, limit, method, path)
    chunks: list[bytes] = []
    size = 0
    # Closed at once when the limit is passed (httpx's inner raw-bytes generator is then
    # dropped unexhausted, which Trio reports as a ResourceWarning: ignored by default).
    async with aclosing(cast("AsyncGenerator[bytes, None]", response.aiter_bytes())) as body:
        async for chunk in body:
            size += len(chunk)
            if size > limit:
                raise _too_long(response.status_code, limit, method, path)
            chunks.append(chunk)
    return b"".join(chunks)


def _too_long(status: int, limit: int, method: str, path: str) -> RestError:
    return RestError(
        f"{_where(method, path)} answered a body longer than max_body_bytes={limit}; "
        "refused unread",
        status,
    )


def translate_httpx_error(exc: httpx.HTTPError, method: str, path: str) -> BitunixError:
    """Map an httpx exception to the library's (the only place that knows httpx's tree)."""
    where = _where(method, path)
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return ConnectTimeout(f"{where}: timed out connecting to the exchange ({detail})")
    if isinstance(exc, httpx.ConnectError):
        refused = _certificate_failure(exc)
        if refused is not None:
            return TlsCertificateError(
                f"{where}: the exchange's TLS certificate was not accepted ({refused})"
            )
        return ConnectError(f"{where}: could not connect to the exchange ({detail})")
    if isinstance(exc, httpx.TimeoutException):
        return TransportError(f"{where}: timed out waiting for the exchange; outcome unknown")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ConfigurationError(f"{where}: invalid URL ({detail})")
    if isinstance(exc, httpx.TransportError):
        return TransportError(f"{where}: the connection failed ({type(exc).__name__}: {detail})")
    return TransportError(f"{where}: HTTP request failed ({type(exc).__name__}: {detail})")
