"""``tether do``: one bounded task from an instruction, no plan needed."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tether.agent.loop import Task
from tether.agent.outcomes import TaskResult
from tether.guard.contract import Contract
from tether.memory.locations import ledger_files, rule_files
from tether.models.registry import build_model
from tether.review import ModelReviewer
from tether.session import RunOptions, TaskEnvironment, run_task, work_tree_lock
from tether.verification import load_gates
from tether.workspace import Workspace

T = TypeVar("T")


@dataclass(frozen=True)
class DoOptions:
    instruction: str
    scope: tuple[str, ...] = ()
    protect: tuple[str, ...] = ()
    max_diff: int | None = None
    allow_delete: bool | None = None
    allow_network: bool | None = None
    max_steps: int | None = None
    role: str = "executor"
    commit: bool | None = None


def title_of(instruction: str) -> str:
    first = " ".join(instruction.strip().splitlines()[0].split()) if instruction.strip() else ""
    return first if len(first) <= 72 else first[:71] + "…"


def contract_for(workspace: Workspace, options: DoOptions) -> Contract:
    guard = workspace.config.config.guard
    return Contract(
        scope=options.scope,
        protect=options.protect,
        max_diff=options.max_diff or guard.max_diff,
        allow_delete=guard.allow_delete if options.allow_delete is None else options.allow_delete,
        allow_network=guard.allow_network
        if options.allow_network is None
        else options.allow_network,
        deny_commands=tuple(guard.deny_commands),
        ledger_files=ledger_files(workspace.root, workspace.config.config),
        rule_files=rule_files(workspace.root, workspace.config.config),
    )


async def do_task(workspace: Workspace, options: DoOptions) -> TaskResult:
    """Run one task in the workspace's repository (which must be a git repository)."""
    role = workspace.config.require(options.role)
    cfg = role.config
    assert cfg is not None
    task = Task(
        title=title_of(options.instruction),
        instruction=options.instruction,
        contract=contract_for(workspace, options),
        max_steps=options.max_steps or workspace.config.config.guard.max_steps,
    )
    env = TaskEnvironment(
        root=workspace.root,
        config=workspace.config.config,
        log=workspace.log,
        session=workspace.session_id,
        agents_md=read_agents_md(workspace),
    )
    with work_tree_lock(workspace.root):
        model = build_model(role, workspace.log)
        reviewer = reviewer_for(workspace)
        try:
            options_ = RunOptions.from_role(cfg, commit=options.commit)
            return await run_task(env, task, model, options_, reviewer=reviewer)
        finally:
            await model.aclose()
            if reviewer is not None:
                await reviewer.model.aclose()


def reviewer_for(workspace: Workspace) -> ModelReviewer | None:
    """The reviewer model, when VERIFY.md asks for a review (exit 2 if it cannot be had)."""
    specs = load_gates(workspace.root, workspace.config.config)
    if not any(spec.kind == "review" for spec in specs):
        return None
    role = workspace.config.require("reviewer")
    assert role.config is not None
    return ModelReviewer(build_model(role, workspace.log), role.config.max_output_tokens)


def read_agents_md(workspace: Workspace) -> str | None:
    path = workspace.root / "AGENTS.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def run_cancellable(make: Callable[[], Awaitable[T]]) -> T:
    """asyncio.run, with SIGTERM treated like Ctrl-C (the task is cancelled cleanly)."""

    async def main() -> T:
        loop = asyncio.get_running_loop()
        current = asyncio.current_task()
        if current is not None:
            loop.add_signal_handler(signal.SIGTERM, current.cancel)
        return await make()

    return asyncio.run(main())
