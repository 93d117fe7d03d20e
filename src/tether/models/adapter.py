"""What both wire clients share: retries, timing, the error classes, the final error.

A subclass implements ``_attempt`` (one HTTP call, streamed or not) and ``_classify``
(usually ``classify``: an HTTP status, a timeout, a broken connection or stream into
``Retryable`` or ``ModelError``); the retry loop, the clock and the usage bookkeeping
live here once.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from tether.errors import ModelError
from tether.models.retry import (
    Retryable,
    RetryPolicy,
    is_transport_error,
    retry_after_from,
    status_is_retryable,
    with_retries,
)
from tether.models.types import Completion, ModelInfo, ModelRequest, Timing, ToolCall, Usage


@dataclass
class AttemptResult:
    """What one attempt produced, before timing is folded in."""

    content: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    stop_reason: str
    first_token_at: float | None
    last_token_at: float | None
    model: str = ""


@dataclass
class StreamClock:
    """Marks the first and last output token of a streamed attempt."""

    sent_at: float = field(default_factory=time.perf_counter)
    first: float | None = None
    last: float | None = None

    def tick(self) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        self.last = now


class WireAdapter:
    """Base class for the OpenAI and Anthropic adapters."""

    def __init__(self, info: ModelInfo, policy: RetryPolicy, seed: int | None = None):
        self.info = info
        self.policy = policy
        self._rng = random.Random(seed)

    async def complete(self, request: ModelRequest) -> Completion:
        started = time.perf_counter()
        sent_at = started

        async def attempt() -> AttemptResult:
            nonlocal sent_at
            sent_at = time.perf_counter()
            try:
                return await self._attempt(request)
            except (Retryable, ModelError):
                raise
            except Exception as exc:
                known = self._classify(exc)
                if known is not None:
                    raise known from exc
                if is_transport_error(exc):
                    raise Retryable(f"the connection broke ({exc})") from exc
                raise

        result, attempts = await with_retries(attempt, self.policy, self._give_up, self._rng)
        ended = time.perf_counter()
        return Completion(
            content=result.content,
            tool_calls=result.tool_calls,
            usage=result.usage,
            timing=_timing(result, sent_at, started, ended),
            stop_reason=result.stop_reason,
            attempts=attempts,
            model=result.model or self.info.model,
        )

    async def _attempt(self, request: ModelRequest) -> AttemptResult:
        raise NotImplementedError

    def _classify(self, exc: Exception) -> Retryable | ModelError | None:
        """The exception as Retryable or ModelError; None if it is not a model failure."""
        raise NotImplementedError

    async def aclose(self) -> None:
        return None

    def _give_up(self, cause: str, attempts: int) -> ModelError:
        info = self.info
        return ModelError(
            f"the {info.role} model ({info.provider} {info.model} at {info.host}) failed "
            f"after {attempts} attempt(s): {cause}",
            hint=f"check the provider's status, or raise max_retries / timeout_s in [{info.role}]",
        )

    def fatal(self, cause: str, hint: str) -> ModelError:
        info = self.info
        return ModelError(
            f"the {info.role} model ({info.provider} {info.model} at {info.host}) refused the "
            f"request: {cause}",
            hint=hint,
        )


def classify(
    exc: Exception, adapter: WireAdapter, key_env: str | None
) -> Retryable | ModelError | None:
    """An HTTP status (retryable or not, with the provider's message), a timeout, a
    broken connection or a stream that is not its format."""
    import httpx
    from httpx_sse import SSEError

    from tether.models.http import StatusError, StreamBroke

    if isinstance(exc, StatusError):
        cause = f"HTTP {exc.status}: {exc.message}"
        if status_is_retryable(exc.status):
            return Retryable(cause, retry_after_from(exc.headers))
        return adapter.fatal(cause, hint_for_status(exc.status, adapter.info.role, key_env))
    if isinstance(exc, SSEError):  # a host that answered a stream request with JSON
        return Retryable(f"the answer is not a stream ({_short(str(exc))})")
    if isinstance(exc, httpx.TimeoutException):
        return Retryable("timed out waiting for the model")
    if isinstance(exc, httpx.TransportError):
        return Retryable(f"the connection broke ({_short(str(exc) or type(exc).__name__)})")
    if isinstance(exc, StreamBroke):
        return Retryable(f"the stream broke: {_short(str(exc))}")
    return None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hint_for_status(status: int, role: str, key_env: str | None) -> str:
    """What to do about an HTTP status that retrying cannot fix."""
    if status in (401, 403):
        where = f"${key_env}" if key_env else "the key"
        return f"check {where} for the {role} role"
    if status == 404:
        return f"check model and base_url in [{role}] (`tether models` shows them)"
    if status == 413:
        return f"the prompt is too large; lower context use or raise context_window in [{role}]"
    return f"check model, base_url and provider in [{role}]"


def _timing(result: AttemptResult, sent_at: float, started: float, ended: float) -> Timing:
    first = result.first_token_at
    last = result.last_token_at
    if first is None:
        ttft = ended - sent_at
        span = ended - sent_at
    else:
        ttft = first - sent_at
        span = (last or ended) - first
    output = result.usage.output_tokens
    if span <= 0:
        span = max(ended - sent_at, 1e-9)
    return Timing(ttft_s=ttft, output_tps=output / span if output else 0.0, seconds=ended - started)


def estimate_tokens(text: str) -> int:
    """Rough token count (4 characters a token) for hosts that report no usage."""
    return (len(text) + 3) // 4
