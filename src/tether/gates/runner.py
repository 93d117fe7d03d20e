"""Run a tier of VERIFY.md gates, each in the sandbox with its timeout; one ``gate`` event
per gate; evidence files under the session.

``fix`` gates run one after another (they edit the same files); ``step`` and ``task``
gates in parallel (bounded by CPU count). Every pytest gate runs with tether's probe:
what each test cost is learned (``costs.py``) and, on the task tier, which functions
each test reached (``coverage_map.py``)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from tether.gates.baseline import Baseline
from tether.gates.command import run_command_gate
from tether.gates.context import GateContext, Reviewer
from tether.gates.costs import SuiteCosts
from tether.gates.coverage_map import CoverageMap
from tether.gates.probe import ProbeReport, is_pytest, probing
from tether.gates.results import GateResult
from tether.gates.review import run_review_gate
from tether.gates.selection import Selection, is_test_file, select_tests
from tether.memory.verify_md import GateSpec
from tether.sandbox import Sandbox
from tether.telemetry import EventLog
from tether.vcs.files import repo_files
from tether.vcs.git import Git

AUTO_TASK_TIMEOUT_S = 900.0  # before the suite's duration is known
TIMEOUT_HEADROOM = 2.0
TIMEOUT_MARGIN_S = 60.0
AFFECTED = "{affected_tests}"
COVERAGE_MAX_AGE_S = 24 * 3600
MIN_STEP_BUDGET_S = 2.0  # "auto" records again when the map is older


@dataclass
class GateRunner:
    root: Path
    specs: list[GateSpec]
    sandbox: Sandbox
    log: EventLog
    evidence_dir: Path
    reviewer: Reviewer | None = None
    step_timeout_s: float = 30.0
    task_timeout_s: float | None = None  # None: from the suite's measured duration
    step_budget_s: float = 10.0
    step_share: float = 0.05  # of the full suite's measured time, when that is lower
    parallel: int = 0
    port: int | None = None
    record_coverage: str = "auto"  # auto | always | never
    last_selection: Selection = field(default_factory=Selection)
    _costs: SuiteCosts | None = None
    _coverage: tuple[tuple[int, int], CoverageMap] | None = None
    _baseline: Baseline | None = None

    @property
    def baseline(self) -> Baseline:
        if self._baseline is None:
            self._baseline = Baseline(Git(self.root))
        return self._baseline

    def tier(self, tier: str) -> list[GateSpec]:
        return [spec for spec in self.specs if spec.tier == tier]

    @property
    def costs(self) -> SuiteCosts:
        if self._costs is None:
            self._costs = SuiteCosts.load(self.root)
        return self._costs

    async def run(
        self,
        tier: str,
        changed: list[str],
        *,
        diff: str = "",
        contract: str = "",
        line_ranges: dict[str, list[tuple[int, int]]] | None = None,
        note: str = "",
        before: str = "",
    ) -> list[GateResult]:
        """``note`` is added to the first gate's summary (what the step tier missed);
        ``before``: the step's before tree, so a checker's old findings are not new."""
        specs = self.tier(tier)
        if not specs:
            return []
        self.log.emit("gates_start", tier=tier, gates=[spec.name for spec in specs])
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
            timeout_s=self.step_timeout_s,
            before=before,
        )
        if tier == "task":
            ctx.timeouts = {spec.line: self.task_timeout_for(spec) for spec in specs}
        if any(AFFECTED in spec.command for spec in specs):
            self.last_selection = self._select(tier, changed, line_ranges)
            ctx.affected = self.last_selection.files
        notes = {specs[0].line: note} if note else {}
        if tier == "fix":
            return [await self._one(spec, ctx, notes.get(spec.line, "")) for spec in specs]
        limit = asyncio.Semaphore(self.parallel or os.cpu_count() or 2)

        async def bounded(spec: GateSpec) -> GateResult:
            async with limit:
                return await self._one(spec, ctx, notes.get(spec.line, ""))

        return list(await asyncio.gather(*(bounded(spec) for spec in specs)))

    def task_timeout_for(self, spec: GateSpec) -> float:
        """A task gate's timeout: its own ``timeout:``, else ``[gates] task_timeout_s``,
        else twice the longest recent run of the same command plus a minute."""
        if spec.timeout_s:
            return spec.timeout_s
        if self.task_timeout_s is not None:
            return self.task_timeout_s
        longest = self.costs.longest_s(spec.command)
        if longest is None:
            return AUTO_TASK_TIMEOUT_S
        return max(TIMEOUT_MARGIN_S * 2, TIMEOUT_HEADROOM * longest + TIMEOUT_MARGIN_S)

    def step_budget(self) -> float:
        """``step_budget_s``, or ``step_share`` of the task tier's measured pytest run (its
        quickest recent one) when that is less (never under ``MIN_STEP_BUDGET_S``)."""
        suite = [
            self.costs.shortest_s(spec.command)
            for spec in self.tier("task")
            if is_pytest(spec.command)
        ]
        known = [s for s in suite if s]
        if not known:
            return self.step_budget_s
        return min(self.step_budget_s, max(MIN_STEP_BUDGET_S, self.step_share * max(known)))

    def _select(
        self, tier: str, changed: list[str], ranges: dict[str, list[tuple[int, int]]] | None
    ) -> Selection:
        return select_tests(
            self.root,
            repo_files(self.root),
            changed,
            budget_s=self.step_budget() if tier == "step" else 1e9,
            costs=self.costs,
            coverage=self._coverage_map(),
            line_ranges=ranges,
        )

    async def _one(self, spec: GateSpec, ctx: GateContext, note: str) -> GateResult:
        if spec.kind == "review":
            result = await run_review_gate(spec, ctx)
        elif spec.kind == "browser":
            from tether.gates.browser import run_browser_gate  # urllib: 13 ms to import

            result = await run_browser_gate(spec, ctx)
        elif AFFECTED in spec.command and not self.last_selection.files:
            result = self._nothing_selected(spec, ctx)
        elif is_pytest(spec.command):
            result = await self._probed(spec, ctx)
        else:
            result = await run_command_gate(spec, ctx)
            self._learn(spec, result, ProbeReport())
            if result.status == "fail" and ctx.before:
                result = await self.baseline.judge(spec, ctx, result)
        if note:
            result = replace(result, summary=f"{result.summary} · {note}")
        if spec.asked_by:
            result = replace(result, asked_by=spec.asked_by)
        self.log.emit("gate", kind=spec.kind, **result.event())
        return result

    async def _probed(self, spec: GateSpec, ctx: GateContext) -> GateResult:
        record = ctx.tier == "task" and self._records_coverage()
        with probing(self.root, record) as probe:
            result = await run_command_gate(spec, ctx, env=probe.env, writable=(probe.folder,))
            report = probe.report()
        self._learn(spec, result, report)
        if AFFECTED not in spec.command:
            return result
        selection = self.last_selection
        actual = report.session_s or result.seconds
        summary = f"{result.summary} · {selection.describe()} · actual {actual:.1f}s"
        status = result.status
        if status == "pass" and selection.uncovered:
            status = "uncovered"
            summary = f"{summary} · no test covers {_listing(selection.uncovered)}"
        return replace(
            result,
            status=status,
            summary=summary,
            uncovered=tuple(selection.uncovered),
            estimated_s=round(selection.estimated_s, 3),
        )

    def _records_coverage(self) -> bool:
        if self.record_coverage in ("always", "never"):
            return self.record_coverage == "always"
        stamp = CoverageMap.stamp(self.root)
        return stamp == (0, 0) or time.time() - stamp[0] / 1e9 > COVERAGE_MAX_AGE_S

    def _nothing_selected(self, spec: GateSpec, ctx: GateContext) -> GateResult:
        """An empty selection passes only when no Python source changed."""
        selection = self.last_selection
        sources = [s for s in selection.sources if not is_test_file(s)]
        if not sources:
            return GateResult(spec.name, ctx.tier, "command", "skip", 0.0, "no Python change")
        uncovered = selection.uncovered or [f"{s}:<module>" for s in sources]
        return GateResult(
            spec.name,
            ctx.tier,
            "command",
            "uncovered",
            0.0,
            f"no test covers {_listing(uncovered)}",
            uncovered=tuple(uncovered),
        )

    def _learn(self, spec: GateSpec, result: GateResult, report: ProbeReport) -> None:
        """What a command gate's run teaches: its duration (the task timeout follows it),
        and from the probe the tests' costs and the coverage map."""
        if result.status == "skip":
            return
        costs = SuiteCosts.load(self.root)  # what other runs learned meanwhile is kept
        costs.learn(report, spec.command, result.seconds, result.status == "timeout")
        costs.save()
        self._costs = costs
        if report.coverage is not None and report.tests:
            coverage = self._coverage_map()
            coverage.merge(self.root, report.coverage, list(report.tests))
            coverage.save()
            self._coverage = None

    def _coverage_map(self) -> CoverageMap:
        """The stored map, parsed again only when the file changed (1.5 MB on networkx)."""
        stamp = CoverageMap.stamp(self.root)
        if self._coverage is None or self._coverage[0] != stamp:
            self._coverage = (stamp, CoverageMap.load(self.root))
        return self._coverage[1]


def _listing(items: list[str], shown: int = 3) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more
