"""One variant in one work tree: the executor loop, guard and gates on the task, then
its metrics and score written into its record. The same code runs for a local variant
(a worktree of the user's repository) and on a cluster worker (a clone made from the
run's bundle, see ``remote.py``): its input is a work tree at the base commit plus the
task, its output the variant's tree and record."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.agent.outcomes import TaskResult
from tether.agent.task import Task
from tether.config import RoleConfig, TetherConfig
from tether.errors import TetherError
from tether.gates.context import Reviewer
from tether.gates.suite import GateSuite
from tether.models.types import Model
from tether.telemetry import EventLog, read_events
from tether.variants import rubric
from tether.variants.store import RunRecord, VariantRecord, runs_dir
from tether.vcs.diff import unified_diff
from tether.vcs.git import Git
from tether.workflow.sandboxes import sandbox_for
from tether.workflow.taskrun import RunOptions, TaskSetting, run_task

Listener = Callable[[dict[str, Any]], None]


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
    cluster: str | None = None  # a Ray address (``--cluster``): the variants run there


@dataclass
class Shared:
    """What every variant of a run shares. ``state_root`` holds ``.tether/runs/``: the
    user's repository for a local run, the worker's clone on a cluster."""

    state_root: Path
    config: TetherConfig
    agents_md: str | None
    suite: GateSuite
    model: Model
    cfg: RoleConfig
    reviewer: Reviewer | None


def events_path(state_root: Path, run_id: str, k: int) -> Path:
    return runs_dir(state_root) / run_id / str(k) / "events.jsonl"


async def one_variant(
    shared: Shared, record: RunRecord, variant: VariantRecord, plan: VariantPlan, listener: Listener
) -> None:
    """Run one variant in its work tree and fill in its record."""
    root = Path(variant.worktree)
    log = EventLog(events_path(shared.state_root, record.id, variant.k))
    log.subscribe(listener)
    setting = TaskSetting(
        root=root,
        config=shared.config,
        log=log,
        session=f"{record.id}-{variant.k}",
        suite=shared.suite,
        agents_md=shared.agents_md,
    )
    temperature = next(t for t in (plan.temperature, shared.cfg.temperature, 0.7) if t is not None)
    options = RunOptions.from_role(
        shared.cfg, commit=False, temperature=temperature, brief=variant.style
    )

    async def measure(result: TaskResult) -> None:
        """Metrics of the tree as the variant left it (before a failed one is rolled
        back; its edits stay at a checkpoint and in the stored diff)."""
        _fill(variant, result, Git(root), record.base_tree)
        folder = events_path(shared.state_root, record.id, variant.k).parent
        variant.violations = sum(1 for e in read_events(log.path) if e.get("type") == "violation")
        variant.screenshot = _screenshot(folder.parent, variant)
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


def _screenshot(run_folder: Path, variant: VariantRecord) -> str:
    shots = [g.evidence for g in variant.gates if g.evidence]
    if not shots or not Path(shots[-1]).is_file():
        return ""
    target = run_folder / f"{variant.k}.png"
    shutil.copyfile(shots[-1], target)
    return str(target)
