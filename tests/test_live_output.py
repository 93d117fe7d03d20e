"""Live output in the order things happen: a step's line before its gates' lines, and a
"gates running" line with the elapsed seconds while a tier takes over a second: plain
lines in a pipe, a Rich live line on a terminal (a real pseudo-terminal here)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect

from tests.conftest import git, run_tether
from tests.helpers import model_env, tool
from tether.testing.server import ScriptedServer

SLOW_GATE = "python -c 'import time; time.sleep(2.5)'"


def slow_repo(repo: Path) -> None:
    (repo / "VERIFY.md").write_text(f"# VERIFY\n\n## step\n- `{SLOW_GATE}`\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a slow step gate")


def turns() -> dict[str, object]:
    write = tool("create_file", path="a.txt", content="one\n")
    return {"default": [write, tool("done", summary="wrote a.txt")]}


def test_plain_lines_put_the_step_first_and_count_the_gates(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    slow_repo(repo)
    server = scripted(turns())
    ran = run_tether("do", "write a.txt", cwd=repo, env=model_env(server))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    step = next(i for i, ln in enumerate(lines) if re.match(r"\s+1 │ create_file a.txt", ln))
    waiting = [i for i, ln in enumerate(lines) if "step gates running: python -c" in ln]
    gate = next(i for i, ln in enumerate(lines) if "gate step pass python -c" in ln)
    assert step < waiting[0] < gate, ran.stdout
    assert re.search(r"step gates running: .* · [12]s$", lines[waiting[0]]), lines[waiting[0]]


def test_a_terminal_gets_a_live_line_that_counts_up(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    slow_repo(repo)
    server = scripted(turns())
    env = {
        **os.environ, **model_env(server), "TERM": "xterm-256color", "NO_COLOR": "1",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    }  # fmt: skip
    child = pexpect.spawn(
        sys.executable, ["-m", "tether", "do", "write a.txt"], cwd=str(repo), env=env,
        encoding="utf-8", timeout=60, dimensions=(40, 160),
    )  # fmt: skip
    child.expect(r"1 │ create_file a\.txt")
    child.expect(r"step gates running: python -c .{0,40}· 2s")  # it counts up in place
    child.expect("gate step pass")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
