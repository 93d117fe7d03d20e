"""Incremental test selection for ``{affected_tests}``.

Measured on networkx (see the gates issues): a plain import graph selects every test
because the package ``__init__`` imports everything; tests named after the module are
fast but miss failures elsewhere; and an empty selection must never pass. So candidates
come in ranked tiers (``candidates.py``), and the step tier takes them in order until its
time budget is spent:

- ``changed`` test files and tests ``named`` after a changed module -- always taken;
- ``covered``: tests the coverage map says reach a changed function (node ids);
- ``loose`` names, direct ``imports``, ``uses`` of a changed function's name, and
  ``indirect`` imports (graph cut at package ``__init__`` files);
- only for a file none of those found anything for: ``near`` tests folders, the tests
  importing its ``package``, then a ``sample`` of the cheapest of the rest.

Costs are the learned seconds of each test (``costs.py``) plus collection. What no
selected test is known to reach is listed in ``uncovered`` ("src/x.py:_helper"); the gate
then cannot pass, only be "uncovered", and the task tier is the safety net."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tether.gates import candidates as find
from tether.gates.costs import SuiteCosts
from tether.gates.coverage_map import CoverageMap
from tether.gates.imports import ImportIndex
from tether.gates.pysource import changed_functions, function_spans

TEST_DEF = re.compile(rb"^\s*(?:async\s+)?def\s+test", re.MULTILINE)
TIERS = (
    "changed", "named", "covered", "loose", "imports", "uses", "indirect",
    "near", "package", "sample",
)  # fmt: skip
ALWAYS = ("changed", "named")
NARROW = TIERS[:7]
MAX_NODES_PER_FILE = 25
MAX_ARGS_CHARS = 60_000
is_test_file = find.is_test_file


@dataclass
class Selection:
    files: list[str] = field(default_factory=list)  # test files and node ids, in order
    reasons: dict[str, str] = field(default_factory=dict)
    estimated_s: float = 0.0
    dropped: int = 0
    uncovered: list[str] = field(default_factory=list)  # "path:function"
    sources: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if not self.files:
            return "no tests selected for this change"
        counts = {name: sum(1 for r in self.reasons.values() if r == name) for name in TIERS}
        parts = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
        over = f", {self.dropped} more over the time budget" if self.dropped else ""
        names = ", ".join(Path(f.split("::")[0]).name for f in self.files[:3])
        more = f" +{len(self.files) - 3}" if len(self.files) > 3 else ""
        return (
            f"{len(self.files)} test item(s) ({parts}: {names}{more}), "
            f"~{self.estimated_s:.1f}s est.{over}"
        )


@dataclass
class _Candidates:
    ranked: dict[str, tuple[int, int]] = field(default_factory=dict)  # item → (tier, near)
    narrow: dict[str, set[str]] = field(default_factory=dict)  # source → items

    def offer(self, source: str, item: str, tier: str, near: int) -> None:
        rank = (TIERS.index(tier), near)
        if item not in self.ranked or rank < self.ranked[item]:
            self.ranked[item] = rank
        if tier in NARROW:
            self.narrow.setdefault(source, set()).add(item)


def select_tests(
    root: Path,
    files: list[str],
    changed: list[str],
    *,
    budget_s: float = 10.0,
    costs: SuiteCosts | None = None,
    coverage: CoverageMap | None = None,
    line_ranges: dict[str, list[tuple[int, int]]] | None = None,
) -> Selection:
    """Test items for ``changed`` (repo-relative), ranked and fitted to ``budget_s``."""
    costs = costs or SuiteCosts(root / ".tether-none")
    coverage = coverage or CoverageMap(root / ".tether-none")
    tests = [f for f in files if find.is_test_file(f)]
    sources = [c for c in changed if c.endswith(".py") and (root / c).is_file()]
    if not sources:
        return Selection()
    index = ImportIndex.build(root, [f for f in files if f.endswith(".py")])
    found = _Candidates()
    functions: dict[str, list[str]] = {}
    for source in sources:
        if find.is_test_file(source):
            found.offer(source, source, "changed", 0)
            continue
        functions[source] = _changed(root, source, (line_ranges or {}).get(source))
        _narrow(root, index, coverage, source, functions[source], tests, found)
    widened = [s for s in functions if not found.narrow.get(s)]
    for source in widened:
        _wide(index, source, tests, found)
    selection = _fit(root, found.ranked, budget_s, costs)
    selection.sources = sources
    selection.uncovered = _uncovered(root, functions, selection, found, coverage)
    return selection


def _changed(root: Path, source: str, ranges: list[tuple[int, int]] | None) -> list[str]:
    if ranges is None:
        return [""]
    try:
        return changed_functions((root / source).read_bytes(), ranges)
    except OSError:
        return [""]


def _narrow(
    root: Path,
    index: ImportIndex,
    coverage: CoverageMap,
    source: str,
    functions: list[str],
    tests: list[str],
    found: _Candidates,
) -> None:
    for test in find.named(source, tests):
        found.offer(source, test, "named", find.distance(source, test))
    for function in functions:
        for nodeid in coverage.tests_for(source, function):
            test = nodeid.split("::", 1)[0]
            if test in tests:
                found.offer(source, nodeid, "covered", find.distance(source, test))
    for test in find.loosely_named(source, tests):
        found.offer(source, test, "loose", find.distance(source, test))
    for depth, test in find.importers(index, index.modules.get(source, "")):
        if find.is_test_file(test):
            tier = "imports" if depth == 1 else "indirect"
            found.offer(source, test, tier, find.distance(source, test))
    names = [f.rsplit(".", 1)[-1] for f in functions if f] or _public_names(root / source)
    for test in find.users(root, tests, names):
        found.offer(source, test, "uses", find.distance(source, test))


def _wide(index: ImportIndex, source: str, tests: list[str], found: _Candidates) -> None:
    for test in find.near(source, tests):
        found.offer(source, test, "near", find.distance(source, test))
    module = index.modules.get(source, "")
    for test in find.package_importers(index, module, tests):
        found.offer(source, test, "package", find.distance(source, test))
    for test in tests:
        found.offer(source, test, "sample", 0)


def _public_names(path: Path) -> list[str]:
    try:
        spans = function_spans(path.read_bytes()) or []
    except OSError:
        return []
    return [name for name, _, _ in spans if "." not in name and not name.startswith("_")][:20]


def _fit(
    root: Path, ranked: dict[str, tuple[int, int]], budget_s: float, costs: SuiteCosts
) -> Selection:
    """Items in rank order while the estimate fits the budget (``sample`` cheapest
    first); node ids whose file is taken whole are folded into it."""
    selection = Selection()
    known: dict[str, float] = {}

    def cost_of(item: str) -> float:
        if item not in known:
            known[item] = _cost(root, item, costs)
        return known[item]

    taken_files: set[str] = set()
    files_in: set[str] = set()
    sample = TIERS.index("sample")
    by_cost = (TIERS.index("covered"), sample)
    selection.estimated_s = costs.run_overhead_s(0)  # start-up counts against the budget

    def order(item: tuple[str, tuple[int, int]]) -> tuple[int, float, int, str]:
        """Rank first; tests known to reach the change (and the sample) cheapest first,
        so the budget holds more of them and ``--maxfail`` stops sooner."""
        path, (tier, near) = item
        cheap = cost_of(path) if tier in by_cost else 0.0
        return tier, cheap, near, path

    for item, (tier, _) in sorted(ranked.items(), key=order):
        test = item.split("::", 1)[0]
        if test in taken_files:
            continue
        cost = cost_of(item)
        if test not in files_in:
            cost += costs.run_overhead_s(1) - costs.run_overhead_s(0)
        if TIERS[tier] not in ALWAYS and selection.estimated_s + cost > budget_s:
            selection.dropped += 1
            continue
        if "::" not in item:
            taken_files.add(item)
        files_in.add(test)
        selection.files.append(item)
        selection.reasons[item] = TIERS[tier]
        selection.estimated_s += cost
    if not selection.files:
        selection.estimated_s = 0.0
    _fold(selection, taken_files)
    return selection


def _fold(selection: Selection, whole: set[str]) -> None:
    """Node ids of a file taken whole go; many node ids of one file become the file;
    a command line too long for the shell is shortened the same way."""
    by_file: dict[str, list[str]] = {}
    for item in selection.files:
        by_file.setdefault(item.split("::", 1)[0], []).append(item)
    items: list[str] = []
    for test, group in by_file.items():
        nodes = [i for i in group if "::" in i]
        if test in whole or len(nodes) > MAX_NODES_PER_FILE:
            reason = selection.reasons.get(test) or selection.reasons[nodes[0]]
            items.append(test)
            selection.reasons[test] = reason
        else:
            items += nodes
    while sum(len(i) + 3 for i in items) > MAX_ARGS_CHARS:
        longest = max(by_file, key=lambda t: sum(len(i) for i in items if i.startswith(t + "::")))
        kept = [i for i in items if not i.startswith(longest + "::")]
        if len(kept) == len(items):
            break
        items = [*kept, longest]
        selection.reasons.setdefault(longest, "covered")
    selection.reasons = {i: selection.reasons[i] for i in items}
    selection.files = items


def _cost(root: Path, item: str, costs: SuiteCosts) -> float:
    if "::" in item:
        return costs.node_s(item)
    try:
        functions = max(1, len(TEST_DEF.findall((root / item).read_bytes())))
    except OSError:
        functions = 1
    return costs.file_s(item, functions)


def _uncovered(
    root: Path,
    functions: dict[str, list[str]],
    selection: Selection,
    found: _Candidates,
    coverage: CoverageMap,
) -> list[str]:
    """Changed functions no selected test is known to reach."""
    chosen = set(selection.files)
    whole = {i for i in chosen if "::" not in i}
    fresh_tests = [i for i, r in selection.reasons.items() if r == "changed"]
    missing = []
    for source, names in functions.items():
        narrow = found.narrow.get(source, set())
        for function in names:
            if _mentioned(root, fresh_tests, function):
                continue
            if function and coverage.knows(source, function):
                reach = coverage.tests_for(source, function)
                hit = any(t in chosen or t.split("::", 1)[0] in whole for t in reach)
            else:
                hit = any(i in chosen or i.split("::", 1)[0] in chosen for i in narrow)
            if not hit:
                missing.append(f"{source}:{function or '<module>'}")
    return missing


def _mentioned(root: Path, tests: list[str], function: str) -> bool:
    if not function or not tests:
        return False
    return bool(find.users(root, tests, [function.rsplit(".", 1)[-1]]))
