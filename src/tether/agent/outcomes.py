"""How a task ends. The loop leaves through these exceptions; each carries its reason.
The result a caller gets is typed all the way: a status, gate results, a handoff."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from tether.gates.results import GateResult


class TaskStatus(StrEnum):
    """The one status vocabulary, from the loop to the ledger, the gallery and the exit
    code. The values are what PROGRESS.md and events.jsonl say."""

    DONE = "done"
    UNVERIFIED = "done-unverified"  # done, with no task gate to prove it
    NOTHING_CHANGED = "nothing-changed"  # the model called done and changed nothing
    FAILED = "failed"
    HANDOFF = "handoff"
    INTERRUPTED = "interrupted"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self]

    @property
    def checkpoint_kind(self) -> str:
        """The kind of the checkpoint that records the tree a task ended with."""
        if self.finished:
            return "task-done"
        return "interrupted" if self is TaskStatus.INTERRUPTED else "task-end"

    @property
    def finished(self) -> bool:
        """Done, verified or not: the task's change is committed."""
        return self in (TaskStatus.DONE, TaskStatus.UNVERIFIED)

    @property
    def failed(self) -> bool:
        """Ended without the change the task asked for (rolled back, follow-up due)."""
        return self in (TaskStatus.FAILED, TaskStatus.NOTHING_CHANGED)

    @property
    def plan_box(self) -> str:
        """The PLAN.md status a finished attempt leaves."""
        return "done" if self.finished else "failed" if self.failed else "in_progress"

    @property
    def label(self) -> str:
        """How a person reads it."""
        return {"done-unverified": "done, unverified", "nothing-changed": "nothing changed"}.get(
            self.value, self.value
        )


EXIT_CODES = {
    TaskStatus.DONE: 0,
    TaskStatus.UNVERIFIED: 0,
    TaskStatus.NOTHING_CHANGED: 1,
    TaskStatus.FAILED: 1,
    TaskStatus.HANDOFF: 1,
    TaskStatus.INTERRUPTED: 130,
}


class TaskEnded(Exception):
    """Base: the task is over, with ``status``."""

    status = TaskStatus.FAILED

    def __init__(self, reason: str, summary: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.summary = summary


class Completed(TaskEnded):
    status = TaskStatus.DONE


class CompletedUnverified(Completed):
    """Done on the model's word: there was no task gate to prove it."""

    status = TaskStatus.UNVERIFIED


class NothingChanged(TaskEnded):
    """The model called done (twice) without changing anything."""

    status = TaskStatus.NOTHING_CHANGED


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

    status = TaskStatus.HANDOFF


class Interrupted(TaskEnded):
    status = TaskStatus.INTERRUPTED


class Stopped(TaskEnded):
    """The developer stopped the task; it ends at a step boundary, the tree as the last
    step left it (judged), never with a half-applied edit."""

    status = TaskStatus.INTERRUPTED


class Tokens(msgspec.Struct):
    input: int = 0
    cached: int = 0
    output: int = 0
    calls: int = 0

    def add(self, input: int, cached: int, output: int) -> None:
        self.input += input
        self.cached += cached
        self.output += output
        self.calls += 1


class Handoff(msgspec.Struct, frozen=True):
    """What the next context (or the ledger) needs from this one."""

    last_text: str = ""
    last_feedback: str = ""
    gates: tuple[GateResult, ...] = ()


class Rollback(msgspec.Struct, frozen=True):
    """A failed task's edits, taken out of the tree and kept at ``checkpoint``."""

    checkpoint: str
    restored: tuple[str, ...] = ()


class TaskResult(msgspec.Struct):
    """Everything a caller (CLI, plan runner, variants) needs about a finished task."""

    status: TaskStatus
    reason: str
    steps: int
    summary: str = ""
    commit: str | None = None
    base_checkpoint: str = ""
    base_tree: str = ""  # the base as it ended: the attempt's start plus the user's edits
    final_tree: str = ""
    changed: list[str] = msgspec.field(default_factory=list)
    tokens: Tokens = msgspec.field(default_factory=Tokens)
    seconds: float = 0.0
    gates: list[GateResult] = msgspec.field(default_factory=list)
    handoff: Handoff = msgspec.field(default_factory=Handoff)
    rollback: Rollback | None = None

    @property
    def ok(self) -> bool:
        return self.status.finished
