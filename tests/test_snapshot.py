"""What a snapshot covers is tether's decision, not the tree's: .gitignore written by a
task, .gitattributes, nested repositories and symlinks cannot hide a change or redirect
a rollback. In process, on real git repositories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import git
from tether.guard.contract import Contract
from tether.guard.diffcheck import DiffContract
from tether.guard.ledger import LedgerCopy
from tether.guard.policy import ActionPolicy
from tether.guard.stepguard import StepVerdict, TaskStepGuard
from tether.vcs.worktree import GitWorkTree
from tether.workflow.taskrun import checkpoints_for


def guarded(repo: Path, contract: Contract) -> tuple[TaskStepGuard, GitWorkTree]:
    tree = GitWorkTree(checkpoints_for(repo, contract), "s")
    ledger = LedgerCopy(repo, contract.ledger_files)
    guard = TaskStepGuard(tree, DiffContract(ActionPolicy(repo, contract)), 5, ledger)
    base = tree.snapshot()
    guard.begin(base, base)
    return guard, tree


def step(guard: TaskStepGuard) -> StepVerdict:
    return guard.judge(True, [])


def rules(verdict: StepVerdict) -> list[str]:
    return [v.rule for v in verdict.violations]


@pytest.fixture
def project(repo: Path) -> Path:
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("x = 1\n")
    (repo / ".gitignore").write_text(".env\nbuild/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "app")
    (repo / ".env").write_text("SECRET=1\n")
    return repo


def test_a_file_gitignored_by_the_step_itself_is_still_seen(project: Path) -> None:
    guard, _ = guarded(project, Contract(scope=("src/**",)))
    (project / "src" / ".gitignore").write_text("sneaky.txt\n")
    (project / "src" / "sneaky.txt").write_text("hidden?\n")
    verdict = step(guard)
    assert "src/sneaky.txt" in verdict.changed, "a new .gitignore hides nothing"


def test_a_protected_ignored_file_is_covered_and_restored(project: Path) -> None:
    guard, _ = guarded(project, Contract(scope=("src/**",), protect=(".env",)))
    (project / ".env").write_text("SECRET=stolen\n")
    verdict = step(guard)
    assert "protected" in rules(verdict)
    assert (project / ".env").read_text() == "SECRET=1\n", "restored byte for byte"


def test_dot_tether_in_the_users_gitignore_just_works(project: Path) -> None:
    (project / ".gitignore").write_text(".env\nbuild/\n.tether/\n")
    guard, _ = guarded(project, Contract())
    (project / "src" / "app.py").write_text("x = 2\n")
    assert step(guard).changed == ["src/app.py"]


def test_an_empty_nested_repository_does_not_break_snapshot_or_restore(project: Path) -> None:
    guard, _ = guarded(project, Contract(scope=("src/app.py",)))
    git(project / "src", "init", "-q", "nested")
    (project / "src" / "nested" / "f.txt").write_text("inside\n")
    verdict = step(guard)
    assert "out_of_scope" in rules(verdict)
    assert not (project / "src" / "nested" / "f.txt").exists(), "rolled back"


def test_gitattributes_cannot_make_lines_free(project: Path) -> None:
    guard, _ = guarded(project, Contract(max_diff=20))
    (project / ".gitattributes").write_text("* binary\n")
    (project / "src" / "big.py").write_text("a = 1\n" * 3000)
    verdict = step(guard)
    assert "max_diff" in rules(verdict), "a file marked binary counts its lines"
    assert not (project / "src" / "big.py").exists()


def test_a_line_ending_switch_through_gitattributes_is_a_change(project: Path) -> None:
    guard, tree = guarded(project, Contract())
    before = tree.snapshot()
    (project / ".gitattributes").write_text("*.py text eol=crlf\n")
    (project / "src" / "app.py").write_bytes(b"x = 1\r\n")
    verdict = step(guard)
    assert "src/app.py" in verdict.changed and verdict.after != before
    tree.restore(before)
    assert (project / "src" / "app.py").read_bytes() == b"x = 1\n", "raw bytes restored"


def test_one_long_line_is_not_one_line(project: Path) -> None:
    guard, _ = guarded(project, Contract(max_diff=5))
    (project / "src" / "app.py").write_text("x = '" + "y" * 40_000 + "'\n")
    assert "max_diff_bytes" in rules(step(guard))
    assert (project / "src" / "app.py").read_text() == "x = 1\n"


@pytest.mark.parametrize(
    ("target", "rule"),
    [("../../outside", "symlink_outside"), ("/etc/passwd", "symlink_outside"),
     ("../.env", "symlink_protected"), ("../.git/config", "symlink_reserved")],
)  # fmt: skip
def test_a_symlink_out_of_the_repo_or_into_protected_is_refused(
    project: Path, target: str, rule: str
) -> None:
    guard, _ = guarded(project, Contract(protect=(".env",)))
    os.symlink(target, project / "src" / "link")
    verdict = step(guard)
    assert rule in rules(verdict)
    assert not (project / "src" / "link").is_symlink()


def test_a_rollback_never_writes_through_a_folder_swapped_for_a_link(
    project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    guard, _ = guarded(project, Contract(scope=("src/**",)))
    (project / "src" / "app.py").unlink()
    (project / "src").rmdir()
    os.symlink(outside, project / "src")
    (project / ".gitignore").write_text(".env\nbuild/\nsrc\n")
    verdict = step(guard)
    assert verdict.violations, "the link and the .gitignore change are both caught"
    assert list(outside.iterdir()) == [], "nothing was written outside the repository"
    assert (project / "src" / "app.py").read_text() == "x = 1\n"
    assert not (project / "src").is_symlink()


def test_a_new_file_over_the_size_limit_is_refused_and_removed(project: Path) -> None:
    guard, _ = guarded(project, Contract(max_file_bytes=1000))
    (project / "src" / "blob.bin").write_bytes(b"\1" * 5000)
    verdict = step(guard)
    assert "file_too_large" in rules(verdict)
    assert not (project / "src" / "blob.bin").exists()


def test_plan_and_progress_written_by_a_step_are_reverted(project: Path) -> None:
    (project / "PLAN.md").write_text("- [ ] T1: real\n")
    guard, _ = guarded(project, Contract())
    (project / "PLAN.md").write_text("- [x] T1: real\n- [ ] T2: evil\n  - scope: **\n")
    (project / "PROGRESS.md").write_text("## T1 · attempt 1 · done · forged\n")
    verdict = step(guard)
    assert rules(verdict).count("state_file") == 2
    assert (project / "PLAN.md").read_text() == "- [ ] T1: real\n"
    assert not (project / "PROGRESS.md").exists()


def test_a_hand_edit_of_the_plan_between_steps_is_kept(project: Path) -> None:
    (project / "PLAN.md").write_text("- [ ] T1: real\n")
    guard, _ = guarded(project, Contract())
    (project / "PLAN.md").write_text("- [ ] T1: real, clarified by hand\n")
    guard.observe()
    (project / "src" / "app.py").write_text("x = 2\n")
    verdict = step(guard)
    assert not verdict.violations
    assert (project / "PLAN.md").read_text() == "- [ ] T1: real, clarified by hand\n"


def test_a_fifo_and_a_socket_are_left_out_and_never_block(project: Path) -> None:
    import socket

    os.mkfifo(project / "src" / "pipe")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(project / "src" / "sock"))
        _, tree = guarded(project, Contract())
        scan = tree.checkpoints.scanner.scan()
    assert set(scan.special) == {"src/pipe", "src/sock"}
    assert "src/pipe" not in scan.entries
