"""The semantic rules on one step's changed files: ``keep: types``, ``keep: signatures``,
``keep: deps``, ``keep: tests``. Each gets the file's bytes before and after the step
(read once, parsed once for both Python checks) and says what broke, naming the rule
and the symbol. The guard rolls the step back on any breach."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tether.rules.deps import dependency_changes, is_manifest
from tether.rules.globs import matches_any
from tether.rules.pyparse import Parsed
from tether.rules.pytypes import type_changes
from tether.rules.rule import Rule
from tether.rules.signatures import public_signatures, signature_changes
from tether.rules.testfiles import needs_bytes as tests_need_bytes
from tether.rules.testfiles import test_changes, watched

PYTHON = (".py", ".pyi")
STUBS = (".pyi", ".d.ts")


@dataclass(frozen=True)
class FileStep:
    """One file as a step changed it: ``status`` A, M, D or T; bytes None when absent."""

    path: str
    status: str
    old: bytes | None = None
    new: bytes | None = None


@dataclass(frozen=True)
class Breach:
    rule: str  # the rule's exact form
    detail: str


def keeps(rules: Sequence[Rule]) -> list[Rule]:
    return [r for r in rules if r.kind == "keep"]


def applies(rule: Rule, path: str) -> bool:
    """Whether the keep ``rule`` looks at ``path`` at all."""
    if rule.paths and not matches_any(list(rule.paths), path):
        return False
    if rule.what in ("types", "signatures"):
        return path.endswith(PYTHON) or (rule.what == "types" and path.endswith(STUBS))
    if rule.what == "deps":
        return is_manifest(path)
    return watched(path)


def needs_bytes(rules: Sequence[Rule], path: str) -> bool:
    """Whether a check must read the file's contents (``keep: tests`` needs none)."""
    wanted = [r for r in keeps(rules) if applies(r, path)]
    return any(r.what != "tests" or tests_need_bytes(path) for r in wanted)


def check(rules: Sequence[Rule], steps: Sequence[FileStep], scope: Sequence[str]) -> list[Breach]:
    """Every breach of the keep rules among ``rules`` in this step's changes. ``scope``:
    the task's scope globs (a test file a scope glob names may change)."""
    found: list[Breach] = []
    for step in steps:
        wanted = [r for r in keeps(rules) if applies(r, step.path)]
        if not wanted:
            continue
        python = any(r.what in ("types", "signatures") for r in wanted)
        trees = _parsed(step) if python else None
        for rule in wanted:
            found += [Breach(rule.exact(), d) for d in _details(rule, step, trees, scope)]
    return found


def _details(
    rule: Rule,
    step: FileStep,
    trees: tuple[Parsed, Parsed] | None,
    scope: Sequence[str],
) -> list[str]:
    if rule.what == "tests":
        return test_changes(step.path, step.status, step.old, step.new, scope)
    if rule.what == "deps":
        return dependency_changes(step.path, step.old, step.new)
    if step.path.endswith(".d.ts"):
        return [] if step.old == step.new else [f"the type declarations {step.path} changed"]
    if step.old is None or step.new is None:
        return _whole_file(rule, step)
    if trees is None:
        return []  # one side does not parse: the gates will say so
    old, new = trees
    if rule.what == "types":
        stub = step.path.endswith(".pyi")
        return [c.describe(step.path) for c in type_changes(old, new, stub)]
    return [c.describe(step.path) for c in signature_changes(old, new, step.path)]


def _whole_file(rule: Rule, step: FileStep) -> list[str]:
    """A Python file added or deleted: new code keeps every rule; a deleted module with
    public definitions breaks signatures; a deleted or new stub changes types."""
    if step.path.endswith(".pyi"):
        return [f"the stub {step.path} was {'added' if step.old is None else 'deleted'}"]
    if step.new is None and rule.what == "signatures" and step.old is not None:
        parsed = Parsed.parse(step.old)
        public = public_signatures(parsed) if parsed is not None else []
        if public:
            return [f"{step.path} was deleted with {len(public)} public definition(s)"]
    return []


def _parsed(step: FileStep) -> tuple[Parsed, Parsed] | None:
    if step.old is None or step.new is None:
        return None
    old, new = Parsed.parse(step.old), Parsed.parse(step.new)
    return (old, new) if old is not None and new is not None else None
