"""A git work tree as the executor loop sees it: snapshots, changes, restores,
checkpoints (recorded in a worker thread off the critical path when asked), the task's
commit. The one place the loop's git work happens."""

from __future__ import annotations

import asyncio
from typing import Any

from tether.fsutil import safe_unlink
from tether.vcs.branch import commit_paths
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.diff import FileChange, graft, tree_diff
from tether.vcs.difftree import DiffReader


class GitWorkTree:
    def __init__(self, checkpoints: ShadowCheckpoints, session: str):
        self.checkpoints = checkpoints
        self.git = checkpoints.git
        self.session = session
        self._pending: asyncio.Future[Any] | None = None
        # two trees' difference never changes: the guard, done and the task's end ask
        # for the same pairs (a git call each, otherwise)
        self._diffs: dict[tuple[str, str], tuple[list[FileChange], int]] = {}
        self._reader = DiffReader(self.git)  # one git diff-tree for all of them

    def snapshot(self) -> str:
        return self.checkpoints.snapshot_tree()

    def changes(self, base: str, tree: str) -> list[FileChange]:
        return list(self._diff(base, tree)[0])

    def diff_bytes(self, base: str, tree: str) -> int:
        return self._diff(base, tree)[1]

    def _diff(self, base: str, tree: str) -> tuple[list[FileChange], int]:
        if (base, tree) not in self._diffs:
            self._diffs[(base, tree)] = tree_diff(self.git, base, tree, self._reader)
        return self._diffs[(base, tree)]

    def graft(self, into: str, source: str, paths: list[str]) -> str:
        return graft(self.git, into, source, paths)

    def left_out(self) -> list[tuple[str, int]]:
        """Files the last snapshot left out for their size."""
        return list(self.checkpoints.scanner.last_scan.oversized)

    def remove(self, path: str) -> bool:
        """Delete a file the task made that no checkpoint can hold (an oversized one)."""
        return safe_unlink(self.git.root, path)

    def restore(self, tree: str) -> list[str]:
        return self.checkpoints.restore(tree)

    def checkpoint(
        self, kind: str, tree: str, *, task: str, step: int = 0, extra: dict[str, str] | None = None
    ) -> str:
        found = self.checkpoints.record(
            kind, tree, session=self.session, task=task, step=step, extra=extra
        )
        return found.sha

    def checkpoint_later(self, kind: str, tree: str, *, task: str, step: int = 0) -> None:
        previous = self._pending

        async def record() -> None:
            if previous is not None:
                await previous  # the chain stays in order
            await asyncio.to_thread(self.checkpoint, kind, tree, task=task, step=step)

        self._pending = asyncio.ensure_future(record())

    async def settle(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await asyncio.shield(pending)

    def read_blobs(self, specs: list[str]) -> list[bytes | None]:
        return self.git.read_objects(specs)

    def tree_of(self, checkpoint: str) -> str:
        return self.checkpoints.get(checkpoint).tree

    def keep_snapshot(self, checkpoint: str) -> str:
        return self.checkpoints.keep_snapshot(self.session, checkpoint)

    def commit(self, paths: list[str], message: str) -> str | None:
        return commit_paths(self.git, paths, message)
