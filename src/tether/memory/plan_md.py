"""PLAN.md: the checklist of tasks, each with its contract.

    - [ ] T3: Add a --json flag to `list`
      - scope: src/app/cli.py, tests/test_cli.py
      - protect: src/app/types.py
      - max-diff: 80
      - accept: pytest -q tests/test_cli.py
      - notes: reuse the existing formatter

Boxes: ``[ ]`` open, ``[~]`` in progress, ``[x]`` done, ``[!]`` failed. Known sub-keys:
scope and protect (comma-separated globs), max-diff, max-steps, accept (one command per
line; repeat the key for more), notes, model (the executor model for this task), keep
(comma-separated: types, signatures, deps, tests) and rule (a constraint in plain words
or a rule's exact form, one per line; repeat the key for more), skill (a skill's name
and its parameters: ``skill: fix-typo module=src/app/orders.py``).
An unknown sub-key is an error (naming the nearest known one). Everything that is not a
task (headings, prose) is kept byte for byte; a canonical file renders back identically.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from tether.errors import UsageError

STATUS = {" ": "open", "~": "in_progress", "x": "done", "!": "failed"}
BOX = {name: char for char, name in STATUS.items()}
KNOWN = (
    "scope", "protect", "max-diff", "max-steps", "accept", "notes", "model", "keep", "rule",
    "skill",
)  # fmt: skip
KEEPS = ("types", "signatures", "deps", "tests")
_TASK = re.compile(r"^- \[(?P<box>.)\] (?P<id>T\d+(?:\.\d+)*): (?P<title>\S.*)$")
_LOOKS_LIKE_TASK = re.compile(r"^\s*[-*]\s*\[")
_SUB = re.compile(r"^  - (?P<key>[a-z][a-z0-9-]*): ?(?P<value>.*)$")


class PlanError(UsageError):
    """PLAN.md cannot be understood."""


@dataclass
class PlanTask:
    id: str
    title: str
    status: str = "open"
    items: list[tuple[str, str]] = field(default_factory=list)
    line: int = 0

    def values(self, key: str) -> list[str]:
        return [value for k, value in self.items if k == key]

    def value(self, key: str) -> str | None:
        found = self.values(key)
        return found[-1] if found else None

    @property
    def scope(self) -> tuple[str, ...]:
        return _globs(self.values("scope"))

    @property
    def protect(self) -> tuple[str, ...]:
        return _globs(self.values("protect"))

    @property
    def accept(self) -> tuple[str, ...]:
        return tuple(v.strip() for v in self.values("accept") if v.strip())

    @property
    def keep(self) -> tuple[str, ...]:
        return _globs(self.values("keep"))

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(v.strip() for v in self.values("rule") if v.strip())

    @property
    def skill(self) -> tuple[str, tuple[str, ...]] | None:
        """``skill: NAME k=v ...`` → (NAME, ("k=v", ...)); None without one."""
        words = (self.value("skill") or "").split()
        return (words[0], tuple(words[1:])) if words else None

    @property
    def notes(self) -> str:
        return " ".join(v.strip() for v in self.values("notes"))

    @property
    def max_diff(self) -> int | None:
        value = self.value("max-diff")
        return int(value) if value else None

    @property
    def max_steps(self) -> int | None:
        value = self.value("max-steps")
        return int(value) if value else None

    @property
    def model(self) -> str | None:
        value = self.value("model")
        return value.strip() if value and value.strip() else None

    def render(self) -> str:
        lines = [f"- [{BOX[self.status]}] {self.id}: {self.title}"]
        lines += [f"  - {key}: {value}".rstrip() for key, value in self.items]
        return "\n".join(lines)


@dataclass
class Plan:
    """The file as blocks: raw text lines (str) and tasks, in order."""

    blocks: list[str | PlanTask] = field(default_factory=list)
    trailing_newline: bool = True

    @property
    def tasks(self) -> list[PlanTask]:
        return [b for b in self.blocks if isinstance(b, PlanTask)]

    def get(self, task_id: str) -> PlanTask | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def render(self) -> str:
        text = "\n".join(b if isinstance(b, str) else b.render() for b in self.blocks)
        return text + ("\n" if self.trailing_newline and self.blocks else "")

    def next_number(self) -> int:
        numbers = [int(t.id[1:].split(".")[0]) for t in self.tasks]
        return max(numbers, default=0) + 1

    def append_section(self, heading: str, tasks: list[PlanTask]) -> None:
        if not self.blocks:
            self.blocks += ["# PLAN", ""]
        elif self.blocks[-1] != "":
            self.blocks.append("")
        self.blocks += [f"## {heading}", ""]
        self.blocks += tasks

    def insert_after(self, task_id: str, new: PlanTask) -> None:
        index = next(
            i for i, b in enumerate(self.blocks) if isinstance(b, PlanTask) and b.id == task_id
        )
        # after the task and any follow-ups already placed right after it
        while index + 1 < len(self.blocks):
            following = self.blocks[index + 1]
            if isinstance(following, PlanTask) and following.id.startswith(task_id + "."):
                index += 1
                continue
            break
        self.blocks.insert(index + 1, new)

    def follow_up_id(self, task_id: str) -> str:
        taken = {t.id for t in self.tasks}
        number = 1
        while f"{task_id}.{number}" in taken:
            number += 1
        return f"{task_id}.{number}"


def outside_repo(glob: str) -> str:
    """Why a scope or protect glob leaves the repository ('' when it does not)."""
    if glob.startswith(("/", "~")) or (len(glob) > 1 and glob[1] == ":"):
        return f"{glob!r} is absolute; give a path relative to the repository root"
    if ".." in glob.replace("\\", "/").split("/"):
        return f"{glob!r} leaves the repository"
    if "\0" in glob:
        return f"{glob!r} holds a NUL character"
    return ""


def _globs(values: list[str]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def parse_plan(text: str, where: str = "PLAN.md") -> Plan:
    plan = Plan(trailing_newline=text.endswith("\n") or not text)
    lines = text.split("\n")
    if plan.trailing_newline and lines and lines[-1] == "":
        lines.pop()
    current: PlanTask | None = None
    for number, line in enumerate(lines, start=1):
        task = _TASK.match(line)
        if task:
            current = _new_task(task, number, where, plan)
            plan.blocks.append(current)
            continue
        sub = _SUB.match(line)
        if sub and current is not None:
            current.items.append((sub.group("key"), sub.group("value")))
            _check_item(sub.group("key"), sub.group("value"), f"{where}:{number}")
            continue
        if _LOOKS_LIKE_TASK.match(line):
            raise PlanError(
                "malformed task line",
                where=f"{where}:{number}",
                hint="write tasks as '- [ ] T1: title' (boxes: [ ] [~] [x] [!])",
            )
        if sub:
            raise PlanError(
                "a task detail outside a task",
                where=f"{where}:{number}",
                hint="put '  - key: value' lines right under their task",
            )
        current = None
        plan.blocks.append(line)
    return plan


def _new_task(match: re.Match[str], number: int, where: str, plan: Plan) -> PlanTask:
    box = match.group("box").lower()
    if box not in STATUS:
        raise PlanError(
            f"unknown status box [{match.group('box')}]",
            where=f"{where}:{number}",
            hint="use [ ] open, [~] in progress, [x] done, [!] failed",
        )
    if plan.get(match.group("id")) is not None:
        raise PlanError(f"task id {match.group('id')} is used twice", where=f"{where}:{number}")
    return PlanTask(
        id=match.group("id"), title=match.group("title").strip(), status=STATUS[box], line=number
    )


def _check_item(key: str, value: str, where: str) -> None:
    if key not in KNOWN:
        close = difflib.get_close_matches(key, KNOWN, n=1)
        raise PlanError(
            f"unknown task detail {key!r}",
            where=where,
            hint=(f"did you mean {close[0]!r}? " if close else "")
            + f"the details are: {', '.join(KNOWN)}",
        )
    if key in ("scope", "protect"):
        for glob in _globs([value]):
            problem = outside_repo(glob)
            if problem:
                raise PlanError(
                    f"{key}: {problem}", where=where, hint="use paths inside the repository"
                )
    if key in ("max-diff", "max-steps"):
        if not value.strip().isdigit() or int(value) <= 0:
            raise PlanError(
                f"{key} must be a positive whole number, got {value.strip()!r}", where=where
            )
    elif key == "keep":
        unknown = [word for word in _globs([value]) if word not in KEEPS]
        if unknown or not value.strip():
            raise PlanError(
                f"keep: {', '.join(unknown) or 'nothing'} is not something a task can keep",
                where=where,
                hint=f"keep takes {', '.join(KEEPS)}",
            )
    elif key in ("scope", "protect", "accept", "rule") and not value.strip():
        raise PlanError(f"{key} is empty", where=where, hint="remove the line or fill it in")


def task_from_contract(
    task_id: str,
    title: str,
    *,
    scope: list[str],
    protect: list[str],
    max_diff: int,
    accept: list[str],
    notes: str = "",
    skill: str = "",
) -> PlanTask:
    """A new task in canonical form."""
    items: list[tuple[str, str]] = []
    if scope:
        items.append(("scope", ", ".join(scope)))
    if protect:
        items.append(("protect", ", ".join(protect)))
    items.append(("max-diff", str(max_diff)))
    items += [("accept", command) for command in accept]
    if notes.strip():
        items.append(("notes", " ".join(notes.split())))
    if skill.strip():
        items.append(("skill", " ".join(skill.split())))
    return PlanTask(id=task_id, title=" ".join(title.split()), items=items)
