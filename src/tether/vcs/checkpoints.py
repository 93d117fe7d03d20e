"""Shadow checkpoints: commits under ``refs/tether/`` that never move a user branch.

A checkpoint records the whole work tree (tracked files and untracked files that are
not ignored) through a private index file, so the user's index, HEAD and branches stay
untouched. Checkpoints form one chain per work tree, ``refs/tether/checkpoints/<wt>``;
the user's state before a task is also kept at ``refs/tether/snapshots/<session>``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tether.fsutil import UnsafePath, safe_symlink, safe_unlink, safe_write
from tether.vcs.diff import tree_changes
from tether.vcs.git import TETHER_IDENTITY, Git, GitError
from tether.vcs.snapshot import TreeScanner

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def always_covered(rel: str) -> bool:
    """Covered even when ignored: every tether.toml (a task may never plant one)."""
    return rel == "tether.toml" or rel.endswith("/tether.toml")


@dataclass(frozen=True)
class Checkpoint:
    sha: str
    tree: str
    parent: str | None
    time: datetime
    kind: str
    session: str
    task: str
    step: int
    fields: dict[str, str]


class ShadowCheckpoints:
    """Snapshot, record, list and restore work-tree states of one repository."""

    def __init__(
        self,
        git: Git,
        exclude: tuple[str, ...] = ("PLAN.md", "PROGRESS.md"),
        scanner: TreeScanner | None = None,
    ):
        """``exclude``: files tether itself keeps (the plan and the ledger); checkpoints
        never record them, so no rollback or undo ever rewinds them. ``scanner``: what a
        snapshot covers (see ``vcs/snapshot.py``); by default, the tree less ``exclude``."""
        self.git = git
        self.scanner = scanner or TreeScanner(git, exclude, covers=always_covered)
        git_dir = Path(git.git_dir)
        self.name = git_dir.name if git_dir.parent.name == "worktrees" else "main"
        self.ref = f"refs/tether/checkpoints/{self.name}"
        self._head: str | None = None  # the chain's newest commit, as this object last set it

    def snapshot_tree(self) -> str:
        """The tree of the work tree as it is now (nothing is moved or staged)."""
        return self.scanner.snapshot()

    def latest(self) -> Checkpoint | None:
        found = self.history(limit=1)
        return found[0] if found else None

    def record(
        self,
        kind: str,
        tree: str,
        *,
        session: str,
        task: str,
        step: int = 0,
        extra: dict[str, str] | None = None,
    ) -> Checkpoint:
        """Append a checkpoint of ``tree`` to this work tree's chain."""
        task_line = " ".join(task.split())
        lines = [f"kind: {kind}", f"session: {session}", f"task: {task_line}", f"step: {step}"]
        lines += [f"{key}: {value}" for key, value in (extra or {}).items()]
        message = f"tether checkpoint: {kind} {step} of {task_line[:60]!r}\n\n" + "\n".join(lines)
        for _ in range(5):
            # the chain's head as this object left it, read again only when it moved
            parent = self._head or self.git.rev(self.ref)
            args = ["commit-tree", tree, "-m", message] + (["-p", parent] if parent else [])
            sha = self.git.run(*args, env=TETHER_IDENTITY).strip()
            # compare-and-swap: fails if another process moved the chain meanwhile
            if self.git.succeeds("update-ref", self.ref, sha, parent or "0" * 40):
                self._head = sha
                return self._parse(sha, tree, parent, datetime.now(UTC), message)
            self._head = None
        raise RuntimeError(f"could not update {self.ref}: it kept moving")

    def keep_snapshot(self, session: str, sha: str) -> str:
        ref = f"refs/tether/snapshots/{session}"
        self.git.run("update-ref", ref, sha)
        return ref

    def history(self, limit: int = 50) -> list[Checkpoint]:
        """Newest first."""
        if self.git.rev(self.ref) is None:
            return []
        raw = self.git.run("log", f"-{limit}", "--format=%H%x1f%T%x1f%P%x1f%ct%x1f%B%x1e", self.ref)
        out = []
        for record in raw.split("\x1e"):
            record = record.strip("\n")
            if not record:
                continue
            sha, tree, parents, stamp, body = record.split("\x1f", 4)
            when = datetime.fromtimestamp(int(stamp), UTC)
            out.append(self._parse(sha, tree, parents.split()[0] if parents else None, when, body))
        return out

    @staticmethod
    def _parse(sha: str, tree: str, parent: str | None, when: datetime, body: str) -> Checkpoint:
        fields: dict[str, str] = {}
        for line in body.splitlines()[2:]:
            key, sep, value = line.partition(": ")
            if sep:
                fields[key] = value
        step = fields.get("step", "0")
        return Checkpoint(
            sha=sha,
            tree=tree,
            parent=parent,
            time=when,
            kind=fields.get("kind", "?"),
            session=fields.get("session", ""),
            task=fields.get("task", ""),
            step=int(step) if step.isdigit() else 0,
            fields=fields,
        )

    def get(self, sha: str) -> Checkpoint:
        """One checkpoint by (a prefix of) its id; KeyError if it is not one of ours."""
        full = self.git.rev(sha)
        if full is None or not self.git.succeeds("merge-base", "--is-ancestor", full, self.ref):
            raise KeyError(sha)
        raw = self.git.run("log", "-1", "--format=%H%x1f%T%x1f%P%x1f%ct%x1f%B", full)
        found, tree, parents, stamp, body = raw.rstrip("\n").split("\x1f", 4)
        parent = parents.split()[0] if parents else None
        return self._parse(found, tree, parent, datetime.fromtimestamp(int(stamp), UTC), body)

    def restore(self, target_tree: str) -> list[str]:
        """Make the work tree equal ``target_tree``; returns the paths it changed.

        Ignored files, the index, HEAD and branches are never touched. Each file is
        replaced by one atomic rename, so a kill leaves no half-written file.
        """
        current = self.snapshot_tree()
        if current == target_tree:
            return []
        changes = tree_changes(self.git, current, target_tree)
        # deletions first: a directory may have to go before a file takes its name
        changes.sort(key=lambda change: change.status != "D")
        refused = []
        for change in changes:
            try:
                self._apply(change.path, change.status, change.mode, change.blob)
            except UnsafePath as exc:
                refused.append(f"{change.path} ({exc})")
        self.snapshot_tree()
        if refused:
            raise GitError(
                f"could not restore {len(refused)} path(s) safely: {'; '.join(refused)[:500]}",
                where=str(self.git.root),
                hint="a path goes through a symlink or a file; tether never writes through one",
            )
        return [change.path for change in changes]

    def _apply(self, path: str, status: str, mode: str, sha: str) -> None:
        """One path back to its state in the target tree, following no symlink (a path
        through a link, say a folder swapped for a link out of the repo, is refused)."""
        root = self.git.root
        try:
            if status == "D":
                safe_unlink(root, path)
                return
            if mode == "160000":
                return
            data = self.git.run_bytes("cat-file", "blob", sha)
            if mode == "120000":
                safe_symlink(root, path, os.fsdecode(data))
            else:
                safe_write(root, path, data, 0o755 if mode == "100755" else 0o644)
        except IsADirectoryError:
            return  # a folder the user made where a file was: theirs, left as it is
