"""A variants run on a cluster, from the driver's side: each variant a job sent with its
task, contract, gates config and roles (``remote.run_job`` runs it on a worker); each
result fetched into ``refs/tether/results/<run>/<k>``, checked out as the run's worktree
``k``, its events and gate evidence put in the run's folder, so the gallery, ``serve``
and ``pick`` work as for a local run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tether.gates.results import GateResult
from tether.variants.attempt import VariantPlan, events_path
from tether.variants.bundles import fetch_result, results_ref
from tether.variants.cluster import Cluster, Listener, map_jobs
from tether.variants.remote import VariantJob, VariantOutcome, run_job
from tether.variants.store import RunRecord, runs_dir, save_run
from tether.variants.worktrees import worktrees_dir
from tether.vcs.git import Git
from tether.workflow.planfile import read_agents_md
from tether.workspace import Workspace


async def run_on_cluster(
    ws: Workspace, cluster: Cluster, plan: VariantPlan, record: RunRecord, listener: Listener
) -> None:
    """Every variant of ``record`` as a Ray task; their results fetched into the repo."""
    git = Git(ws.root)
    run = replace(record, variants=[])
    config, agents_md = ws.config.config, read_agents_md(ws)
    jobs = {
        v.k: VariantJob(run, v, plan, config, cluster.roles, agents_md) for v in record.variants
    }

    def done(k: int, outcome: VariantOutcome) -> None:
        _take(ws.root, git, record, outcome)
        save_run(ws.root, record)
        sizes = {"bundle": len(outcome.bundle), "events": len(outcome.events)}
        sizes["files"] = sum(len(data) for data in outcome.files.values())
        ws.log.emit("variant_fetched", run=record.id, k=k, host=outcome.host, bytes=sizes)

    def failed(k: int, why: str) -> None:
        variant = record.variant(k)
        variant.status, variant.reason = "failed", why
        save_run(ws.root, record)

    base = f"refs/tether/runs/{record.id}"
    await map_jobs(cluster, ws.root, base, jobs, run_job, done, failed, listener)


def _take(root: Path, git: Git, record: RunRecord, outcome: VariantOutcome) -> None:
    """The fetched result as worktree ``k``, its events and evidence in the run folder."""
    k = outcome.variant.k
    commit = fetch_result(git, outcome.bundle, results_ref(record.id, k))
    path = worktrees_dir(root, record.id) / str(k)
    path.parent.mkdir(parents=True, exist_ok=True)
    git.run("worktree", "add", "--detach", "--force", str(path), commit)
    events = events_path(root, record.id, k)
    events.parent.mkdir(parents=True, exist_ok=True)
    events.write_bytes(outcome.events)
    folder = events.parent
    local = _store_files(folder / "evidence", outcome.files)
    variant = replace(
        outcome.variant,
        worktree=str(path),
        screenshot=local.get(outcome.variant.screenshot, ""),
        gates=[_moved(g, local) for g in outcome.variant.gates],
    )
    if variant.screenshot:  # where a local run keeps it, beside run.json
        target = runs_dir(root) / record.id / f"{k}.png"
        target.write_bytes(Path(variant.screenshot).read_bytes())
        variant.screenshot = str(target)
    record.variants[[v.k for v in record.variants].index(k)] = variant


def _store_files(folder: Path, files: dict[str, bytes]) -> dict[str, str]:
    """Writes each file under ``folder``; the worker's path → the local one."""
    local = {}
    for i, (remote, data) in enumerate(files.items(), start=1):
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{i}-{Path(remote).name}"
        target.write_bytes(data)
        local[remote] = str(target)
    return local


def _moved(gate: GateResult, local: dict[str, str]) -> GateResult:
    return replace(
        gate, log_path=local.get(gate.log_path, ""), evidence=local.get(gate.evidence, "")
    )
