"""Gates from VERIFY.md, wired for a task or for ``tether verify`` (no model needed)."""

from __future__ import annotations

from pathlib import Path

from tether.config import TetherConfig
from tether.errors import UsageError
from tether.gates.context import Reviewer
from tether.gates.results import GateResult
from tether.gates.runner import GateRunner
from tether.gates.verify import changed_lines
from tether.guard.sandbox import BwrapSandbox, PlainSandbox, make_sandbox
from tether.memory.locations import memory_file
from tether.memory.verify_md import GateSpec, parse_verify
from tether.telemetry import EventLog
from tether.vcs.git import Git


def load_gates(root: Path, config: TetherConfig) -> list[GateSpec]:
    path = memory_file(root, config, "VERIFY.md")
    if not path.is_file():
        return []
    where = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    return parse_verify(path.read_text(encoding="utf-8"), where)


def accept_gates(commands: tuple[str, ...]) -> list[GateSpec]:
    """A PLAN.md task's ``accept:`` commands, as task-tier command gates."""
    return [GateSpec("command", "task", 0, command=c, note="accept") for c in commands]


def gate_runner(
    root: Path,
    config: TetherConfig,
    specs: list[GateSpec],
    log: EventLog,
    evidence_dir: Path,
    sandbox: BwrapSandbox | PlainSandbox,
    reviewer: Reviewer | None = None,
) -> GateRunner:
    gates = config.gates
    return GateRunner(
        root=root,
        specs=specs,
        sandbox=sandbox,
        log=log,
        evidence_dir=evidence_dir,
        reviewer=reviewer,
        step_timeout_s=gates.step_timeout_s,
        task_timeout_s=gates.task_timeout_s,
        step_budget_s=gates.step_budget_s,
        parallel=gates.parallel,
    )


async def verify_now(
    root: Path,
    config: TetherConfig,
    log: EventLog,
    evidence_dir: Path,
    tiers: list[str],
    since: str = "HEAD",
    reviewer: Reviewer | None = None,
) -> list[GateResult]:
    """Run the chosen tiers on the work tree's changes since ``since``."""
    specs = load_gates(root, config)
    if not specs and not memory_file(root, config, "VERIFY.md").is_file():
        raise UsageError(
            "there is no VERIFY.md here", hint="`tether init` writes one for this repository"
        )
    git = Git(root)
    if git.rev(since) is None:
        raise UsageError(f"{since!r} is not a commit in this repository")
    changed = sorted(
        set(git.run("diff", "--name-only", since).split("\n"))
        | set(git.run("ls-files", "--others", "--exclude-standard").split("\n")) - {""}
    )
    diff = git.run("diff", "--no-color", since)
    ranges = changed_lines(git.run("diff", "-U0", "--no-color", since))
    if reviewer is None:
        specs = [s for s in specs if s.kind != "review"]
    sandbox = make_sandbox(config.guard.sandbox)
    runner = gate_runner(root, config, specs, log, evidence_dir, sandbox, reviewer)
    results: list[GateResult] = []
    for tier in tiers:
        results += await runner.run(
            tier,
            changed,
            diff=diff,
            line_ranges=ranges,
            contract="(no task: review the change on its own merits)",
        )
    return results
