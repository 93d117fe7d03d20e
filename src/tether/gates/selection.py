"""Incremental test selection for ``{affected_tests}``.

Measured on networkx (see the gates issue): a plain import graph selects every test
because the package ``__init__`` imports everything; tests named after the module are
fast but miss failures elsewhere; coverage databases are costly. So candidates come in
ranked tiers, and the step tier takes them in order until its time budget is used:

0. changed test files, and tests named after a changed module (``euler.py`` →
   ``test_euler.py``), nearest first -- always taken;
1. tests importing a changed module directly;
2. tests that mention a name defined where the change is (a function or class that
   contains a changed line), nearest first;
3. tests importing it through other modules, with the graph cut at package
   ``__init__`` files (which re-export everything and would select everything).

Each test file's cost is its number of test functions times the measured seconds per
test (learned from earlier pytest gate runs). The task tier still runs the full suite,
so a selection that misses a failure can delay it, never let it through to "done".
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from tether.gates.imports import ImportIndex

TEST_FILE = re.compile(r"(^|/)(test_[^/]*|[^/]*_test)\.py$")
TEST_DEF = re.compile(rb"^\s*(?:async\s+)?def\s+test", re.MULTILINE)
TIER_NAMES = ("named", "imports", "uses", "indirect")
MAX_DEPTH = 3


@dataclass
class Selection:
    files: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    estimated_s: float = 0.0
    dropped: int = 0

    def describe(self) -> str:
        if not self.files:
            return "no tests selected for this change"
        counts = {name: sum(1 for r in self.reasons.values() if r == name) for name in TIER_NAMES}
        parts = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
        over = f", {self.dropped} more over the time budget" if self.dropped else ""
        names = ", ".join(Path(f).name for f in self.files[:3])
        more = f" +{len(self.files) - 3}" if len(self.files) > 3 else ""
        return (
            f"{len(self.files)} test file(s) ({parts}: {names}{more}), "
            f"~{self.estimated_s:.1f}s est.{over}"
        )


def is_test_file(path: str) -> bool:
    return bool(TEST_FILE.search(path))


def select_tests(
    root: Path,
    files: list[str],
    changed: list[str],
    *,
    budget_s: float = 10.0,
    per_test_s: float = 0.02,
    line_ranges: dict[str, list[tuple[int, int]]] | None = None,
) -> Selection:
    """Test files for ``changed`` (repo-relative), ranked and fitted to ``budget_s``."""
    tests = [f for f in files if is_test_file(f)]
    sources = [c for c in changed if c.endswith(".py") and (root / c).is_file()]
    if not sources:
        return Selection()
    index = ImportIndex.build(root, [f for f in files if f.endswith(".py")])
    ranked: dict[str, tuple[int, int]] = {}

    def offer(path: str, tier: int, near: int) -> None:
        if path in ranked and ranked[path] <= (tier, near):
            return
        ranked[path] = (tier, near)

    for source in sources:
        if is_test_file(source):
            offer(source, 0, 0)
            continue
        module = index.modules.get(source, "")
        for test in _named(source, tests):
            offer(test, 0, _distance(source, test))
        for tier, test in _importers(index, module):
            if is_test_file(test):
                offer(test, tier, _distance(source, test))
        for test in _users(root, source, tests, (line_ranges or {}).get(source)):
            offer(test, 2, _distance(source, test))
    return _fit(root, ranked, budget_s, per_test_s)


def _named(source: str, tests: list[str]) -> list[str]:
    stem = Path(source).stem
    if stem == "__init__":
        stem = Path(source).parent.name
    names = {f"test_{stem}.py", f"{stem}_test.py"}
    return [t for t in tests if Path(t).name in names]


def _importers(index: ImportIndex, module: str) -> list[tuple[int, str]]:
    """(tier, file): direct importers tier 1, others tier 3; never through __init__."""
    if not module:
        return []
    found: list[tuple[int, str]] = []
    seen = {module}
    frontier = [module]
    for depth in range(1, MAX_DEPTH + 1):
        following: list[str] = []
        for name in frontier:
            for path in index.importers(name):
                found.append((1 if depth == 1 else 3, path))
                child = index.modules.get(path, "")
                if path.endswith("__init__.py") or not child or child in seen:
                    continue
                seen.add(child)
                following.append(child)
        frontier = following
    return found


def _users(
    root: Path, source: str, tests: list[str], ranges: list[tuple[int, int]] | None
) -> list[str]:
    names = _changed_names(root / source, ranges)
    if not names:
        return []
    pattern = re.compile(rb"\b(" + b"|".join(re.escape(n.encode()) for n in names) + rb")\b")
    found = []
    for test in tests:
        try:
            if pattern.search((root / test).read_bytes()):
                found.append(test)
        except OSError:
            continue
    return found


def _changed_names(path: Path, ranges: list[tuple[int, int]] | None) -> list[str]:
    """Top-level functions and classes containing a changed line (all public ones when
    the lines are unknown)."""
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return []
    names = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        end = node.end_lineno or node.lineno
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        if ranges is None:
            if not node.name.startswith("_"):
                names.append(node.name)
        elif any(a <= end and b >= start for a, b in ranges):
            names.append(node.name)
    return [n for n in names if len(n) >= 4][:20]


def _distance(source: str, test: str) -> int:
    """Directory steps between two files (0 for the same folder)."""
    a, b = Path(source).parent.parts, Path(test).parent.parts
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return (len(a) - common) + (len(b) - common)


def _fit(
    root: Path, ranked: dict[str, tuple[int, int]], budget_s: float, per_test_s: float
) -> Selection:
    selection = Selection()
    for path, (tier, _) in sorted(ranked.items(), key=lambda item: (item[1], item[0])):
        cost = _cost(root / path) * per_test_s
        if tier > 0 and selection.estimated_s + cost > budget_s:
            selection.dropped += 1
            continue
        selection.files.append(path)
        selection.reasons[path] = TIER_NAMES[min(tier, 3)] if tier else "named"
        selection.estimated_s += cost
    return selection


def _cost(path: Path) -> int:
    try:
        return max(1, len(TEST_DEF.findall(path.read_bytes())))
    except OSError:
        return 1
