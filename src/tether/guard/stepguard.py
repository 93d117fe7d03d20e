"""Guard layer 3 for a whole task: after every step that may have written, the real
tree is checked against the diff contract; a violating step is rolled back to the last
good tree; violations in a row are counted (layer 1's blocked calls count too).

The step guard holds the task's trees: its base (the diff contract is measured from
there) and the last good tree (rollbacks go back to it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from tether.guard.contract import Violation
from tether.guard.diffcheck import DiffContract
from tether.vcs.diff import FileChange


class Tree(Protocol):
    """What the step guard needs of a work tree."""

    def snapshot(self) -> str: ...

    def changes(self, base: str, tree: str) -> list[FileChange]: ...

    def restore(self, tree: str) -> list[str]: ...


@dataclass(frozen=True)
class StepVerdict:
    """One step, judged. ``changed``: the paths this step changed and kept (empty when
    nothing changed or the step was rolled back); ``before``/``after``: the good tree
    before and after the step."""

    before: str
    after: str
    changed: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    restored: list[str] | None = None
    streak: int = 0
    limit: int = 3

    @property
    def rolled_back(self) -> bool:
        return self.restored is not None

    @property
    def exhausted(self) -> bool:
        return self.streak >= self.limit

    def feedback(self) -> str:
        """What the model reads about the violations ('' when there are none)."""
        if not self.violations:
            return ""
        rules = "\n".join(f"- {v.message()}" for v in self.violations)
        head = "This step was rolled back." if self.rolled_back else "The guard blocked this."
        left = self.limit - self.streak
        return (
            f"{head}\n{rules}\nStay inside the contract ({left} more violation(s) in a "
            "row end the task)."
        )


class TaskStepGuard:
    """The diff contract, the rollback and the violation streak of one task."""

    def __init__(self, tree: Tree, contract: DiffContract, max_violations: int = 3):
        self.tree = tree
        self.contract = contract
        self.max_violations = max_violations
        self._base = ""
        self._good = ""
        self._good_changes: dict[str, tuple[str, str]] = {}
        self.streak = 0

    @property
    def base(self) -> str:
        return self._base

    @property
    def good(self) -> str:
        return self._good

    def begin(self, base: str, current: str) -> None:
        """Start judging: the contract is measured from ``base``; ``current`` is good."""
        self._base, self._good = base, current
        changes = self.tree.changes(base, current) if base != current else []
        self._good_changes = {c.path: (c.mode, c.blob) for c in changes}
        self.streak = 0

    def judge(self, wrote: bool, blocked: list[Violation]) -> StepVerdict:
        """Judge the step that just ran (``wrote``: a tool that may write was used;
        ``blocked``: what the action policy refused)."""
        before = self._good
        violations = list(blocked)
        changed: list[str] = []
        restored: list[str] | None = None
        tree = self.tree.snapshot() if wrote else before
        if tree != before:
            changes = self.tree.changes(self._base, tree)
            found = self.contract.check(changes)
            if found:
                violations += found
                restored = self.tree.restore(before)
            else:
                changed = self._accept(tree, changes)
        self.streak = self.streak + 1 if violations else 0
        return StepVerdict(
            before=before,
            after=self._good,
            changed=changed,
            violations=violations,
            restored=restored,
            streak=self.streak,
            limit=self.max_violations,
        )

    def _accept(self, tree: str, changes: list[FileChange]) -> list[str]:
        """This step's own changes, from the two diffs against the base (no third)."""
        now = {c.path: (c.mode, c.blob) for c in changes}
        old = self._good_changes
        step = sorted(p for p in now.keys() | old.keys() if now.get(p) != old.get(p))
        self._good, self._good_changes = tree, now
        return step
