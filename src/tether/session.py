"""Wiring for one task in one work tree: model, guard, sandbox, tools, checkpoints,
gates, executor. The CLI, the plan runner and variants all start tasks through here."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from tether.agent.loop import Executor, LoopSettings, Task
from tether.agent.outcomes import TaskResult
from tether.agent.prompt import EXECUTOR_SYSTEM, TaskPrompt
from tether.config import RoleConfig, TetherConfig
from tether.errors import UsageError
from tether.gates.context import Reviewer
from tether.gates.verify import VerifyGates
from tether.guard.diffcheck import DiffContract
from tether.guard.globs import matches_any
from tether.guard.policy import ActionPolicy
from tether.guard.sandbox import BwrapSandbox, PlainSandbox, make_sandbox
from tether.models.types import Model
from tether.telemetry import EventLog
from tether.tools import files
from tether.tools.specs import EXECUTOR_TOOLS
from tether.tools.toolbox import Toolbox
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import Git
from tether.verification import accept_gates, gate_runner, load_gates
from tether.workspace import state_dir

UNSANDBOXED = (
    "commands run unsandboxed (install bubblewrap for OS isolation); the action "
    "policy and the diff contract still apply"
)


@dataclass
class TaskEnvironment:
    """Everything a task needs that does not depend on the model."""

    root: Path
    config: TetherConfig
    log: EventLog
    session: str
    agents_md: str | None = None
    port: int | None = None

    @property
    def evidence_dir(self) -> Path:
        return self.root / ".tether" / "sessions" / self.session / "gates"


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


def sandbox_for(env: TaskEnvironment, task: Task) -> BwrapSandbox | PlainSandbox:
    contract = task.contract
    protected = [p for p in files.repo_files(env.root) if matches_any(contract.protect, p)]
    protected += list(contract.ledger_files)
    protected += [p for p in contract.rule_files if not contract.rule_file_in_scope(p)]
    return make_sandbox(
        env.config.guard.sandbox, read_only=protected, allow_network=task.contract.allow_network
    )


def gates_for(
    env: TaskEnvironment,
    task: Task,
    sandbox: BwrapSandbox | PlainSandbox,
    reviewer: Reviewer | None,
) -> VerifyGates | None:
    specs = load_gates(env.root, env.config) + accept_gates(task.contract.accept)
    if not specs:
        return None
    runner = gate_runner(env.root, env.config, specs, env.log, env.evidence_dir, sandbox, reviewer)
    runner.port = env.port
    contract = f"Task: {task.title}\n{task.instruction}\n\n{task.contract.describe()}"
    return VerifyGates(runner=runner, git=Git(env.root), contract=contract)


async def run_task(
    env: TaskEnvironment,
    task: Task,
    model: Model,
    options: RunOptions,
    reviewer: Reviewer | None = None,
) -> TaskResult:
    """Run ``task`` with ``model`` in ``env.root``; the model is not closed here."""
    sandbox = sandbox_for(env, task)
    env.log.emit(
        "sandbox", kind=sandbox.name, **({"note": UNSANDBOXED} if sandbox.name == "none" else {})
    )
    policy = ActionPolicy(env.root, task.contract)
    settings = LoopSettings(
        max_output_tokens=options.max_output_tokens,
        temperature=options.temperature,
        max_violations=env.config.guard.max_violations,
        max_gate_attempts=env.config.gates.max_attempts,
        commit=env.config.run.commit if options.commit is None else options.commit,
        context_window=options.context_window,
        handoff_at=options.handoff_at,
        guide_small_model=model.info.provider == "local",
    )
    executor = Executor(
        model=model,
        toolbox=Toolbox(env.root, policy, sandbox, env.config.guard.command_timeout_s),
        checkpoints=ShadowCheckpoints(Git(env.root), task.contract.ledger_files),
        diff_contract=DiffContract(policy),
        log=env.log,
        session=env.session,
        settings=settings,
        gates=gates_for(env, task, sandbox, reviewer),
    )
    prompt = TaskPrompt.for_task(
        task.title,
        task.instruction,
        task.contract,
        EXECUTOR_TOOLS,
        agents_md=env.agents_md,
        handoff=options.handoff,
        system=options.system,
        brief=options.brief,
    )
    return await executor.run(task, prompt)


@contextmanager
def work_tree_lock(root: Path) -> Iterator[None]:
    """One tether task at a time per work tree (released by the OS if tether dies)."""
    fd = os.open(state_dir(root) / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"another tether task is running in {root}",
                hint="wait for it, or stop it (Ctrl-C); a killed run releases the lock",
            ) from None
        yield
    finally:
        os.close(fd)
