"""Snapshots written by tether itself (loose objects) are the trees git writes, byte for
byte, and git reads them back: on real repositories, against git's own path."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import git
from tether.vcs.git import Git
from tether.vcs.objects import LooseObjects
from tether.vcs.snapshot import TreeScanner

NAMES = st.sampled_from(["a", "a.b", "a-b", "a b", "b", "A", "é", "x0", "z~", "a_"])
PATHS = st.lists(NAMES, min_size=1, max_size=4).map("/".join)
FILES = st.dictionaries(
    PATHS, st.tuples(st.binary(max_size=64), st.booleans()), min_size=1, max_size=12
)


def fresh_repo() -> Path:
    root = Path(tempfile.mkdtemp(prefix="tether-objects-")) / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


def write(root: Path, files: dict[str, tuple[bytes, bool]]) -> None:
    for rel, (data, executable) in files.items():
        path = root / rel
        if any(parent.is_file() for parent in path.parents if root in parent.parents):
            continue  # a file already sits where this path needs a folder
        if path.is_dir():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o755 if executable else 0o644)


def by_git(root: Path) -> str:
    scanner = TreeScanner(Git(root))
    scanner._objects = None  # the path through hash-object, update-index, write-tree
    return scanner.snapshot()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FILES, FILES)
def test_tethers_trees_are_gits_trees_and_git_reads_them(
    first: dict[str, tuple[bytes, bool]], second: dict[str, tuple[bytes, bool]]
) -> None:
    root = fresh_repo()
    write(root, first)
    os.symlink("a/../b", root / "link")
    scanner = TreeScanner(Git(root))
    assert scanner._objects is not None
    assert scanner.snapshot() == by_git(root)
    write(root, second)  # the same scanner again: only changed folders are rewritten
    assert scanner.snapshot() == by_git(root)
    checked = subprocess.run(
        ["git", "fsck", "--full", "--strict"], cwd=root, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_sha256_repository_is_left_to_git(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "--object-format=sha256", "-b", "main")
    (root / "f.txt").write_text("x\n")
    assert LooseObjects.of(Git(root)) is None
    tree = TreeScanner(Git(root)).snapshot()
    assert len(tree) == 64 and git(root, "cat-file", "-t", tree).strip() == "tree"


def test_in_a_linked_worktree_the_objects_go_to_the_shared_store(repo: Path) -> None:
    linked = repo.parent / "linked"
    git(repo, "worktree", "add", "-q", str(linked))
    (linked / "new.txt").write_text("from the variant\n")
    tree = TreeScanner(Git(linked)).snapshot()
    assert git(repo, "cat-file", "-p", f"{tree}:new.txt") == "from the variant\n"
    assert tree == by_git(linked)
