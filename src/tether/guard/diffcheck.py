"""Guard layer 3, the diff contract: the real change since the task began, from git.

Whatever a step did (edit tools, a shell trick, a script), the tree after it is
compared with the tree before the task: a changed path outside the scope or inside the
protected paths, a deletion the contract does not allow, or a task diff over
``max_diff`` lines is a violation, and the step is rolled back.
"""

from __future__ import annotations

from dataclasses import replace

from tether.guard.contract import Contract, Violation
from tether.guard.policy import ActionPolicy
from tether.vcs.diff import FileChange


class DiffContract:
    def __init__(self, policy: ActionPolicy):
        self.policy = policy

    @property
    def contract(self) -> Contract:
        return self.policy.contract

    def check(self, changes: list[FileChange]) -> list[Violation]:
        found: list[Violation] = []
        for change in changes:
            rule = self.policy.path_rule(change.path)
            if rule is not None:
                found.append(replace(rule, layer="diff"))
            elif change.status == "D" and not self.contract.allow_delete:
                found.append(
                    Violation(
                        "diff", "no_delete", f"{change.path!r} was deleted; deletion is not allowed"
                    )
                )
        total = sum(change.lines for change in changes)
        if total > self.contract.max_diff:
            found.append(
                Violation(
                    "diff",
                    "max_diff",
                    f"the task's diff is {total} lines, over its limit of {self.contract.max_diff}",
                )
            )
        return found
