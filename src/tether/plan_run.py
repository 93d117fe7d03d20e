"""``tether plan`` and ``tether run``: the planner writes PLAN.md; fast executors work its
tasks one by one in fresh contexts; PROGRESS.md keeps the ledger; a killed session
resumes from the files alone."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from tether.agent.loop import Task
from tether.agent.outcomes import TaskResult
from tether.errors import UsageError
from tether.fsutil import atomic_write
from tether.memory import progress_md
from tether.memory.locations import ledger_files, memory_file
from tether.memory.plan_md import Plan, PlanTask, parse_plan, task_from_contract
from tether.memory.progress_md import LedgerEntry, ModelUse
from tether.models.registry import build_model
from tether.models.types import Model
from tether.oneshot import DoOptions, contract_for, read_agents_md, reviewer_for
from tether.planner.planner import make_plan, planner_prompt
from tether.planner.repomap import repo_map
from tether.review import ModelReviewer
from tether.session import RunOptions, TaskEnvironment, run_task, work_tree_lock
from tether.tools.files import repo_files
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import Git
from tether.workspace import Workspace

MAX_CONTEXTS = 6


def plan_path(ws: Workspace) -> Path:
    return memory_file(ws.root, ws.config.config, "PLAN.md")


def progress_path(ws: Workspace) -> Path:
    return memory_file(ws.root, ws.config.config, "PROGRESS.md")


def load_plan(ws: Workspace) -> Plan:
    path = plan_path(ws)
    if not path.is_file():
        return Plan()
    return parse_plan(path.read_text(encoding="utf-8"), _display(ws, path))


def save_plan(ws: Workspace, plan: Plan) -> None:
    atomic_write(plan_path(ws), plan.render().encode("utf-8"))


def _display(ws: Workspace, path: Path) -> str:
    return str(path.relative_to(ws.root)) if path.is_relative_to(ws.root) else str(path)


# --- plan ----------------------------------------------------------------------------


async def plan_goal(ws: Workspace, goal: str) -> list[PlanTask]:
    """Ask the planner, validate, append the tasks to PLAN.md; returns them."""
    if not goal.strip():
        raise UsageError("the goal is empty", hint='tether plan "what you want done"')
    load_plan(ws)  # a malformed PLAN.md stops us before the model is called
    role = ws.config.require("planner")
    executor = ws.config.role("executor").config
    window = executor.context_window if executor else 32_768
    files = repo_files(ws.root)
    verify = memory_file(ws.root, ws.config.config, "VERIFY.md")
    prompt = planner_prompt(
        goal,
        repo_map(ws.root, files, goal),
        read_agents_md(ws),
        verify.read_text(encoding="utf-8") if verify.is_file() else None,
        int(window * (executor.handoff_at if executor else 0.6)),
    )
    model = build_model(role, ws.log)
    try:
        assert role.config is not None
        planned = await make_plan(model, ws.root, files, prompt, role.config.max_output_tokens)
    finally:
        await model.aclose()
    plan = load_plan(ws)
    first = plan.next_number()
    tasks = [
        task_from_contract(
            f"T{first + i}",
            t.title,
            scope=t.scope,
            protect=t.protect,
            max_diff=t.max_diff,
            accept=t.accept,
            notes=t.notes,
        )
        for i, t in enumerate(planned)
    ]
    plan.append_section(" ".join(goal.split())[:100], tasks)
    save_plan(ws, plan)
    ws.log.emit("plan", goal=goal, tasks=[t.id for t in tasks])
    return tasks


def reopen(ws: Workspace, task_id: str) -> bool:
    """Set a task's box back to [ ] (after its work was undone); False if nothing to do."""
    plan = load_plan(ws)
    task = plan.get(task_id)
    if task is None or task.status == "open":
        return False
    task.status = "open"
    save_plan(ws, plan)
    return True


def task_from_plan(
    ws: Workspace, planned: PlanTask, max_steps: int | None = None, base: str | None = None
) -> Task:
    """A PLAN.md task as the executor runs it: its contract over the guard's defaults."""
    guard = ws.config.config.guard
    contract = replace(
        contract_for(ws, DoOptions(instruction=planned.title)),
        scope=planned.scope,
        protect=planned.protect,
        max_diff=planned.max_diff or guard.max_diff,
        accept=planned.accept,
    )
    notes = f"\n\nNotes: {planned.notes}" if planned.notes else ""
    return Task(
        title=planned.title,
        instruction=planned.title + notes,
        contract=contract,
        max_steps=max_steps or planned.max_steps or guard.max_steps,
        task_id=planned.id,
        model=planned.model,
        base_checkpoint=base,
    )


# --- run -----------------------------------------------------------------------------


@dataclass
class RunReport:
    results: list[tuple[str, str, str]] = field(default_factory=list)  # id, status, reason
    interrupted: bool = False

    @property
    def failed(self) -> bool:
        return any(status == "failed" for _, status, _ in self.results)


async def run_plan(
    ws: Workspace,
    task_id: str | None = None,
    run_all: bool = False,
    keep_going: bool = False,
    max_steps: int | None = None,
) -> RunReport:
    report = RunReport()
    if _pick(load_plan(ws), task_id) is None:  # also reports a malformed PLAN.md first
        return report
    with work_tree_lock(ws.root):
        runner = _PlanRunner(ws, max_steps)
        known = {t.id for t in load_plan(ws).tasks}
        try:
            while True:
                # follow-ups made during this run wait for the next one (and for a human)
                task = _pick(load_plan(ws), task_id, known)
                if task is None:
                    break
                status, reason = await runner.attempt(task)
                report.results.append((task.id, status, reason))
                if status == "interrupted":
                    report.interrupted = True
                    break
                if task_id is not None or not run_all or (status == "failed" and not keep_going):
                    break
        finally:
            await runner.close()
    return report


def _pick(plan: Plan, task_id: str | None, known: set[str] | None = None) -> PlanTask | None:
    if task_id is not None:
        task = plan.get(task_id)
        if task is None:
            raise UsageError(
                f"there is no task {task_id} in PLAN.md", hint="`tether status` lists the tasks"
            )
        if task.status == "done":
            raise UsageError(
                f"{task_id} is already done", hint="to run it again, set its box to [ ] in PLAN.md"
            )
        return task
    tasks = [t for t in plan.tasks if known is None or t.id in known]
    return next((t for t in tasks if t.status == "in_progress"), None) or next(
        (t for t in tasks if t.status == "open"), None
    )


class _PlanRunner:
    """Runs plan tasks in one workspace, one executor model shared across tasks."""

    def __init__(self, ws: Workspace, max_steps: int | None):
        self.ws = ws
        self.max_steps = max_steps
        self.role = ws.config.require("executor")
        self.model: Model = build_model(self.role, ws.log)
        self.reviewer: ModelReviewer | None = reviewer_for(ws)
        self.checkpoints = ShadowCheckpoints(Git(ws.root), ledger_files(ws.root, ws.config.config))

    async def close(self) -> None:
        await self.model.aclose()
        if self.reviewer is not None:
            await self.reviewer.model.aclose()

    async def attempt(self, plan_task: PlanTask) -> tuple[str, str]:
        """One attempt at a task, over as many contexts as handoffs need."""
        resumed = plan_task.status == "in_progress"
        self._mark(plan_task.id, "in_progress")
        entries = _ledger(self.ws)
        attempt = progress_md.attempts_so_far(entries, plan_task.id) + 1
        base = self._resume_base(plan_task.id) if resumed else None
        task = self._task(plan_task, base)
        handoff = _handoff_text(entries, plan_task.id, resumed)
        for _ in range(MAX_CONTEXTS):
            result = await run_task(
                self._env(), task, self.model, self._options(handoff), reviewer=self.reviewer
            )
            task = _with_base(task, result.base_checkpoint)
            if result.status != "handoff":
                break
            entry = self._entry(plan_task, attempt, result, task)
            progress_md.append_entry(progress_path(self.ws), entry)
            self.ws.log.emit("handoff", task=plan_task.id, reason=result.reason)
            handoff = progress_md.handoff_notes(_ledger(self.ws), plan_task.id)
        return self._finish(plan_task, attempt, result, task)

    def _finish(
        self, plan_task: PlanTask, attempt: int, result: TaskResult, task: Task
    ) -> tuple[str, str]:
        status = {"done": "done", "interrupted": "interrupted"}.get(result.status, "failed")
        entry = self._entry(plan_task, attempt, result, task)
        if status == "failed":
            entry.checkpoint = self.checkpoints.record(
                "task-failed",
                self.checkpoints.snapshot_tree(),
                session=self.ws.session_id,
                task=plan_task.title,
                extra={"task_id": plan_task.id},
            ).sha
            self.checkpoints.restore(self.checkpoints.get(result.base_checkpoint).tree)
            entry.must_know += (
                f" The failed attempt's edits were rolled back; they are kept "
                f"at checkpoint {entry.checkpoint[:10]} (`tether undo --to "
                f"{entry.checkpoint[:10]}`)."
            )
        progress_md.append_entry(progress_path(self.ws), entry)
        if status != "interrupted":
            self._mark(plan_task.id, status)
        if status == "failed":
            self._follow_up(plan_task, result, attempt)
        return status, result.reason

    def _task(self, plan_task: PlanTask, base: str | None) -> Task:
        return task_from_plan(self.ws, plan_task, self.max_steps, base)

    def _env(self) -> TaskEnvironment:
        return TaskEnvironment(
            root=self.ws.root,
            config=self.ws.config.config,
            log=self.ws.log,
            session=self.ws.session_id,
            agents_md=read_agents_md(self.ws),
        )

    def _options(self, handoff: str) -> RunOptions:
        assert self.role.config is not None
        return RunOptions.from_role(self.role.config, handoff=handoff)

    def _resume_base(self, task_id: str) -> str | None:
        """The base of an interrupted attempt: its latest task-start checkpoint."""
        for checkpoint in self.checkpoints.history(limit=10_000):
            if checkpoint.kind == "task-start" and checkpoint.fields.get("task_id") == task_id:
                return checkpoint.sha
        return None

    def _mark(self, task_id: str, status: str) -> None:
        plan = load_plan(self.ws)  # re-read: hand edits made meanwhile are kept
        task = plan.get(task_id)
        if task is not None and task.status != status:
            task.status = status
            save_plan(self.ws, plan)

    def _entry(
        self, plan_task: PlanTask, attempt: int, result: TaskResult, task: Task
    ) -> LedgerEntry:
        """The ledger entry of one context: what was done, what remains, what to know."""
        info = self.model.info
        last = " ".join(str(result.handoff.get("last_text", "")).split())
        feedback = str(result.handoff.get("last_feedback", "")).split("\n\n")[0]
        status = {"done": "done", "handoff": "handoff", "interrupted": "interrupted"}.get(
            result.status, "failed"
        )
        if status == "done":
            done, remains, must_know = result.summary or last, "nothing", ""
        elif status == "handoff":
            done, remains = last or "see the files touched", last or result.reason
            must_know = "the context was full; the edits so far are kept in the tree. " + (
                f"Last gate feedback: {feedback}" if feedback else ""
            )
        else:
            done, remains, must_know = last, result.reason, feedback or result.reason
        usage = ModelUse(
            task.model or info.model,
            info.provider,
            result.tokens.input,
            result.tokens.cached,
            result.tokens.output,
        )
        return LedgerEntry(
            task_id=plan_task.id,
            attempt=attempt,
            status=status,
            time=datetime.now(UTC),
            session=self.ws.session_id,
            title=plan_task.title,
            steps=result.steps,
            models=[usage],
            gates=result.gates,
            commit=result.commit or "",
            files=result.changed,
            done=done,
            remains=remains,
            must_know=must_know,
        )

    def _follow_up(self, plan_task: PlanTask, result: TaskResult, attempt: int) -> None:
        plan = load_plan(self.ws)
        new_id = plan.follow_up_id(plan_task.id)
        feedback = " ".join(str(result.handoff.get("last_feedback", "")).split())[:300]
        notes = (
            f"{plan_task.id} failed (attempt {attempt}): {result.reason}. "
            f"{feedback} See PROGRESS.md, {plan_task.id} attempt {attempt}."
        )
        follow = task_from_contract(
            new_id,
            f"Fix: {result.reason}"[:100],
            scope=list(plan_task.scope),
            protect=list(plan_task.protect),
            max_diff=plan_task.max_diff or self.ws.config.config.guard.max_diff,
            accept=list(plan_task.accept),
            notes=notes,
        )
        if plan_task.max_steps:
            follow.items.append(("max-steps", str(plan_task.max_steps)))
        plan.insert_after(plan_task.id, follow)
        save_plan(self.ws, plan)
        self.ws.log.emit("follow_up", task=plan_task.id, new=new_id)


def _ledger(ws: Workspace) -> list[progress_md.ParsedEntry]:
    path = progress_path(ws)
    return progress_md.parse_progress(path.read_text(encoding="utf-8")) if path.exists() else []


def _handoff_text(entries: list[progress_md.ParsedEntry], task_id: str, resumed: bool) -> str:
    notes = progress_md.handoff_notes(entries, task_id)
    if resumed:
        notes += (
            "\n- this attempt was interrupted and is resumed: the work tree already "
            "holds its edits so far; read the files before changing them"
        )
    return notes.strip()


def _with_base(task: Task, base: str) -> Task:
    from dataclasses import replace

    return replace(task, base_checkpoint=base)
