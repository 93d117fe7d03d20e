"""What changed between two trees, from git itself: one ``diff-tree`` call gives each
path's status, its new mode and blob, and its added/removed line counts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
    link: str | None = None  # a symlink's target, for the new side of a link

    @property
    def lines(self) -> int:
        return self.added + self.removed


def tree_changes(git: Git, base: str, tree: str) -> list[FileChange]:
    """Per-file changes from ``base`` to ``tree``. Lines are counted on raw bytes with
    no attribute applied (``--text``: a file marked binary counts its lines too)."""
    return tree_diff(git, base, tree)[0]


# raw and numstat records (NUL-separated), an empty record, then the ``-U0`` patch
DIFF_TREE = (
    "diff-tree", "-r", "-z", "--no-renames", "--raw", "--numstat", "-p", "-U0",
    "--text", "--no-textconv", "--no-ext-diff", "--no-color",
)  # fmt: skip


class RawDiffs(Protocol):
    """Something that answers ``DIFF_TREE``'s output for two trees faster than a git
    process per pair (``difftree.DiffReader``); None when it cannot."""

    def raw(self, base: str, tree: str) -> bytes | None: ...


def tree_diff(
    git: Git, base: str, tree: str, reader: RawDiffs | None = None
) -> tuple[list[FileChange], int]:
    """``tree_changes`` and ``diff_bytes`` from one git call."""
    if base == tree:
        return [], 0
    raw = reader.raw(base, tree) if reader is not None else None
    if raw is None:
        # no .gitattributes of the tree applies (a task could mark a file binary to make
        # its lines free): git runs from an empty folder
        raw = git.without_tree_bytes(*DIFF_TREE, base, tree)
    records, _, patch = raw.partition(b"\0\0")
    return _changes(git, records.split(b"\0")), _patch_bytes(patch)


def _changes(git: Git, fields: list[bytes]) -> list[FileChange]:
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
        FileChange(
            path,
            status,
            *counts.get(path, (0, 0)),
            mode=mode,
            blob=blob,
            link=os.fsdecode(git.run_bytes("cat-file", "blob", blob)) if mode == "120000" else None,
        )
        for path, (status, mode, blob) in entries.items()
    ]


def _patch_bytes(patch: bytes) -> int:
    total = 0
    for line in patch.split(b"\n"):
        if line[:1] in (b"+", b"-") and not line.startswith((b"+++ ", b"--- ")):
            total += len(line) - 1
    return total


def diff_bytes(git: Git, base: str, tree: str) -> int:
    """Bytes of the added and removed lines from ``base`` to ``tree`` (raw, no
    attribute applied): what ``max_diff_bytes`` caps, so one 40 KB line is 40 KB."""
    if base == tree:
        return 0
    return tree_diff(git, base, tree)[1]


def unified_diff(git: Git, base: str, tree: str, context: int = 3) -> str:
    """The unified diff from ``base`` to ``tree``."""
    return git.run("diff", f"-U{context}", "--no-renames", "--no-color", base, tree)


def graft(git: Git, into: str, source: str, paths: list[str]) -> str:
    """The tree ``into`` with ``paths`` as they are in ``source`` (gone where ``source``
    has none): how a user's own edits join a task's base."""
    if not paths:
        return into
    index = git.git_path(f"tether-graft-index.{os.getpid()}")
    env = {"GIT_INDEX_FILE": str(index), "GIT_LITERAL_PATHSPECS": "1"}
    try:
        git.run("read-tree", into, env=env)
        listing = git.run_bytes("ls-tree", "-r", "-z", "--full-tree", source, "--", *paths, env=env)
        present: dict[str, tuple[str, str]] = {}
        for record in listing.split(b"\0"):
            if record:
                meta, _, raw_path = record.partition(b"\t")
                mode, _, sha = meta.decode().split()
                present[os.fsdecode(raw_path)] = (mode, sha)
        lines = b""
        for path in paths:
            mode, sha = present.get(path, ("0", "0" * 40))
            lines += f"{mode} {sha}\t".encode() + os.fsencode(path) + b"\0"
        # a path that is a folder in one tree and a file in the other: drop what is below
        lines += b"".join(
            f"{mode} {sha}\t".encode() + os.fsencode(p) + b"\0"
            for p, (mode, sha) in present.items()
            if p not in paths
        )
        git.run("update-index", "-z", "--index-info", env=env, input=lines)
        return git.run("write-tree", env=env).strip()
    finally:
        index.unlink(missing_ok=True)


def write_tree_to(git: Git, tree: str, folder: Path) -> None:
    """Every file of ``tree`` written under ``folder`` (a scratch copy; the work tree and
    the real index are not touched)."""
    index = git.git_path(f"tether-copy-index.{os.getpid()}")
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git.run("read-tree", tree, env=env)
        git.run("checkout-index", "-a", "-f", f"--prefix={folder}/", env=env)
    finally:
        index.unlink(missing_ok=True)
