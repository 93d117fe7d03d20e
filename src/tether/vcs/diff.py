"""What changed between two trees, from git itself: one ``diff-tree`` call gives each
path's status, its new mode and blob, and its added/removed line counts."""

from __future__ import annotations

import os
from dataclasses import dataclass

from tether.vcs.git import Git

DELETED = "0" * 40


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # A added, M modified, D deleted, T type changed
    added: int
    removed: int
    mode: str = ""  # the new side's mode and blob (000000 / zeros when deleted)
    blob: str = ""

    @property
    def lines(self) -> int:
        return self.added + self.removed


def tree_changes(git: Git, base: str, tree: str) -> list[FileChange]:
    """Per-file changes from ``base`` to ``tree`` (binary files count as one line)."""
    if base == tree:
        return []
    raw = git.run_bytes("diff-tree", "-r", "-z", "--no-renames", "--raw", "--numstat", base, tree)
    fields = raw.split(b"\0")
    entries: dict[str, tuple[str, str, str]] = {}
    counts: dict[str, tuple[int, int]] = {}
    index = 0
    while index < len(fields):
        field = fields[index]
        if field.startswith(b":"):  # ":old new oldsha newsha status" then the path
            _, mode, _, blob, status = field.decode().lstrip(":").split()
            entries[os.fsdecode(fields[index + 1])] = (status[:1], mode, blob)
            index += 2
        elif field:  # "added\tremoved\tpath"
            added, removed, path = field.split(b"\t", 2)
            binary = added == b"-"
            counts[os.fsdecode(path)] = (1, 0) if binary else (int(added), int(removed))
            index += 1
        else:
            index += 1
    return [
        FileChange(path, status, *counts.get(path, (0, 0)), mode=mode, blob=blob)
        for path, (status, mode, blob) in entries.items()
    ]


def unified_diff(git: Git, base: str, tree: str, context: int = 3) -> str:
    """The unified diff from ``base`` to ``tree``."""
    return git.run("diff", f"-U{context}", "--no-renames", "--no-color", base, tree)
