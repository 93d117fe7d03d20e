"""A task's contract and the violations of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from tether.config import DEFAULT_DENY


@dataclass(frozen=True)
class Contract:
    """What a task may do. Empty ``scope`` means the whole repository."""

    scope: tuple[str, ...] = ()
    protect: tuple[str, ...] = ()
    max_diff: int = 200
    max_diff_bytes: int | None = None
    max_file_bytes: int = 50 * 1024 * 1024
    allow_delete: bool = False
    allow_network: bool = False
    deny_commands: tuple[str, ...] = field(default_factory=lambda: tuple(DEFAULT_DENY))
    accept: tuple[str, ...] = ()
    ledger_files: tuple[str, ...] = ("PLAN.md", "PROGRESS.md")
    rule_files: tuple[str, ...] = ("VERIFY.md", "AGENTS.md")

    @property
    def byte_limit(self) -> int:
        """The cap on the bytes of added+removed lines (one long line is not one line)."""
        return self.max_diff_bytes or self.max_diff * 250

    def rule_file_in_scope(self, rel: str) -> bool:
        """VERIFY.md and AGENTS.md change only when the scope names them literally."""
        return rel in self.scope

    def describe(self) -> str:
        """The contract as the executor reads it in its prompt."""
        lines = [
            f"- scope (paths you may change): {', '.join(self.scope) or 'the whole repository'}",
            f"- protected (never change): {', '.join(self.protect) or 'none'}",
            f"- max diff: {self.max_diff} added+removed lines "
            f"({self.byte_limit:,} bytes) for the whole task",
            f"- deleting files: {'allowed' if self.allow_delete else 'not allowed'}",
            f"- network in commands: {'allowed' if self.allow_network else 'none'}",
        ]
        if self.accept:
            lines.append(f"- acceptance commands: {'; '.join(self.accept)}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Violation:
    """A broken rule: ``layer`` is policy, sandbox or diff."""

    layer: str
    rule: str
    detail: str

    def message(self) -> str:
        return f"blocked by the guard ({self.layer}: {self.rule}): {self.detail}"
