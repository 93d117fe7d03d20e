"""VERIFY.md: the gates, in plain Markdown that people edit by hand.

    ## fix
    - `ruff check --fix-only -q {changed_py}`
    - `ruff format -q {changed_py}`
    ## step
    - `ruff check {changed_py}`
    - `pytest -q -x {affected_tests}`
      - timeout: 20
    ## task
    - `pytest -q`
    - review
    - browser http://127.0.0.1:{port}/
      - start: `python -m http.server {port}`
      - expect: Welcome

``## fix`` commands (formatters, autofixers) run after a step's edits, one after another,
and their changes join the step; ``## step`` gates run after every step that changed
files, ``## task`` gates before a task counts as done. Other headings and prose are
notes and are ignored. A mistake is a ``VerifyError`` at ``VERIFY.md:LINE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from tether.errors import UsageError

TIERS = ("fix", "step", "task")
GateKind = Literal["command", "review", "browser"]
OPTIONS = {
    "timeout": ("command", "review", "browser"),
    "start": ("browser",),
    "expect": ("browser",),
}

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^[-*]\s+(.*)$")
_SUBITEM = re.compile(r"^\s+[-*]\s+([A-Za-z][\w-]*)\s*:\s*(.*)$")
_COMMAND = re.compile(r"^`([^`]*)`(.*)$")


class VerifyError(UsageError):
    """VERIFY.md cannot be understood."""


@dataclass(frozen=True)
class GateSpec:
    kind: GateKind
    tier: str
    line: int
    command: str = ""
    url: str = ""
    start: str = ""
    expect: str = ""
    timeout_s: float | None = None
    note: str = ""
    asked_by: tuple[str, ...] = ()  # more than one: the same gate from VERIFY.md and accept:

    @property
    def name(self) -> str:
        if self.kind == "command":
            return self.command
        return "review" if self.kind == "review" else f"browser {self.url}"

    @property
    def source(self) -> str:
        """Who asked for the gate: ``VERIFY.md:12`` or ``accept``."""
        return f"VERIFY.md:{self.line}" if self.line else (self.note or "accept")

    def same_as(self, other: GateSpec) -> bool:
        """The same check in the same tier (commands compared word by word)."""
        return (
            self.tier == other.tier
            and self.kind == other.kind
            and self.name.split() == other.name.split()
            and self.start.split() == other.start.split()
            and self.expect == other.expect
        )


def parse_verify(text: str, where: str = "VERIFY.md") -> list[GateSpec]:
    """All gates of a VERIFY.md text, in file order."""
    gates: list[GateSpec] = []
    tier: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        heading = _HEADING.match(line)
        if heading:
            tier = _tier(heading.group(1), heading.group(2), tier)
            continue
        sub = _SUBITEM.match(line)
        if sub and gates and gates[-1].line < number and _belongs(text, gates[-1].line, number):
            gates[-1] = _option(
                gates[-1], sub.group(1).lower(), sub.group(2).strip(), f"{where}:{number}"
            )
            continue
        item = _ITEM.match(line)
        if item:
            if tier is None:
                raise VerifyError(
                    "a gate outside a '## fix', '## step' or '## task' section",
                    where=f"{where}:{number}",
                    hint="put gates under '## fix', '## step' or '## task'",
                )
            gates.append(_gate(item.group(1).strip(), tier, number, f"{where}:{number}"))
    return gates


def _tier(level: str, title: str, current: str | None) -> str | None:
    if len(level) == 1:
        return None
    if len(level) != 2:
        return current
    words = title.lower().split()
    return words[0] if words and words[0] in TIERS else None


def _belongs(text: str, gate_line: int, number: int) -> bool:
    """Sub-items belong to the gate above them if only sub-items/blank lines intervene."""
    lines = text.splitlines()[gate_line : number - 1]
    return all(not ln.strip() or _SUBITEM.match(ln) or ln.startswith((" ", "\t")) for ln in lines)


PLACEHOLDERS = ("changed", "changed_py", "affected_tests", "port")
_PLACEHOLDER = re.compile(r"(?<![$\\{])\{([A-Za-z_][A-Za-z0-9_]*)\}")


def check_placeholders(text: str, where: str, allowed: tuple[str, ...] = PLACEHOLDERS) -> None:
    """Every ``{name}`` in a gate is one tether fills in (``${VAR}`` is the shell's)."""
    for name in _PLACEHOLDER.findall(text):
        if name not in allowed:
            what = "unknown placeholder" if name not in PLACEHOLDERS else "a fix command cannot use"
            raise VerifyError(
                f"{what} {{{name}}}",
                where=where,
                hint=f"the placeholders here are {', '.join('{' + p + '}' for p in allowed)}",
            )


FIX_PLACEHOLDERS = ("changed", "changed_py")


def _gate(body: str, tier: str, number: int, where: str) -> GateSpec:
    command = _COMMAND.match(body)
    if tier == "fix" and not command:
        raise VerifyError(
            "a fix entry must be a `command` in backticks",
            where=where,
            hint="e.g. - `ruff format -q {changed_py}`",
        )
    if command:
        if not command.group(1).strip():
            raise VerifyError("the command in backticks is empty", where=where)
        allowed = FIX_PLACEHOLDERS if tier == "fix" else PLACEHOLDERS
        check_placeholders(command.group(1), where, allowed)
        return GateSpec(
            "command",
            tier,
            number,
            command=command.group(1).strip(),
            note=command.group(2).strip(" -—:"),
        )
    words = body.split()
    if not words:
        raise VerifyError(
            "an empty list item in a gate section", where=where, hint="remove it or write a gate"
        )
    head = words[0].lower().rstrip(":")
    if head == "review":
        return GateSpec("review", tier, number, note=" ".join(words[1:]))
    if head == "browser":
        url = words[1].strip("`<>") if len(words) > 1 else ""
        if not re.match(r"^https?://", url):
            raise VerifyError(
                f"'browser' needs an http(s) URL, got {url or 'nothing'!r}",
                where=where,
                hint="e.g. - browser http://127.0.0.1:{port}/",
            )
        check_placeholders(url, where)
        return GateSpec("browser", tier, number, url=url, note=" ".join(words[2:]))
    raise VerifyError(
        f"unrecognised gate {body[:60]!r}",
        where=where,
        hint="a gate is a `command` in backticks, `review`, or `browser URL`",
    )


def _option(gate: GateSpec, key: str, value: str, where: str) -> GateSpec:
    if key not in OPTIONS:
        raise VerifyError(
            f"unknown gate option {key!r}", where=where, hint=f"options are: {', '.join(OPTIONS)}"
        )
    if gate.kind not in OPTIONS[key]:
        raise VerifyError(f"option {key!r} does not apply to a {gate.kind} gate", where=where)
    if key == "timeout":
        try:
            seconds = float(value.rstrip("s ").strip())
        except ValueError:
            seconds = -1.0
        if not seconds > 0:
            raise VerifyError(
                f"timeout must be a positive number of seconds, got {value!r}", where=where
            )
        return replace(gate, timeout_s=seconds)
    value = value.strip()
    if key == "start":
        value = value.strip("`").strip()
        check_placeholders(value, where)
    if not value:
        raise VerifyError(f"option {key!r} is empty", where=where)
    return replace(gate, start=value) if key == "start" else replace(gate, expect=value)


def render_verify(
    step: list[str], task: list[str], intro: str = "", fix: list[str] | None = None
) -> str:
    """A VERIFY.md from gate lines (each already in list-item form without the dash)."""
    parts = ["# VERIFY", ""]
    if intro:
        parts += [intro, ""]
    if fix:
        parts += ["## fix", "", *[f"- {g}" for g in fix], ""]
    parts += [
        "## step",
        "",
        *[f"- {g}" for g in step],
        "",
        "## task",
        "",
        *[f"- {g}" for g in task],
        "",
    ]
    return "\n".join(parts)
