"""Bounded context (handoff to a fresh context) and resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import TETHER, git, run_tether
from tests.helpers import events, git_out, model_env, tool
from tests.test_plan_run import FUNCS, PYTEST, make_calc
from tether.memory.plan_md import parse_plan
from tether.memory.progress_md import parse_progress
from tether.testing.server import ScriptedServer
from tether.testing.tokens import count_tokens, prompt_text


def plan_text(names: list[str]) -> str:
    text = "# PLAN\n\n## calc\n\n"
    for number, name in enumerate(names, start=1):
        text += (
            f"- [ ] T{number}: Add {name}()\n  - scope: calc.py\n  - max-diff: 20\n"
            f"  - accept: {PYTEST} -k {name}\n"
        )
    return text


def add_function(name: str) -> dict[str, object]:
    return tool(
        "edit_file",
        path="calc.py",
        search="# more\n",
        replace=f"def {name}(a, b):\n    return {FUNCS[name]}\n\n\n# more\n",
    )


def base_prompt_tokens(repo: Path, server: ScriptedServer) -> int:
    """Tokens of a task's first request in this repo (measured, not guessed)."""
    before = len(server.requests)
    result = run_tether("run", "T1", "--max-steps", "1", cwd=repo, env=model_env(server))
    assert result.returncode == 1, result.stdout
    tokens = count_tokens(prompt_text(server.requests[before]["body"]))
    git(repo, "checkout", "-q", "--", "PLAN.md")
    (repo / "PROGRESS.md").unlink()
    return tokens


def test_context_handoff_mid_task(repo: Path, scripted: Callable[..., ScriptedServer]) -> None:
    make_calc(repo)
    (repo / "big.txt").write_text("lorem ipsum dolor sit amet\n" * 160)
    (repo / "PLAN.md").write_text(plan_text(["sub"]))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "plan")
    server = scripted(
        {
            "models": {
                "exec": [
                    {
                        "cases": [
                            {"when": "Handoff from earlier work", **add_function("sub")},
                            tool("read_file", path="big.txt"),
                        ]
                    },
                    tool("done", summary="sub added"),
                ]
            }
        }
    )
    (repo / "tether.toml").write_text("[guard]\nmax_steps = 1\n")
    base = base_prompt_tokens(repo, server)
    window = int((base + 500) / 0.5)
    (repo / "tether.toml").write_text(f"[executor]\ncontext_window = {window}\nhandoff_at = 0.5\n")
    result = run_tether("run", "--all", cwd=repo, env=model_env(server))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "handoff" in result.stdout
    entries = parse_progress((repo / "PROGRESS.md").read_text())
    assert [(e.task_id, e.status) for e in entries] == [("T1", "handoff"), ("T1", "done")]
    assert "context was full" in entries[0].fields["must know"]
    contexts = [r for r in server.requests if "Handoff from earlier work" in json.dumps(r)]
    assert contexts, "the next context must start with the handoff"
    first_of_second = contexts[0]["body"]["messages"]
    assert "attempt 1 (handoff)" in json.dumps(first_of_second)
    assert parse_plan((repo / "PLAN.md").read_text()).tasks[0].status == "done"
    context_events = [e for e in events(repo) if e["type"] == "context"]
    assert any(e["used"] >= e["limit"] for e in context_events)
    assert all("rate_tps" in e for e in context_events)


def test_resume_after_sigkill_in_the_second_task(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    make_calc(repo)
    (repo / "PLAN.md").write_text(plan_text(["sub", "mul", "div"]))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "plan")
    head = git_out(repo, "rev-parse", "HEAD").strip()
    cases = [{"when": f"Task: Add {name}()", **add_function(name)} for name in FUNCS]
    server = scripted(
        {
            "models": {
                "exec": [
                    {
                        "cases": [
                            {
                                "when": "interrupted and is resumed",
                                **tool("read_file", path="calc.py"),
                            },
                            *cases,
                        ]
                    },
                    {
                        "cases": [
                            {"when": "Task: Add mul()", **tool("read_file", path="calc.py")},
                            tool("done", summary="added"),
                        ]
                    },
                    tool("done", summary="added"),
                ]
            }
        },
        tps=150,
        ttft_ms=50,
    )
    proc = subprocess.Popen(
        [*TETHER, "run", "--all"],
        cwd=repo,
        env={**os.environ, **model_env(server)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        steps = [e for e in events(repo) if e["type"] == "step"]
        starts = [e for e in events(repo) if e["type"] == "task_start"]
        if starts and starts[-1]["task"] == "T2" and len(steps) >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert "def mul" in (repo / "calc.py").read_text(), "the killed step's edit is on disk"
    statuses = [t.status for t in parse_plan((repo / "PLAN.md").read_text()).tasks]
    assert statuses == ["done", "in_progress", "open"]
    resumed = run_tether("run", "--all", cwd=repo, env=model_env(server))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    log = git_out(repo, "log", "--format=%s", f"{head}..HEAD").split("\n")[:-1]
    assert log == ["tether: Add div()", "tether: Add mul()", "tether: Add sub()"]
    text = (repo / "calc.py").read_text()
    assert all(text.count(f"def {name}(") == 1 for name in FUNCS), text
    entries = parse_progress((repo / "PROGRESS.md").read_text())
    assert [(e.task_id, e.status) for e in entries] == [
        ("T1", "done"),
        ("T2", "done"),
        ("T3", "done"),
    ]
    status = sorted(git_out(repo, "status", "--porcelain").splitlines())
    assert status == [" M PLAN.md", "?? PROGRESS.md"]
