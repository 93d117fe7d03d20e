"""``tether variants``: N executors on one task, each in its own worktree, concurrently.

All variants share one byte-identical prompt prefix (system, tools, AGENTS.md, contract;
a ``--styles`` brief comes after it), and the first model request goes alone before the
fan-out, so the provider caches that prefix once. Each variant runs its own step and
task gates in its own worktree (``{port}`` gets a free port per gate).

Scale: one variant is ``attempt.one_variant``: its input is a work tree at the base
commit plus the task, its output the variant's tree and record. With ``--cluster`` each
one is a Ray task on a clone made from the run's bundle (``cluster.py``, ``remote.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tether.config import RoleConfig
from tether.gates.suite import GateSuite
from tether.models.types import Completion, Model, ModelRequest
from tether.variants.attempt import Shared, VariantPlan, one_variant
from tether.variants.store import RunRecord, VariantRecord, new_run_id, save_run
from tether.variants.worktrees import add_worktrees, base_commit
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import Git
from tether.workflow.planfile import read_agents_md
from tether.workflow.preflight import check_work_tree
from tether.workflow.roles import Roles
from tether.workspace import Workspace

__all__ = ["VariantPlan", "WarmPrefix", "default_concurrency", "run_variants"]

Listener = Callable[[int], Callable[[dict[str, Any]], None]]


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
    cluster = None
    if plan.cluster:  # connected now: a wrong address fails before anything is made
        from tether.variants.cluster import Cluster

        names = [plan.role, *(["reviewer"] if plan.review else [])]
        cluster = Cluster.of(ws, plan.cluster, names, plan.concurrency).connected()
    run_id = new_run_id()
    git = Git(ws.root)
    checkpoints = ShadowCheckpoints(git, plan.task.contract.ledger_files)
    commit, tree = base_commit(checkpoints, run_id)
    # on a cluster, a variant's worktree is made when its result is fetched
    paths = (
        [""] * plan.count
        if plan.cluster
        else [str(p) for p in add_worktrees(git, run_id, commit, plan.count)]
    )
    record = _record(run_id, plan, commit, tree, paths)
    save_run(ws.root, record)
    ws.log.emit("variants_start", run=run_id, count=plan.count, base=commit, cluster=plan.cluster)
    if cluster is not None:
        from tether.variants.on_cluster import run_on_cluster

        await run_on_cluster(ws, cluster, plan, record, listener)
    else:
        await _run_here(ws, plan, record, suite, listener)
    ws.log.emit("variants_end", run=run_id, scores={v.k: v.score for v in record.variants})
    save_run(ws.root, record)
    return record


async def _run_here(
    ws: Workspace, plan: VariantPlan, record: RunRecord, suite: GateSuite, listener: Listener
) -> None:
    """Every variant on this machine, on one event loop."""
    async with Roles(ws) as roles:
        cfg = roles.config(plan.role)
        limit = asyncio.Semaphore(plan.concurrency or default_concurrency(cfg, plan.count))
        model = WarmPrefix(roles.model(plan.role))
        reviewer = roles.reviewer() if plan.review else None
        config = ws.config.config
        shared = Shared(ws.root, config, read_agents_md(ws), suite, model, cfg, reviewer)

        async def one(variant: VariantRecord) -> None:
            async with limit:
                await one_variant(shared, record, variant, plan, listener(variant.k))
                save_run(ws.root, record)

        await asyncio.gather(*(one(v) for v in record.variants))


def _record(run_id: str, plan: VariantPlan, commit: str, tree: str, paths: list[str]) -> RunRecord:
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
            VariantRecord(k=k, worktree=p, style=s)
            for k, (p, s) in enumerate(zip(paths, styles, strict=True), start=1)
        ],
    )
