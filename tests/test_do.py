"""`tether do` end to end: a real repo, the real CLI, the scripted model over HTTP."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import git, run_tether
from tests.helpers import events, git_out, model_env, tool, tree_files
from tether.testing.server import ScriptedServer

PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"


def calc_repo(repo: Path) -> Path:
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (repo / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "calc with a bug")
    return repo


FIX_SCRIPT = {
    "default": [
        tool("read_file", path="calc.py"),
        tool("edit_file", path="calc.py", search="return a - b", replace="return a + b"),
        tool("run", command=PYTEST),
        tool("done", summary="add() adds now; the test passes"),
    ]
}


def test_do_reads_edits_runs_tests_and_commits(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    calc_repo(repo)
    (repo / "notes.txt").write_text("my uncommitted notes\n")
    server = scripted(FIX_SCRIPT)
    before = git_out(repo, "rev-parse", "HEAD").strip()
    result = run_tether(
        "do", "Fix add() in calc.py", "--scope", "calc.py", cwd=repo, env=model_env(server)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "done" in result.stdout.splitlines()[-1]
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    log = git_out(repo, "log", "--format=%s", f"{before}..HEAD").splitlines()
    assert log == ["tether: Fix add() in calc.py"]
    assert git_out(repo, "show", "--name-only", "--format=", "HEAD").split() == ["calc.py"]
    assert (repo / "notes.txt").read_text() == "my uncommitted notes\n"
    assert git_out(repo, "status", "--porcelain").strip() == "?? notes.txt"
    steps = [e for e in events(repo) if e["type"] == "step"]
    assert [s["tools"][0]["name"] for s in steps] == ["read_file", "edit_file", "run", "done"]
    assert "exit code 0" in server.requests[3]["body"]["messages"][-1]["content"]
    kinds = [e["type"] for e in events(repo)]
    assert kinds.count("model_call") == 4 and "task_start" in kinds and "task_end" in kinds


def test_do_outside_a_repo_is_bad_input(tmp_path: Path) -> None:
    result = run_tether("do", "anything", cwd=tmp_path)
    assert result.returncode == 2
    assert "not inside a git repository" in result.stderr


def test_step_budget_spent_rolls_back_and_keeps_the_edits_at_a_checkpoint(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    calc_repo(repo)
    (repo / "wip.py").write_text("work in progress\n")
    before = tree_files(repo)
    script = {
        "default": [
            tool("edit_file", path="calc.py", search="a - b", replace="a * b"),
            tool("read_file", path="calc.py"),
            tool("read_file", path="calc.py"),
        ]
    }
    server = scripted(script)
    result = run_tether("do", "Fiddle", "--max-steps", "3", cwd=repo, env=model_env(server))
    assert result.returncode == 1
    last = result.stdout.splitlines()[-1]
    assert "step budget" in last
    assert tree_files(repo) == before, "a failed task leaves the tree as it was"
    kept = re.search(r"tether undo --to ([0-9a-f]{10})", result.stdout)
    assert kept, result.stdout
    back = run_tether("undo", "--to", kept.group(1), cwd=repo)
    assert back.returncode == 0, back.stderr
    assert "a * b" in (repo / "calc.py").read_text(), "the failed edits are kept"
    undone = run_tether("undo", cwd=repo)
    assert undone.returncode == 0, undone.stderr
    assert tree_files(repo) == before
    listed = run_tether("checkpoints", cwd=repo)
    assert "task-failed" in listed.stdout and "pre-undo" in listed.stdout


def test_model_that_stops_using_tools_gives_up(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    server = scripted({"default": [{"content": "I think it is fine."}] * 3})
    result = run_tether("do", "Do something", cwd=repo, env=model_env(server))
    assert result.returncode == 1
    assert "without a tool call" in result.stdout


def test_malformed_calls_go_back_to_the_model(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    script = {
        "default": [
            {"tool_calls": [{"name": "edit_file", "arguments": '{"path": "README.md",'}]},
            tool("teleport", to="mars"),
            tool("edit_file", path="README.md"),
            tool("edit_file", path="README.md", search="sample", replace="example"),
            tool("done", summary="renamed"),
        ]
    }
    server = scripted(script)
    result = run_tether("do", "Try", cwd=repo, env=model_env(server))
    assert result.returncode == 0, result.stdout
    assert "done, unverified" in result.stdout, "no gate: done on the model's word"
    replies = [r["body"]["messages"][-1]["content"] for r in server.requests[1:]]
    assert "not valid JSON" in replies[0]
    assert "unknown tool 'teleport'" in replies[1]
    assert "needs the argument 'search'" in replies[2]
