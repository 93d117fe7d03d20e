"""Ask the planner for a plan: one ``submit_plan(tasks)`` call, validated, re-asked at
most twice with the errors."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tether.errors import TetherError
from tether.guard.contract import Contract
from tether.guard.policy import ActionPolicy
from tether.models.types import Model, ToolCall, ToolSpec
from tether.planner.asking import arguments, ask
from tether.rules.globs import is_glob, matches_any

MAX_ASKS = 3

SUBMIT_PLAN = ToolSpec(
    "submit_plan",
    "Submit the plan: small tasks in the order they must run.",
    {
        "type": "object",
        "properties": {
            "tasks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string"},
                        "scope": {"type": "array", "items": {"type": "string"}},
                        "protect": {"type": "array", "items": {"type": "string"}},
                        "max_diff": {"type": "integer", "minimum": 1},
                        "accept": {"type": "array", "items": {"type": "string"}},
                        "notes": {"type": "string"},
                        "skill": {
                            "type": "string",
                            "description": "optional: a skill from # Skills that fits the "
                            "task, with its parameters: 'NAME param=value ...'",
                        },
                    },
                    "required": ["title", "scope", "protect", "max_diff", "accept", "notes"],
                },
            }
        },
        "required": ["tasks"],
    },
)

SYSTEM = """\
You are the planner of tether. You turn a goal into a short checklist of small tasks that \
fast executor models carry out one at a time, each in a fresh context, under a contract:
- title: what to do, in one line;
- scope: the files (or globs like src/app/**) the task may change; new files go here too;
- protect: files it must not change;
- max_diff: the most added+removed lines the task needs (keep it small);
- accept: shell commands that prove the task is done (tests, checks);
- notes: what the executor must know (design decisions, where to look);
- skill (optional): a listed skill that does this kind of task, with its parameters.
Order tasks so each one builds on the previous ones. Answer only by calling submit_plan."""


class PlanningError(TetherError):
    """The planner did not produce a usable plan."""


@dataclass(frozen=True)
class PlannedTask:
    title: str
    scope: list[str]
    protect: list[str]
    max_diff: int
    accept: list[str]
    notes: str
    skill: str = ""


def planner_prompt(
    goal: str,
    repo_map: str,
    agents_md: str | None,
    verify_md: str | None,
    executor_window: int,
    skills: str = "",
) -> str:
    """``skills``: the repository's skills, one line each (name (params): description)."""
    parts = []
    if agents_md:
        parts.append(f"# AGENTS.md\n{agents_md.strip()}")
    if verify_md:
        parts.append(f"# VERIFY.md (gates every task must pass)\n{verify_md.strip()}")
    parts.append(f"# Repository map (files: top-level symbols)\n{repo_map}")
    parts.append(
        f"# Executor budget\nEach task runs in ONE fresh executor context of "
        f"{executor_window:,} tokens, including the files it reads. Keep every task small "
        "enough for that: a few files, a focused change."
    )
    if skills.strip():
        parts.append(f"# Skills (verified procedures a task may name)\n{skills.strip()}")
    parts.append(f"# Goal\n{goal.strip()}")
    return "\n\n".join(parts)


async def make_plan(
    model: Model,
    root: Path,
    files: list[str],
    prompt: str,
    max_output_tokens: int = 8192,
    skills: tuple[str, ...] = (),
) -> list[PlannedTask]:
    """``skills``: the names a task may name."""
    tasks, problems = await ask(
        model,
        SYSTEM,
        prompt,
        SUBMIT_PLAN,
        lambda calls: validate_plan(calls, root, files, skills),
        MAX_ASKS,
        max_output_tokens,
        what="plan",
        again="Fix these problems and call submit_plan again with the whole plan.",
    )
    if problems:
        raise PlanningError(
            f"the planner's plan broke the rules {MAX_ASKS} times; last problems: "
            + "; ".join(problems[:5]),
            hint="try a more capable planner model, or a more specific goal",
        )
    return tasks


def validate_plan(
    calls: tuple[ToolCall, ...], root: Path, files: list[str], skills: tuple[str, ...] = ()
) -> tuple[list[PlannedTask], list[str]]:
    """The tasks, or the list of rules the answer broke."""
    raw, problems = arguments(calls, "submit_plan", "tasks")
    if problems:
        return [], problems
    tasks: list[PlannedTask] = []
    for number, item in enumerate(raw, start=1):
        task, errors = _task(item, number, root, files)
        if task is not None and task.skill and task.skill.split()[0] not in skills:
            known = ", ".join(skills) or "there are none"
            errors.append(f"task {number}: no skill {task.skill.split()[0]!r} ({known})")
        problems += errors
        if task is not None:
            tasks.append(task)
    return tasks, problems


def _task(
    item: Any, number: int, root: Path, files: list[str]
) -> tuple[PlannedTask | None, list[str]]:
    if not isinstance(item, dict):
        return None, [f"task {number} is not an object"]
    title = item.get("title")
    label = f"task {number}" + (f" ({title[:40]})" if isinstance(title, str) and title else "")
    errors: list[str] = []
    if not isinstance(title, str) or not title.strip():
        errors.append(f"{label}: 'title' must be a non-empty string")
    scope = _strings(item.get("scope"), f"{label}: 'scope'", errors, required=True)
    protect = _strings(item.get("protect", []), f"{label}: 'protect'", errors, required=False)
    accept = _strings(item.get("accept"), f"{label}: 'accept'", errors, required=True)
    for path in scope + protect:
        problem = _path_problem(path, root, files)
        if problem:
            errors.append(f"{label}: {problem}")
    max_diff = item.get("max_diff")
    if isinstance(max_diff, bool) or not isinstance(max_diff, int) or max_diff <= 0:
        errors.append(f"{label}: 'max_diff' must be a positive integer, got {max_diff!r}")
    notes = item.get("notes", "")
    if not isinstance(notes, str):
        errors.append(f"{label}: 'notes' must be a string")
    skill = item.get("skill") or ""
    if not isinstance(skill, str):
        errors.append(f"{label}: 'skill' must be a string")
    if errors:
        return None, errors
    assert isinstance(title, str) and isinstance(max_diff, int) and isinstance(notes, str)
    assert isinstance(skill, str)
    planned = PlannedTask(title.strip(), scope, protect, max_diff, accept, notes.strip())
    return replace(planned, skill=" ".join(skill.split())), []


def _strings(value: Any, label: str, errors: list[str], required: bool) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        errors.append(f"{label} must be a list of non-empty strings")
        return []
    if required and not value:
        errors.append(f"{label} must not be empty")
    return [v.strip() for v in value]


def _path_problem(path: str, root: Path, files: list[str]) -> str | None:
    """Why a scope/protect entry is unusable (the same path rules the guard applies),
    or None. A glob must match a file or start in an existing folder."""
    rel, violation = ActionPolicy(root, Contract()).relative(path)
    if violation is not None:
        return violation.detail
    assert rel is not None
    if is_glob(rel) and not any(matches_any([rel], f) for f in files):
        prefix = rel.split("*")[0].split("?")[0].split("[")[0].rstrip("/")
        if prefix and not (root / prefix).exists():
            return f"{path!r} matches no file and no existing folder"
    return None
