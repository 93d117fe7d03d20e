"""What a command could do to the repository's own state, undone: after every step,
``.git``'s config, hooks, HEAD, refs (but tether's) and the user's index are compared
with a copy taken before; a change (``git config``, ``git stash``, a script writing a
hook) is reverted and reported. With bubblewrap ``.git`` is read-only to commands
anyway; this layer is what holds with ``sandbox = "none"``."""

from __future__ import annotations

import os
from pathlib import Path

from tether.fsutil import safe_unlink, safe_write
from tether.guard.contract import Violation

FILES = ("config", "HEAD", "packed-refs", "index", "info/exclude", "info/attributes")
FOLDERS = ("hooks", "refs")


class GitStateCopy:
    def __init__(self, git_dir: Path):
        self.git_dir = git_dir
        self._copy: dict[str, bytes] = {}
        self._stats: dict[str, tuple[int, int, int]] = {}

    def take(self) -> None:
        self._copy = self._read()

    def check(self) -> list[Violation]:
        if self._stat_all() == self._stats:  # the common case: one stat a file
            return []
        now = self._read()
        if now == self._copy:
            return []
        changed = sorted(
            {p for p in now.keys() | self._copy.keys() if now.get(p) != self._copy.get(p)}
        )
        for rel in changed:
            if rel in self._copy:
                safe_write(self.git_dir, rel, self._copy[rel])
            else:
                safe_unlink(self.git_dir, rel)
        shown = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
        return [
            Violation("diff", "git_dir", f".git was changed ({shown}); the change was reverted")
        ]

    def _paths(self) -> list[str]:
        """The guarded files (os.walk on strings: pathlib's rglob cost ~1 ms a step);
        tether's own refs are not walked, symlinked folders not entered."""
        found = list(FILES)
        root = os.fspath(self.git_dir)
        for folder in FOLDERS:
            for here, dirs, files in os.walk(os.path.join(root, folder)):
                rel = os.path.relpath(here, root).replace(os.sep, "/")
                if rel == "refs":
                    dirs[:] = [d for d in dirs if d != "tether"]
                found += [f"{rel}/{name}" for name in files]
        return found

    def _stat_all(self) -> dict[str, tuple[int, int, int]]:
        stats = {}
        root = os.fspath(self.git_dir)
        for rel in self._paths():
            try:
                info = os.lstat(os.path.join(root, rel))
            except OSError:
                continue
            stats[rel] = (info.st_size, info.st_mtime_ns, info.st_ino)
        return stats

    def _read(self) -> dict[str, bytes]:
        """Every guarded file's bytes; unchanged ones are not read again."""
        stats = self._stat_all()
        found: dict[str, bytes] = {}
        for rel, key in stats.items():
            if self._stats.get(rel) == key and rel in self._copy:
                found[rel] = self._copy[rel]
                continue
            data = _bytes(self.git_dir / rel)
            if data is not None:
                found[rel] = data
        self._stats = stats
        return found


def _bytes(path: Path) -> bytes | None:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        with path.open("rb") as handle:
            return handle.read()
    except OSError:
        return None


def git_dir_of(root: Path) -> Path | None:
    """The git dir of the main work tree at ``root`` (None for a linked worktree,
    whose state tether's own variants machinery manages)."""
    candidate = root / ".git"
    return candidate if candidate.is_dir() and not os.path.islink(candidate) else None
