"""Shadow checkpoints, restore, the task commit and undo, on real repositories."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import git
from tests.helpers import git_out, tree_files
from tether.vcs.branch import commit_paths
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import Git
from tether.vcs.undo import undo


def test_snapshot_moves_nothing_and_skips_ignored(repo: Path) -> None:
    (repo / ".gitignore").write_text("build/\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.bin").write_text("ignored")
    (repo / "new.txt").write_text("untracked")
    (repo / "README.md").write_text("edited\n")
    git(repo, "add", "README.md")
    status = git_out(repo, "status", "--porcelain")
    head = git_out(repo, "rev-parse", "HEAD")
    cps = ShadowCheckpoints(Git(repo))
    tree = cps.snapshot_tree()
    names = git_out(repo, "ls-tree", "-r", "--name-only", tree).split()
    assert names == [".gitignore", "README.md", "new.txt"]
    cps.record("step", tree, session="s", task="t", step=1)
    assert git_out(repo, "status", "--porcelain") == status
    assert git_out(repo, "rev-parse", "HEAD") == head
    assert git_out(repo, "branch", "--list").split() == ["*", "main"]


def test_restore_round_trip_with_modes_symlinks_and_dir_swaps(repo: Path) -> None:
    cps = ShadowCheckpoints(Git(repo))
    (repo / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(repo / "run.sh", 0o755)
    os.symlink("README.md", repo / "link")
    (repo / "thing").mkdir()
    (repo / "thing" / "inner.txt").write_text("inside")
    start = cps.snapshot_tree()
    before = tree_files(repo)
    (repo / "run.sh").write_text("changed")
    os.chmod(repo / "run.sh", 0o644)
    (repo / "link").unlink()
    (repo / "link").write_text("now a file")
    (repo / "thing" / "inner.txt").unlink()
    (repo / "thing").rmdir()
    (repo / "thing").write_text("now a file too")
    (repo / "README.md").unlink()
    (repo / "extra.txt").write_text("new")
    changed = cps.restore(start)
    assert set(changed) >= {"run.sh", "link", "thing", "README.md", "extra.txt"}
    assert tree_files(repo) == before
    assert os.stat(repo / "run.sh").st_mode & 0o111
    assert (repo / "link").is_symlink()


def test_commit_paths_commits_only_the_task(repo: Path) -> None:
    (repo / "a.txt").write_text("task change\n")
    (repo / "mine.txt").write_text("user's untracked work\n")
    (repo / "README.md").write_text("user's unstaged edit\n")
    sha = commit_paths(Git(repo), ["a.txt"], "tether: add a")
    assert sha is not None
    assert git_out(repo, "show", "--name-only", "--format=%s", "HEAD").split() == [
        "tether:",
        "add",
        "a",
        "a.txt",
    ]
    status = sorted(git_out(repo, "status", "--porcelain").splitlines())
    assert status == [" M README.md", "?? mine.txt"]
    assert commit_paths(Git(repo), ["a.txt"], "again") is None


def test_undo_takes_back_a_committed_task(repo: Path) -> None:
    cps = ShadowCheckpoints(Git(repo))
    (repo / "wip.txt").write_text("user's work\n")
    before = tree_files(repo)
    head = git_out(repo, "rev-parse", "HEAD").strip()
    start = cps.record("task-start", cps.snapshot_tree(), session="s", task="t")
    (repo / "feature.py").write_text("x = 1\n")
    sha = commit_paths(Git(repo), ["feature.py"], "tether: t")
    cps.record(
        "task-done",
        cps.snapshot_tree(),
        session="s",
        task="t",
        step=1,
        extra={"commit": sha or "", "base": start.sha},
    )
    result = undo(cps, "s2")
    assert result.uncommitted == sha
    assert git_out(repo, "rev-parse", "HEAD").strip() == head
    assert tree_files(repo) == before
    assert git_out(repo, "status", "--porcelain").strip() == "?? wip.txt"
    again = undo(cps, "s3", to=result.saved.sha)
    assert (repo / "feature.py").read_text() == "x = 1\n"
    assert again.target.kind == "pre-undo"


def test_prune_drops_old_checkpoints_and_keeps_new_ones(repo: Path) -> None:
    import os

    from tether.vcs.checkpoints import ShadowCheckpoints
    from tether.vcs.git import Git
    from tether.vcs.prune import prune

    cps = ShadowCheckpoints(Git(repo))
    old = {"GIT_COMMITTER_DATE": "2020-01-01T00:00:00 +0000"}
    os.environ.update(old)
    try:
        first = cps.record("task-start", cps.snapshot_tree(), session="s", task="old")
        cps.keep_snapshot("s-old", first.sha)
    finally:
        for key in old:
            os.environ.pop(key)
    (repo / "new.txt").write_text("new\n")
    cps.record("step", cps.snapshot_tree(), session="s", task="new", step=1)
    result = prune(Git(repo), older_than_days=30)
    assert result.checkpoints_dropped == 1 and result.refs_deleted == 1
    kept = ShadowCheckpoints(Git(repo)).history()
    assert [c.task for c in kept] == ["new"] and kept[0].parent is None
    assert "new.txt" in git(repo, "ls-tree", "--name-only", kept[0].tree)
