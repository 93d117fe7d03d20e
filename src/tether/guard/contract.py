"""A task's contract and the violations of it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tether.config import DEFAULT_DENY
from tether.rules.rule import Rule, active


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
    # compiled rules (AGENTS.md, PLAN.md keep:, --keep/--rule, the session), checked on
    # each step's own changes; their limits are folded into the fields above
    rules: tuple[Rule, ...] = ()

    def with_rules(self, rules: tuple[Rule, ...] | list[Rule]) -> Contract:
        """This contract narrowed by ``rules`` (added after the ones it holds)."""
        merged = active((*self.rules, *rules))
        limits = [r.limit for r in merged if r.kind == "max_diff"]
        denied = [r.what for r in merged if r.kind == "no_run" and r.what]
        return replace(
            self,
            rules=merged,
            max_diff=min([self.max_diff, *limits]),
            max_diff_bytes=(
                min(self.byte_limit, min(limits) * 250) if limits else self.max_diff_bytes
            ),
            allow_network=self.allow_network and not any(r.kind == "no_network" for r in merged),
            deny_commands=tuple(dict.fromkeys((*self.deny_commands, *denied))),
        )

    def rules_of(self, kind: str) -> list[Rule]:
        return [r for r in self.rules if r.kind == kind]

    @property
    def protected(self) -> tuple[str, ...]:
        """Every protected glob: the task's and its protect rules' (for the sandbox)."""
        return (*self.protect, *(p for r in self.rules_of("protect") for p in r.paths))

    @property
    def scopes(self) -> tuple[str, ...]:
        """Every scope glob: the task's and its scope rules' (which names tests)."""
        return (*self.scope, *(p for r in self.rules_of("scope") for p in r.paths))

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
        enforced = [r for r in self.rules if r.enforced]
        if enforced:
            lines.append("- rules, checked on every step's real diff:")
            lines += [f"  - {r.exact()}" for r in enforced]
        advice = [r.what for r in self.rules if not r.enforced]
        if advice:
            lines.append("- the developer's advice (not checked, but follow it):")
            lines += [f"  - {text}" for text in advice]
        return "\n".join(lines)


@dataclass(frozen=True)
class Violation:
    """A broken rule: ``layer`` is policy, sandbox or diff."""

    layer: str
    rule: str
    detail: str

    def message(self) -> str:
        return f"blocked by the guard ({self.layer}: {self.rule}): {self.detail}"
