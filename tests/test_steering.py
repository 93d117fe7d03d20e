"""The loop's steering seam, in process: a stop at the next step boundary, review
(keep, roll back with a note, judge again under a rule said while the step waited),
and live rules followed by the running task."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.helpers import tool
from tests.test_loop import EDIT, calc, setting
from tether.agent.outcomes import TaskResult, TaskStatus
from tether.agent.seams import Review
from tether.agent.task import Task
from tether.guard.live import LiveRules
from tether.rules.rule import Rule
from tether.testing import ScriptedModel
from tether.workflow.taskrun import RunOptions, run_task

SECOND = tool("edit_file", path="calc.py", search="return a + b", replace="return b + a")
DONE = tool("done", summary="fixed")


class Developer:
    """A scripted developer: stops after ``stop_after`` steps; answers reviews in turn."""

    def __init__(self, answers: list[Review] | None = None, stop_after: int = 0):
        self.answers = list(answers or [])
        self.stop_after = stop_after
        self.steps = 0
        self.messages: list[str] = []
        self.live: LiveRules | None = None
        self.on_review: Any = None

    def stop_requested(self) -> bool:
        self.steps += 1
        return bool(self.stop_after) and self.steps > self.stop_after

    def said(self) -> list[str]:
        out, self.messages = self.messages, []
        return out

    async def review(self, step: int, changed: list[str], before: str, after: str) -> Review:
        if self.on_review is not None:
            self.on_review(step)
        return self.answers.pop(0) if self.answers else Review()


def run(
    repo: Path, turns: list[dict[str, Any]], developer: Developer
) -> tuple[TaskResult, ScriptedModel]:
    model = ScriptedModel({"default": turns})
    where = replace(setting(repo), steering=developer, live=developer.live)
    result = asyncio.run(run_task(where, Task("Fix add", max_steps=6), model, RunOptions()))
    where.log.close()
    return result, model


def last_user_text(model: ScriptedModel) -> str:
    return str(model.requests[-1].messages[-1].content)


def test_a_stop_ends_the_task_at_the_next_step_boundary(repo: Path) -> None:
    calc(repo)
    result, model = run(repo, [EDIT, SECOND, DONE], Developer(stop_after=1))
    assert result.status is TaskStatus.INTERRUPTED
    assert result.reason == "stopped by the developer at a step boundary"
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert len(model.requests) == 1


def test_review_keeps_one_step_and_rolls_back_the_next_with_the_note(repo: Path) -> None:
    calc(repo)
    developer = Developer([Review(keep=True), Review(keep=False, note="keep the order")])
    result, model = run(repo, [EDIT, SECOND, DONE], developer)
    assert result.status is TaskStatus.UNVERIFIED
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    told = str(model.requests[2].messages[-1].content)
    assert "rolled it back: keep the order" in told


def test_a_rule_said_during_review_judges_the_waiting_step(repo: Path) -> None:
    calc(repo)
    developer = Developer([Review(rejudge=True)])
    developer.live = LiveRules()

    def protect(step: int) -> None:
        assert developer.live is not None
        developer.live.set([Rule("protect", paths=("calc.py",), source="session")])

    developer.on_review = protect
    _result, model = run(repo, [EDIT, DONE, DONE], developer)
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"
    told = str(model.requests[1].messages[-1].content)
    assert "protect: calc.py" in told and "rolled back" in told


def test_what_the_developer_says_reaches_the_next_request(repo: Path) -> None:
    calc(repo)
    developer = Developer()
    developer.messages = ["The developer added rules: keep: types"]
    _result, model = run(repo, [EDIT, DONE], developer)
    first = [str(m.content) for m in model.requests[0].messages]
    assert any("The developer added rules: keep: types" in text for text in first)
