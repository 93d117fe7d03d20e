"""``tether variants``: N executors on one task, each in its own worktree, concurrently.

All variants share one byte-identical prompt prefix (system, tools, AGENTS.md, contract;
a ``--styles`` brief comes after it), and the first model request goes alone before the
fan-out, so the provider caches that prefix once. Each variant runs its own step and
task gates in its own worktree (``{port}`` gets a free port per gate).

Scale: the seam is ``_one_variant``: its input is a commit (the base) plus the task and
options, its output is a tree (the variant's result) plus metrics. That maps one to one
onto a distributed task engine (see README.md of this package); nothing here assumes
the variants share a machine except the worktree paths.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tether.agent.outcomes import TaskResult
from tether.agent.task import Task
from tether.config import RoleConfig
from tether.errors import TetherError
from tether.gates.context import Reviewer
from tether.gates.suite import GateSuite
from tether.models.types import Completion, Model, ModelRequest
from tether.telemetry import EventLog
from tether.variants import rubric
from tether.variants.store import RunRecord, VariantRecord, new_run_id, runs_dir, save_run
from tether.variants.worktrees import add_worktrees, base_commit
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.diff import unified_diff
from tether.vcs.git import Git
from tether.workflow.planfile import read_agents_md
from tether.workflow.preflight import check_work_tree
from tether.workflow.roles import Roles
from tether.workflow.sandboxes import sandbox_for
from tether.workflow.taskrun import RunOptions, TaskSetting, run_task
from tether.workspace import Workspace

Listener = Callable[[int], Callable[[dict[str, Any]], None]]


@dataclass
class VariantPlan:
    task: Task
    count: int
    styles: list[str] = field(default_factory=list)
    concurrency: int | None = None
    review: bool = False
    weights: dict[str, float] = field(default_factory=lambda: dict(rubric.DEFAULT_WEIGHTS))
    role: str = "executor"
    temperature: float | None = None  # None: the role's, else 0.7 (variants should differ)


class WarmPrefix:
    """Lets the first request go alone; the others wait until it is answered, so the
    provider has cached the shared prefix before the fan-out."""

    def __init__(self, inner: Model):
        self.inner = inner
        self.info = inner.info
        self._first: asyncio.Future[None] | None = None

    async def complete(self, request: ModelRequest) -> Completion:
        if self._first is None:
            self._first = asyncio.get_running_loop().create_future()
            try:
                return await self.inner.complete(request)
            finally:
                self._first.set_result(None)
        await self._first
        return await self.inner.complete(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def default_concurrency(cfg: RoleConfig, count: int) -> int:
    """Sized to the model endpoint, not the CPU: an in-process model answers one call at
    a time (extra variants only overlap their gates); a hosted one takes many."""
    return min(count, 4 if cfg.provider == "local" else 16)


async def run_variants(
    ws: Workspace, plan: VariantPlan, listener: Listener, allow_detached: bool = False
) -> RunRecord:
    check_work_tree(ws, allow_detached)
    suite = GateSuite.load(ws.root, ws.config.config)
    roles = Roles(ws)
    roles.require(plan.role, *(["reviewer"] if plan.review else []))
    cfg = roles.config(plan.role)
    run_id = new_run_id()
    git = Git(ws.root)
    checkpoints = ShadowCheckpoints(git, plan.task.contract.ledger_files)
    commit, tree = base_commit(checkpoints, run_id)
    paths = add_worktrees(git, run_id, commit, plan.count)
    record = _record(run_id, plan, commit, tree, paths)
    save_run(ws.root, record)
    ws.log.emit("variants_start", run=run_id, count=plan.count, base=commit)
    limit = asyncio.Semaphore(plan.concurrency or default_concurrency(cfg, plan.count))
    async with roles:
        model = WarmPrefix(roles.model(plan.role))
        reviewer = roles.reviewer() if plan.review else None
        context = _Shared(ws, suite, model, cfg, reviewer)

        async def one(variant: VariantRecord) -> None:
            async with limit:
                await _one_variant(context, record, variant, plan, listener(variant.k))
                save_run(ws.root, record)

        await asyncio.gather(*(one(v) for v in record.variants))
    ws.log.emit("variants_end", run=run_id, scores={v.k: v.score for v in record.variants})
    save_run(ws.root, record)
    return record


@dataclass
class _Shared:
    """What every variant of a run shares."""

    ws: Workspace
    suite: GateSuite
    model: Model
    cfg: RoleConfig
    reviewer: Reviewer | None


def _record(run_id: str, plan: VariantPlan, commit: str, tree: str, paths: list[Path]) -> RunRecord:
    styles = [plan.styles[i % len(plan.styles)] if plan.styles else "" for i in range(plan.count)]
    return RunRecord(
        id=run_id,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        title=plan.task.title,
        instruction=plan.task.instruction,
        task_id=plan.task.task_id,
        base_commit=commit,
        base_tree=tree,
        weights=plan.weights,
        contract={
            "scope": list(plan.task.contract.scope),
            "protect": list(plan.task.contract.protect),
            "max_diff": plan.task.contract.max_diff,
            "accept": list(plan.task.contract.accept),
        },
        variants=[
            VariantRecord(k=k, worktree=str(p), style=s)
            for k, (p, s) in enumerate(zip(paths, styles, strict=True), start=1)
        ],
    )


async def _one_variant(
    shared: _Shared,
    record: RunRecord,
    variant: VariantRecord,
    plan: VariantPlan,
    listener: Callable[[dict[str, Any]], None],
) -> None:
    """Run one variant in its worktree and fill in its record: the unit a cluster would
    schedule (input: base commit + task; output: final tree + metrics)."""
    ws = shared.ws
    root = Path(variant.worktree)
    log = EventLog(runs_dir(ws.root) / record.id / str(variant.k) / "events.jsonl")
    log.subscribe(listener)
    setting = TaskSetting(
        root=root,
        config=ws.config.config,
        log=log,
        session=f"{record.id}-{variant.k}",
        suite=shared.suite,
        agents_md=read_agents_md(ws),
    )
    temperature = next(t for t in (plan.temperature, shared.cfg.temperature, 0.7) if t is not None)
    options = RunOptions.from_role(
        shared.cfg, commit=False, temperature=temperature, brief=variant.style
    )

    async def measure(result: TaskResult) -> None:
        """Metrics of the tree as the variant left it (before a failed one is rolled
        back; its edits stay at a checkpoint and in the stored diff)."""
        _fill(variant, result, Git(root), record.base_tree)
        variant.violations = _violations(runs_dir(ws.root) / record.id / str(variant.k))
        variant.screenshot = _screenshot(ws.root, record.id, variant)
        await _score(setting, plan, variant, record.weights, shared.reviewer)

    try:
        await run_task(setting, plan.task, shared.model, options, shared.reviewer, measure)
    finally:
        log.close()


def _fill(variant: VariantRecord, result: TaskResult, git: Git, base_tree: str) -> None:
    variant.status, variant.reason, variant.steps = str(result.status), result.reason, result.steps
    variant.seconds = round(result.seconds, 2)
    variant.input_tokens = result.tokens.input
    variant.cached_tokens = result.tokens.cached
    variant.output_tokens = result.tokens.output
    variant.changed, variant.final_tree = result.changed, result.final_tree
    variant.gates = list(result.gates)
    variant.diff = unified_diff(git, base_tree, result.final_tree)


async def _score(
    setting: TaskSetting,
    plan: VariantPlan,
    variant: VariantRecord,
    weights: dict[str, float],
    reviewer: Reviewer | None,
) -> None:
    lint = await _lint(setting, plan.task, variant.changed)
    review = None
    if reviewer is not None and variant.diff.strip():
        try:
            review = await reviewer.review(plan.task.contract.describe(), variant.diff)
        except TetherError as exc:  # one variant unscored by review, not a dead run
            variant.reason += f" (review failed: {exc.render()[:200]})"
            setting.log.emit("review_failed", error=exc.render()[:500])
    variant.metrics = rubric.metrics(variant.status, variant.changed, variant.diff, lint, review)
    variant.score = rubric.score(variant.metrics, weights)


async def _lint(setting: TaskSetting, task: Task, changed: list[str]) -> int | None:
    command = rubric.lint_command(
        [p for p in changed if p.endswith(".py") and (setting.root / p).is_file()]
    )
    if command is None:
        return None
    sandbox = sandbox_for(setting.root, setting.config, task.contract)
    result = await sandbox.run(command, setting.root, 60)
    return rubric.count_findings(result.stdout)


def _violations(folder: Path) -> int:
    from tether.telemetry import read_events

    return sum(1 for e in read_events(folder / "events.jsonl") if e.get("type") == "violation")


def _screenshot(root: Path, run_id: str, variant: VariantRecord) -> str:
    shots = [g.evidence for g in variant.gates if g.evidence]
    if not shots or not Path(shots[-1]).is_file():
        return ""
    target = runs_dir(root) / run_id / f"{variant.k}.png"
    shutil.copyfile(shots[-1], target)
    return str(target)
