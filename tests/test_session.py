"""The live session, driven in a real pseudo-terminal (pexpect) against the scripted
model server over HTTP: a task typed at the prompt; a constraint typed mid-run becomes
a rule the next step is rolled back by; /stop ends at a step boundary; /undo restores;
/review on keeps one step and rolls back the next on `n`; a new session resumes with
the rules."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.conftest import git
from tests.helpers import tool
from tether.testing.server import ScriptedServer

pytestmark = pytest.mark.slow


def when(text: str, turn: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    return {"cases": [{"when": text, **turn}, other]}


def edit(old: str, new: str, path: str = "src/a.py") -> dict[str, Any]:
    return tool("edit_file", path=path, search=old, replace=new)


SECOND = "Second pass"
SCRIPT = {
    "default": [
        when(SECOND, edit("A = 1", "A = 3"), edit("A = 1", "A = 2")),
        when(SECOND, edit("A = 3", "A = 4"), tool("run", command="sleep 3")),
        when(
            SECOND, tool("done", summary="a is 3"), tool("run", command="echo 'B = 9' > src/b.py")
        ),
        tool("run", command="sleep 3"),
        edit("A = 2", "A = 5"),
    ]
}


def spawn(repo: Path, server: ScriptedServer) -> pexpect.spawn:
    env = {
        **os.environ,
        "TETHER_EXECUTOR_MODEL": "exec",
        "TETHER_EXECUTOR_BASE_URL": server.openai_url,
        "TETHER_EXECUTOR_PROVIDER": "openai",
        "NO_COLOR": "1",
        "TERM": "xterm-256color",
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    }
    child = pexpect.spawn(
        sys.executable, ["-m", "tether"], cwd=str(repo), env=env, encoding="utf-8",
        timeout=60, dimensions=(50, 220),
    )  # fmt: skip
    child.expect_exact("type a task")
    child.expect_exact("tether ▸")
    return child


def read(repo: Path, path: str) -> str:
    return (repo / path).read_text()


def test_the_session_steers_stops_undoes_and_reviews(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    (repo / "src").mkdir()
    (repo / "src" / "a.py").write_text("A = 1\n")
    (repo / "src" / "b.py").write_text("B = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "two modules")
    server = scripted(SCRIPT)
    child = spawn(repo, server)

    child.sendline("Edit the modules")
    child.expect(r"1 │ edit_file")
    child.sendline("don't touch anything but src/a.py")  # step 2 (sleep 3) is running
    child.expect_exact("→ scope: src/a.py")
    child.expect_exact("step rolled back: scope: src/a.py")  # step 3 wrote src/b.py
    assert read(repo, "src/b.py") == "B = 1\n"
    told = server.requests[2]["body"]["messages"]
    assert any("The developer added rules" in str(m.get("content")) for m in told)
    assert any("- scope: src/a.py" in str(m.get("content")) for m in told)

    child.sendline("/stop")  # step 4 (sleep 3) is running: the task stops after it
    child.expect_exact("stopping at the next step boundary")
    child.expect_exact("interrupted")
    child.expect_exact("stopped by the developer at a step boundary")
    assert read(repo, "src/a.py") == "A = 2\n" and read(repo, "src/b.py") == "B = 1\n"
    assert len(server.requests) == 4  # the fifth turn (an edit) was never asked for

    child.sendline("/undo")
    child.expect_exact("restored")
    child.expect_exact("tether ▸")
    assert read(repo, "src/a.py") == "A = 1\n"

    child.sendline("/review on")
    child.expect_exact("review mode: each step")
    child.sendline(f"{SECOND} on src/a.py")
    child.expect_exact("step 1 changed src/a.py")
    child.expect_exact("+A = 3")
    (repo / "notes.md").write_text("mine\n")  # the developer edits while the step waits
    child.sendline("y")
    child.expect_exact("kept")
    child.expect_exact("you changed notes.md")  # seen before the next step's tools run
    child.expect_exact("step 2 changed src/a.py")
    child.sendline("n too big a change")
    child.expect_exact("rolled back on review")
    child.expect_exact("done, unverified")
    assert read(repo, "src/a.py") == "A = 3\n" and read(repo, "notes.md") == "mine\n"
    last = server.requests[-1]["body"]["messages"]
    assert any("rolled it back: too big a change" in str(m.get("content")) for m in last)

    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    state = json.loads((repo / ".tether" / "pair" / "state.json").read_text())
    assert [r["rule"] for r in state["rules"]] == ["scope: src/a.py"] and state["review"]

    again = spawn_resumed(repo, server)
    again.sendline("/quit")
    again.expect(pexpect.EOF)


def spawn_resumed(repo: Path, server: ScriptedServer) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable, ["-m", "tether", "pair"], cwd=str(repo),
        env={**os.environ, "NO_COLOR": "1", "PROMPT_TOOLKIT_NO_CPR": "1"},
        encoding="utf-8", timeout=30, dimensions=(50, 220),
    )  # fmt: skip
    child.expect_exact("resumed with 1 rule(s)")
    child.expect_exact("1. scope: src/a.py")
    child.expect_exact("review mode is on")
    return child


def test_without_a_terminal_the_session_reads_plain_lines(repo: Path) -> None:
    from tests.conftest import run_tether

    (repo / "PLAN.md").write_text("# PLAN\n\n- [ ] T1: Do it\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "plan")
    lines = [
        "only src/cli.py and don't touch the types",  # idle: a rule, not a task
        "/rules",
        "/save plan T1",
        "/save agents",
        "/drop 1",
        "/rules",
        "/frobnicate",
        "/quit",
    ]
    result = run_tether("pair", cwd=repo, input="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "→ scope: src/cli.py" in out and "→ keep: types" in out
    assert "type a task to start; the rule applies to it" in out
    assert "1. scope: src/cli.py" in out and "2. keep: types" in out
    assert "PLAN.md T1: added 2 rule(s)" in out
    assert "AGENTS.md: added 2 rule(s)" in out
    assert "dropped: scope: src/cli.py" in out
    assert "unknown command /frobnicate" in out
    assert "\x1b[" not in out  # plain lines, no terminal codes
    plan = (repo / "PLAN.md").read_text()
    assert "  - rule: scope: src/cli.py\n  - keep: types\n" in plan
    agents = (repo / "AGENTS.md").read_text()
    assert "## Rules" in agents and "- scope: src/cli.py\n- keep: types" in agents
    # AGENTS.md's rules now apply to every task: `tether rules` is not needed to see them
    again = run_tether("pair", cwd=repo, input="/rules\n")
    assert "keep: types (AGENTS.md:" in again.stdout
    assert "1. keep: types" in again.stdout  # the session's own, kept across sessions
