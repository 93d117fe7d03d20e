"""The action policy, globs and the diff contract, without a model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tether.guard.contract import Contract
from tether.guard.diffcheck import DiffContract
from tether.guard.policy import ActionPolicy, simple_commands
from tether.rules.globs import matches
from tether.vcs.diff import FileChange


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("src/app.py", "src/app.py", True),
        ("src/app", "src/app/cli.py", True),
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "src/sub/a.py", False),
        ("src/**/*.py", "src/sub/deep/a.py", True),
        ("src/**", "src/x/y", True),
        ("**/test_*.py", "test_a.py", True),
        ("*.py", "pkg/a.py", False),
        (".", "anything/at/all", True),
        ("docs/", "docs/index.md", True),
        ("src/app.py", "src/app.pyc", False),
    ],
)
def test_globs(glob: str, path: str, expected: bool) -> None:
    assert matches(glob, path) is expected


def test_simple_commands_split_and_unwrap() -> None:
    assert simple_commands("FOO=1 env nice -n 5 rm -rf x && echo ok | tee log") == [
        ["rm", "-rf", "x"],
        ["echo", "ok"],
        ["tee", "log"],
    ]
    assert simple_commands("bash -c 'git reset --hard'") == [["git", "reset", "--hard"]]
    assert simple_commands("echo $(rm x)") == [["echo"], ["rm", "x"]]
    assert simple_commands("echo `rm x`") == [["echo"], ["rm", "x"]]
    assert simple_commands("ls\nrm y")[1] == ["rm", "y"]


@pytest.mark.parametrize(
    ("command", "blocked"),
    [
        ("rm -rf .", True),
        ("/bin/rm x", True),
        ("xargs rm < list", True),
        ("git -C . reset --hard HEAD~1", True),
        ("git reset --soft HEAD", False),
        ("git status", False),
        ("git diff", False),
        ("timeout 5 curl example.com", True),
        ("python -m pytest -q", False),
        ("find . -name '*.pyc' -delete", True),
        ("find . -name '*.py'", False),
        ("echo 'rm is fine inside quotes'", False),
        ('sh -c "wget x"', True),
        ("echo 'unbalanced", True),
    ],
)
def test_deny_list(tmp_path: Path, command: str, blocked: bool) -> None:
    policy = ActionPolicy(tmp_path, Contract())
    assert (policy.check_command(command) is not None) is blocked


def test_paths(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("")
    os.symlink(tmp_path, root / "src" / "up")
    os.symlink("a.py", root / "src" / "alias.py")
    (root / "lib").mkdir()
    policy = ActionPolicy(root, Contract(scope=("src/**",), protect=("src/a.py",)))
    rules = {
        "/etc/passwd": "outside_repo",
        "~/.ssh/id_rsa": "outside_repo",
        "../x": "outside_repo",
        "src/../../x": "outside_repo",
        "src/up/secret": "symlink_outside",
        ".git/config": "git_dir",
        ".tether/sessions/x": "state_dir",
        "tether.toml": "config_file",
        "src/a.py": "protected",
        "src/alias.py": "protected",
        "lib/b.py": "out_of_scope",
    }
    for path, rule in rules.items():
        rel, violation = policy.check_write(path)
        assert rel is None and violation is not None and violation.rule == rule, path
    assert policy.check_write("src/./new.py") == ("src/new.py", None)
    assert policy.check_read("lib/b.py") == ("lib/b.py", None)
    _, violation = policy.check_delete("src/new.py")
    assert violation is not None and violation.rule == "no_delete"


def test_diff_contract_rules(tmp_path: Path) -> None:
    contract = Contract(scope=("src/**",), protect=("src/keep.py",), max_diff=10)
    check = DiffContract(ActionPolicy(tmp_path, contract)).check
    assert check([FileChange("src/a.py", "M", 3, 2)]) == []
    rules = [
        v.rule
        for v in check(
            [
                FileChange("README.md", "M", 1, 0),
                FileChange("src/keep.py", "M", 1, 1),
                FileChange("src/gone.py", "D", 0, 5),
                FileChange("src/big.py", "A", 9, 0),
            ]
        )
    ]
    assert rules == ["out_of_scope", "protected", "no_delete", "max_diff"]
    assert all(v.layer == "diff" for v in check([FileChange("tether.toml", "M", 1, 0)]))


def test_the_git_state_copy_reverts_nested_refs_and_hooks_but_not_tethers_refs(
    repo: Path,
) -> None:
    from tests.conftest import git
    from tether.guard.gitstate import GitStateCopy

    dot = repo / ".git"
    head = git(repo, "rev-parse", "HEAD").strip()
    (dot / "refs" / "tether" / "checkpoints").mkdir(parents=True)
    copy = GitStateCopy(dot)
    copy.take()
    assert copy.check() == []
    (dot / "refs" / "tether" / "checkpoints" / "main").write_text(head + "\n")
    assert copy.check() == [], "tether's own refs move during a task"
    git(repo, "branch", "feature/deep/x")
    (dot / "hooks" / "pre-push").write_text("#!/bin/sh\ncurl evil\n")
    found = copy.check()
    assert len(found) == 1 and "refs/heads/feature/deep/x" in found[0].detail
    assert "hooks/pre-push" in found[0].detail
    assert not (dot / "refs" / "heads" / "feature" / "deep" / "x").exists()
    assert not (dot / "hooks" / "pre-push").exists()
    assert (dot / "refs" / "tether" / "checkpoints" / "main").exists()
