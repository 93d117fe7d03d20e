"""What changed between two trees, from git itself."""

from __future__ import annotations

import os
from dataclasses import dataclass

from tether.vcs.git import Git


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # A added, M modified, D deleted, T type changed
    added: int
    removed: int

    @property
    def lines(self) -> int:
        return self.added + self.removed


def tree_changes(git: Git, base: str, tree: str) -> list[FileChange]:
    """Per-file changes from ``base`` to ``tree`` (binary files count as one line)."""
    if base == tree:
        return []
    status_raw = git.run_bytes("diff-tree", "-r", "-z", "--no-renames", "--name-status", base, tree)
    parts = status_raw.split(b"\0")
    statuses = {
        os.fsdecode(p): s.decode()[:1] for s, p in zip(parts[0::2], parts[1::2], strict=False) if s
    }
    numstat = git.run_bytes("diff-tree", "-r", "-z", "--no-renames", "--numstat", base, tree)
    changes = []
    for record in numstat.split(b"\0"):
        if not record:
            continue
        added, removed, path_bytes = record.split(b"\t", 2)
        path = os.fsdecode(path_bytes)
        binary = added == b"-"
        changes.append(
            FileChange(
                path=path,
                status=statuses.get(path, "M"),
                added=1 if binary else int(added),
                removed=0 if binary else int(removed),
            )
        )
    return changes


def unified_diff(git: Git, base: str, tree: str, context: int = 3) -> str:
    """The unified diff from ``base`` to ``tree``."""
    return git.run("diff", f"-U{context}", "--no-renames", "--no-color", base, tree)
