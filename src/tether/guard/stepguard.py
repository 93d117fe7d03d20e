"""Guard layer 3 for a whole task: after every step that may have written, the real
tree is checked against the diff contract; a violating step is rolled back to the last
good tree; violations in a row are counted (layer 1's blocked calls count too).

The step guard holds the task's trees: its base (the diff contract is measured from
there) and the last good tree (rollbacks go back to it). What changed between one step
and the next, while no tool of the model ran, is the user's: ``observe()`` takes it
into the base (so it is never rolled back nor counted against the contract) and says
which files it was."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from tether.guard.contract import Violation
from tether.guard.diffcheck import DiffContract
from tether.guard.gitstate import GitStateCopy
from tether.guard.ledger import LedgerCopy
from tether.rules.semantic import FileStep, check, keeps, needs_bytes
from tether.vcs.diff import FileChange


class Tree(Protocol):
    """What the step guard needs of a work tree."""

    def snapshot(self) -> str: ...

    def changes(self, base: str, tree: str) -> list[FileChange]: ...

    def diff_bytes(self, base: str, tree: str) -> int: ...

    def restore(self, tree: str) -> list[str]: ...

    def graft(self, into: str, source: str, paths: list[str]) -> str: ...

    def left_out(self) -> list[tuple[str, int]]: ...

    def remove(self, path: str) -> bool: ...

    def read_blobs(self, specs: list[str]) -> list[bytes | None]: ...


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
    diff_lines: int = 0  # the task's diff after the step (added+removed lines)

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

    def __init__(
        self,
        tree: Tree,
        contract: DiffContract,
        max_violations: int = 3,
        ledger: LedgerCopy | None = None,
        git_state: GitStateCopy | None = None,
    ):
        self.tree = tree
        self.contract = contract
        self.max_violations = max_violations
        self.ledger = ledger
        self.git_state = git_state
        self._base = ""
        self._good = ""
        self._good_changes: dict[str, FileChange] = {}
        self._base_oversized: set[tuple[str, int]] = set()
        self._previous: tuple[str, dict[str, FileChange]] | None = None
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
        self._good_changes = self._changes_of(base, current)
        self._base_oversized = set(self.tree.left_out())
        self.streak = 0
        self._take_copies()

    def observe(self) -> list[str]:
        """Before the model's tools run: what changed since the last good tree was done
        by someone else (the user in an editor). It joins the base and the good tree;
        returns the paths."""
        self._take_copies()
        tree = self.tree.snapshot()
        if tree == self._good:
            return []
        self._previous = None  # the user's edit is on top: the last step is not reopened
        paths = sorted(c.path for c in self.tree.changes(self._good, tree))
        self._base = self.tree.graft(self._base, tree, paths)
        self._good = tree
        self._good_changes = self._changes_of(self._base, tree)
        self._base_oversized |= set(self.tree.left_out())
        return paths

    def judge(self, wrote: bool, blocked: list[Violation]) -> StepVerdict:
        """Judge the step that just ran (``wrote``: a tool that may write was used;
        ``blocked``: what the action policy refused)."""
        before = self._good
        violations = list(blocked)
        if wrote:
            violations += self._check_copies()
        changed: list[str] = []
        restored: list[str] | None = None
        lines = sum(c.lines for c in self._good_changes.values())
        tree = self.tree.snapshot() if wrote else before
        new_large = [f for f in self.tree.left_out() if f not in self._base_oversized]
        if tree != before or new_large:
            changes = self.tree.changes(self._base, tree)
            size = self.tree.diff_bytes(self._base, tree) if changes else 0
            step = self._step_files(changes)
            found = self.contract.check(changes, size, new_large, {f.path for f in step})
            found = found or self._semantic(step, before, tree)
            if found:
                violations += found
                restored = self.tree.restore(before)
                restored += [path for path, _ in new_large if self.tree.remove(path)]
            else:
                changed = self._accept(tree, changes, step)
                lines = sum(c.lines for c in changes)
        self.streak = self.streak + 1 if violations else 0
        return StepVerdict(
            before=before,
            after=self._good,
            changed=changed,
            violations=violations,
            restored=restored,
            streak=self.streak,
            limit=self.max_violations,
            diff_lines=lines,
        )

    def reject(self) -> list[str]:
        """Roll the last kept step back to the tree before it (a reviewer said no)."""
        if not self._reopen():
            return []
        return self.tree.restore(self._good)

    def rejudge(self) -> StepVerdict:
        """The last kept step, judged again under the contract as it is now (a rule the
        developer added while the step waited for review); rolled back if it breaks it."""
        before = self._good
        if not self._reopen():
            return StepVerdict(before=before, after=before, limit=self.max_violations)
        return self.judge(True, [])

    def _reopen(self) -> bool:
        if self._previous is None:
            return False
        (self._good, self._good_changes), self._previous = self._previous, None
        return True

    def _take_copies(self) -> None:
        for copy in (self.ledger, self.git_state):
            if copy is not None:
                copy.take()

    def _check_copies(self) -> list[Violation]:
        found: list[Violation] = []
        for copy in (self.ledger, self.git_state):
            if copy is not None:
                found += copy.check()
        return found

    def _changes_of(self, base: str, tree: str) -> dict[str, FileChange]:
        changes = self.tree.changes(base, tree) if base != tree else []
        return {c.path: c for c in changes}

    def _step_files(self, changes: list[FileChange]) -> list[FileStep]:
        """This step's own changes, from the two diffs against the base (no third):
        each path whose mode or blob differs, with its status from the good tree."""
        now = {c.path: c for c in changes}
        old = self._good_changes
        out = []
        for path in sorted(now.keys() | old.keys()):
            a, b = old.get(path), now.get(path)
            if a is not None and b is not None and (a.mode, a.blob) == (b.mode, b.blob):
                continue
            ref = b if b is not None else a
            in_base = ref is not None and ref.status != "A"
            in_good = a.status != "D" if a is not None else in_base
            in_tree = b.status != "D" if b is not None else in_base
            status = "A" if not in_good else "D" if not in_tree else "M"
            out.append(FileStep(path, status))
        return out

    def _semantic(self, step: list[FileStep], before: str, tree: str) -> list[Violation]:
        """The keep rules on this step's files, read in one git call."""
        rules = self.contract.contract.rules
        if not keeps(rules) or not step:
            return []
        specs: list[str] = []
        for file in step:
            if needs_bytes(rules, file.path):
                specs += [f"{before}:{file.path}", f"{tree}:{file.path}"]
        blobs = dict(zip(specs, self.tree.read_blobs(specs), strict=True)) if specs else {}
        files = [FileStep(f.path, f.status, *_sides(blobs, before, tree, f.path)) for f in step]
        breaches = check(rules, files, self.contract.contract.scopes)
        return [Violation("diff", b.rule, b.detail) for b in breaches]

    def _accept(self, tree: str, changes: list[FileChange], files: list[FileStep]) -> list[str]:
        """The tree becomes the good one; returns this step's own paths."""
        step = [f.path for f in files]
        self._previous = (self._good, self._good_changes)
        self._good, self._good_changes = tree, {c.path: c for c in changes}
        return step


def _sides(
    blobs: dict[str, bytes | None], before: str, tree: str, path: str
) -> tuple[bytes | None, bytes | None]:
    return blobs.get(f"{before}:{path}"), blobs.get(f"{tree}:{path}")
