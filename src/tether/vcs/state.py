"""What the repository is in the middle of: a merge, a rebase, a cherry-pick, a
revert, a bisect, a detached HEAD. tether refuses to commit into any of them."""

from __future__ import annotations

from tether.vcs.git import Git

OPERATIONS = (
    ("MERGE_HEAD", "a merge"),
    ("rebase-merge", "a rebase"),
    ("rebase-apply", "a rebase or `git am`"),
    ("CHERRY_PICK_HEAD", "a cherry-pick"),
    ("REVERT_HEAD", "a revert"),
    ("BISECT_LOG", "a bisect"),
)


def operation_in_progress(git: Git) -> str | None:
    """The git operation under way in this work tree, or None."""
    paths = git.git_paths(*(name for name, _ in OPERATIONS))
    for path, (_, what) in zip(paths, OPERATIONS, strict=True):
        if path.exists():
            return what
    return None


def detached(git: Git) -> bool:
    """HEAD points at a commit, not a branch (a repository with no commit is not)."""
    return git.head() is not None and git.branch() is None
