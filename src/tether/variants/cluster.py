"""Work on a Ray cluster, with no scheduler or transport of tether's own: one Ray task
per job, the repository's base as one git bundle in Ray's object store (shared by every
job), model keys only in the tasks' environment (``runtime_env.env_vars``), one small
actor that carries the jobs' events back live and holds the prefix-cache warm-up (the
first job's first request goes alone, as locally). A dead worker fails its job alone;
Ctrl-C cancels every task. Ray is imported here only, and only when ``--cluster`` is
given. What a job is (a variant, a skill's trial) is the caller's: ``body`` runs on the
worker, ``done`` and ``failed`` on the driver."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tether.config import ResolvedRole
from tether.errors import UsageError
from tether.telemetry import EventLog
from tether.variants.bundles import base_bundle
from tether.variants.remote import Post, Warm
from tether.vcs.git import Git
from tether.workspace import Workspace

Listener = Callable[[int], Callable[[dict[str, Any]], None]]
J = TypeVar("J")
R = TypeVar("R")
Body = Callable[[J, bytes, Post, Warm], R]

INSTALL = "pip install 'tether[ray]' (and tether itself on the cluster's image)"
PUMP_S = 0.2
CANCEL_WAIT_S = 10.0
CONNECT_S = 5.0


@dataclass
class Cluster:
    """Where jobs go and how: the address, the run's runtime_env, CPUs per job, jobs at
    once, and the roles' keys for the tasks' environment."""

    address: str
    runtime_env: dict[str, Any]
    cpus: float
    concurrency: int | None
    roles: dict[str, ResolvedRole]
    log: EventLog | None = None  # where Ray's own messages about the run go
    ray: Any = None  # the ray module, once connected

    @classmethod
    def of(cls, ws: Workspace, address: str, roles: list[str], concurrency: int | None) -> Cluster:
        section = ws.config.config.variants
        return cls(
            address=address,
            runtime_env=dict(section.runtime_env),
            cpus=section.cpus,
            concurrency=concurrency,
            roles={name: ws.config.require(name) for name in roles},
            log=ws.log,
        )

    @property
    def env_vars(self) -> dict[str, str]:
        """The roles' API keys, read here, sent in the tasks' environment only."""
        names = {r.key_env for r in self.roles.values() if r.key_env}
        return {name: os.environ[name] for name in sorted(names) if os.environ.get(name)}

    def connected(self) -> Cluster:
        """Connects now, so a wrong address fails before the run makes anything."""
        if self.ray is None:
            self.ray = connect(self.address, self.runtime_env)
            _keep_messages()
        return self

    def flush_messages(self) -> None:
        """Ray's messages kept since the last flush, into this run's log."""
        kept, _KEPT[:] = _KEPT[:], []
        if self.log is not None:
            for text in kept:
                self.log.emit("cluster_message", text=text[:2000])


_KEPT: list[str] = []  # Ray's messages about the job, until the run writes them down


def _keep_messages() -> None:
    """Ray's driver prints the cluster's messages about this job (a dead worker's
    diagnosis, in colour, several hundred characters) on stdout between tether's lines;
    they go to the session's log instead (the variant's reason says what happened).
    Ray has no option for it; where its internals differ, its printing stays."""
    try:
        worker = importlib.import_module("ray._private.worker")
        original = worker.print_to_stdstream
    except (ImportError, AttributeError):
        return
    if getattr(original, "tether_keeps", False):
        return

    def keep(data: dict[str, Any], ignore_prefix: bool) -> None:
        if data.get("pid") == "raylet":
            _KEPT.extend(str(line) for line in data.get("lines", []))
        else:
            original(data, ignore_prefix)

    keep.tether_keeps = True  # type: ignore[attr-defined]
    worker.__dict__["print_to_stdstream"] = keep


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


def _task(body: Body[Any, Any], job: Any, k: int, base: bytes, desk: Any) -> Any:
    """A Ray task, on a worker: ``body`` with the desk's event post and warm-up gate."""

    def post(event: dict[str, Any]) -> None:
        desk.post.remote(k, event)

    return body(job, base, post, _DeskWarm(desk))


async def map_jobs(
    cluster: Cluster,
    root: Path,
    base_ref: str,
    jobs: Mapping[int, J],
    body: Body[J, R],
    done: Callable[[int, R], None],
    failed: Callable[[int, str], None],
    listener: Listener,
) -> None:
    """Runs ``body(job, base bundle, post, warm)`` for every job as a Ray task; ``done``
    or ``failed`` (with a one-line reason) for each as it ends. Disconnects at the end."""
    ray = cluster.connected().ray
    try:
        run = _Mapped(
            cluster, ray, base_bundle(Git(root), base_ref), listener, min(jobs, default=0)
        )
        limit = asyncio.Semaphore(cluster.concurrency or max(1, len(jobs)))

        async def one(k: int, job: J) -> None:
            async with limit:
                await run.one(k, job, body, done, failed)

        pump = asyncio.create_task(_pump(run.desk, run.deliver))
        try:
            await asyncio.gather(*(one(k, job) for k, job in jobs.items()))
        finally:
            pump.cancel()
            await run.finish()
    finally:
        ray.shutdown()
        cluster.ray = None
        cluster.flush_messages()


class _Mapped:
    """One ``map_jobs``: the shared base, the desk, the task's Ray options, the printers
    (one listener per job, as locally: it keeps state) and what Ctrl-C cancelled."""

    def __init__(self, cluster: Cluster, ray: Any, base: bytes, listener: Listener, first: int):
        self.ray = ray
        self.desk = ray.remote(_Desk).options(num_cpus=0).remote()
        self.base = ray.put(base)
        env = cluster.env_vars
        self.task = ray.remote(_task).options(
            max_retries=0,
            num_cpus=cluster.cpus,
            runtime_env={"env_vars": env} if env else None,
        )
        self.listener = listener
        self.first = first
        self.printers: dict[int, Callable[[dict[str, Any]], None]] = {}
        self.cancelled: list[Any] = []

    def deliver(self, events: list[tuple[int, dict[str, Any]]]) -> None:
        for k, event in events:
            if k not in self.printers:
                self.printers[k] = self.listener(k)
            self.printers[k](event)

    async def one(
        self,
        k: int,
        job: J,
        body: Body[J, R],
        done: Callable[[int, R], None],
        failed: Callable[[int, str], None],
    ) -> None:
        ref = self.task.remote(body, job, k, self.base, self.desk)
        try:
            result = await ref
        except asyncio.CancelledError:
            self.ray.cancel(ref, force=True)
            self.cancelled.append(ref)
            raise
        except Exception as exc:  # a dead worker, a lost node, an error in the task
            failed(k, failure_reason(exc))
        else:
            done(k, result)
        finally:
            if k == self.first:  # never leave the others waiting on the warm-up
                self.desk.open.remote()

    async def finish(self) -> None:
        """Ctrl-C: the cancellations reach the workers before we leave; otherwise the
        events still on the desk are shown."""
        if self.cancelled:
            cancelled = self.cancelled
            self.ray.wait(cancelled, num_returns=len(cancelled), timeout=CANCEL_WAIT_S)
        else:
            self.deliver(await self.desk.drain.remote())


async def _pump(desk: Any, deliver: Callable[[list[tuple[int, dict[str, Any]]]], None]) -> None:
    while True:
        deliver(await desk.drain.remote())
        await asyncio.sleep(PUMP_S)


def failure_reason(exc: BaseException) -> str:
    """Why a job failed on the cluster, in one line (no Ray traceback)."""
    cause = getattr(exc, "cause", None)
    shown = cause if isinstance(cause, BaseException) else exc
    text = str(shown).strip().splitlines()
    name = type(shown).__name__
    if name == "WorkerCrashedError":
        why = "the worker running it died"
    elif name in ("NodeDiedError", "ObjectLostError", "OwnerDiedError"):
        why = f"the cluster lost it ({name})"
    elif name == "TaskCancelledError":
        why = "cancelled"
    else:
        why = f"{name}: {text[0][:300]}" if text else name
    return f"on the cluster: {why}"
