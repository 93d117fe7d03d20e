"""What a snapshot of the work tree covers, decided by tether and not by the tree.

A snapshot is a git tree built from the files' raw bytes (``hash-object --no-filters``):
no ``.gitattributes`` (text, eol, filters, binary) applies, so bytes that change are a
change. It covers every regular file, symlink (as a link, never followed) and
executable bit in the work tree except:

- ``.git`` at any depth (a nested repository's files are covered as plain files; a
  registered submodule stays the commit it points to) and ``.tether/`` at the root;
- the ledger files tether keeps itself (PLAN.md, PROGRESS.md);
- what git ignored when the scanner was made (``.gitignore`` files, ``info/exclude``,
  the user's global excludes, read once): a ``.gitignore`` a task writes later hides
  nothing. Paths ``covers`` accepts (the contract's protected paths, every
  ``tether.toml``, the rule files) are covered even when ignored;
- files over ``max_file_bytes`` (listed in ``oversized``) and non-regular files such as
  FIFOs, sockets and devices (listed in ``special``).

It is incremental: a file whose stat (inode, size, mtime, ctime, mode) did not change
keeps its blob id, and a tree that did not change costs no git process at all.
"""

from __future__ import annotations

import functools
import itertools
import os
import stat
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tether.layout import STATE_DIR
from tether.vcs.git import Git
from tether.vcs.objects import LooseObjects

StatKey = tuple[int, int, int, int, int]
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
Entries = dict[str, tuple[str, str]]  # path → (mode, blob or commit id)


@dataclass
class Scan:
    """One walk of the tree: its entries, and what was left out of them."""

    entries: Entries = field(default_factory=dict)
    oversized: list[tuple[str, int]] = field(default_factory=list)
    special: list[str] = field(default_factory=list)


def _never(rel: str) -> bool:
    return False


class TreeScanner:
    def __init__(
        self,
        git: Git,
        exclude: tuple[str, ...] = (),
        covers: Callable[[str], bool] = _never,
        cover_dirs: tuple[str, ...] = (),
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ):
        """``covers``: paths covered even when ignored; ``cover_dirs``: ignored folders
        to walk into for them (``**/x`` does not make tether walk every ignored folder)."""
        self.git = git
        self.root = git.root
        self.exclude = set(exclude)
        self.covers = covers
        self.cover_dirs = cover_dirs
        self.max_file_bytes = max_file_bytes
        self._blobs: dict[str, tuple[StatKey, str]] = {}
        self._last: tuple[Entries, str] | None = None
        self.last_scan = Scan()

    # what the first scan finds out (in the worker thread the first snapshot runs in,
    # so a task's first request does not wait for these four git calls)

    @functools.cached_property
    def ignored(self) -> set[str]:
        """What git ignored when the scanner first looked (a task's start)."""
        return _ignored(self.git)

    @functools.cached_property
    def submodules(self) -> dict[str, str]:
        return _submodules(self.git)

    @functools.cached_property
    def _objects(self) -> LooseObjects | None:
        return LooseObjects.of(self.git)  # None: git writes the objects

    @functools.cached_property
    def _index(self) -> Path:
        index = _private_index(self.git)
        weakref.finalize(self, index.unlink, missing_ok=True)
        return index

    def snapshot(self) -> str:
        """The tree of the work tree as it is now (nothing is moved or staged)."""
        scan = self.scan()
        self.last_scan = scan
        if self._last is not None and self._last[0] == scan.entries:
            return self._last[1]
        tree = self._objects.tree(scan.entries) if self._objects else self._write(scan.entries)
        self._last = (scan.entries, tree)
        return tree

    def scan(self) -> Scan:
        found = Scan()
        pending: list[tuple[str, StatKey]] = []
        self._walk("", found, pending, ignored_here=False)
        self._hash(pending)
        for rel, (mode, blob) in found.entries.items():
            if not blob:
                found.entries[rel] = (mode, self._blobs[rel][1])
        return found

    # --- walking -----------------------------------------------------------------

    def _walk(
        self, rel_dir: str, found: Scan, pending: list[tuple[str, StatKey]], ignored_here: bool
    ) -> None:
        try:
            entries = list(os.scandir(self.root / rel_dir if rel_dir else self.root))
        except OSError:
            return
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.name == ".git" or (not rel_dir and entry.name == STATE_DIR):
                continue
            if rel in self.exclude:
                continue
            ignored = ignored_here or rel in self.ignored
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                if rel in self.submodules:
                    found.entries[rel] = ("160000", self.submodules[rel])
                elif not ignored or any(
                    d == rel or d.startswith(rel + "/") for d in self.cover_dirs
                ):
                    self._walk(rel, found, pending, ignored)
                continue
            if ignored and not self.covers(rel):
                continue
            self._entry(rel, info, found, pending)

    def _covers_below(self, rel: str) -> bool:
        return any(d == rel or d.startswith(rel + "/") for d in self.cover_dirs)

    def _entry(
        self, rel: str, info: os.stat_result, found: Scan, pending: list[tuple[str, StatKey]]
    ) -> None:
        if stat.S_ISLNK(info.st_mode):
            target = os.fsencode(os.readlink(self.root / rel))
            found.entries[rel] = ("120000", self._link_blob(rel, info, target))
            return
        if not stat.S_ISREG(info.st_mode):
            found.special.append(rel)
            return
        if info.st_size > self.max_file_bytes:
            found.oversized.append((rel, info.st_size))
            return
        mode = "100755" if info.st_mode & stat.S_IXUSR else "100644"
        key: StatKey = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode)
        cached = self._blobs.get(rel)
        if cached is not None and cached[0] == key:
            found.entries[rel] = (mode, cached[1])
        else:
            pending.append((rel, key))
            found.entries[rel] = (mode, "")

    # --- git objects ---------------------------------------------------------------

    def _hash(self, pending: list[tuple[str, StatKey]]) -> None:
        """Blob ids of changed files, raw bytes: written by tether, or by one git process
        (a name holding a newline, which ``--stdin-paths`` cannot carry, gets its own)."""
        if self._objects is not None:
            pending = self._write_blobs(self._objects, pending)
        plain = [(rel, key) for rel, key in pending if "\n" not in rel]
        if plain:
            paths = b"".join(os.fsencode(rel) + b"\n" for rel, _ in plain)
            out = self.git.run("hash-object", "-w", "--no-filters", "--stdin-paths", input=paths)
            for (rel, key), sha in zip(plain, out.split(), strict=True):
                self._blobs[rel] = (key, sha)
        for rel, key in pending:
            if "\n" in rel:
                sha = self.git.run("hash-object", "-w", "--no-filters", "--", rel).strip()
                self._blobs[rel] = (key, sha)

    def _write_blobs(
        self, objects: LooseObjects, pending: list[tuple[str, StatKey]]
    ) -> list[tuple[str, StatKey]]:
        """The blobs tether can read; returns the rest, for git to hash (and to say why
        it cannot)."""
        unread = []
        for rel, key in pending:
            try:
                data = (self.root / rel).read_bytes()
            except OSError:
                unread.append((rel, key))
                continue
            self._blobs[rel] = (key, objects.blob(data))
        return unread

    def _link_blob(self, rel: str, info: os.stat_result, target: bytes) -> str:
        key: StatKey = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode)
        cached = self._blobs.get(rel)
        if cached is not None and cached[0] == key:
            return cached[1]
        if self._objects is not None:
            sha = self._objects.blob(target)
        else:
            sha = self.git.run("hash-object", "-w", "--stdin", input=target).strip()
        self._blobs[rel] = (key, sha)
        return sha

    def _write(self, entries: Entries) -> str:
        """The git tree of ``entries``, through tether's private index: only the entries
        that changed since the last tree are updated."""
        env = {"GIT_INDEX_FILE": str(self._index)}
        if self._last is None:
            self.git.run("read-tree", "--empty", env=env)
            changes = entries
            removed: list[str] = []
        else:
            old = self._last[0]
            changes = {p: e for p, e in entries.items() if old.get(p) != e}
            removed = [p for p in old if p not in entries]
        lines = b"".join(
            f"0 {'0' * 40}\t".encode() + os.fsencode(rel) + b"\0" for rel in removed
        ) + b"".join(
            f"{mode} {sha}\t".encode() + os.fsencode(rel) + b"\0"
            for rel, (mode, sha) in sorted(changes.items())
        )
        if lines:
            self.git.run("update-index", "-z", "--index-info", env=env, input=lines)
        return self.git.run("write-tree", env=env).strip()


_COUNTER = itertools.count()


def _private_index(git: Git) -> Path:
    """An index file of this scanner's own (its incremental updates assume nobody else
    writes it); removed when the scanner goes, stale ones of dead processes at start."""
    folder = git.git_path("tether-index")
    for stale in folder.parent.glob("tether-index.*"):
        pid = stale.name.split(".")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            stale.unlink(missing_ok=True)
    path = folder.parent / f"tether-index.{os.getpid()}.{next(_COUNTER)}"
    return path


def _ignored(git: Git) -> set[str]:
    """Untracked paths git ignores now (folders end with ``/``), read once."""
    out = git.run_bytes(
        "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"
    )
    return {os.fsdecode(p).rstrip("/") for p in out.split(b"\0") if p}


def _submodules(git: Git) -> dict[str, str]:
    """Registered submodules (gitlinks in the user's index): path → commit."""
    out = git.run_bytes("ls-files", "-z", "--stage", check=False)
    found: dict[str, str] = {}
    for record in out.split(b"\0"):
        if record.startswith(b"160000 "):
            meta, _, path = record.partition(b"\t")
            found[os.fsdecode(path)] = meta.split()[1].decode()
    return found
