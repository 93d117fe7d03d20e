"""A task as events.jsonl recorded it: its start (contract), its steps (the calls with
their arguments), its end (status, the trees before and after, the task gates). The
contexts of one attempt (after handoffs) are read as one task."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.errors import UsageError
from tether.telemetry import read_events, sessions


@dataclass
class Recorded:
    session: str
    start: dict[str, Any]
    end: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        task = self.end.get("task") or ""
        title = self.end.get("title") or ""
        return f"{task + ' ' if task else ''}{title!r} (session {self.session})"

    def refusal(self) -> str:
        """Why this task cannot become a skill ("" when it can)."""
        status = self.end.get("status")
        if status == "done-unverified":
            return (
                f"{self.label} ended done, unverified: no task gate proved it. Add a "
                "`## task` gate to VERIFY.md (or `accept:` to the task), run it again, "
                "then capture it"
            )
        if status != "done":
            reason = self.end.get("reason") or ""
            return (
                f"{self.label} ended {status}"
                + (f" ({reason})" if reason else "")
                + "; only a task that ended done with passing task gates can become a skill"
            )
        if not any(g.get("status") == "pass" for g in self.end.get("gates", [])):
            return f"{self.label} has no passing task gate on record"
        if not self.end.get("base_tree") or not self.end.get("final_tree"):
            return (
                f"{self.label} was recorded by an older tether (no trees in its task_end "
                "event); run the task again to capture it"
            )
        return ""


def _segments(path: Path, session: str) -> list[Recorded]:
    """Every task of one session, in order; contexts of one attempt are joined."""
    found: list[Recorded] = []
    start: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = []
    for event in read_events(path):
        kind = event.get("type")
        if kind == "task_start":
            start, steps = event, []
            if found and found[-1].start.get("base") == event.get("base") != event.get(
                "checkpoint"
            ):
                steps = found.pop().steps  # a further context: the same attempt
        elif kind == "step" and start is not None:
            steps.append(event)
        elif kind == "task_end" and start is not None:
            found.append(Recorded(session, start, event, steps))
            start = None
    return found


def find_recorded(root: Path, task_id: str | None) -> Recorded:
    """The newest recorded task ``task_id`` (a PLAN.md id), or the newest task of all."""
    for folder in reversed(sessions(root)):
        tasks = _segments(folder / "events.jsonl", folder.name)
        if task_id is not None:
            tasks = [t for t in tasks if t.end.get("task") == task_id]
        if tasks:
            return tasks[-1]
    if task_id is not None:
        raise UsageError(
            f"no run of task {task_id} is recorded in .tether/sessions",
            hint=f"run it first (`tether run {task_id}`), or capture the newest task with --last",
        )
    raise UsageError(
        "no task is recorded in .tether/sessions yet",
        hint='run one first (`tether do "..."` or `tether run`)',
    )
