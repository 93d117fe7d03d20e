"""One failure policy for every way a task runs: the same failing task through
`tether do` and through `tether run` is rolled back the same way and kept at the same
kind of checkpoint holding the same tree. The real CLI, the scripted server over HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import git, run_tether
from tests.helpers import model_env, tool, tree_files
from tether.testing.server import ScriptedServer
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import Git

FAILING = {
    "default": [
        tool("edit_file", path="calc.py", search="a - b", replace="a * b"),
        tool("read_file", path="calc.py"),
        tool("read_file", path="calc.py"),
    ]
}
PLAN = """# PLAN

## Fiddle

- [ ] T1: Fiddle with add
  - scope: calc.py
  - max-steps: 3
"""


def project(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "PLAN.md").write_text(PLAN)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "calc")
    (root / "wip.txt").write_text("uncommitted work\n")
    return root


def failed_checkpoint(root: Path) -> tuple[str, str]:
    """(kind, tree) of the newest task-failed checkpoint."""
    found = [c for c in ShadowCheckpoints(Git(root)).history() if c.kind == "task-failed"]
    assert found, "a failed task is kept at a task-failed checkpoint"
    return found[0].kind, found[0].tree


def test_do_and_run_share_one_failure_policy(
    tmp_path: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    by_do, by_run = project(tmp_path / "do"), project(tmp_path / "run")
    before = tree_files(by_do)
    done = run_tether(
        "do", "Fiddle with add", "--scope", "calc.py", "--max-steps", "3",
        cwd=by_do, env=model_env(scripted(FAILING)),
    )  # fmt: skip
    ran = run_tether("run", "T1", cwd=by_run, env=model_env(scripted(FAILING)))
    assert done.returncode == 1 and ran.returncode == 1, done.stdout + ran.stdout
    assert tree_files(by_do) == before
    ledger_files = ("PLAN.md", "PROGRESS.md")  # tether's own, never rolled back
    assert {k: v for k, v in tree_files(by_run).items() if k not in ledger_files} == {
        k: v for k, v in before.items() if k not in ledger_files
    }, "both rolled back to the task's base, the user's uncommitted work kept"
    assert failed_checkpoint(by_do) == failed_checkpoint(by_run), "the same kept tree"
    kept = failed_checkpoint(by_do)[1]
    assert "a * b" in git(by_do, "show", f"{kept}:calc.py")
    assert "wip.txt" in git(by_do, "ls-tree", "--name-only", kept)
    shown = re.search(r"tether undo --to ([0-9a-f]{10})", done.stdout)
    ledger = (by_run / "PROGRESS.md").read_text()
    assert shown and "were rolled back; they are kept at checkpoint" in ledger
    assert "- [!] T1:" in (by_run / "PLAN.md").read_text()
