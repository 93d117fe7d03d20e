"""How a task ends. The loop leaves through these exceptions; each carries its reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class TaskEnded(Exception):
    """Base: the task is over. ``status`` is done, failed or interrupted."""

    status = "failed"

    def __init__(self, reason: str, summary: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.summary = summary


class Completed(TaskEnded):
    status = "done"


class BudgetSpent(TaskEnded):
    """The step budget ran out."""


class TooManyViolations(TaskEnded):
    """The guard blocked or rolled back too many steps in a row."""


class GaveUp(TaskEnded):
    """The model stopped using tools without finishing."""


class GatesFailed(TaskEnded):
    """Task gates failed on every allowed attempt."""


class HandoffNeeded(TaskEnded):
    """The context reached its handoff threshold; a fresh context continues the task."""

    status = "handoff"


class Interrupted(TaskEnded):
    status = "interrupted"


@dataclass
class Tokens:
    input: int = 0
    cached: int = 0
    output: int = 0
    calls: int = 0

    def add(self, input: int, cached: int, output: int) -> None:
        self.input += input
        self.cached += cached
        self.output += output
        self.calls += 1


@dataclass
class TaskResult:
    """Everything a caller (CLI, plan runner, variants) needs about a finished task."""

    status: str
    reason: str
    steps: int
    summary: str = ""
    commit: str | None = None
    base_checkpoint: str = ""
    final_tree: str = ""
    changed: list[str] = field(default_factory=list)
    tokens: Tokens = field(default_factory=Tokens)
    seconds: float = 0.0
    gates: list[dict[str, Any]] = field(default_factory=list)
    handoff: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "done"
