"""Wiring for one task in one work tree: model, guard, sandbox, tools, checkpoints,
gates, executor. The CLI, the plan runner and variants all start tasks through here."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tether.agent.loop import Executor, Gates, LoopSettings, Task
from tether.agent.outcomes import TaskResult
from tether.agent.prompt import TaskPrompt
from tether.config import TetherConfig
from tether.errors import UsageError
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


@dataclass
class TaskEnvironment:
    """Everything a task needs that does not depend on the model."""

    root: Path
    config: TetherConfig
    log: EventLog
    session: str
    agents_md: str | None = None


def sandbox_for(env: TaskEnvironment, task: Task) -> BwrapSandbox | PlainSandbox:
    protected = [p for p in files.repo_files(env.root) if matches_any(task.contract.protect, p)]
    return make_sandbox(
        env.config.guard.sandbox, read_only=protected, allow_network=task.contract.allow_network
    )


async def run_task(
    env: TaskEnvironment,
    task: Task,
    model: Model,
    *,
    gates: Gates | None = None,
    handoff: str = "",
    context_window: int | None = None,
    handoff_at: float = 0.6,
    max_output_tokens: int = 4096,
    temperature: float | None = None,
    commit: bool | None = None,
    system: str | None = None,
) -> TaskResult:
    """Run ``task`` with ``model`` in ``env.root``; the model is not closed here."""
    git = Git(env.root)
    policy = ActionPolicy(env.root, task.contract)
    sandbox = sandbox_for(env, task)
    if isinstance(sandbox, BwrapSandbox):
        env.log.emit("sandbox", kind="bwrap")
    else:
        env.log.emit(
            "sandbox",
            kind="none",
            note="commands run unsandboxed (install bubblewrap for OS isolation); "
            "the action policy and the diff contract still apply",
        )
    toolbox = Toolbox(env.root, policy, sandbox, env.config.guard.command_timeout_s)
    settings = LoopSettings(
        max_output_tokens=max_output_tokens,
        temperature=temperature,
        max_violations=env.config.guard.max_violations,
        max_gate_attempts=env.config.gates.max_attempts,
        commit=env.config.run.commit if commit is None else commit,
        context_window=context_window or model.info.context_window,
        handoff_at=handoff_at,
    )
    executor = Executor(
        model=model,
        toolbox=toolbox,
        checkpoints=ShadowCheckpoints(git),
        diff_contract=DiffContract(policy),
        log=env.log,
        session=env.session,
        settings=settings,
        gates=gates,
    )
    prompt = TaskPrompt.for_task(
        task.title,
        task.instruction,
        task.contract,
        EXECUTOR_TOOLS,
        agents_md=env.agents_md,
        handoff=handoff,
        **({"system": system} if system else {}),
    )
    return await executor.run(task, prompt)


@contextmanager
def work_tree_lock(root: Path) -> Iterator[None]:
    """One tether task at a time per work tree (released by the OS if tether dies)."""
    state = root / ".tether"
    state.mkdir(exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
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
