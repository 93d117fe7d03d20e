"""What a cluster worker does with one variant, with no cluster code in it: a clone of
the run's base from its bundle in the worker's scratch folder, the same ``one_variant``
as a local run (executor loop, guard, sandbox, gates), then the result as a commit
bundle, the record, the events and the gates' evidence files. The scratch folder is
removed whatever happens."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from tether.config import ResolvedRole, TetherConfig
from tether.gates.suite import GateSuite
from tether.models.registry import build_model
from tether.models.types import Completion, Model, ModelRequest
from tether.variants.attempt import Shared, VariantPlan, events_path, one_variant
from tether.variants.bundles import read_bytes, result_bundle, scratch_clone
from tether.variants.store import RunRecord, VariantRecord
from tether.workflow.reviewer import ModelReviewer

Post = Callable[[dict[str, Any]], None]


class Warm(Protocol):
    """The run's prefix-cache gate across machines: the first variant's first request
    goes alone; the others wait until it is answered."""

    async def wait(self) -> None: ...

    def open(self) -> None: ...


@dataclass
class VariantJob:
    """One variant's input, sent to a worker (the base bundle travels beside it)."""

    run: RunRecord  # the run without its other variants
    variant: VariantRecord
    plan: VariantPlan
    config: TetherConfig
    roles: dict[str, ResolvedRole]  # the plan's role, and the reviewer's when it reviews
    agents_md: str | None


@dataclass
class VariantOutcome:
    """One variant's output, sent back to the driver."""

    variant: VariantRecord
    commit: str
    bundle: bytes
    events: bytes
    files: dict[str, bytes] = field(default_factory=dict)  # evidence by file name
    host: str = ""


class Warmed:
    """The executor's model behind the run's warm-up gate."""

    def __init__(self, inner: Model, warm: Warm, first: bool):
        self.inner, self.info = inner, inner.info
        self._warm, self._first, self._asked = warm, first, False

    async def complete(self, request: ModelRequest) -> Completion:
        if self._asked:
            return await self.inner.complete(request)
        self._asked = True
        if not self._first:
            await self._warm.wait()
            return await self.inner.complete(request)
        try:
            return await self.inner.complete(request)
        finally:
            self._warm.open()

    async def aclose(self) -> None:
        await self.inner.aclose()


def run_job(job: VariantJob, base: bytes, post: Post, warm: Warm) -> VariantOutcome:
    """One variant on this worker: clone, run, commit, bundle; the scratch removed."""
    prefix = f"tether-variant-{job.run.id}-{job.variant.k}-"
    with scratch_clone(base, job.run.base_commit, prefix) as git:
        variant = replace(job.variant, worktree=str(git.root))
        asyncio.run(_run(job, variant, post, warm))
        commit, bundle = result_bundle(
            git,
            variant.final_tree or job.run.base_tree,
            job.run.base_commit,
            f"tether variant {variant.k} of run {job.run.id}",
        )
        return VariantOutcome(
            variant=variant,
            commit=commit,
            bundle=bundle,
            events=read_bytes(events_path(git.root, job.run.id, variant.k)),
            files=_evidence(variant),
            host=socket.gethostname(),
        )


async def _run(job: VariantJob, variant: VariantRecord, post: Post, warm: Warm) -> None:
    root = Path(variant.worktree)
    plan = job.plan
    role = job.roles[plan.role]
    assert role.config is not None  # the driver sends configured roles only
    model = Warmed(build_model(role), warm, first=variant.k == 1)
    reviewer = None
    if plan.review:
        judge = job.roles["reviewer"]
        assert judge.config is not None
        reviewer = ModelReviewer(build_model(judge), judge.config.max_output_tokens)
    shared = Shared(
        state_root=root,
        config=job.config,
        agents_md=job.agents_md,
        suite=GateSuite.load(root, job.config),
        model=model,
        cfg=role.config,
        reviewer=reviewer,
    )
    try:
        await one_variant(shared, job.run, variant, plan, post)
    finally:
        await model.aclose()
        if reviewer is not None:
            await reviewer.model.aclose()


def _evidence(variant: VariantRecord) -> dict[str, bytes]:
    """The gates' logs and evidence and the screenshot, by a name unique in the run."""
    files: dict[str, bytes] = {}
    paths = [variant.screenshot] + [p for g in variant.gates for p in (g.log_path, g.evidence)]
    for path in paths:
        if path and Path(path).is_file() and path not in files:
            files[path] = Path(path).read_bytes()
    return files
