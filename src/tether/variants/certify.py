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
from typing import Any

from tether.config import FALLBACK, RoleConfig
from tether.gates.suite import GateSuite
from tether.models.types import Model
from tether.skills.store import CERTIFIED_KEY, Certification, set_metadata, today
from tether.telemetry import EventLog, utc_now
from tether.variants.run import WarmPrefix, default_concurrency
from tether.variants.store import new_run_id, runs_dir
from tether.variants.worktrees import add_worktrees, base_commit, remove_worktrees
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import Git
from tether.workflow.planfile import read_agents_md
from tether.workflow.preflight import check_work_tree
from tether.workflow.replay import (
    Chooser,
    Replayed,
    ReplayRequest,
    Way,
    first_failure,
    run_ways,
)
from tether.workflow.roles import Roles
from tether.workflow.skillset import skill_store
from tether.workflow.skilluse import SkillUse, use_of
from tether.workflow.taskrun import TaskSetting
from tether.workflow.tasks import TaskFactory
from tether.workspace import Workspace

CERTIFICATIONS = "references/certifications.jsonl"
Listener = Callable[[str, int], Callable[[dict[str, Any]], None]]


@dataclass
class Trial:
    k: int
    passed: bool
    way: str
    seconds: float
    failure: str = ""  # the first failing gate, or why it did not pass


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
    suite = GateSuite.load(ws.root, ws.config.config)
    run_id = new_run_id()
    commit, _ = base_commit(ShadowCheckpoints(git, task.contract.ledger_files), run_id)
    paths = add_worktrees(git, run_id, commit, request.count)
    ws.log.emit("certify_start", skill=use.skill.name, run=run_id, count=request.count)
    try:
        async with Roles(ws) as roles:
            label = "replay/exact" if request.way == "exact" else roles.label(choice)
            done = ModelCertification(label, run_id)
            chosen = roles.chosen(choice) if request.way != "exact" else None
            shared = WarmPrefix(chosen[0]) if chosen else None

            def choose(_: str | None) -> tuple[Model, RoleConfig, str | None]:
                assert chosen is not None and shared is not None  # exact asks for none
                return shared, chosen[1], chosen[2]

            cfg = chosen[1] if chosen else FALLBACK  # exact: no endpoint, local-sized
            limit = asyncio.Semaphore(
                request.concurrency or default_concurrency(cfg, request.count)
            )
            replay = ReplayRequest(use.skill.name, use.values, request.way, choice, commit=False)

            async def one(k: int, path: Path) -> None:
                async with limit:
                    trial = await _trial(
                        ws, suite, choose, use, replay, (run_id, k, path), listener
                    )
                    done.trials.append(trial)

            await asyncio.gather(*(one(k, p) for k, p in enumerate(paths, start=1)))
    finally:
        remove_worktrees(git, run_id)
    done.trials.sort(key=lambda t: t.k)
    ws.log.emit("certify_end", skill=use.skill.name, run=run_id, model=label,
                passed=done.passed, total=len(done.trials))  # fmt: skip
    return done


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
    log = EventLog(runs_dir(ws.root) / run_id / str(k) / "events.jsonl")
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
    return _judged(k, replayed)


def _judged(k: int, replayed: Replayed) -> Trial:
    result = replayed.result
    if result is None:
        return Trial(k, False, replayed.way, 0.0, f"exact did not apply: {replayed.exact_problem}")
    failure = "" if replayed.passed else first_failure(result)
    return Trial(k, replayed.passed, replayed.way, round(result.seconds, 2), failure)


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
