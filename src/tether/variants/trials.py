"""One replay of a skill judged as a trial of its certification, and the same on a
cluster worker: the skill's folder travels with the job (a personal skill is not in the
repository), the replay runs on a clone made from the run's bundle, and the trial comes
back with its events. The scratch folder is removed whatever happens."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import msgspec

from tether.config import ResolvedRole, RoleConfig, TetherConfig
from tether.gates.suite import GateSuite
from tether.models.registry import build_model
from tether.models.types import Model
from tether.telemetry import EventLog
from tether.variants.attempt import events_path
from tether.variants.bundles import read_bytes, scratch_clone
from tether.variants.remote import Post, Warm, Warmed
from tether.workflow.replay import Replayed, ReplayRequest, first_failure, run_ways
from tether.workflow.roles import LOCAL_ROLE
from tether.workflow.skillset import skill_store
from tether.workflow.skilluse import use_of
from tether.workflow.taskrun import TaskSetting
from tether.workflow.tasks import TaskFactory

SKILLS = "skills"  # the worker's personal skills folder, in its scratch folder


@dataclass
class Trial:
    k: int
    passed: bool
    way: str
    seconds: float
    failure: str = ""  # the first failing gate, or why it did not pass


def judged(k: int, replayed: Replayed) -> Trial:
    result = replayed.result
    if result is None:
        return Trial(k, False, replayed.way, 0.0, f"exact did not apply: {replayed.exact_problem}")
    failure = "" if replayed.passed else first_failure(result)
    return Trial(k, replayed.passed, replayed.way, round(result.seconds, 2), failure)


@dataclass
class TrialJob:
    """One trial's input, sent to a worker."""

    run_id: str
    k: int
    base_commit: str
    skill: str
    skill_files: dict[str, bytes]  # the skill's folder, by relative path
    replay: ReplayRequest
    role: str | None  # the role whose model replays (None: exact, or the embedded one)
    model_name: str | None  # a model name asked of that role's endpoint
    roles: dict[str, ResolvedRole]
    config: TetherConfig
    agents_md: str | None


@dataclass
class TrialOutcome:
    trial: Trial
    events: bytes


def skill_files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def run_trial(job: TrialJob, base: bytes, post: Post, warm: Warm) -> TrialOutcome:
    """One replay on this worker: clone, skill folder, replay, judge."""
    k = job.k
    with scratch_clone(base, job.base_commit, f"tether-trial-{job.run_id}-{k}-") as git:
        scratch = git.root.parent
        folder = scratch / SKILLS / job.skill
        for rel, data in job.skill_files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        skills = msgspec.structs.replace(job.config.skills, personal=str(scratch / SKILLS))
        config = msgspec.structs.replace(job.config, skills=skills)
        trial = asyncio.run(_replay(job, config, git.root, post, warm, k))
        return TrialOutcome(trial, read_bytes(events_path(git.root, job.run_id, k)))


async def _replay(
    job: TrialJob, config: TetherConfig, root: Path, post: Post, warm: Warm, k: int
) -> Trial:
    log = EventLog(events_path(root, job.run_id, k))
    log.subscribe(post)
    use = use_of(skill_store(root, config), job.skill, job.replay.params)
    setting = TaskSetting(
        root=root,
        config=config,
        log=log,
        session=f"{job.run_id}-{k}",
        suite=GateSuite.load(root, config),
        agents_md=job.agents_md,
    )
    models: list[Model] = []

    def choose(_: str | None) -> tuple[Model, RoleConfig, str | None]:
        role = job.roles[job.role] if job.role else LOCAL_ROLE
        assert role.config is not None
        if not models:
            models.append(Warmed(build_model(role), warm, first=k == 1))
        return models[0], role.config, job.model_name

    try:
        task = TaskFactory(root, config).from_skill(use)
        return judged(k, await run_ways(setting, choose, use, task, job.replay))
    finally:
        log.close()
        for model in models:
            await model.aclose()
