"""Git worktrees for a variants run: ``.tether/worktrees/<run-id>/<k>/``, all checked
out from one base commit that holds HEAD plus the user's uncommitted work."""

from __future__ import annotations

import shutil
from pathlib import Path

from tether.layout import StateLayout
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import TETHER_IDENTITY, Git

RESULTS_REFS = "refs/tether/results"  # a cluster run's fetched results: <run-id>/<k>


def worktrees_dir(root: Path, run_id: str) -> Path:
    return StateLayout(root).worktrees(run_id)


def base_commit(checkpoints: ShadowCheckpoints, run_id: str) -> tuple[str, str]:
    """(commit, tree) of the work tree as it is now; kept alive by a ref."""
    git = checkpoints.git
    tree = checkpoints.snapshot_tree()
    head = git.head()
    args = ["commit-tree", tree, "-m", f"tether variants base {run_id}"]
    commit = git.run(*args, *(["-p", head] if head else []), env=TETHER_IDENTITY).strip()
    git.run("update-ref", f"refs/tether/runs/{run_id}", commit)
    return commit, tree


def add_worktrees(git: Git, run_id: str, commit: str, count: int) -> list[Path]:
    folder = worktrees_dir(git.root, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(1, count + 1):
        path = folder / str(k)
        git.run("worktree", "add", "--detach", "--force", str(path), commit)
        paths.append(path)
    return paths


def remove_worktrees(git: Git, run_id: str) -> int:
    folder = worktrees_dir(git.root, run_id)
    removed = 0
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            git.run("worktree", "remove", "--force", str(path), check=False)
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        shutil.rmtree(folder, ignore_errors=True)
    git.run("worktree", "prune", check=False)
    _drop_results(git, run_id)
    return removed


def _drop_results(git: Git, run_id: str) -> None:
    """The results a cluster run fetched."""
    refs = git.run("for-each-ref", "--format=%(refname)", f"{RESULTS_REFS}/{run_id}/")
    for ref in refs.split():
        git.run("update-ref", "-d", ref, check=False)
