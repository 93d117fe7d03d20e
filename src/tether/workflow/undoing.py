"""Undo and the checkpoint history, for ``tether undo``, ``tether checkpoints`` and the
session's ``/undo``, ``/checkpoints`` and ``/diff``: one place that takes the work-tree
lock, restores, and opens the task again in PLAN.md."""

from __future__ import annotations

from dataclasses import dataclass

from tether.memory.locations import ledger_files
from tether.vcs.checkpoints import Checkpoint, ShadowCheckpoints
from tether.vcs.git import Git
from tether.vcs.undo import UndoResult, undo
from tether.workflow.planfile import reopen
from tether.workspace import Workspace, work_tree_lock


@dataclass(frozen=True)
class Undone:
    result: UndoResult
    reopened: str | None  # the PLAN.md task open again, if the undo was a plan task's


def checkpoints_of(ws: Workspace) -> ShadowCheckpoints:
    return ShadowCheckpoints(Git(ws.root), ledger_files(ws.root, ws.config.config))


def undo_last(ws: Workspace, step: bool = False, to: str | None = None) -> Undone:
    """Restore the tree to before the last task (or its last step, or a checkpoint);
    the state before the undo is saved first."""
    with work_tree_lock(ws.root):
        result = undo(checkpoints_of(ws), ws.session_id, step=step, to=to)
        task_id = result.target.fields.get("task_id") if not step and not to else None
        reopened = task_id if task_id and reopen(ws, task_id) else None
    return Undone(result, reopened)


def history(ws: Workspace, limit: int = 20) -> list[Checkpoint]:
    return checkpoints_of(ws).history(limit=limit)


def diff_since(ws: Workspace, base_tree: str | None, color: bool = False) -> str:
    """The unified diff from ``base_tree`` (default: HEAD) to the tree as it is now,
    untracked files included, tether's own files not."""
    checkpoints = checkpoints_of(ws)
    git = checkpoints.git
    now = checkpoints.snapshot_tree()
    base = base_tree or git.rev("HEAD") or ""
    if not base:
        base = git.run("hash-object", "-t", "tree", "/dev/null").strip()
    args = ["diff", "--stat", "-p", "--no-ext-diff", base, now]
    return git.run("-c", f"color.ui={'always' if color else 'never'}", *args, check=False)
