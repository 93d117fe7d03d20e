"""``tether run``: fast executors work PLAN.md's tasks one by one, each in fresh
contexts; PROGRESS.md keeps the ledger; a killed session resumes from the files alone."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tether.agent.outcomes import TaskResult, TaskStatus
from tether.agent.seams import Steering
from tether.agent.task import Task
from tether.errors import UsageError
from tether.gates.suite import GateSuite
from tether.guard.live import LiveRules
from tether.memory import progress_md
from tether.memory.locations import ledger_files
from tether.memory.plan_md import Plan, PlanTask
from tether.models.types import Message, ModelInfo
from tether.rules.rule import Rule
from tether.skills.params import parse_params
from tether.skills.replay import EXACT
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import Git
from tether.vcs.worktree import GitWorkTree
from tether.workflow.entries import follow_up_task, ledger_entry
from tether.workflow.failure import apply_failure_policy
from tether.workflow.planfile import (
    ledger,
    load_plan,
    mark,
    progress_path,
    read_agents_md,
    save_plan,
)
from tether.workflow.preflight import check_work_tree
from tether.workflow.replay import try_exact
from tether.workflow.roles import Roles
from tether.workflow.skillset import skill_store
from tether.workflow.skilluse import SkillUse, use_of
from tether.workflow.taskrun import RunOptions, TaskSetting, run_task
from tether.workflow.tasks import TaskFactory
from tether.workspace import Workspace, work_tree_lock

MAX_CONTEXTS = 6


@dataclass
class RunReport:
    results: list[tuple[str, TaskStatus, str]] = field(default_factory=list)  # id, status, why
    interrupted: bool = False

    @property
    def failed(self) -> bool:
        return any(status.failed for _, status, _ in self.results)


async def run_plan(
    ws: Workspace,
    task_id: str | None = None,
    run_all: bool = False,
    keep_going: bool = False,
    max_steps: int | None = None,
    allow_detached: bool = False,
    rules: tuple[Rule, ...] = (),
    live: LiveRules | None = None,
    steering: Steering | None = None,
) -> RunReport:
    report = RunReport()
    check_work_tree(ws, allow_detached)
    if _pick(load_plan(ws), task_id) is None:  # also reports a malformed PLAN.md first
        return report
    runner = _PlanRunner(ws, max_steps, rules, live, steering)
    with work_tree_lock(ws.root):
        known = {t.id for t in load_plan(ws).tasks}
        async with runner.roles:
            while True:
                # follow-ups made during this run wait for the next one (and for a human)
                task = _pick(load_plan(ws), task_id, known)
                if task is None:
                    break
                status, reason = await runner.attempt(task)
                report.results.append((task.id, status, reason))
                if status is TaskStatus.INTERRUPTED:
                    report.interrupted = True
                    break
                failed = status.failed
                if task_id is not None or not run_all or (failed and not keep_going):
                    break
    return report


@dataclass(frozen=True)
class Via:
    """How an attempt was done, for its ledger entry: the skill and the way it ran,
    and the model (None: the executor role's)."""

    skill: str = ""
    info: ModelInfo | None = None


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

    def __init__(
        self,
        ws: Workspace,
        max_steps: int | None,
        rules: tuple[Rule, ...] = (),
        live: LiveRules | None = None,
        steering: Steering | None = None,
    ):
        self.ws = ws
        self.max_steps = max_steps
        self.rules = rules
        self.live = live
        self.steering = steering
        self.suite = GateSuite.load(ws.root, ws.config.config)
        self.roles = Roles(ws)
        self.roles.require("executor", *(["reviewer"] if self.suite.needs_review else []))
        self.factory = TaskFactory(ws.root, ws.config.config, lambda t: ws.log.note_once(t, t))
        self.checkpoints = ShadowCheckpoints(Git(ws.root), ledger_files(ws.root, ws.config.config))

    async def attempt(self, plan_task: PlanTask) -> tuple[TaskStatus, str]:
        """One attempt at a task, over as many contexts as handoffs need."""
        resumed = plan_task.status == "in_progress"
        mark(self.ws, plan_task.id, "in_progress")
        entries = ledger(self.ws)
        attempt = progress_md.attempts_so_far(entries, plan_task.id) + 1
        base = self._resume_base(plan_task.id) if resumed else None
        task = self.factory.from_plan(plan_task, self.max_steps, base, self.rules)
        use = self._skill(plan_task)
        example: tuple[Message, ...] = ()
        note = ""  # the ledger's word on the skill, if the task names one
        if use is not None:
            note = f"{use.skill.name}, guided"
            task = self.factory.with_skill(task, use)
            if not resumed:
                done, why = await try_exact(self._setting(), use, task, None)
                if done is not None and not why:
                    via = Via(f"{use.skill.name}, exact", EXACT)
                    return self._finish(plan_task, attempt, done, task, via)
                note += f" (exact did not: {why})"
            example = use.example(self.ws.root)
        handoff = _handoff_text(entries, plan_task.id, resumed)
        model = self.roles.executor
        reviewer = self.roles.reviewer() if self.suite.needs_review else None
        for _ in range(MAX_CONTEXTS):
            options = RunOptions.from_role(
                self.roles.config("executor"), handoff=handoff, example=example
            )
            result = await run_task(self._setting(), task, model, options, reviewer=reviewer)
            task = replace(task, base_checkpoint=result.base_checkpoint, base_tree=result.base_tree)
            if result.status is not TaskStatus.HANDOFF:
                break
            self._record(plan_task, attempt, result, task)
            self.ws.log.emit("handoff", task=plan_task.id, reason=result.reason)
            handoff = progress_md.handoff_notes(ledger(self.ws), plan_task.id)
        return self._finish(plan_task, attempt, result, task, Via(note))

    def _skill(self, plan_task: PlanTask) -> SkillUse | None:
        """The skill a task names (``skill: NAME k=v``), its values filled in."""
        named = plan_task.skill
        if named is None:
            return None
        name, items = named
        given = parse_params(items, where=f"PLAN.md:{plan_task.line}: skill:")
        return use_of(skill_store(self.ws.root, self.ws.config.config), name, given)

    def _finish(
        self,
        plan_task: PlanTask,
        attempt: int,
        result: TaskResult,
        task: Task,
        via: Via = Via(),
    ) -> tuple[TaskStatus, str]:
        if result.status is TaskStatus.HANDOFF:  # still handing off after MAX_CONTEXTS
            result.status = TaskStatus.FAILED
            worktree = GitWorkTree(self.checkpoints, self.ws.session_id)
            result = apply_failure_policy(worktree, task, result)
        status = result.status
        self._record(plan_task, attempt, result, task, via)
        if status is not TaskStatus.INTERRUPTED:
            mark(self.ws, plan_task.id, status.plan_box)
        if status.failed:
            plan = load_plan(self.ws)
            follow = follow_up_task(plan, plan_task, result, attempt, self.ws.config.config)
            plan.insert_after(plan_task.id, follow)
            save_plan(self.ws, plan)
            self.ws.log.emit("follow_up", task=plan_task.id, new=follow.id)
        return status, result.reason

    def _record(
        self,
        plan_task: PlanTask,
        attempt: int,
        result: TaskResult,
        task: Task,
        via: Via = Via(),
    ) -> None:
        info = via.info or self.roles.executor.info
        entry = ledger_entry(plan_task, attempt, result, task, info, self.ws.session_id, via.skill)
        progress_md.append_entry(progress_path(self.ws), entry)

    def _setting(self) -> TaskSetting:
        return TaskSetting(
            root=self.ws.root,
            config=self.ws.config.config,
            log=self.ws.log,
            session=self.ws.session_id,
            suite=self.suite,
            agents_md=read_agents_md(self.ws),
            live=self.live,
            steering=self.steering,
        )

    def _resume_base(self, task_id: str) -> str | None:
        """The base of an interrupted attempt: its latest task-start checkpoint."""
        for checkpoint in self.checkpoints.history(limit=10_000):
            if checkpoint.kind == "task-start" and checkpoint.fields.get("task_id") == task_id:
                return checkpoint.sha
        return None


def _handoff_text(entries: list[progress_md.ParsedEntry], task_id: str, resumed: bool) -> str:
    notes = progress_md.handoff_notes(entries, task_id)
    if resumed:
        notes += (
            "\n- this attempt was interrupted and is resumed: the work tree already "
            "holds its edits so far; read the files before changing them"
        )
    return notes.strip()
