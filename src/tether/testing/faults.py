"""Fault injection for the scripted server: ``"429:0.1,500:0.05,timeout:0.05,..."``.

Each request draws at most one fault from a seeded generator, so a run with the same
seed and the same request order injects the same faults.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from tether.errors import UsageError

FAULT_KINDS = ("429", "500", "timeout", "truncate", "badjson")


@dataclass
class FaultPlan:
    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.injected: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)

    @classmethod
    def parse(cls, spec: str | None, seed: int = 0) -> FaultPlan:
        rates: dict[str, float] = {}
        for item in (spec or "").split(","):
            item = item.strip()
            if not item:
                continue
            kind, sep, rate_text = item.partition(":")
            kind = kind.strip()
            if kind not in FAULT_KINDS or not sep:
                raise UsageError(
                    f"bad fault {item!r} in --faults",
                    hint=f"use KIND:RATE with KIND one of {', '.join(FAULT_KINDS)}",
                )
            try:
                rate = float(rate_text)
            except ValueError:
                raise UsageError(
                    f"bad rate {rate_text!r} for fault {kind}",
                    hint="a rate is a probability between 0 and 1",
                ) from None
            if not 0 <= rate <= 1:
                raise UsageError(f"rate {rate} for fault {kind} is outside 0..1")
            rates[kind] = rate
        if sum(rates.values()) > 1:
            raise UsageError("fault rates add up to more than 1", hint="lower some rates")
        return cls(rates=rates, seed=seed)

    def draw(self) -> str | None:
        """The fault for the next request, or None."""
        if not self.rates:
            return None
        with self._lock:
            roll = self._rng.random()
            edge = 0.0
            for kind in FAULT_KINDS:
                edge += self.rates.get(kind, 0.0)
                if roll < edge:
                    self.injected[kind] += 1
                    return kind
        return None


class PrefixCache:
    """Simulated provider prefix cache: the longest common prefix between a prompt and
    any earlier prompt of the same model. Kept sorted, so the best match is always a
    neighbour of the new prompt's insertion point (O(log n) comparisons)."""

    def __init__(self) -> None:
        self._prompts: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def lookup_and_add(self, model: str, prompt: str) -> int:
        """Characters of ``prompt`` shared with the best earlier prompt; then remember it."""
        import bisect

        with self._lock:
            seen = self._prompts.setdefault(model, [])
            at = bisect.bisect_left(seen, prompt)
            best = 0
            for neighbour in seen[max(0, at - 1) : at + 1]:
                best = max(best, common_prefix(prompt, neighbour))
            if at >= len(seen) or seen[at] != prompt:
                seen.insert(at, prompt)
            return best


def common_prefix(a: str, b: str) -> int:
    """Length of the common prefix of two strings (binary search on C-speed slices)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
