"""Run a tier of VERIFY.md gates: in parallel (bounded), each in the sandbox, each with
its timeout; one ``gate`` event per gate; evidence files under the session."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from tether.gates.browser import run_browser_gate
from tether.gates.command import run_command_gate
from tether.gates.context import GateContext, Reviewer
from tether.gates.results import GateResult, pytest_counts
from tether.gates.review import run_review_gate
from tether.gates.selection import Selection, select_tests
from tether.layout import StateLayout
from tether.memory.verify_md import GateSpec
from tether.sandbox import Sandbox
from tether.telemetry import EventLog
from tether.vcs.files import repo_files

DEFAULT_PER_TEST_S = 0.02


@dataclass
class GateRunner:
    root: Path
    specs: list[GateSpec]
    sandbox: Sandbox
    log: EventLog
    evidence_dir: Path
    reviewer: Reviewer | None = None
    step_timeout_s: float = 30.0
    task_timeout_s: float = 120.0
    step_budget_s: float = 10.0
    parallel: int = 0
    port: int | None = None
    last_selection: Selection = field(default_factory=Selection)

    def tier(self, tier: str) -> list[GateSpec]:
        return [spec for spec in self.specs if spec.tier == tier]

    async def run(
        self,
        tier: str,
        changed: list[str],
        *,
        diff: str = "",
        contract: str = "",
        line_ranges: dict[str, list[tuple[int, int]]] | None = None,
    ) -> list[GateResult]:
        specs = self.tier(tier)
        if not specs:
            return []
        ctx = GateContext(
            root=self.root,
            tier=tier,
            changed=changed,
            sandbox=self.sandbox,
            evidence_dir=self.evidence_dir,
            diff=diff,
            contract=contract,
            reviewer=self.reviewer,
            port=self.port,
            timeout_s=self.step_timeout_s if tier == "step" else self.task_timeout_s,
        )
        if any("{affected_tests}" in spec.command for spec in specs):
            self.last_selection = select_tests(
                self.root,
                repo_files(self.root),
                changed,
                budget_s=self.step_budget_s if tier == "step" else 1e9,
                per_test_s=self._per_test_s(),
                line_ranges=line_ranges,
            )
            ctx.affected = self.last_selection.files
        limit = asyncio.Semaphore(self.parallel or os.cpu_count() or 2)

        async def one(spec: GateSpec) -> GateResult:
            async with limit:
                result = await _dispatch(spec, ctx)
            if "{affected_tests}" in spec.command and result.status != "skip":
                result = replace(
                    result, summary=f"{result.summary} · {self.last_selection.describe()}"
                )
                self._learn(result)
            self.log.emit("gate", kind=spec.kind, **result.event())
            return result

        return list(await asyncio.gather(*(one(spec) for spec in specs)))

    def _stats_path(self) -> Path:
        return StateLayout(self.root).cache("gate-stats.json")

    def _per_test_s(self) -> float:
        try:
            value = float(json.loads(self._stats_path().read_text())["per_test_s"])
        except (OSError, ValueError, KeyError, TypeError):
            return DEFAULT_PER_TEST_S
        return value if value > 0 else DEFAULT_PER_TEST_S

    def _learn(self, result: GateResult) -> None:
        """Keep a moving average of seconds per test, from pytest's own summary."""
        try:
            counts = pytest_counts(Path(result.log_path).read_text(encoding="utf-8"))
        except OSError:
            return
        if not counts or counts[0] == 0:
            return
        observed = counts[1] / counts[0]
        average = 0.7 * self._per_test_s() + 0.3 * observed
        path = self._stats_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"per_test_s": round(average, 5)}), encoding="utf-8")
        except OSError:
            pass


async def _dispatch(spec: GateSpec, ctx: GateContext) -> GateResult:
    if spec.kind == "review":
        return await run_review_gate(spec, ctx)
    if spec.kind == "browser":
        return await run_browser_gate(spec, ctx)
    return await run_command_gate(spec, ctx)
