"""Guard layer 3's rules, the diff contract: the real change since the task began, from
git. Whatever a step did (edit tools, a shell trick, a script), the tree after it is
compared with the task's base: a changed path outside the scope or inside the protected
paths (ignored or not), a deletion the contract does not allow, a symlink that leaves
the repository or points into a protected path, the rule or ledger files, a task diff
over ``max_diff`` lines or its byte limit, or a file over the size limit is a
violation, and the step is rolled back.
"""

from __future__ import annotations

import posixpath
from dataclasses import replace

from tether.guard.contract import Contract, Violation
from tether.guard.policy import RESERVED, ActionPolicy
from tether.rules.globs import matches_any
from tether.vcs.diff import FileChange


class DiffContract:
    def __init__(self, policy: ActionPolicy):
        self.policy = policy

    @property
    def contract(self) -> Contract:
        return self.policy.contract

    def check(
        self,
        changes: list[FileChange],
        diff_bytes: int = 0,
        oversized: list[tuple[str, int]] | None = None,
        step: set[str] | None = None,
    ) -> list[Violation]:
        """``oversized``: files of the tree over the size limit that the base did not
        hold as they are (a task may not make one). ``step``: the paths this step
        changed; the compiled rules judge only those (a rule said mid-run applies from
        then on, not to what earlier steps did). None: every changed path is the step's."""
        found: list[Violation] = []
        for change in changes:
            found += self._path(change, step is None or change.path in step)
        total = sum(change.lines for change in changes)
        limit = self.contract.max_diff
        if total > limit:
            found.append(
                Violation(
                    "diff",
                    "max_diff",
                    f"the task's diff is {total} lines, over its limit of {limit}",
                )
            )
        byte_limit = self.contract.byte_limit
        if diff_bytes > byte_limit:
            found.append(
                Violation(
                    "diff",
                    "max_diff_bytes",
                    f"the task's diff is {diff_bytes:,} bytes, over its limit of {byte_limit:,}",
                )
            )
        cap = self.contract.max_file_bytes / 1e6
        for path, size in oversized or []:
            found.append(
                Violation(
                    "diff",
                    "file_too_large",
                    f"{path!r} is {size / 1e6:.0f} MB, over the {cap:.0f} MB a task may write",
                )
            )
        return found

    def _path(self, change: FileChange, in_step: bool) -> list[Violation]:
        rule = self.policy.path_rule(change.path, with_rules=in_step)
        if rule is not None:
            return [replace(rule, layer="diff")]
        if change.status == "D":
            denied = self._deletion(change.path, in_step)
            if denied is not None:
                return [denied]
        if change.link is not None:
            return self._link(change.path, change.link)
        return []

    def _deletion(self, path: str, in_step: bool) -> Violation | None:
        if in_step:
            found = self.policy.delete_rule(path)
            if found is None or found.rule != "no_delete":
                return None if found is None else replace(found, layer="diff")
        elif self.contract.allow_delete or any(
            matches_any(r.paths, path) for r in self.contract.rules_of("may_delete")
        ):
            return None
        return Violation("diff", "no_delete", f"{path!r} was deleted; deletion is not allowed")

    def _link(self, path: str, target: str) -> list[Violation]:
        """A symlink must stay inside the repository and out of protected paths."""
        if posixpath.isabs(target):
            where = None
        else:
            where = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            if where == ".." or where.startswith("../"):
                where = None
        if where is None:
            return [
                Violation(
                    "diff",
                    "symlink_outside",
                    f"{path!r} is a symlink to {target!r}, outside the repository",
                )
            ]
        first = where.split("/")[0]
        if first in RESERVED or ".git" in where.split("/"):
            return [Violation("diff", "symlink_reserved", f"{path!r} points into {first}/")]
        if matches_any(self.contract.protect, where):
            return [
                Violation(
                    "diff", "symlink_protected", f"{path!r} points at the protected {where!r}"
                )
            ]
        return []
