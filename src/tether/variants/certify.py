"""``tether skills certify``: N replays of a skill per model, each in its own worktree
of the current tree (the variants machinery: one base commit, one worktree each, the
first request alone so the provider caches the shared prefix), each under the skill's
contract and gates. The pass rate per model goes into the skill's frontmatter
(``metadata.tether-certified``) and every replay's outcome into
``references/certifications.jsonl``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.config import FALLBACK, RoleConfig
from tether.gates.suite import GateSuite
from tether.models.types import Model
from tether.skills.store import CERTIFIED_KEY, Certification, set_metadata, today
from tether.telemetry import EventLog, utc_now
from tether.variants.attempt import events_path
from tether.variants.run import WarmPrefix, default_concurrency
from tether.variants.store import new_run_id
from tether.variants.trials import Trial, TrialJob, TrialOutcome, judged, run_trial, skill_files
from tether.variants.worktrees import add_worktrees, base_commit, remove_worktrees
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import Git
from tether.workflow.planfile import read_agents_md
from tether.workflow.preflight import check_work_tree
from tether.workflow.replay import Chooser, ReplayRequest, Way, run_ways
from tether.workflow.roles import Roles, role_of
from tether.workflow.skillset import skill_store
from tether.workflow.skilluse import SkillUse, use_of
from tether.workflow.taskrun import TaskSetting
from tether.workflow.tasks import TaskFactory
from tether.workspace import Workspace

if TYPE_CHECKING:
    from tether.variants.cluster import Cluster

__all__ = ["CertifyRequest", "ModelCertification", "Trial", "certify"]

CERTIFICATIONS = "references/certifications.jsonl"
Listener = Callable[[str, int], Callable[[dict[str, Any]], None]]


@dataclass
class ModelCertification:
    model: str
    run: str
    trials: list[Trial] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for t in self.trials if t.passed)

    def certification(self) -> Certification:
        return Certification(self.model, self.passed, len(self.trials), today())


@dataclass(frozen=True)
class CertifyRequest:
    name: str
    params: dict[str, str]
    count: int = 10
    models: tuple[str | None, ...] = (None,)
    way: Way = "guided"
    concurrency: int | None = None
    cluster: str | None = None  # a Ray address: the replays run there


async def certify(
    ws: Workspace, request: CertifyRequest, listener: Listener, allow_detached: bool = False
) -> list[ModelCertification]:
    check_work_tree(ws, allow_detached)
    use = use_of(skill_store(ws.root, ws.config.config), request.name, request.params)
    results = []
    for choice in request.models:
        results.append(await _one_model(ws, use, request, choice, listener))
    _record(use, results, request)
    return results


async def _one_model(
    ws: Workspace,
    use: SkillUse,
    request: CertifyRequest,
    choice: str | None,
    listener: Listener,
) -> ModelCertification:
    git = Git(ws.root)
    factory = TaskFactory(ws.root, ws.config.config, lambda t: ws.log.note_once(t, t))
    task = factory.from_skill(use)
    role, name = (None, None) if request.way == "exact" else role_of(choice)
    cluster = None
    if request.cluster:  # connected now: a wrong address fails before anything is made
        from tether.variants.cluster import Cluster

        roles = [role] if role else []
        cluster = Cluster.of(ws, request.cluster, roles, request.concurrency).connected()
    run_id = new_run_id()
    commit, _ = base_commit(ShadowCheckpoints(git, task.contract.ledger_files), run_id)
    ws.log.emit("certify_start", skill=use.skill.name, run=run_id, count=request.count)
    replay = ReplayRequest(use.skill.name, use.values, request.way, choice, commit=False)
    async with Roles(ws) as models:
        label = "replay/exact" if request.way == "exact" else models.label(choice)
        done = ModelCertification(label, run_id)
        if cluster is not None:
            jobs = {
                k: TrialJob(run_id, k, commit, use.skill.name, skill_files(use.skill.folder),
                            replay, role, name, cluster.roles, ws.config.config,
                            read_agents_md(ws))
                for k in range(1, request.count + 1)
            }  # fmt: skip
            await _on_cluster(ws, cluster, jobs, done, listener)
        else:
            await _here(ws, models, use, request, replay, (run_id, commit, done), listener)
    done.trials.sort(key=lambda t: t.k)
    ws.log.emit("certify_end", skill=use.skill.name, run=run_id, model=label,
                passed=done.passed, total=len(done.trials))  # fmt: skip
    return done


async def _here(
    ws: Workspace,
    roles: Roles,
    use: SkillUse,
    request: CertifyRequest,
    replay: ReplayRequest,
    run: tuple[str, str, ModelCertification],
    listener: Listener,
) -> None:
    """The trials in worktrees on this machine, on one event loop."""
    run_id, commit, done = run
    git = Git(ws.root)
    suite = GateSuite.load(ws.root, ws.config.config)
    paths = add_worktrees(git, run_id, commit, request.count)
    try:
        chosen = roles.chosen(replay.model) if request.way != "exact" else None
        shared = WarmPrefix(chosen[0]) if chosen else None

        def choose(_: str | None) -> tuple[Model, RoleConfig, str | None]:
            assert chosen is not None and shared is not None  # exact asks for none
            return shared, chosen[1], chosen[2]

        cfg = chosen[1] if chosen else FALLBACK  # exact: no endpoint, local-sized
        limit = asyncio.Semaphore(request.concurrency or default_concurrency(cfg, request.count))

        async def one(k: int, path: Path) -> None:
            async with limit:
                trial = await _trial(ws, suite, choose, use, replay, (run_id, k, path), listener)
                done.trials.append(trial)

        await asyncio.gather(*(one(k, p) for k, p in enumerate(paths, start=1)))
    finally:
        remove_worktrees(git, run_id)


async def _on_cluster(
    ws: Workspace,
    cluster: Cluster,
    jobs: dict[int, TrialJob],
    done: ModelCertification,
    listener: Listener,
) -> None:
    """The trials as Ray tasks; each one's events kept where a local trial keeps them."""
    from tether.variants.cluster import map_jobs

    def ok(k: int, outcome: TrialOutcome) -> None:
        path = events_path(ws.root, done.run, k)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(outcome.events)
        done.trials.append(outcome.trial)

    def failed(k: int, why: str) -> None:
        done.trials.append(Trial(k, False, jobs[k].replay.way, 0.0, why))

    base = f"refs/tether/runs/{done.run}"
    await map_jobs(
        cluster, ws.root, base, jobs, run_trial, ok, failed, lambda k: listener(done.run, k)
    )


async def _trial(
    ws: Workspace,
    suite: GateSuite,
    choose: Chooser,
    use: SkillUse,
    replay: ReplayRequest,
    where: tuple[str, int, Path],
    listener: Listener,
) -> Trial:
    run_id, k, root = where
    log = EventLog(events_path(ws.root, run_id, k))
    log.subscribe(listener(run_id, k))
    setting = TaskSetting(
        root=root,
        config=ws.config.config,
        log=log,
        session=f"{run_id}-{k}",
        suite=suite,
        agents_md=read_agents_md(ws),
    )
    task = TaskFactory(root, ws.config.config).from_skill(use)
    try:
        replayed = await run_ways(setting, choose, use, task, replay)
    finally:
        log.close()
    return judged(k, replayed)


def _record(use: SkillUse, results: list[ModelCertification], request: CertifyRequest) -> None:
    """The frontmatter keeps each model's newest rate; the jsonl every trial."""
    folder = use.skill.folder
    kept = {c.model: c for c in use.skill.certifications}
    for result in results:  # the newest goes last
        kept.pop(result.model, None)
        kept[result.model] = result.certification()
    set_metadata(folder, CERTIFIED_KEY, "; ".join(c.render() for c in kept.values()))
    path = folder / CERTIFICATIONS
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for result in results:
            line = {
                "time": utc_now(),
                "model": result.model,
                "run": result.run,
                "way": request.way,
                "params": use.values,
                "passed": result.passed,
                "total": len(result.trials),
                "trials": [t.__dict__ for t in result.trials],
            }
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
