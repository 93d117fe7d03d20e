"""What tests really cost, learned from the probe's per-test reports.

Each test function's seconds (setup, call and teardown, its parameters summed) are kept
apart from collection, so a ``-x`` run that stops after one test teaches the cost of that
one test and nothing else. Collection is fitted as ``base + per_file × files`` over the
recent runs. A test never seen costs the median of the tests seen; a file never seen
costs its number of test functions times that. Every gate command's longest recent
duration is kept too: the task tier's timeout follows the suite it runs.

Stored in ``.tether/cache/test-costs.json``."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from tether.gates.probe import ProbeReport
from tether.gates.pytest_probe import function_key
from tether.layout import StateLayout

DEFAULT_TEST_S = 0.02
DEFAULT_COLLECT_BASE_S = 0.5
DEFAULT_COLLECT_FILE_S = 0.02
DEFAULT_STARTUP_S = 0.3
KEEP_RUNS = 20
SMOOTHING = 0.5  # weight of a new observation of one test


@dataclass
class SuiteCosts:
    path: Path
    tests: dict[str, float] = field(default_factory=dict)
    collect: list[tuple[int, float]] = field(default_factory=list)
    commands: dict[str, list[float]] = field(default_factory=dict)
    startup_s: float = DEFAULT_STARTUP_S  # spawn to pytest's configure (interpreter, imports)
    _median: float | None = None
    _by_file: dict[str, list[float]] | None = None

    @classmethod
    def load(cls, root: Path) -> SuiteCosts:
        path = StateLayout(root).cache("test-costs.json")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(path)
        if not isinstance(data, dict):
            return cls(path)
        tests = {str(k): float(v) for k, v in (data.get("tests") or {}).items() if _num(v)}
        collect = [
            (int(n), float(s))
            for n, s in data.get("collect") or []
            if _num(n) and _num(s) and float(s) >= 0
        ]
        commands = {
            str(k): [float(x) for x in v if _num(x)]
            for k, v in (data.get("commands") or {}).items()
            if isinstance(v, list)
        }
        startup = data.get("startup_s")
        startup_s = float(startup) if isinstance(startup, (int, float)) else DEFAULT_STARTUP_S
        startup_s = startup_s if startup_s >= 0 else DEFAULT_STARTUP_S
        return cls(path, tests, collect[-KEEP_RUNS:], commands, startup_s)

    # --- learning ----------------------------------------------------------------------

    def learn(self, report: ProbeReport, command: str, seconds: float, timed_out: bool) -> None:
        """A failing test stops early: it teaches its cost only when nothing is known."""
        per_function: dict[str, float] = {}
        failing: set[str] = set()
        for nodeid, (spent, outcome) in report.tests.items():
            if outcome == "skipped":
                continue
            key = function_key(nodeid)
            per_function[key] = per_function.get(key, 0.0) + spent
            if outcome != "passed":
                failing.add(key)
        for key, spent in per_function.items():
            old = self.tests.get(key)
            if old is None:
                self.tests[key] = spent
            elif key not in failing:
                self.tests[key] = (1 - SMOOTHING) * old + SMOOTHING * spent
        if report.collect_s is not None and report.files:
            self.collect = [*self.collect, (report.files, report.collect_s)][-KEEP_RUNS:]
        if not timed_out:  # any command: its duration sets the task tier's timeout
            self.commands[command] = [*self.commands.get(command, []), seconds][-5:]
        if report.session_s and seconds > report.session_s:
            spent = seconds - report.session_s
            self.startup_s = (1 - SMOOTHING) * self.startup_s + SMOOTHING * spent
        self._median, self._by_file = None, None

    def save(self) -> None:
        data = {
            "tests": {k: round(v, 5) for k, v in sorted(self.tests.items())},
            "collect": [[n, round(s, 4)] for n, s in self.collect],
            "commands": {k: [round(x, 3) for x in v] for k, v in self.commands.items()},
            "startup_s": round(self.startup_s, 4),
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass

    # --- estimates ---------------------------------------------------------------------

    @property
    def median_test_s(self) -> float:
        if self._median is None:
            values = [v for v in self.tests.values() if v > 0]
            self._median = statistics.median(values) if values else DEFAULT_TEST_S
        return self._median

    def collection(self) -> tuple[float, float]:
        """(base seconds per run, seconds per test file), fitted to recent runs."""
        if not self.collect:
            return DEFAULT_COLLECT_BASE_S, DEFAULT_COLLECT_FILE_S
        xs = [float(n) for n, _ in self.collect]
        ys = [s for _, s in self.collect]
        if len(set(xs)) < 2:
            per_file = min(DEFAULT_COLLECT_FILE_S, ys[-1] / max(xs[-1], 1.0))
            return max(0.0, ys[-1] - per_file * xs[-1]), per_file
        slope, intercept = statistics.linear_regression(xs, ys)
        per_file = max(0.0, slope)
        return max(0.0, intercept if slope >= 0 else statistics.mean(ys)), per_file

    def file_s(self, path: str, functions: int) -> float:
        """A test file: its known functions' seconds, the median for the others."""
        if self._by_file is None:
            self._by_file = {}
            for key, spent in self.tests.items():
                self._by_file.setdefault(key.split("::", 1)[0], []).append(spent)
        known = self._by_file.get(path, [])
        unknown = max(0, functions - len(known))
        return sum(known) + unknown * self.median_test_s

    def node_s(self, nodeid: str) -> float:
        return self.tests.get(function_key(nodeid), self.median_test_s)

    def run_overhead_s(self, files: int) -> float:
        """Start-up, then collection of ``files`` test files."""
        base, per_file = self.collection()
        return self.startup_s + base + per_file * files

    def longest_s(self, command: str) -> float | None:
        seen = self.commands.get(command)
        return max(seen) if seen else None

    def shortest_s(self, command: str) -> float | None:
        """The quickest recent run (one that recorded coverage is slower)."""
        seen = self.commands.get(command)
        return min(seen) if seen else None


def _num(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
