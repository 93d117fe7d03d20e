"""Before a task touches the user's tree: a repository in the middle of a merge,
rebase, cherry-pick, revert or bisect is refused, and so is a detached HEAD unless the
user says ``--detached`` (a task's commit there would belong to no branch)."""

from __future__ import annotations

from tether.errors import UsageError
from tether.vcs.git import Git
from tether.vcs.state import detached, operation_in_progress
from tether.workspace import Workspace


def check_work_tree(ws: Workspace, allow_detached: bool = False) -> None:
    git = Git(ws.root)
    operation = operation_in_progress(git)
    if operation is not None:
        raise UsageError(
            f"the repository is in the middle of {operation}",
            where=str(ws.root),
            hint="finish or abort it first (git status says how), then run tether again",
        )
    if detached(git) and not allow_detached:
        raise UsageError(
            "HEAD is detached: a task's commit would be on no branch",
            where=str(ws.root),
            hint="check out a branch (git switch -c NAME), or pass --detached to go on",
        )
