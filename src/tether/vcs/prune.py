"""``tether checkpoints --prune``: free what old checkpoints pin in ``.git``.

Snapshot refs and variants-run refs older than the cut-off are deleted; each work
tree's checkpoint chain keeps only its checkpoints newer than the cut-off (they are
re-recorded with the same trees, messages and times, so their ids change); then git
drops what nothing reaches any more."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tether.vcs.git import TETHER_IDENTITY, Git


@dataclass(frozen=True)
class PruneResult:
    refs_deleted: int
    checkpoints_dropped: int
    kib_before: int
    kib_after: int


def prune(git: Git, older_than_days: float) -> PruneResult:
    cutoff = time.time() - older_than_days * 86400
    before = _size_kib(git)
    deleted = 0
    for ref, stamp in _refs(git, "refs/tether/snapshots", "refs/tether/runs"):
        if stamp < cutoff:
            git.run("update-ref", "-d", ref)
            deleted += 1
    dropped = sum(_cut_chain(git, ref, cutoff) for ref, _ in _refs(git, "refs/tether/checkpoints"))
    git.run("reflog", "expire", "--expire=now", "--all", check=False)
    git.run("gc", "--quiet", "--prune=now", check=False)
    return PruneResult(deleted, dropped, before, _size_kib(git))


def _refs(git: Git, *prefixes: str) -> list[tuple[str, float]]:
    out = git.run("for-each-ref", "--format=%(refname) %(committerdate:unix)", *prefixes)
    found = []
    for line in out.splitlines():
        ref, _, stamp = line.rpartition(" ")
        if ref:
            found.append((ref, float(stamp or 0)))
    return found


def _cut_chain(git: Git, ref: str, cutoff: float) -> int:
    """Keep the checkpoints of ``ref`` newer than ``cutoff``; returns how many went."""
    raw = git.run("log", "--format=%H%x1f%T%x1f%ct%x1f%at%x1f%B%x1e", ref)
    records = [r.strip("\n").split("\x1f", 4) for r in raw.split("\x1e") if r.strip("\n")]
    keep = [r for r in records if float(r[2]) >= cutoff]
    if len(keep) == len(records):
        return 0
    if not keep:
        git.run("update-ref", "-d", ref)
        return len(records)
    parent: str | None = None
    for _, tree, committed, authored, body in reversed(keep):
        env = {
            **TETHER_IDENTITY,
            "GIT_COMMITTER_DATE": f"{committed} +0000",
            "GIT_AUTHOR_DATE": f"{authored} +0000",
        }
        args = ["commit-tree", tree, "-m", body] + (["-p", parent] if parent else [])
        parent = git.run(*args, env=env).strip()
    assert parent is not None
    git.run("update-ref", ref, parent)
    return len(records) - len(keep)


def _size_kib(git: Git) -> int:
    sizes = dict(
        line.split(": ", 1) for line in git.run("count-objects", "-v").splitlines() if ": " in line
    )
    return int(sizes.get("size", 0)) + int(sizes.get("size-pack", 0))
