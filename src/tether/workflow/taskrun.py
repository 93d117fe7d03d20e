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
from tether.agent.state import LoopSettings
from tether.agent.task import Task
from tether.config import RoleConfig, TetherConfig
from tether.gates.context import Reviewer
from tether.gates.suite import GateSuite
from tether.gates.tiers import GateTiers
from tether.guard.diffcheck import DiffContract
from tether.guard.policy import ActionPolicy
from tether.guard.stepguard import TaskStepGuard
from tether.models.types import Model
from tether.sandbox import Sandbox
from tether.telemetry import EventLog
from tether.tools.specs import EXECUTOR_TOOLS
from tether.tools.toolbox import Toolbox
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import Git
from tether.vcs.worktree import GitWorkTree
from tether.workflow.failure import apply_failure_policy
from tether.workflow.sandboxes import sandbox_for
from tether.workspace import StateLayout

UNSANDBOXED = (
    "commands run unsandboxed (install bubblewrap for OS isolation); the action "
    "policy and the diff contract still apply"
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

    @classmethod
    def from_role(cls, cfg: RoleConfig, **overrides: object) -> RunOptions:
        base = cls(
            context_window=cfg.context_window,
            handoff_at=cfg.handoff_at,
            max_output_tokens=cfg.max_output_tokens,
            temperature=cfg.temperature,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]


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
    root, config = setting.root, setting.config
    sandbox = sandbox_for(root, config, task.contract)
    setting.log.emit(
        "sandbox", kind=sandbox.name, **({"note": UNSANDBOXED} if sandbox.name == "none" else {})
    )
    policy = ActionPolicy(root, task.contract)
    checkpoints = ShadowCheckpoints(Git(root), task.contract.ledger_files)
    worktree = GitWorkTree(checkpoints, setting.session)
    executor = Executor(
        model=model,
        tools=Toolbox(root, policy, sandbox, config.guard.command_timeout_s),
        worktree=worktree,
        guard=TaskStepGuard(worktree, DiffContract(policy), config.guard.max_violations),
        events=setting.log,
        gates=gates_for(setting, task, sandbox, reviewer),
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
    )
    prompt = TaskPrompt.for_task(
        task.title,
        task.instruction,
        task.contract,
        EXECUTOR_TOOLS,
        agents_md=setting.agents_md,
        handoff=options.handoff,
        system=options.system,
        brief=options.brief,
    )
    result = await executor.run(task, prompt)
    if before_settle is not None:
        await before_settle(result)
    return apply_failure_policy(worktree, task, result)
