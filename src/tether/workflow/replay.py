"""``tether skills replay``: a skill as one bounded task on the current tree, under its
contract and its gates plus VERIFY.md's. Two ways, in order: *exact* (the recorded
edits, filled in, where they still apply: no model call, then the gates) and *guided*
(a fast executor with the procedure and the verified session as a worked example in
its stable prefix). A failed way is rolled back like any failed task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from tether.agent.outcomes import TaskResult
from tether.agent.seams import Steering
from tether.agent.task import Task
from tether.config import RoleConfig
from tether.gates.suite import GateSuite
from tether.memory import progress_md
from tether.memory.plan_md import PlanTask
from tether.models.types import Model, ModelInfo
from tether.skills.replay import EXACT
from tether.workflow.entries import ledger_entry
from tether.workflow.planfile import ledger, progress_path, read_agents_md
from tether.workflow.preflight import check_work_tree
from tether.workflow.roles import Roles
from tether.workflow.skillset import skill_store
from tether.workflow.skilluse import SkillUse, use_of
from tether.workflow.taskrun import RunOptions, TaskSetting, run_task
from tether.workflow.tasks import TaskFactory, TaskFlags
from tether.workspace import Workspace, work_tree_lock

Way = Literal["auto", "exact", "guided"]
# ``--model`` → (the model, its role's configuration, a model name to ask for)
Chooser = Callable[[str | None], tuple[Model, RoleConfig, str | None]]


@dataclass
class Replayed:
    """How a replay went: the result of the way that ran last, which ways ran, and
    why exact did not apply (when it did not)."""

    result: TaskResult | None
    way: str  # "exact" or "guided": the way whose result this is
    tried: list[str]
    exact_problem: str = ""
    info: ModelInfo = EXACT  # the model of that way (``EXACT``: no model)
    asked: str | None = None  # a model name asked of the role's endpoint

    @property
    def model(self) -> str:
        return f"{self.info.provider}/{self.asked or self.info.model}"

    @property
    def passed(self) -> bool:
        return self.result is not None and self.result.status.finished


@dataclass(frozen=True)
class ReplayRequest:
    name: str
    params: dict[str, str]
    way: Way = "auto"
    model: str | None = None  # a role, "local", or a model name (see Roles.chosen)
    flags: TaskFlags = field(default_factory=TaskFlags)
    commit: bool | None = None
    ledger: bool = True  # a PROGRESS.md entry (certify's replays keep none)


async def replay_skill(
    ws: Workspace,
    request: ReplayRequest,
    allow_detached: bool = False,
    steering: Steering | None = None,
) -> Replayed:
    check_work_tree(ws, allow_detached)
    use = use_of(skill_store(ws.root, ws.config.config), request.name, request.params)
    factory = TaskFactory(ws.root, ws.config.config, lambda t: ws.log.note_once(t, t))
    task = factory.from_skill(use, request.flags)
    setting = TaskSetting(
        root=ws.root,
        config=ws.config.config,
        log=ws.log,
        session=ws.session_id,
        suite=GateSuite.load(ws.root, ws.config.config),
        agents_md=read_agents_md(ws),
        steering=steering,
    )
    with work_tree_lock(ws.root):
        async with Roles(ws) as roles:
            replayed = await run_ways(setting, roles.chosen, use, task, request)
    if request.ledger and replayed.result is not None:
        _ledger(ws, use, task, replayed)
    return replayed


async def run_ways(
    setting: TaskSetting, choose: Chooser, use: SkillUse, task: Task, request: ReplayRequest
) -> Replayed:
    """Exact, then guided (``request.way`` may pick one); each way's start and end are
    events (``skill_replay``)."""
    tried: list[str] = []
    problem = ""
    result: TaskResult | None = None
    if request.way in ("auto", "exact"):
        result, problem = await try_exact(setting, use, task, request.commit)
        if result is not None:
            tried.append("exact")
        if result is not None and (not problem or request.way == "exact"):
            return Replayed(result, "exact", tried, problem)
        if request.way == "exact":
            return Replayed(None, "exact", tried, problem)
    tried.append("guided")
    model, cfg, name = choose(request.model)
    options = RunOptions.from_role(cfg, commit=request.commit, example=use.example(setting.root))
    guided_task = replace(task, model=name) if name else task
    result = await run_task(setting, guided_task, model, options)
    _event(setting, use, "guided", result)
    return Replayed(result, "guided", tried, problem, model.info, name)


async def try_exact(
    setting: TaskSetting, use: SkillUse, task: Task, commit: bool | None
) -> tuple[TaskResult | None, str]:
    """The recorded edits, where they still apply: the result (None when they do not)
    and why it did not pass ("" when it did; a failed one was rolled back)."""
    problem = use.exact_plan(setting.root).problem
    if problem:
        setting.log.emit("skill_replay", skill=use.skill.name, way="exact", applies=False,
                         problem=problem)  # fmt: skip
        return None, problem
    result = await exact(setting, use, task, commit)
    _event(setting, use, "exact", result)
    return result, "" if result.status.finished else f"the gates failed: {first_failure(result)}"


async def exact(setting: TaskSetting, use: SkillUse, task: Task, commit: bool | None) -> TaskResult:
    """The recorded edits in one step (then ``done``), under the same guard and gates."""
    model = use.exact_model()
    options = RunOptions(commit=commit, index=False)  # no model reads the prompt
    return await run_task(setting, replace(task, max_steps=1), model, options)


def first_failure(result: TaskResult) -> str:
    """The first failing gate of a result, as a person reads it."""
    failing = next((g for g in result.gates if not g.ok), None)
    if failing is None:
        return result.reason
    return f"{failing.tier} `{failing.gate}` {failing.status}: {failing.summary}"[:300]


def _event(setting: TaskSetting, use: SkillUse, way: str, result: TaskResult) -> None:
    setting.log.emit(
        "skill_replay",
        skill=use.skill.name,
        way=way,
        status=str(result.status),
        params=use.values,
        **({"failed": first_failure(result)} if not result.status.finished else {}),
    )


def _ledger(ws: Workspace, use: SkillUse, task: Task, replayed: Replayed) -> None:
    result = replayed.result
    assert result is not None
    task_id = f"skill:{use.skill.name}"
    attempt = progress_md.attempts_so_far(ledger(ws), task_id) + 1
    planned = PlanTask(id=task_id, title=task.title)
    way = "exact, no model call" if replayed.way == "exact" else f"guided by {replayed.model}"
    if replayed.way == "guided" and replayed.exact_problem:
        way += f" (exact did not: {replayed.exact_problem})"
    skill = f"{use.skill.name}, {way}"
    entry = ledger_entry(planned, attempt, result, task, replayed.info, ws.session_id, skill)
    progress_md.append_entry(progress_path(ws), entry)
