"""The context meter of one executor context: tokens in the next request, their growth
in tokens/s, the seconds left before the handoff threshold."""

from __future__ import annotations

import time
from typing import Any

import msgspec

from tether.models.types import Message, Usage


class ContextReading(msgspec.Struct, frozen=True):
    used: int
    window: int
    limit: int
    rate_tps: float
    eta_s: float | None

    @property
    def full(self) -> bool:
        return self.used >= self.limit

    def fields(self) -> dict[str, Any]:
        """The ``context`` event's fields."""
        return {
            "used": self.used,
            "window": self.window,
            "limit": self.limit,
            "rate_tps": round(self.rate_tps, 1),
            "eta_s": round(self.eta_s, 1) if self.eta_s is not None else None,
        }


class ContextMeter(msgspec.Struct):
    window: int
    handoff_at: float
    started: float = msgspec.field(default_factory=time.perf_counter)
    first_used: int | None = None
    mark: int = 0

    @property
    def limit(self) -> int:
        return int(self.window * self.handoff_at)

    def replied(self, history: list[Message]) -> None:
        """The model's reply was appended: what comes after it is new."""
        self.mark = len(history)

    def read(self, usage: Usage, history: list[Message]) -> ContextReading:
        """The provider's count for this call plus an estimate (4 characters a token) of
        what was appended since the reply."""
        added = sum(len(m.content) for m in history[self.mark :]) // 4
        self.mark = len(history)
        used = usage.input_tokens + usage.output_tokens + added
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        if self.first_used is None:
            self.first_used = usage.input_tokens
        rate = max(0.0, (used - self.first_used) / elapsed)
        eta = (self.limit - used) / rate if rate > 0 and used < self.limit else None
        return ContextReading(used, self.window, self.limit, rate, eta)
