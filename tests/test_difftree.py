"""The loop's diffs through one long-lived `git diff-tree --stdin`: the same answers as
a git process per pair, for trees written after it started, and a one-shot git where
it cannot answer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tether.vcs.diff import tree_diff
from tether.vcs.difftree import DiffReader
from tether.vcs.git import Git, GitError
from tether.vcs.snapshot import TreeScanner


def _trees(root: Path) -> tuple[Git, TreeScanner]:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    git = Git(root)
    return git, TreeScanner(git)


def test_the_reader_answers_as_one_git_per_pair_does(tmp_path: Path) -> None:
    git, scanner = _trees(tmp_path)
    (tmp_path / "a.py").write_text("x = 1\n" * 20)
    (tmp_path / "notes.txt").write_text("tether-end\nkeep\n")  # marker-like text
    base = scanner.snapshot()
    reader = DiffReader(git)
    trees = [base]
    for k in range(5):  # each tree is written after the reader's git started
        (tmp_path / "a.py").write_text("x = 1\n" * (20 - k) + f"y = {k}\n")
        (tmp_path / f"new{k}.bin").write_bytes(bytes(range(256)) * k)
        if k == 3:
            (tmp_path / "notes.txt").unlink()
        trees.append(scanner.snapshot())
        for old in trees[:-1]:
            assert tree_diff(git, old, trees[-1], reader) == tree_diff(git, old, trees[-1])
    assert reader._process is not None and reader.failures == 0  # it answered every one
    changes, size = tree_diff(git, base, trees[-1], reader)
    assert {c.path: c.status for c in changes} == {
        "a.py": "M", "new0.bin": "A", "new1.bin": "A", "new2.bin": "A", "new3.bin": "A",
        "new4.bin": "A",
        "notes.txt": "D",
    }  # fmt: skip
    assert size > 0
    reader.close()


def test_a_tree_git_cannot_read_gets_the_one_shot_error(tmp_path: Path) -> None:
    git, scanner = _trees(tmp_path)
    (tmp_path / "a.py").write_text("x = 1\n")
    tree = scanner.snapshot()
    reader = DiffReader(git)
    missing = "1" * len(tree)
    assert reader.raw(tree, missing) is None  # git said no header, only the marker
    with pytest.raises(GitError, match="bad object"):
        tree_diff(git, tree, missing, reader)
    (tmp_path / "a.py").write_text("x = 2\n")
    after = scanner.snapshot()
    alive = reader._process
    assert reader.raw(tree, after) is not None  # the same git answers the next pair
    assert reader._process is alive and reader.failures == 0
    reader.close()


def test_a_reader_whose_git_died_steps_aside(tmp_path: Path) -> None:
    git, scanner = _trees(tmp_path)
    (tmp_path / "a.py").write_text("x = 1\n")
    base = scanner.snapshot()
    (tmp_path / "a.py").write_text("x = 2\n")
    tree = scanner.snapshot()
    reader = DiffReader(git)
    assert reader.raw(base, tree) is not None
    assert reader._process is not None
    reader._process.kill()
    reader._process.wait()
    assert reader.raw(base, tree) is None and reader.failures == 1
    assert tree_diff(git, base, tree, reader) == tree_diff(git, base, tree)  # restarted
    assert reader.failures == 1
    for expected in (2, 3):
        assert reader.raw(base, tree) is not None  # a new git
        assert reader._process is not None
        reader._process.kill()
        reader._process.wait()
        assert reader.raw(base, tree) is None and reader.failures == expected
    assert reader.raw(base, tree) is None and reader._process is None  # out of the way
