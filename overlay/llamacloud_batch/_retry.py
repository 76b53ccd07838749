"""Retry policy for single requests, as small pure functions.

Written here rather than taken from an httpx retry transport because the waits must run
through the caller's injected `sleep` and stop at the caller's deadline (a transport sees
neither), must read `retry-after-ms` besides `Retry-After`, and must turn each final
failure into this package's typed errors; what is left is a few lines of arithmetic.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import httpx

__all__ = [
    "INITIAL_BACKOFF_S",
    "MAX_BACKOFF_S",
    "MAX_RETRY_AFTER_S",
    "RETRYABLE_STATUSES",
    "backoff_delay",
    "is_retryable_exception",
    "is_retryable_status",
    "parse_retry_after",
    "retry_delay",
]

INITIAL_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0
# A server's hint is honoured only up to this; anything larger is clamped, never trusted blindly.
MAX_RETRY_AFTER_S = 60.0
# 408 Request Timeout and 429 Too Many Requests say "try again"; 5xx is the server's own failure.
RETRYABLE_STATUSES = frozenset({408, 429})


_TRANSIENT_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


def is_retryable_status(status_code: int) -> bool:
    return status_code in RETRYABLE_STATUSES or status_code >= 500


def is_retryable_exception(exc: httpx.RequestError) -> bool:
    """Network trouble and timeouts are worth another try; a bad URL or protocol is not."""
    return isinstance(exc, _TRANSIENT_ERRORS)


def backoff_delay(retries_done: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff, capped, with up to 25 % jitter taken off so clients spread out."""
    # Cap the exponent first: 2.0**1024 overflows a float, and 2**32 is past the cap anyway.
    base = min(INITIAL_BACKOFF_S * 2.0 ** min(retries_done, 32), MAX_BACKOFF_S)
    return base * (1.0 - 0.25 * rng())


def parse_retry_after(headers: httpx.Headers, *, now: float) -> float | None:
    """The server's requested wait in seconds, clamped to [0, 60], or None if absent or garbage.

    `retry-after-ms` wins over `Retry-After`; `Retry-After` may be seconds or an HTTP date
    (compared with `now`, a Unix timestamp). A date in the past means "now" (0 s).
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        seconds = _finite_float(millis)
        if seconds is not None:
            return _clamp(seconds / 1000.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _finite_float(value)
    if seconds is None:
        import datetime
        import email.utils  # only an HTTP-date hint needs them

        try:
            when = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000" gives a naive datetime; HTTP dates are UTC
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - now
    return _clamp(seconds)


def retry_delay(
    retries_done: int,
    response: httpx.Response | None,
    *,
    now: float,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before the next try: the server's hint if it gave one, else backoff."""
    if response is not None:
        hinted = parse_retry_after(response.headers, now=now)
        if hinted is not None:
            return hinted
    return backoff_delay(retries_done, rng)


def _finite_float(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _clamp(seconds: float) -> float:
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)
