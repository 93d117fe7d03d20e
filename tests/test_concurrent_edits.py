"""The user's own edits, made while a task runs, are the user's: they survive the step,
a rollback of a later violating step, the task's end (they are not committed with it)
and `tether undo`, and the model is told which files the user changed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import git, run_tether
from tests.helpers import events, model_env, tool
from tether.agent.outcomes import TaskStatus
from tether.agent.task import Task
from tether.config import TetherConfig
from tether.gates.suite import GateSuite
from tether.guard.contract import Contract
from tether.models.types import Completion, ModelRequest
from tether.telemetry import EventLog
from tether.testing import ScriptedModel
from tether.testing.server import ScriptedServer
from tether.workflow.taskrun import RunOptions, TaskSetting, run_task

TURNS = [
    tool("edit_file", path="calc.py", search="a - b", replace="a + b"),
    tool("run", command="echo sneaky > notes.md"),  # out of scope: rolled back
    tool("done", summary="fixed"),
]


def project(repo: Path) -> Path:
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (repo / "notes.md").write_text("notes\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "calc")
    return repo


def user_edits(repo: Path) -> None:
    (repo / "notes.md").write_text("the user's notes\n")
    (repo / "mine.txt").write_text("a file the user made\n")


class EditingUser:
    """A model call during which the user edits files (as in an editor, while the
    request is in flight)."""

    def __init__(self, inner: ScriptedModel, repo: Path, on_call: int):
        self.inner, self.repo, self.on_call = inner, repo, on_call
        self.info = inner.info

    async def complete(self, request: ModelRequest) -> Completion:
        if len(self.inner.requests) + 1 == self.on_call:
            user_edits(self.repo)
        return await self.inner.complete(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_user_edits_during_a_step_survive_in_process(repo: Path) -> None:
    project(repo)
    config = TetherConfig.from_data({"guard": {"sandbox": "none"}})
    scripted = ScriptedModel({"default": TURNS})
    setting = TaskSetting(
        root=repo,
        config=config,
        log=EventLog(repo / ".tether" / "sessions" / "s" / "events.jsonl"),
        session="s",
        suite=GateSuite.load(repo, config),
    )
    task = Task("Fix add", contract=Contract(scope=("calc.py",)))
    model = EditingUser(scripted, repo, on_call=2)
    result = asyncio.run(run_task(setting, task, model, RunOptions()))
    setting.log.close()
    assert result.status is TaskStatus.UNVERIFIED, result.reason
    assert (repo / "notes.md").read_text() == "the user's notes\n", "survived the rollback"
    assert (repo / "mine.txt").read_text() == "a file the user made\n"
    told = scripted.requests[2].messages[-1].content
    assert "The user changed these files" in told and "mine.txt" in told
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["calc.py"]
    assert "notes.md" in git(repo, "status", "--porcelain"), "the user's edit stays theirs"


def test_user_edits_survive_the_step_a_rollback_the_end_and_undo(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    project(repo)
    server = scripted({"default": TURNS}, ttft_ms=1500)
    proc = _start_do(repo, server)
    _wait_for_requests(server, 2)  # the second step's model call is in flight
    user_edits(repo)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert (repo / "notes.md").read_text() == "the user's notes\n"
    assert (repo / "mine.txt").read_text() == "a file the user made\n"
    kinds = [e["type"] for e in events(repo)]
    assert "user_edit" in kinds and "rollback" in kinds, kinds
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["calc.py"]
    bodies = " ".join(str(r["body"]) for r in server.requests[2:])
    assert "The user changed these files" in bodies
    undone = run_tether("undo", cwd=repo)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert "a - b" in (repo / "calc.py").read_text(), "the task's change is undone"
    assert (repo / "notes.md").read_text() == "the user's notes\n", "the user's edit is not"
    assert (repo / "mine.txt").read_text() == "a file the user made\n"


def _start_do(repo: Path, server: ScriptedServer) -> Any:
    import os
    import subprocess
    import sys

    env = {**os.environ, **model_env(server), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "tether", "do", "Fix add", "--scope", "calc.py"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_requests(server: ScriptedServer, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(server.requests) < count:
        assert time.monotonic() < deadline, "the task never sent its requests"
        time.sleep(0.02)
