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

from tether.agent.loop import Task
from tether.config import RoleConfig
from tether.gates.context import Reviewer
from tether.models.registry import build_model
from tether.models.types import Completion, Model, ModelRequest
from tether.oneshot import read_agents_md
from tether.review import ModelReviewer
from tether.session import RunOptions, TaskEnvironment, run_task, sandbox_for
from tether.telemetry import EventLog
from tether.variants import rubric
from tether.variants.store import RunRecord, VariantRecord, new_run_id, runs_dir, save_run
from tether.variants.worktrees import add_worktrees, base_commit
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.diff import unified_diff
from tether.vcs.git import Git
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


async def run_variants(ws: Workspace, plan: VariantPlan, listener: Listener) -> RunRecord:
    role = ws.config.require(plan.role)
    cfg = role.config
    assert cfg is not None
    run_id = new_run_id()
    git = Git(ws.root)
    checkpoints = ShadowCheckpoints(git, plan.task.contract.ledger_files)
    commit, tree = base_commit(checkpoints, run_id)
    paths = add_worktrees(git, run_id, commit, plan.count)
    styles = [plan.styles[i % len(plan.styles)] if plan.styles else "" for i in range(plan.count)]
    record = RunRecord(
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
    save_run(ws.root, record)
    ws.log.emit("variants_start", run=run_id, count=plan.count, base=commit)
    model = WarmPrefix(build_model(role, ws.log))
    reviewer = _reviewer(ws) if plan.review else None
    limit = asyncio.Semaphore(plan.concurrency or default_concurrency(cfg, plan.count))

    async def one(variant: VariantRecord) -> None:
        async with limit:
            await _one_variant(ws, record, variant, plan, model, cfg, reviewer, listener(variant.k))
            save_run(ws.root, record)

    try:
        await asyncio.gather(*(one(v) for v in record.variants))
    finally:
        await model.aclose()
        if reviewer is not None:
            await reviewer.model.aclose()
    ws.log.emit("variants_end", run=run_id, scores={v.k: v.score for v in record.variants})
    save_run(ws.root, record)
    return record


def _reviewer(ws: Workspace) -> ModelReviewer:
    role = ws.config.require("reviewer")
    assert role.config is not None
    return ModelReviewer(build_model(role, ws.log), role.config.max_output_tokens)


async def _one_variant(
    ws: Workspace,
    record: RunRecord,
    variant: VariantRecord,
    plan: VariantPlan,
    model: Model,
    cfg: RoleConfig,
    reviewer: Reviewer | None,
    listener: Callable[[dict[str, Any]], None],
) -> None:
    """Run one variant in its worktree and fill in its record: the unit a cluster would
    schedule (input: base commit + task; output: final tree + metrics)."""
    root = Path(variant.worktree)
    log = EventLog(runs_dir(ws.root) / record.id / str(variant.k) / "events.jsonl")
    log.subscribe(listener)
    env = TaskEnvironment(
        root=root,
        config=ws.config.config,
        log=log,
        session=f"{record.id}-{variant.k}",
        agents_md=read_agents_md(ws),
    )
    temperature = next(t for t in (plan.temperature, cfg.temperature, 0.7) if t is not None)
    options = RunOptions.from_role(cfg, commit=False, temperature=temperature, brief=variant.style)
    try:
        result = await run_task(env, plan.task, model, options, reviewer=reviewer)
    finally:
        log.close()
    git = Git(root)
    variant.status, variant.reason, variant.steps = result.status, result.reason, result.steps
    variant.seconds = round(result.seconds, 2)
    variant.input_tokens = result.tokens.input
    variant.cached_tokens = result.tokens.cached
    variant.output_tokens = result.tokens.output
    variant.changed, variant.final_tree, variant.gates = (
        result.changed,
        result.final_tree,
        result.gates,
    )
    variant.diff = unified_diff(git, record.base_tree, result.final_tree)
    variant.violations = _violations(runs_dir(ws.root) / record.id / str(variant.k))
    variant.screenshot = _screenshot(ws.root, record.id, variant)
    await _score(env, plan, variant, record.weights, reviewer)


async def _score(
    env: TaskEnvironment,
    plan: VariantPlan,
    variant: VariantRecord,
    weights: dict[str, float],
    reviewer: Reviewer | None,
) -> None:
    lint = await _lint(env, plan.task, variant.changed)
    review = (
        await reviewer.review(plan.task.contract.describe(), variant.diff)
        if reviewer is not None and variant.diff.strip()
        else None
    )
    variant.metrics = rubric.metrics(variant.status, variant.changed, variant.diff, lint, review)
    variant.score = rubric.score(variant.metrics, weights)


async def _lint(env: TaskEnvironment, task: Task, changed: list[str]) -> int | None:
    command = rubric.lint_command(
        [p for p in changed if p.endswith(".py") and (env.root / p).is_file()]
    )
    if command is None:
        return None
    result = await sandbox_for(env, task).run(command, env.root, 60)
    return rubric.count_findings(result.stdout)


def _violations(folder: Path) -> int:
    from tether.telemetry import read_events

    return sum(1 for e in read_events(folder / "events.jsonl") if e.get("type") == "violation")


def _screenshot(root: Path, run_id: str, variant: VariantRecord) -> str:
    shots = [g.get("evidence") for g in variant.gates if g.get("evidence")]
    if not shots or not Path(str(shots[-1])).is_file():
        return ""
    target = runs_dir(root) / run_id / f"{variant.k}.png"
    shutil.copyfile(str(shots[-1]), target)
    return str(target)
