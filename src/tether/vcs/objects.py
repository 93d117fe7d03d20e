"""Blobs and trees written into the repository's object store by tether itself, as git
writes loose objects (``<kind> <size>\\0<bytes>``, zlib-compressed, named by its SHA-1),
so a snapshot costs no git process: a step that edits a file used to run three
(``hash-object``, ``update-index``, ``write-tree``, 3-4 ms each).

Only for SHA-1 repositories with a plain objects folder; elsewhere (SHA-256, an objects
folder tether cannot write) the snapshot asks git as before. A tree is rewritten only
where a folder's entries changed since the last one."""

from __future__ import annotations

import hashlib
import itertools
import os
import zlib
from pathlib import Path

from tether.vcs.git import Git, GitError

Entries = dict[str, tuple[str, str]]  # path → (mode, blob or commit id)
_COUNTER = itertools.count()


class LooseObjects:
    """Writes objects into one repository's ``objects`` folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._trees: dict[str, tuple[tuple[tuple[str, str, str], ...], str]] = {}

    @classmethod
    def of(cls, git: Git) -> LooseObjects | None:
        """The repository's object store, when tether can write it the way git does."""
        try:
            asked = git.run("rev-parse", "--show-object-format", "--git-path", "objects")
        except GitError:
            return None
        found, _, path = asked.strip().partition("\n")
        folder = Path(path) if Path(path).is_absolute() else git.root / path
        if found != "sha1" or not folder.is_dir() or not os.access(folder, os.W_OK):
            return None
        return cls(folder)

    def blob(self, data: bytes) -> str:
        return self.write(b"blob", data)

    def write(self, kind: bytes, data: bytes) -> str:
        raw = b"%s %d\0" % (kind, len(data)) + data
        sha = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
        target = self.folder / sha[:2] / sha[2:]
        if target.exists():
            return sha
        target.parent.mkdir(exist_ok=True)
        temporary = target.parent / f"tmp_obj_tether_{os.getpid()}_{next(_COUNTER)}"
        try:
            with open(temporary, "xb") as out:
                out.write(zlib.compress(raw, 1))
            os.chmod(temporary, 0o444)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        return sha

    def tree(self, entries: Entries) -> str:
        """The root tree of ``entries`` (folders made from the paths)."""
        folders: dict[str, list[tuple[str, str, str]]] = {"": []}
        for path, (mode, sha) in entries.items():
            parent, _, name = path.rpartition("/")
            above = parent
            while above not in folders:  # every folder up to the root has its list
                folders[above] = []
                above = above.rpartition("/")[0]
            folders[parent].append((name, mode, sha))
        for folder in sorted(folders, key=lambda f: -f.count("/") if f else 1):
            if folder:
                grand, _, name = folder.rpartition("/")
                sha = self._tree_of(folder, folders[folder])
                folders[grand].append((name, "40000", sha))
        return self._tree_of("", folders[""])

    def _tree_of(self, folder: str, items: list[tuple[str, str, str]]) -> str:
        key = tuple(sorted(items, key=_tree_order))
        cached = self._trees.get(folder)
        if cached is not None and cached[0] == key:
            return cached[1]
        body = b"".join(
            f"{mode} ".encode() + os.fsencode(name) + b"\0" + bytes.fromhex(sha)
            for name, mode, sha in key
        )
        sha = self.write(b"tree", body)
        self._trees[folder] = (key, sha)
        return sha


def _tree_order(item: tuple[str, str, str]) -> bytes:
    """git's order: by name bytes, a folder as if its name ended with ``/``."""
    name = os.fsencode(item[0])
    return name + b"/" if item[1] == "40000" else name
