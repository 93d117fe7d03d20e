"""PROGRESS.md: the ledger tether appends to, one entry per task attempt (or context).

Each entry records when, the session, the steps, models and tokens, each gate with its
status and seconds, the commit, and a handoff note (what was done, what remains, what
the next attempt must know). tether only ever appends: hand edits above the last entry
stay as they are.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Protocol

import msgspec

HEADER = (
    "# PROGRESS\n\nThe ledger of task attempts, appended by tether. Edit freely above "
    "the last entry;\ntether only adds entries at the end.\n"
)
_HEADING = re.compile(
    r"^## (?P<id>T\d+(?:\.\d+)*|skill:[a-z0-9-]+) · attempt (?P<attempt>\d+) · "
    r"(?P<status>[a-z-]+) · (?P<time>.+)$"
)
_FIELD = re.compile(r"^- (?P<key>[a-z][a-z -]*): (?P<value>.*)$")


class GateLine(Protocol):
    """What the ledger records of a gate result (``tether.gates.results.GateResult``)."""

    @property
    def tier(self) -> str: ...
    @property
    def gate(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def seconds(self) -> float: ...
    @property
    def asked_by(self) -> tuple[str, ...]: ...


class ModelUse(msgspec.Struct):
    model: str
    provider: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int

    def render(self) -> str:
        share = f"{self.cached_tokens / self.input_tokens:.0%}" if self.input_tokens else "0%"
        return (
            f"{self.model} ({self.provider}): {self.input_tokens:,} input tokens "
            f"({share} cached), {self.output_tokens:,} output tokens"
        )


class LedgerEntry(msgspec.Struct):
    task_id: str
    attempt: int
    status: str  # done | failed | handoff | interrupted
    time: datetime
    session: str
    title: str
    steps: int
    models: list[ModelUse] = msgspec.field(default_factory=list)
    gates: list[GateLine] = msgspec.field(default_factory=list)
    commit: str = ""
    checkpoint: str = ""
    files: list[str] = msgspec.field(default_factory=list)
    done: str = ""
    remains: str = ""
    must_know: str = ""
    skill: str = ""  # a skill replay: the skill and the way that ran ("fix-typo, exact")

    def render(self) -> str:
        stamp = self.time.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
        lines = [
            f"## {self.task_id} · attempt {self.attempt} · {self.status} · {stamp}",
            "",
            f"- session: {self.session}",
            f"- task: {self.title}",
            f"- steps: {self.steps}",
        ]
        if self.skill:
            lines.append(f"- skill: {self.skill}")
        lines += [f"- model: {use.render()}" for use in self.models]
        if self.gates:
            lines.append("- gates: " + " · ".join(_gate(g) for g in self.gates))
        else:
            lines.append("- gates: none ran")
        lines.append(f"- files: {', '.join(self.files) if self.files else 'none changed'}")
        lines.append(f"- commit: {self.commit or 'none'}")
        if self.checkpoint:
            lines.append(f"- checkpoint: {self.checkpoint}")
        lines.append(f"- done: {_one_line(self.done) or '-'}")
        lines.append(f"- remains: {_one_line(self.remains) or '-'}")
        lines.append(f"- must know: {_one_line(self.must_know) or '-'}")
        return "\n".join(lines) + "\n"


def _gate(gate: GateLine) -> str:
    asked = gate.asked_by
    both = f" (asked by {' and '.join(asked)}, run once)" if len(asked) > 1 else ""
    return f"{gate.tier} `{gate.gate}` {gate.status} {gate.seconds:.1f}s{both}"


def _one_line(text: str, limit: int = 600) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def append_entry(path: Path, entry: LedgerEntry) -> None:
    """Append one entry (creating the file with its header when new)."""
    exists = path.exists() and path.stat().st_size > 0
    with path.open("a", encoding="utf-8") as handle:
        if not exists:
            handle.write(HEADER)
        handle.write("\n" + entry.render())
        handle.flush()


class ParsedEntry(msgspec.Struct):
    task_id: str
    attempt: int
    status: str
    time: str
    fields: dict[str, str]


def parse_progress(text: str) -> list[ParsedEntry]:
    """The entries of a ledger (hand-written text between them is ignored)."""
    entries: list[ParsedEntry] = []
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            entries.append(
                ParsedEntry(
                    heading.group("id"),
                    int(heading.group("attempt")),
                    heading.group("status"),
                    heading.group("time"),
                    {},
                )
            )
            continue
        field_match = _FIELD.match(line)
        if field_match and entries:
            entries[-1].fields.setdefault(field_match.group("key"), field_match.group("value"))
    return entries


def handoff_notes(entries: list[ParsedEntry], task_id: str) -> str:
    """What earlier attempts and contexts of ``task_id`` left for the next one."""
    notes = []
    for entry in entries:
        if entry.task_id != task_id:
            continue
        f = entry.fields
        notes.append(
            f"- attempt {entry.attempt} ({entry.status}): done: {f.get('done', '-')}; "
            f"remains: {f.get('remains', '-')}; must know: {f.get('must know', '-')}; "
            f"files: {f.get('files', '-')}; gates: {f.get('gates', '-')}"
        )
    return "\n".join(notes)


def attempts_so_far(entries: list[ParsedEntry], task_id: str) -> int:
    """Finished attempts (handoffs are contexts within an attempt, not attempts)."""
    return sum(1 for e in entries if e.task_id == task_id and e.status != "handoff")
