"""Retries for model calls: exponential backoff with jitter, honouring Retry-After.

Adapters turn a provider failure into ``Retryable`` (429, 5xx, connection errors,
timeouts, a stream cut mid-way) or ``ModelError`` (anything retrying cannot fix, such
as a bad key). A retried stream starts over as a whole new call: partial output of a
failed attempt is thrown away, never stitched.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tether.errors import ModelError

T = TypeVar("T")
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
MAX_RETRY_AFTER_S = 60.0


class Retryable(Exception):
    """A failure worth another attempt; ``retry_after`` is the server's hint in seconds."""

    def __init__(self, cause: str, retry_after: float | None = None):
        super().__init__(cause)
        self.cause = cause
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 20.0

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        if retry_after is not None:
            return max(0.0, min(retry_after, MAX_RETRY_AFTER_S))
        ceiling = min(self.max_backoff_s, self.backoff_s * 2.0 ** (retry - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retry_after_from(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return float(lowered["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
    except (TypeError, ValueError):
        return None


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    give_up: Callable[[str, int], ModelError],
    rng: random.Random | None = None,
) -> tuple[T, int]:
    """Run ``attempt`` until it succeeds; return its result and the number of attempts.

    ``give_up(cause, attempts)`` builds the final error after the last retry.
    """
    rng = rng or random.Random()
    attempts = 0
    while True:
        attempts += 1
        try:
            return await attempt(), attempts
        except Retryable as failure:
            if attempts > policy.max_retries:
                raise give_up(failure.cause, attempts) from None
            await asyncio.sleep(policy.delay(attempts, failure.retry_after, rng))


def status_is_retryable(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def is_transport_error(exc: BaseException) -> bool:
    """A network-level failure from the HTTP stack under the SDKs (connection reset,
    incomplete chunked body, read timeout), whichever httpx flavour the SDK uses."""
    if isinstance(exc, (OSError, asyncio.TimeoutError)):
        return True
    return any(
        cls.__module__.split(".")[0] in {"httpx", "httpx2", "httpcore", "h11", "anyio"}
        for cls in type(exc).__mro__
    )
