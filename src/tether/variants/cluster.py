"""Variants on a Ray cluster: one Ray task per variant, no scheduler or transport here.

Out: the run's base as one git bundle in Ray's object store (shared by every variant),
and per variant its task, contract, gates config and roles. Back: the result commit as
a bundle holding only new objects, the record, the events and the gates' evidence. The
driver fetches each result into ``refs/tether/results/<run>/<k>``, checks it out as the
run's worktree ``k`` and fills in ``run.json``, so the gallery, ``serve`` and ``pick``
work as for a local run. Model keys go only into the Ray tasks' environment
(``runtime_env.env_vars``). One small actor carries the events back live and holds the
prefix-cache warm-up (the first request goes alone, as locally). Ray is imported here
only, and only when ``--cluster`` is given."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tether.config import ResolvedRole, TetherConfig
from tether.errors import UsageError
from tether.gates.results import GateResult
from tether.variants.attempt import VariantPlan
from tether.variants.bundles import base_bundle, fetch_result, results_ref
from tether.variants.remote import Post, VariantJob, VariantOutcome, Warm, run_job
from tether.variants.store import RunRecord, VariantRecord, runs_dir, save_run
from tether.variants.worktrees import worktrees_dir
from tether.vcs.git import Git
from tether.workflow.planfile import read_agents_md
from tether.workspace import Workspace

Listener = Callable[[int], Callable[[dict[str, Any]], None]]

INSTALL = "pip install 'tether[ray]' (and tether itself on the cluster's image)"
PUMP_S = 0.2
CANCEL_WAIT_S = 10.0
CONNECT_S = 5.0


@dataclass
class ClusterRun:
    """Where and how a run's variants go to the cluster, and what each one is sent."""

    root: Path
    address: str
    runtime_env: dict[str, Any]
    cpus: float
    concurrency: int | None
    env_vars: dict[str, str]  # the roles' API keys, for the tasks' environment only
    plan: VariantPlan
    config: TetherConfig
    roles: dict[str, ResolvedRole]
    agents_md: str | None
    ray: Any = None  # the ray module, once connected

    @classmethod
    def of(cls, ws: Workspace, plan: VariantPlan) -> ClusterRun:
        assert plan.cluster is not None
        names = [plan.role, *(["reviewer"] if plan.review else [])]
        roles = {name: ws.config.require(name) for name in names}
        keys = {r.key_env: os.environ.get(r.key_env, "") for r in roles.values() if r.key_env}
        section = ws.config.config.variants
        return cls(
            root=ws.root,
            address=plan.cluster,
            runtime_env=dict(section.runtime_env),
            cpus=section.cpus,
            concurrency=plan.concurrency,
            env_vars={name: value for name, value in keys.items() if value},
            plan=plan,
            config=ws.config.config,
            roles=roles,
            agents_md=read_agents_md(ws),
        )

    def connected(self) -> ClusterRun:
        """Connects now, so a wrong address fails before the run makes anything."""
        self.ray = connect(self.address, self.runtime_env)
        return self

    def job(self, record: RunRecord, variant: VariantRecord) -> VariantJob:
        run = replace(record, variants=[])
        return VariantJob(run, variant, self.plan, self.config, self.roles, self.agents_md)


def connect(address: str, runtime_env: dict[str, Any]) -> Any:
    """``ray`` connected to ``address`` (``ray://host:port``, ``host:port`` or ``auto``)."""
    try:
        import ray
    except ImportError:
        raise UsageError("--cluster needs Ray, which is not installed", hint=INSTALL) from None
    if address == "auto":
        address = os.environ.get("RAY_ADDRESS", "")
        if not address:
            raise UsageError(
                "--cluster auto: RAY_ADDRESS is not set",
                hint="export RAY_ADDRESS=ray://HOST:10001, or give --cluster ray://HOST:PORT",
            )
    _check_listening(address)
    # a Ray Client server can fail the first connection after the head starts (its
    # per-client server races its own start-up check): ray:// gets three tries
    tries = 3 if address.startswith("ray://") else 1
    for attempt in range(1, tries + 1):
        try:
            ray.init(
                address=address,
                runtime_env=runtime_env or None,
                logging_level=logging.ERROR,
                log_to_driver=False,
            )
            break
        except Exception as exc:  # Ray raises ConnectionError, ValueError, RuntimeError ...
            if attempt == tries:
                raise _unreachable(address, exc) from None
            time.sleep(1.0)
    return ray


def _check_listening(address: str) -> None:
    """Fail in seconds, not after Ray's minute of retries, when nothing answers there."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(
            f"--cluster {address!r} is not a Ray address",
            hint="give ray://HOST:PORT (Ray Client), HOST:PORT (the head's GCS) or auto",
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_S).close()
    except OSError as exc:
        raise UsageError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}",
            hint="start one with `ray start --head`, or check the address and port",
        ) from None


def _unreachable(address: str, exc: Exception) -> UsageError:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    why = " ".join(lines[:2])[:300] or type(exc).__name__
    hint = "start one with `ray start --head`, or check the address"
    if address.startswith("ray://") and "client" in why.lower():
        hint = "is the head's Ray Client server up (port 10001 by default)? "
        hint += "pip install 'ray[client]'"
    return UsageError(f"cannot reach the Ray cluster at {address}: {why}", hint=hint)


class _Desk:
    """The run's actor: events posted by the workers, drained by the driver; the warm-up
    gate the first variant opens."""

    def __init__(self) -> None:
        self.events: list[tuple[int, dict[str, Any]]] = []
        self.opened = asyncio.Event()

    async def post(self, k: int, event: dict[str, Any]) -> None:
        self.events.append((k, event))

    async def drain(self) -> list[tuple[int, dict[str, Any]]]:
        events, self.events = self.events, []
        return events

    async def wait(self) -> None:
        await self.opened.wait()

    async def open(self) -> None:
        self.opened.set()


class _DeskWarm:
    """The ``Warm`` a worker sees: the desk's gate."""

    def __init__(self, desk: Any):
        self.desk = desk

    async def wait(self) -> None:
        await self.desk.wait.remote()

    def open(self) -> None:
        self.desk.open.remote()


def _variant_task(job: VariantJob, base: bytes, desk: Any) -> VariantOutcome:
    """The Ray task's body, on a worker."""
    k = job.variant.k

    def post(event: dict[str, Any]) -> None:
        desk.post.remote(k, event)

    warm: Warm = _DeskWarm(desk)
    sent: Post = post
    return run_job(job, base, sent, warm)


async def run_on_cluster(cluster: ClusterRun, record: RunRecord, listener: Listener) -> None:
    """Every variant of ``record`` as a Ray task; their results fetched into the repo."""
    ray = cluster.ray or cluster.connected().ray
    git = Git(cluster.root)
    try:
        desk = ray.remote(_Desk).options(num_cpus=0).remote()
        base = ray.put(base_bundle(git, f"refs/tether/runs/{record.id}"))
        task = ray.remote(_variant_task).options(
            max_retries=0,
            num_cpus=cluster.cpus,
            runtime_env={"env_vars": cluster.env_vars} if cluster.env_vars else None,
        )
        limit = asyncio.Semaphore(cluster.concurrency or len(record.variants))
        cancelled: list[Any] = []
        pump = asyncio.create_task(_pump(desk, listener))

        async def one(variant: VariantRecord) -> None:
            async with limit:
                job = cluster.job(record, variant)
                ref = task.remote(job, base, desk)
                try:
                    outcome: VariantOutcome = await ref
                except asyncio.CancelledError:
                    ray.cancel(ref, force=True)
                    cancelled.append(ref)
                    raise
                except Exception as exc:  # a dead worker, a lost node, an error in the task
                    _failed(variant, exc)
                else:
                    _take(cluster.root, git, record, outcome)
                finally:
                    if variant.k == 1:  # never leave the others waiting on the warm-up
                        desk.open.remote()
                save_run(cluster.root, record)

        try:
            await asyncio.gather(*(one(v) for v in record.variants))
        finally:
            pump.cancel()
            if cancelled:  # Ctrl-C: the cancellations reach the workers before we leave
                ray.wait(cancelled, num_returns=len(cancelled), timeout=CANCEL_WAIT_S)
            else:
                await _deliver(await desk.drain.remote(), listener)
    finally:
        ray.shutdown()


async def _pump(desk: Any, listener: Listener) -> None:
    while True:
        await _deliver(await desk.drain.remote(), listener)
        await asyncio.sleep(PUMP_S)


async def _deliver(events: list[tuple[int, dict[str, Any]]], listener: Listener) -> None:
    for k, event in events:
        listener(k)(event)


def _failed(variant: VariantRecord, exc: BaseException) -> None:
    """The variant failed on the cluster: why, in one line (no Ray traceback)."""
    cause = getattr(exc, "cause", None)
    shown = cause if isinstance(cause, BaseException) else exc
    text = str(shown).strip().splitlines()
    name = type(shown).__name__
    if name == "WorkerCrashedError":
        why = "the worker running it died"
    elif name in ("NodeDiedError", "ObjectLostError", "OwnerDiedError"):
        why = f"the cluster lost it ({name})"
    else:
        why = f"{name}: {text[0][:300]}" if text else name
    variant.status, variant.reason = "failed", f"on the cluster: {why}"


def _take(root: Path, git: Git, record: RunRecord, outcome: VariantOutcome) -> None:
    """The fetched result as worktree ``k``, its events and evidence in the run folder."""
    k = outcome.variant.k
    commit = fetch_result(git, outcome.bundle, results_ref(record.id, k))
    path = worktrees_dir(root, record.id) / str(k)
    path.parent.mkdir(parents=True, exist_ok=True)
    git.run("worktree", "add", "--detach", "--force", str(path), commit)
    folder = runs_dir(root) / record.id / str(k)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.jsonl").write_bytes(outcome.events)
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
