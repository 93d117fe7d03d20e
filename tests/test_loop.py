"""The executor loop in process: ``ScriptedModel`` plays the script, everything else is
real (a temporary git repository, the toolbox, the sandbox, the step guard, git
checkpoints, the gates). No socket and no tether subprocess, so these run in
milliseconds; the CLI and the wire formats are tested end to end elsewhere."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git
from tests.helpers import tool, tree_files
from tether.agent.outcomes import TaskStatus
from tether.agent.task import Task
from tether.config import TetherConfig
from tether.gates.suite import GateSuite
from tether.guard.contract import Contract
from tether.guard.diffcheck import DiffContract
from tether.guard.policy import ActionPolicy
from tether.guard.stepguard import TaskStepGuard
from tether.telemetry import EventLog
from tether.testing import ScriptedModel
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import Git
from tether.vcs.snapshot import TreeScanner
from tether.vcs.worktree import GitWorkTree
from tether.workflow.taskrun import RunOptions, TaskSetting, run_task


def calc(repo: Path) -> Path:
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (repo / "notes.md").write_text("notes\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "calc")
    return repo


def setting(repo: Path, verify: str | None = None) -> TaskSetting:
    config = TetherConfig.from_data({"guard": {"sandbox": "none"}})
    if verify is not None:
        (repo / "VERIFY.md").write_text(verify)
    return TaskSetting(
        root=repo,
        config=config,
        log=EventLog(repo / ".tether" / "sessions" / "s1" / "events.jsonl"),
        session="s1",
        suite=GateSuite.load(repo, config),
    )


def run(
    repo: Path,
    turns: list[dict[str, Any]],
    contract: Contract | None = None,
    verify: str | None = None,
    max_steps: int = 10,
) -> tuple[Any, ScriptedModel, list[dict[str, Any]]]:
    model = ScriptedModel({"default": turns})
    where = setting(repo, verify)
    seen: list[dict[str, Any]] = []
    where.log.subscribe(seen.append)
    task = Task("Fix add", contract=contract or Contract(), max_steps=max_steps)
    result = asyncio.run(run_task(where, task, model, RunOptions()))
    where.log.close()
    return result, model, seen


EDIT = tool("edit_file", path="calc.py", search="a - b", replace="a + b")


def test_a_task_is_done_and_committed_with_a_byte_identical_prefix(repo: Path) -> None:
    calc(repo)
    result, model, seen = run(
        repo, [tool("read_file", path="calc.py"), EDIT, tool("done", summary="ok")]
    )
    assert result.status is TaskStatus.UNVERIFIED, "no task gate: done on the model's word"
    assert result.changed == ["calc.py"] and result.commit
    assert "a + b" in (repo / "calc.py").read_text()
    assert git(repo, "log", "-1", "--format=%s").strip() == "tether: Fix add"
    prefixes = {r.messages[: r.prefix_messages] for r in model.requests}
    assert len(model.requests) == 3 and len(prefixes) == 1, "the stable prefix never changes"
    assert model.requests[-1].messages[:-2] == model.requests[-2].messages, "history only grows"
    steps = [e for e in seen if e["type"] == "step"]
    assert [s["changed"] for s in steps] == [[], ["calc.py"], []]


def test_a_step_out_of_scope_is_rolled_back_and_the_model_told_the_rule(repo: Path) -> None:
    calc(repo)
    sneak = tool("run", command="echo hacked > notes.md")
    result, model, seen = run(
        repo, [sneak, EDIT, tool("done", summary="ok")], Contract(scope=("calc.py",))
    )
    assert result.status is TaskStatus.UNVERIFIED
    assert (repo / "notes.md").read_text() == "notes\n", "the sneaked edit was rolled back"
    told = model.requests[1].messages[-1].content
    assert "rolled back" in told and "out_of_scope" in told and "notes.md" in told
    assert [e["paths"] for e in seen if e["type"] == "rollback"] == [["notes.md"]]


def test_violations_in_a_row_fail_the_task_and_the_failure_policy_rolls_back(
    repo: Path,
) -> None:
    calc(repo)
    (repo / "wip.txt").write_text("the user's uncommitted work\n")
    before = tree_files(repo)
    turns = [EDIT] + [tool("edit_file", path="notes.md", search="notes", replace="x")] * 3
    result, _, _ = run(repo, turns, Contract(scope=("calc.py",)))
    assert result.status is TaskStatus.FAILED and "in a row" in result.reason
    assert tree_files(repo) == before, "a failed task leaves the tree as it was"
    assert result.rollback is not None and result.rollback.restored == ("calc.py",)
    kept = ShadowCheckpoints(Git(repo)).get(result.rollback.checkpoint)
    assert kept.kind == "task-failed"
    assert "a + b" in git(repo, "show", f"{kept.tree}:calc.py"), "its edits are kept"


def test_failing_task_gates_go_back_as_feedback_then_fail_the_task(repo: Path) -> None:
    calc(repo)
    verify = "## task\n- `grep -q 'a \\* b' calc.py`\n"
    done = tool("done", summary="done")
    result, model, _ = run(repo, [EDIT, done, done, done], verify=verify)
    assert result.status is TaskStatus.FAILED and "task gates failed 3 times" in result.reason
    assert "task gates failed (attempt 1 of 3)" in model.requests[2].messages[-1].content
    assert [g.status for g in result.gates] == ["fail", "fail", "fail"]
    assert (repo / "calc.py").read_text().endswith("a - b\n"), "rolled back"


def test_done_without_tool_calls_gives_up_after_three_answers(repo: Path) -> None:
    calc(repo)
    result, model, _ = run(repo, [{"content": "All fine."}] * 3)
    assert result.status is TaskStatus.FAILED and "without a tool call" in result.reason
    assert "Use the tools" in model.requests[1].messages[-1].content


def test_the_step_budget_ends_the_task(repo: Path) -> None:
    calc(repo)
    result, _, _ = run(repo, [tool("read_file", path="calc.py")] * 2, max_steps=2)
    assert result.status is TaskStatus.FAILED and "step budget (2 steps)" in result.reason
    assert result.rollback is None, "nothing changed: nothing to roll back or keep"


def test_a_cancelled_task_is_interrupted_and_keeps_its_edits(repo: Path) -> None:
    calc(repo)
    model = ScriptedModel({"default": [EDIT, tool("run", command="sleep 30")]})
    where = setting(repo)
    task = Task("Fix add")

    async def cancel_during_the_command() -> Any:
        running = asyncio.ensure_future(run_task(where, task, model, RunOptions()))
        while len(model.requests) < 2:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        running.cancel()
        return await running

    result = asyncio.run(cancel_during_the_command())
    assert result.status is TaskStatus.INTERRUPTED
    assert result.rollback is None and "a + b" in (repo / "calc.py").read_text()


class SlowFirstSnapshot:
    """The task's first snapshot takes 0.3 s (a large tree): when it ends, and whether
    the model was asked before that."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, model: ScriptedModel):
        self.ended = 0.0
        self.asked_during = False
        real = TreeScanner.snapshot

        def slow(scanner: TreeScanner) -> str:
            if not self.ended:
                time.sleep(0.3)
                self.asked_during = bool(model.requests)
                tree = real(scanner)
                self.ended = time.perf_counter()
                return tree
            return real(scanner)

        monkeypatch.setattr(TreeScanner, "snapshot", slow)


SlowStart = tuple[ScriptedModel, SlowFirstSnapshot, TaskSetting]


@pytest.fixture
def slow_start(repo: Path, monkeypatch: pytest.MonkeyPatch) -> SlowStart:
    """The calc repository, a model that edits then is done, a slow first snapshot."""
    calc(repo)
    model = ScriptedModel({"default": [EDIT, tool("done", summary="ok")]})
    return model, SlowFirstSnapshot(monkeypatch, model), setting(repo)


def test_the_first_request_goes_out_while_the_base_is_recorded_and_no_tool_runs_before(
    repo: Path, slow_start: SlowStart
) -> None:
    model, slow, where = slow_start
    seen: list[dict[str, Any]] = []
    where.log.subscribe(seen.append)
    result = asyncio.run(run_task(where, Task("Fix add"), model, RunOptions()))
    assert slow.asked_during, "the first request waited for the snapshot"
    assert result.status is TaskStatus.UNVERIFIED and "a + b" in (repo / "calc.py").read_text()
    # the model's first answer (the edit) came during the snapshot; the base is the tree
    # before it, so the edit ran after the base was on record
    base = git(repo, "show", f"{result.base_checkpoint}:calc.py")
    assert "a - b" in base
    kinds = [e["type"] for e in seen]
    assert kinds.index("task_start") < kinds.index("step")


def test_ctrl_c_while_the_base_is_recorded_ends_the_task_with_the_base_kept(
    repo: Path, slow_start: SlowStart
) -> None:
    model, slow, where = slow_start

    async def cancel_during_the_snapshot() -> Any:
        running = asyncio.ensure_future(run_task(where, Task("Fix add"), model, RunOptions()))
        await asyncio.sleep(0.1)
        running.cancel()
        return await running

    result = asyncio.run(cancel_during_the_snapshot())
    assert slow.ended, "the snapshot was cut off"
    assert result.status is TaskStatus.INTERRUPTED and result.steps == 0
    assert "a - b" in (repo / "calc.py").read_text(), "a tool ran after Ctrl-C"
    assert "a - b" in git(repo, "show", f"{result.base_checkpoint}:calc.py")


def test_the_step_guard_counts_only_violations_in_a_row(repo: Path) -> None:
    calc(repo)
    tree = GitWorkTree(ShadowCheckpoints(Git(repo)), "s1")
    contract = Contract(scope=("calc.py",))
    guard = TaskStepGuard(tree, DiffContract(ActionPolicy(repo, contract)), max_violations=2)
    base = tree.snapshot()
    guard.begin(base, base)
    (repo / "notes.md").write_text("changed\n")
    first = guard.judge(True, [])
    assert first.rolled_back and first.streak == 1 and not first.exhausted
    assert (repo / "notes.md").read_text() == "notes\n"
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    good = guard.judge(True, [])
    assert good.changed == ["calc.py"] and good.streak == 0 and good.after != base
    (repo / "notes.md").write_text("again\n")
    assert guard.judge(True, []).streak == 1
    (repo / "notes.md").write_text("and again\n")
    last = guard.judge(True, [])
    assert last.exhausted and "notes.md" in last.feedback()
    assert "a + b" in (repo / "calc.py").read_text(), "the good step survives rollbacks"


@pytest.mark.parametrize("wrote", [False, True])
def test_a_step_that_changed_nothing_costs_no_verdict(repo: Path, wrote: bool) -> None:
    calc(repo)
    tree = GitWorkTree(ShadowCheckpoints(Git(repo)), "s1")
    guard = TaskStepGuard(tree, DiffContract(ActionPolicy(repo, Contract())))
    base = tree.snapshot()
    guard.begin(base, base)
    verdict = guard.judge(wrote, [])
    assert verdict.changed == [] and verdict.violations == [] and verdict.after == base


def test_a_task_gate_makes_done_verified(repo: Path) -> None:
    calc(repo)
    verify = "## task\n- `grep -q 'a + b' calc.py`\n"
    result, _, _ = run(repo, [EDIT, tool("done", summary="ok")], verify=verify)
    assert result.status is TaskStatus.DONE and result.status.exit_code == 0
    assert [g.status for g in result.gates] == ["pass"]


def test_done_with_no_change_is_its_own_status(repo: Path) -> None:
    calc(repo)
    done = tool("done", summary="nothing to do")
    result, model, _ = run(repo, [tool("read_file", path="calc.py"), done, done])
    assert result.status is TaskStatus.NOTHING_CHANGED and result.status.exit_code == 1
    assert "nothing in the work tree changed" in model.requests[2].messages[-1].content
    assert result.commit is None
