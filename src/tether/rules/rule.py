"""A rule: one enforced constraint on a task, in one exact written form.

Every rule has an exact form (``scope: src/cli.py``, ``keep: types in src/app/**``,
``max diff: 40 lines``) that the compiler reads back as the same rule, so what tether
echoes is also what a user can write in AGENTS.md, PLAN.md or ``--rule``.

Rules only narrow a task's contract, with two exceptions a developer may say out loud:
``may delete: PATHS`` and ``allow: tests`` (which cancels a ``keep: tests`` said
earlier, in AGENTS.md for example)."""

from __future__ import annotations

from dataclasses import dataclass, replace

KEEPS = ("types", "signatures", "deps", "tests")
KINDS = (
    "scope",
    "protect",
    "no_delete",
    "may_delete",
    "max_diff",
    "keep",
    "allow",
    "no_network",
    "no_run",
    "advice",
)


@dataclass(frozen=True)
class Rule:
    """``paths``: globs (scope, protect, deletes, keep's where); ``what``: the keep or
    allow kind, the denied command, or the advice's text; ``limit``: max diff lines;
    ``source``: where it was said (``AGENTS.md:14``, ``--rule``, ``session``)."""

    kind: str
    paths: tuple[str, ...] = ()
    what: str = ""
    limit: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown rule kind {self.kind!r}")
        if self.kind in ("keep", "allow") and self.what not in KEEPS:
            raise ValueError(f"{self.kind} takes one of {', '.join(KEEPS)}, not {self.what!r}")

    @property
    def enforced(self) -> bool:
        """Advice is said to the model; every other rule is checked."""
        return self.kind != "advice"

    def exact(self) -> str:
        """The rule's one written form (the compiler reads it back as this rule)."""
        where = ", ".join(self.paths)
        if self.kind == "scope":
            return f"scope: {where}"
        if self.kind == "protect":
            return f"protect: {where}"
        if self.kind == "no_delete":
            return f"no deletes: {where}" if where else "no deletes"
        if self.kind == "may_delete":
            return f"may delete: {where}" if where else "may delete: **"
        if self.kind == "max_diff":
            return f"max diff: {self.limit} lines"
        if self.kind == "keep":
            return f"keep: {self.what} in {where}" if where else f"keep: {self.what}"
        if self.kind == "allow":
            return f"allow: {self.what}"
        if self.kind == "no_network":
            return "no network"
        if self.kind == "no_run":
            return f"no running: {self.what}"
        return f"advice: {self.what}"

    def said(self, source: str) -> Rule:
        return replace(self, source=source)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "rule": self.exact()}
        if self.paths:
            out["paths"] = list(self.paths)
        if self.what:
            out["what"] = self.what
        if self.limit:
            out["limit"] = self.limit
        if self.source:
            out["source"] = self.source
        return out

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Rule:
        paths = data.get("paths") or ()
        limit = data.get("limit") or 0
        return cls(
            kind=str(data.get("kind")),
            paths=tuple(str(p) for p in paths) if isinstance(paths, list | tuple) else (),
            what=str(data.get("what") or ""),
            limit=int(limit) if isinstance(limit, int | float | str) else 0,
            source=str(data.get("source") or ""),
        )


def active(rules: tuple[Rule, ...] | list[Rule]) -> tuple[Rule, ...]:
    """The rules that apply, in order: an ``allow: X`` cancels every ``keep: X`` said
    before it; a later ``keep: X`` applies again. Duplicates are said once."""
    out: list[Rule] = []
    seen: set[tuple[str, tuple[str, ...], str, int]] = set()
    for rule in rules:
        if rule.kind == "allow":
            out = [r for r in out if not (r.kind == "keep" and r.what == rule.what)]
            seen = {key for key in seen if not (key[0] == "keep" and key[2] == rule.what)}
            continue
        key = (rule.kind, rule.paths, rule.what, rule.limit)
        if key not in seen:
            seen.add(key)
            out.append(rule)
    return tuple(out)
