"""``tether undo``: put the work tree back to a checkpoint, losing nothing on the way.

The state being replaced is first recorded as a ``pre-undo`` checkpoint, so an undo can
itself be undone with ``tether undo --to <checkpoint>``. Undoing the last task takes back
only what the task changed: the user's own edits, made while it ran (``user-edit``
checkpoints) or after it, stay.
"""

from __future__ import annotations

from dataclasses import dataclass

from tether.errors import UsageError
from tether.vcs.branch import uncommit
from tether.vcs.checkpoints import Checkpoint, ShadowCheckpoints
from tether.vcs.diff import graft, tree_changes

TASK_ENDS = ("task-done", "task-end", "interrupted")


@dataclass(frozen=True)
class UndoResult:
    target: Checkpoint
    saved: Checkpoint
    restored: list[str]
    uncommitted: str | None


def undo(
    checkpoints: ShadowCheckpoints, session: str, *, step: bool = False, to: str | None = None
) -> UndoResult:
    history = checkpoints.history(limit=10_000)
    if not history:
        raise UsageError("there is nothing to undo: tether has no checkpoints in this work tree")
    target, commit = _target(checkpoints, history, step=step, to=to)
    current = checkpoints.snapshot_tree()
    saved = checkpoints.record(
        "pre-undo", current, session=session, task=f"undo to {target.sha[:10]}"
    )
    git = checkpoints.git
    goal = target.tree
    if not step and to is None:
        goal = _without_the_task(checkpoints, history, target, current)
    uncommitted = None
    if commit and git.head() == commit:
        paths = [c.path for c in tree_changes(git, goal, current)]
        uncommit(git, commit, paths)
        uncommitted = commit
    elif commit and git.is_ancestor(commit, "HEAD"):
        raise UsageError(
            f"the task's commit {commit[:10]} is no longer HEAD (the branch moved on)",
            hint=f"revert it with `git revert {commit[:10]}`, or restore files with "
            f"`tether undo --to {target.sha[:10]}`",
        )
    restored = checkpoints.restore(goal)
    return UndoResult(target=target, saved=saved, restored=restored, uncommitted=uncommitted)


def _without_the_task(
    checkpoints: ShadowCheckpoints, history: list[Checkpoint], start: Checkpoint, current: str
) -> str:
    """The tree now, less what the task changed: its paths go back to the task's base
    (the start plus the user's edits made while it ran), every other path stays."""
    newer = history[: history.index(start)]
    bases = [
        c.fields["base_tree"] for c in newer if c.kind == "user-edit" and "base_tree" in c.fields
    ]
    base = bases[0] if bases else start.tree
    end = next((c for c in newer if c.kind in TASK_ENDS), None)
    if end is None:  # the task never ended (killed): everything since its base is its own
        return base
    git = checkpoints.git
    paths = [c.path for c in tree_changes(git, base, end.tree)]
    return graft(git, current, base, paths)


def _target(
    checkpoints: ShadowCheckpoints, history: list[Checkpoint], *, step: bool, to: str | None
) -> tuple[Checkpoint, str | None]:
    """The checkpoint to restore and the task commit to take back (if any)."""
    if to is not None:
        try:
            return checkpoints.get(to), None
        except KeyError:
            raise UsageError(
                f"no checkpoint {to!r}", hint="`tether checkpoints` lists them"
            ) from None
    if step:
        latest_step = next((c for c in history if c.kind == "step"), None)
        if latest_step is None or latest_step.parent is None:
            raise UsageError("there is no step to undo")
        return checkpoints.get(latest_step.parent), None
    start = next((c for c in history if c.kind == "task-start"), None)
    if start is None:
        raise UsageError("there is no task to undo")
    newer = history[: history.index(start)]
    end = next((c for c in reversed(newer) if c.kind in TASK_ENDS), None)
    commit = end.fields.get("commit") if end is not None else None
    return start, commit or None
