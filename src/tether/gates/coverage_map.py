"""Which tests reach which functions, from the task tier's own full runs.

The probe records coverage.py contexts (one per test) while the task tier runs the suite
it runs anyway; here the lines are folded into the functions holding them (by qualified
name, so the map survives edits that move lines). A later step's selection asks which
tests reached the functions it changed. Every function of a recorded file is listed,
reached or not: a function the map knows and no test reached is *known* uncovered.

Stored in ``.tether/cache/coverage-map.json``. A run that ran only some tests replaces
what is known of those tests and keeps the rest."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.gates.pysource import Span, function_spans, owners
from tether.gates.pytest_probe import function_key
from tether.layout import StateLayout


@dataclass
class CoverageMap:
    path: Path
    tests: list[str] = field(default_factory=list)
    # file → qualified function name → indices into ``tests``
    files: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> CoverageMap:
        path = StateLayout(root).cache("coverage-map.json")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            tests = [str(t) for t in data["tests"]]
            files = {
                str(f): {str(q): [int(i) for i in ids] for q, ids in funcs.items()}
                for f, funcs in data["files"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls(path)
        return cls(path, tests, files)

    @staticmethod
    def stamp(root: Path) -> tuple[int, int]:
        """(mtime in ns, size) of the stored map; (0, 0) when there is none."""
        try:
            stat = StateLayout(root).cache("coverage-map.json").stat()
        except OSError:
            return (0, 0)
        return (stat.st_mtime_ns, stat.st_size)

    def knows(self, path: str, function: str) -> bool:
        return function in self.files.get(path, {})

    def tests_for(self, path: str, function: str) -> list[str]:
        return [self.tests[i] for i in self.files.get(path, {}).get(function, [])]

    def merge(self, root: Path, lines: dict[str, Any], ran: list[str]) -> None:
        """Fold a probe's line map in; the tests in ``ran`` are replaced, others kept."""
        reached = self._reached()
        for nodeid in ran:
            reached.pop(function_key(nodeid), None)
        names: list[str] = list(lines.get("contexts") or [])
        recorded: dict[str, list[str]] = {}
        for rel, by_line in (lines.get("files") or {}).items():
            spans = _spans(root / rel)
            if spans is None:
                continue
            recorded[rel] = [name for name, _, _ in spans]
            table = owners(spans)
            for line, ids in by_line.items():
                function = table.get(int(line))
                if function:
                    for i in ids:
                        reached.setdefault(function_key(names[i]), set()).add((rel, function))
        self._rebuild(reached, recorded)

    def _reached(self) -> dict[str, set[tuple[str, str]]]:
        out: dict[str, set[tuple[str, str]]] = {}
        for rel, funcs in self.files.items():
            for function, ids in funcs.items():
                for i in ids:
                    out.setdefault(self.tests[i], set()).add((rel, function))
        return out

    def _rebuild(
        self, reached: dict[str, set[tuple[str, str]]], recorded: dict[str, list[str]]
    ) -> None:
        files: dict[str, dict[str, list[int]]] = {
            rel: {f: [] for f in funcs} for rel, funcs in self.files.items()
        }
        for rel, funcs in recorded.items():
            files[rel] = {f: [] for f in funcs}
        tests = sorted(reached)
        for i, test in enumerate(tests):
            for rel, function in reached[test]:
                files.setdefault(rel, {}).setdefault(function, []).append(i)
        self.tests, self.files = tests, files

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"tests": self.tests, "files": self.files}), "utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass


def _spans(path: Path) -> list[Span] | None:
    try:
        return function_spans(path.read_bytes())
    except OSError:
        return None
