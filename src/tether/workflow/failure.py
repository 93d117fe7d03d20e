"""The one failure policy, for every way a task runs (``do``, ``run``, variants).

A task that ended *failed* (step budget spent, too many violations, gates failed, the
model gave up) leaves nothing half-done in the tree: its edits are recorded as a
``task-failed`` checkpoint, the tree goes back to the task's base, and the result (and
so the ledger, the exit summary, the gallery) names the checkpoint that keeps them. A
task that was *interrupted* or *handed off* keeps its edits in the tree (the next
context or a resume continues from them); a *done* one is committed."""

from __future__ import annotations

from typing import Protocol

from tether.agent.outcomes import Rollback, TaskResult
from tether.agent.task import Task


class FailedTree(Protocol):
    def snapshot(self) -> str: ...

    def checkpoint(
        self, kind: str, tree: str, *, task: str, step: int = 0, extra: dict[str, str] | None = None
    ) -> str: ...

    def tree_of(self, checkpoint: str) -> str: ...

    def restore(self, tree: str) -> list[str]: ...


def apply_failure_policy(tree: FailedTree, task: Task, result: TaskResult) -> TaskResult:
    """Roll a failed task back to its base, keeping its edits at a checkpoint."""
    if not result.status.failed:
        return result
    base = result.base_tree or tree.tree_of(result.base_checkpoint)
    now = tree.snapshot()
    if now == base:
        return result  # nothing to roll back, nothing to keep
    extra = {"task_id": task.task_id} if task.task_id else {}
    kept = tree.checkpoint("task-failed", now, task=task.title, extra=extra)
    restored = tree.restore(base)
    result.rollback = Rollback(kept, tuple(restored))
    return result


def rollback_note(rollback: Rollback | None) -> str:
    """What the ledger and the exit summary say about a rolled-back attempt."""
    if rollback is None:
        return ""
    short = rollback.checkpoint[:10]
    return (
        f"The failed attempt's edits were rolled back; they are kept at checkpoint "
        f"{short} (`tether undo --to {short}`)."
    )
