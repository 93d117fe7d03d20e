"""The loop's settings, and what one context of a task gathers as it runs."""

from __future__ import annotations

import time

import msgspec

from tether.agent.context import ContextMeter
from tether.agent.outcomes import Tokens
from tether.gates.results import GateResult


class LoopSettings(msgspec.Struct, frozen=True):
    max_output_tokens: int = 4096
    temperature: float | None = None
    max_gate_attempts: int = 3
    commit: bool = True
    context_window: int = 32_768
    handoff_at: float = 0.6
    session: str = ""


class RunState(msgspec.Struct):
    """What one context of a task has gathered so far."""

    base_checkpoint: str
    meter: ContextMeter
    tokens: Tokens = msgspec.field(default_factory=Tokens)
    steps: int = 0
    gates: list[GateResult] = msgspec.field(default_factory=list)
    silent_streak: int = 0
    gate_failures: int = 0
    empty_dones: int = 0
    last_feedback: str = ""
    last_text: str = ""
    last_tool: str = ""
    user_changed: list[str] = msgspec.field(default_factory=list)
    mark: float = msgspec.field(default_factory=time.perf_counter)
