"""The loop's gates seam, backed by VERIFY.md: fix tier after a step's edits, step tier
after a step that changed files, task tier (plus the task's ``accept:`` commands) before
a task counts as done. What no step gate covered is said again at the task tier."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tether.gates.results import GateResult, GateVerdict, feedback
from tether.gates.runner import GateRunner
from tether.vcs.diff import unified_diff
from tether.vcs.git import Git

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass
class GateTiers:
    runner: GateRunner
    git: Git
    contract: str = ""
    uncovered: list[str] = field(default_factory=list)  # by any step gate of the task

    @property
    def verifies(self) -> bool:
        return bool(self.runner.tier("task"))

    @property
    def fixes(self) -> bool:
        return bool(self.runner.tier("fix"))

    async def fix(self, changed: list[str]) -> list[GateResult]:
        return await self.runner.run("fix", changed)

    async def step(self, changed: list[str], before: str, after: str) -> GateVerdict:
        ranges = changed_lines(self.git.run("diff", "-U0", "--no-color", before, after))
        results = await self.runner.run("step", changed, line_ranges=ranges, before=before)
        found = verdict(results, "step")
        self.uncovered += [u for u in found.uncovered if u not in self.uncovered]
        return found

    async def task(self, changed: list[str], base: str, final: str) -> GateVerdict:
        diff = unified_diff(self.git, base, final)
        note = ""
        if self.uncovered:
            more = f" and {len(self.uncovered) - 5} more" if len(self.uncovered) > 5 else ""
            note = f"no step gate covered {', '.join(self.uncovered[:5])}{more}"
        results = await self.runner.run(
            "task", changed, diff=diff, contract=self.contract, note=note
        )
        return verdict(results, "task")


def verdict(results: list[GateResult], tier: str) -> GateVerdict:
    return GateVerdict(
        passed=all(r.ok for r in results),
        feedback=feedback(results, tier),
        results=list(results),
    )


def changed_lines(diff: str) -> dict[str, list[tuple[int, int]]]:
    """New-side line ranges per file from a ``git diff -U0``."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    current: str | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            current = target[2:] if target.startswith("b/") else None
            continue
        match = _HUNK.match(line)
        if match and current is not None:
            start = int(match.group(1))
            count = int(match.group(2)) if match.group(2) is not None else 1
            ranges.setdefault(current, []).append((start, start + max(count, 1) - 1))
    return ranges
