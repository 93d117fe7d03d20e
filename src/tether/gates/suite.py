"""VERIFY.md's gates for one run: parsed once, passed down, turned into runners."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from tether.config import GatesConfig, TetherConfig
from tether.fsutil import read_input
from tether.gates.context import Reviewer
from tether.gates.runner import GateRunner
from tether.memory.locations import memory_file
from tether.memory.verify_md import GateSpec, parse_verify
from tether.sandbox import Sandbox
from tether.telemetry import EventLog


@dataclass(frozen=True)
class GateSuite:
    """The gates of a repository. ``present``: VERIFY.md exists (it may list none)."""

    specs: tuple[GateSpec, ...] = ()
    settings: GatesConfig = field(default_factory=GatesConfig)
    present: bool = False

    @classmethod
    def load(cls, root: Path, config: TetherConfig) -> GateSuite:
        path = memory_file(root, config, "VERIFY.md")
        if not path.is_file():
            return cls(settings=config.gates)
        where = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        specs = parse_verify(read_input(path, where), where)
        return cls(tuple(specs), config.gates, present=True)

    @property
    def needs_review(self) -> bool:
        return any(spec.kind == "review" for spec in self.specs)

    def for_task(self, accept: tuple[str, ...]) -> list[GateSpec]:
        """The suite's gates plus a task's ``accept:`` commands (task tier), each check
        once per tier: a command VERIFY.md and ``accept:`` both give runs once, and
        says both asked for it."""
        return dedupe([*self.specs, *accept_gates(accept)])

    def runner(
        self,
        root: Path,
        specs: list[GateSpec],
        log: EventLog,
        evidence_dir: Path,
        sandbox: Sandbox,
        reviewer: Reviewer | None = None,
        port: int | None = None,
    ) -> GateRunner:
        gates = self.settings
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
            step_share=gates.step_share,
            parallel=gates.parallel,
            port=port,
            record_coverage=gates.record_coverage,
        )


def accept_gates(commands: tuple[str, ...]) -> list[GateSpec]:
    """A task's ``accept:`` commands, as task-tier command gates."""
    return [GateSpec("command", "task", 0, command=c, note="accept") for c in commands]


def dedupe(specs: list[GateSpec]) -> list[GateSpec]:
    """The first of identical gates in a tier stays (its line, its timeout, the longest
    given), with every source that asked for it."""
    kept: list[GateSpec] = []
    for spec in specs:
        index = next((i for i, k in enumerate(kept) if k.same_as(spec)), None)
        if index is None:
            kept.append(spec)
            continue
        first = kept[index]
        asked = first.asked_by or (first.source,)
        timeouts = [t for t in (first.timeout_s, spec.timeout_s) if t]
        kept[index] = replace(
            first,
            asked_by=(*asked, spec.source),
            timeout_s=max(timeouts) if timeouts else None,
        )
    return kept
