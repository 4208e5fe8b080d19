"""Signatures for the WebSocket login and for private REST requests.

Both use the same construction (plain SHA-256 twice, lowercase hex, no HMAC)::

    digest = sha256_hex(nonce + timestamp + api_key + query_params + body)
    sign   = sha256_hex(digest + secret_key)

The WebSocket login has no query or body and its timestamp is in seconds; REST uses
milliseconds. ``query_params`` is the concatenation of ``key + value`` over the query
parameters sorted by key, with unescaped values and no separators; ``body`` is the exact
JSON text sent.

Nonces and timestamps are arguments, so the formulas are tested against fixed vectors; the
simulated exchange verifies requests with the same functions (:func:`verify_ws_login`,
:func:`verify_rest`).

This module is pure: it imports only the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import string
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .credentials import Credentials

__all__ = [
    "NONCE_ALPHABET",
    "NONCE_LENGTH",
    "compact_json",
    "new_nonce",
    "now_ms",
    "now_seconds",
    "query_values",
    "rest_headers",
    "rest_query_string",
    "rest_sign",
    "sha256_hex",
    "verify_rest",
    "verify_ws_login",
    "verify_ws_login_args",
    "ws_login_args",
    "ws_login_sign",
]

#: Characters of a generated nonce.
NONCE_ALPHABET = string.ascii_letters + string.digits
#: Length of a generated nonce.
NONCE_LENGTH = 32


def sha256_hex(text: str) -> str:
    """The lowercase hex SHA-256 digest of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _double_sha(payload: str, secret_key: str) -> str:
    return sha256_hex(sha256_hex(payload) + secret_key)


def _same(expected: str, received: str) -> bool:
    """Constant-time comparison that tolerates any received text."""
    return hmac.compare_digest(expected.encode("ascii"), received.encode("utf-8", "surrogatepass"))


def new_nonce(rng: random.Random | None = None) -> str:
    """A fresh nonce: 32 ASCII letters and digits.

    Drawn from ``rng`` when given (reproducible tests), else from :mod:`secrets`.
    """
    if rng is None:
        return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH))
    return "".join(rng.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH))


def now_seconds(clock: Callable[[], float] = time.time) -> int:
    """Wall-clock Unix time in whole seconds (the WebSocket login timestamp)."""
    return int(clock())


def now_ms(clock: Callable[[], float] = time.time) -> int:
    """Wall-clock Unix time in whole milliseconds (the REST ``timestamp`` header)."""
    return int(clock() * 1000)


# ---------------------------------------------------------------------------- WebSocket


def ws_login_sign(api_key: str, secret_key: str, nonce: str, timestamp: int) -> str:
    """The ``sign`` of a WebSocket login (``timestamp`` in seconds, as sent in the JSON)."""
    return _double_sha(f"{nonce}{int(timestamp)}{api_key}", secret_key)


def ws_login_args(credentials: Credentials, *, nonce: str, timestamp: int) -> dict[str, object]:
    """The object that goes in the ``args`` list of a login frame.

    ``{"apiKey": ..., "timestamp": <int seconds>, "nonce": ..., "sign": ...}``
    """
    timestamp = int(timestamp)
    return {
        "apiKey": credentials.api_key,
        "timestamp": timestamp,
        "nonce": nonce,
        "sign": ws_login_sign(credentials.api_key, credentials.secret_key, nonce, timestamp),
    }


def _within(timestamp: int, now: float | None, max_skew: float | None, scale: float) -> bool:
    if now is None or max_skew is None:
        return True
    return abs(timestamp / scale - now) <= max_skew


def verify_ws_login(
    credentials: Credentials,
    *,
    api_key: object,
    timestamp: object,
    nonce: object,
    sign: object,
    now: float | None = None,
    max_skew: float | None = None,
) -> bool:
    """Whether a login request is correctly signed for ``credentials`` (server side).

    Values are taken as received (any type); a wrong type simply fails. ``timestamp`` may
    be in seconds or milliseconds (clients in the wild send both; the formula is the same).
    When ``now`` (Unix seconds) and ``max_skew`` (seconds) are both given, the timestamp
    must also be that fresh.
    """
    if not (isinstance(api_key, str) and isinstance(nonce, str) and isinstance(sign, str)):
        return False
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        return False
    if api_key != credentials.api_key:
        return False
    scale = 1000.0 if timestamp >= 10**11 else 1.0
    if not _within(timestamp, now, max_skew, scale):
        return False
    expected = ws_login_sign(credentials.api_key, credentials.secret_key, nonce, timestamp)
    return _same(expected, sign)


def verify_ws_login_args(
    credentials: Credentials,
    args: Mapping[str, object],
    *,
    now: float | None = None,
    max_skew: float | None = None,
) -> bool:
    """:func:`verify_ws_login` over the ``args`` object of a login frame."""
    return verify_ws_login(
        credentials,
        api_key=args.get("apiKey"),
        timestamp=args.get("timestamp"),
        nonce=args.get("nonce"),
        sign=args.get("sign"),
        now=now,
        max_skew=max_skew,
    )


# ---------------------------------------------------------------------------- REST


def _value_text(key: str, value: object) -> str:
    """A query value as text, the way httpx puts it in the URL (before escaping)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str | int | float):
        return str(value)
    raise TypeError(
        f"query parameter {key!r} must be a str, int, float, bool or Decimal, "
        f"got {type(value).__name__}"
    )


def query_values(params: Mapping[str, object] | None) -> dict[str, str]:
    """The query parameters as they are signed and sent: ``None`` values dropped, every
    value as text, sorted by key.

    Pass the result as httpx's ``params=`` so that the URL carries exactly what was signed.
    """
    if not params:
        return {}
    for key in params:
        if not isinstance(key, str):
            raise TypeError(f"query parameter names must be str, got {type(key).__name__}")
    return {key: _value_text(key, params[key]) for key in sorted(params) if params[key] is not None}


def rest_query_string(params: Mapping[str, object] | None) -> str:
    """The ``queryParams`` part of a REST signature.

    ``key + value`` for every parameter, sorted by key (ASCII order), values unescaped, no
    separators, ``None`` values skipped: ``{"symbols": "BTCUSDT,ETHUSDT", "a": 1}`` gives
    ``"a1symbolsBTCUSDT,ETHUSDT"``.
    """
    return "".join(key + value for key, value in query_values(params).items())


def rest_sign(
    api_key: str,
    secret_key: str,
    nonce: str,
    timestamp: str,
    query_params: str,
    body: str,
) -> str:
    """The ``sign`` header of a REST request.

    ``timestamp`` is the millisecond text sent in the ``timestamp`` header; ``query_params``
    comes from :func:`rest_query_string`; ``body`` is the exact request body (``""`` for a
    GET).
    """
    return _double_sha(f"{nonce}{timestamp}{api_key}{query_params}{body}", secret_key)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send a non-finite Decimal: {value}")
        return format(value, "f")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def compact_json(obj: object) -> str:
    """``obj`` as compact JSON (no spaces), the form request bodies are sent and signed in.

    ``Decimal`` values become strings in fixed-point notation (the exchange takes prices
    and quantities as strings); NaN and infinities are refused.
    """
    return json.dumps(obj, separators=(",", ":"), allow_nan=False, default=_json_default)


def rest_headers(
    credentials: Credentials,
    *,
    nonce: str,
    timestamp_ms: int,
    params: Mapping[str, object] | None = None,
    body: str = "",
) -> dict[str, str]:
    """The headers of a signed REST request.

    ``params`` are the query parameters (send ``query_values(params)``), ``body`` the exact
    body text (``compact_json(...)`` for a POST, ``""`` for a GET).
    """
    timestamp = str(int(timestamp_ms))
    sign = rest_sign(
        credentials.api_key,
        credentials.secret_key,
        nonce,
        timestamp,
        rest_query_string(params),
        body,
    )
    return {
        "api-key": credentials.api_key,
        "nonce": nonce,
        "timestamp": timestamp,
        "sign": sign,
        "Content-Type": "application/json",
        "language": "en-US",
    }


def verify_rest(
    credentials: Credentials,
    *,
    headers: Mapping[str, str],
    params: Mapping[str, object] | None = None,
    body: str | bytes = "",
    now_ms: float | None = None,
    max_skew_ms: float | None = None,
) -> bool:
    """Whether a REST request is correctly signed for ``credentials`` (server side).

    ``headers`` are matched case-insensitively; ``params`` are the decoded query
    parameters; ``body`` is the raw body as received. When ``now_ms`` and ``max_skew_ms``
    are both given, the ``timestamp`` header must also be that fresh.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    api_key = lowered.get("api-key")
    nonce = lowered.get("nonce")
    timestamp = lowered.get("timestamp")
    sign = lowered.get("sign")
    if api_key is None or nonce is None or timestamp is None or sign is None:
        return False
    if api_key != credentials.api_key or not nonce:
        return False
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if not _within(int(timestamp), now_ms, max_skew_ms, 1.0):
        return False
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return False
    try:
        query = rest_query_string(params)
    except TypeError:
        return False
    expected = rest_sign(credentials.api_key, credentials.secret_key, nonce, timestamp, query, body)
    return _same(expected, sign)
