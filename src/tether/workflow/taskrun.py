"""The composition root of one task run: from a ``Task``, a model, the work tree and the
gates it builds the guard, the sandbox, the tools, the step guard and the executor, runs
it, and applies the failure policy. ``do``, ``run``, variants (and later skills) all
start tasks here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from tether.agent.guidance import SmallModelGuide
from tether.agent.loop import Executor
from tether.agent.outcomes import TaskResult
from tether.agent.prompt import EXECUTOR_SYSTEM, TaskPrompt
from tether.agent.seams import Steering
from tether.agent.state import LoopSettings
from tether.agent.task import Task
from tether.config import RoleConfig, TetherConfig
from tether.gates.context import Reviewer
from tether.gates.suite import GateSuite
from tether.gates.tiers import GateTiers
from tether.guard.contract import Contract
from tether.guard.diffcheck import DiffContract
from tether.guard.gitstate import GitStateCopy, git_dir_of
from tether.guard.ledger import LedgerCopy
from tether.guard.live import LiveRules
from tether.guard.policy import ActionPolicy
from tether.guard.stepguard import TaskStepGuard
from tether.models.types import Message, Model
from tether.rules.globs import matches_any
from tether.sandbox import Sandbox
from tether.telemetry import EventLog
from tether.tools.specs import offered
from tether.tools.toolbox import Toolbox
from tether.vcs.checkpoints import ShadowCheckpoints, always_covered
from tether.vcs.git import Git
from tether.vcs.snapshot import TreeScanner
from tether.vcs.worktree import GitWorkTree
from tether.workflow.failure import apply_failure_policy
from tether.workflow.sandboxes import sandbox_for
from tether.workflow.skillset import Catalog, catalog
from tether.workspace import StateLayout

UNSANDBOXED = (
    "commands run unsandboxed ({why}), so what the model runs can "
    "read and write files outside the repository, reach the network and read tether's "
    "own environment (/proc); the action policy and the diff contract (with rollback) "
    "still apply. Install bubblewrap (apt-get install bubblewrap), or set "
    '[guard] sandbox = "bwrap" to refuse to run without it'
)


@dataclass
class TaskSetting:
    """Everything a task needs that does not depend on the model."""

    root: Path
    config: TetherConfig
    log: EventLog
    session: str
    suite: GateSuite
    agents_md: str | None = None
    port: int | None = None
    live: LiveRules | None = None  # the session's rules, followed while the task runs
    steering: Steering | None = None  # the developer: stop, review, what they said

    @property
    def evidence_dir(self) -> Path:
        return StateLayout(self.root).evidence(self.session)


@dataclass(frozen=True)
class RunOptions:
    """How one executor context runs (from the role's config, overridable)."""

    context_window: int = 32_768
    handoff_at: float = 0.6
    max_output_tokens: int = 4096
    temperature: float | None = None
    commit: bool | None = None
    handoff: str = ""
    system: str = EXECUTOR_SYSTEM
    brief: str = ""
    example: tuple[Message, ...] = ()  # a skill's worked example (a guided replay)
    index: bool = True  # list the repository's skills (not with an example, nor exact)

    @classmethod
    def from_role(cls, cfg: RoleConfig, **overrides: object) -> RunOptions:
        base = cls(
            context_window=cfg.context_window,
            handoff_at=cfg.handoff_at,
            max_output_tokens=cfg.max_output_tokens,
            temperature=cfg.temperature,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]


def _say_at_start(
    setting: TaskSetting, sandbox: Sandbox, worktree: GitWorkTree, gates: GateTiers | None
) -> None:
    """What the developer should know before any tool runs, said once the task has
    started (after its first request went out): the sandbox, a task that no gate
    verifies, files too large to checkpoint (no rollback or undo can bring them back)."""
    _note_sandbox(setting, sandbox)
    if gates is None or not gates.verifies:
        setting.log.note_once(
            "unverified",
            "no task gates: VERIFY.md has no `## task` gate and the task no `accept:`, "
            "so a done task is recorded as done, unverified (`tether init` writes a "
            "VERIFY.md)",
        )
    large = worktree.left_out()
    if large:
        shown = ", ".join(f"{p} ({size / 1e6:.0f} MB)" for p, size in large[:5])
        setting.log.note_once(
            "left-out",
            f"left out of checkpoints (over [guard] max_file_mb): {shown}; tether cannot "
            "restore them; add them to .gitignore or raise max_file_mb",
        )


def checkpoints_for(root: Path, contract: Contract) -> ShadowCheckpoints:
    """Checkpoints whose snapshots cover what the contract guards, ignored or not: the
    protected paths, the rule files, every tether.toml (see ``vcs/snapshot.py``)."""
    git = Git(root)

    def covers(rel: str) -> bool:
        return (
            always_covered(rel)
            or rel in contract.rule_files
            or matches_any(list(contract.protected), rel)
        )

    dirs = tuple(p.split("*")[0].rstrip("/") for p in contract.protected if p.split("*")[0])
    scanner = TreeScanner(
        git, contract.ledger_files, covers, dirs, max_file_bytes=contract.max_file_bytes
    )
    return ShadowCheckpoints(git, contract.ledger_files, scanner)


def gates_for(
    setting: TaskSetting, task: Task, sandbox: Sandbox, reviewer: Reviewer | None
) -> GateTiers | None:
    specs = setting.suite.for_task(task.contract.accept)
    if not specs:
        return None
    runner = setting.suite.runner(
        setting.root, specs, setting.log, setting.evidence_dir, sandbox, reviewer, setting.port
    )
    contract = f"Task: {task.title}\n{task.instruction}\n\n{task.contract.describe()}"
    return GateTiers(runner=runner, git=Git(setting.root), contract=contract)


async def run_task(
    setting: TaskSetting,
    task: Task,
    model: Model,
    options: RunOptions,
    reviewer: Reviewer | None = None,
    before_settle: Callable[[TaskResult], Awaitable[None]] | None = None,
) -> TaskResult:
    """Run ``task`` with ``model`` in ``setting.root`` (the model is not closed here),
    then apply the failure policy. ``before_settle`` sees the tree as the task left it."""
    own = task.contract  # the live rules apply over it (a dropped one leaves it as it was)
    if setting.live is not None:  # the sandbox and snapshots cover the live protect rules
        task = replace(task, contract=own.with_rules(setting.live.rules))
    sandbox = sandbox_for(setting.root, setting.config, task.contract)
    worktree = GitWorkTree(checkpoints_for(setting.root, task.contract), setting.session)
    policy = ActionPolicy(setting.root, own if setting.live is not None else task.contract)
    if setting.live is not None:
        setting.live.attach(policy)
    listed = options.index and not options.example
    skills = catalog(setting.root, setting.config) if listed else Catalog()
    async with sandbox.steps() as steps:  # one cgroup entered for the task's commands
        executor = build_executor(
            setting, task, model, options, (policy, (steps, sandbox), skills), worktree, reviewer
        )
        try:
            result = await executor.run(task, _prompt(setting, task, options, skills))
        finally:
            if setting.live is not None:
                setting.live.detach(policy)
    if before_settle is not None:
        await before_settle(result)
    return apply_failure_policy(worktree, task, result)


def _prompt(setting: TaskSetting, task: Task, options: RunOptions, skills: Catalog) -> TaskPrompt:
    return TaskPrompt.for_task(
        task.title,
        task.instruction,
        task.contract,
        offered(skills.load is not None),
        agents_md=setting.agents_md,
        handoff=options.handoff,
        system=options.system,
        brief=options.brief,
        skills=skills.text,
        example=options.example,
    )


def build_executor(
    setting: TaskSetting,
    task: Task,
    model: Model,
    options: RunOptions,
    guarded: tuple[ActionPolicy, tuple[Sandbox, Sandbox], Catalog],
    worktree: GitWorkTree,
    reviewer: Reviewer | None,
) -> Executor:
    """The executor of one task, every seam filled (``guarded``: its action policy, the
    sandboxes its step commands and its gates run in, the skills ``use_skill`` loads)."""
    root, config = setting.root, setting.config
    policy, (steps, sandbox), skills = guarded
    git_dir = git_dir_of(root)
    gates = gates_for(setting, task, sandbox, reviewer)
    guard = TaskStepGuard(
        worktree,
        DiffContract(policy),
        config.guard.max_violations,
        LedgerCopy(root, task.contract.ledger_files),
        GitStateCopy(git_dir) if git_dir else None,
    )
    return Executor(
        model=model,
        tools=Toolbox(root, policy, steps, config.guard.command_timeout_s, skills.load),
        worktree=worktree,
        guard=guard,
        events=setting.log,
        gates=gates,
        shaper=SmallModelGuide(policy, root) if model.info.provider == "local" else None,
        settings=LoopSettings(
            max_output_tokens=options.max_output_tokens,
            temperature=options.temperature,
            max_gate_attempts=config.gates.max_attempts,
            commit=config.run.commit if options.commit is None else options.commit,
            context_window=options.context_window,
            handoff_at=options.handoff_at,
            session=setting.session,
        ),
        steering=setting.steering,
        began=lambda: _say_at_start(setting, sandbox, worktree, gates),
    )


def _note_sandbox(setting: TaskSetting, sandbox: Sandbox) -> None:
    if sandbox.name != "none":
        setting.log.emit("sandbox", kind=sandbox.name)
        return
    why = (
        'sandbox = "none"'
        if setting.config.guard.sandbox == "none"
        else "bubblewrap is not installed"
    )
    setting.log.emit("sandbox", kind=sandbox.name, note=UNSANDBOXED.format(why=why))
