"""``tether status``: the plan, the last session, the last measured speed of each role."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tether.memory.plan_md import Plan
from tether.telemetry import read_events, sessions
from tether.workspace import Workspace


@dataclass
class Status:
    plan: Plan
    last_session: str | None = None
    last_session_summary: str = ""
    speeds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        found = {"done": 0, "open": 0, "in_progress": 0, "failed": 0}
        for task in self.plan.tasks:
            found[task.status] = found.get(task.status, 0) + 1
        return found


def collect(ws: Workspace, plan: Plan, look_back: int = 20) -> Status:
    status = Status(plan=plan)
    found = sessions(ws.root)
    if found:
        last = found[-1]
        status.last_session = last.name
        events = list(read_events(last / "events.jsonl"))
        ends = [e for e in events if e.get("type") == "task_end"]
        calls = sum(1 for e in events if e.get("type") == "model_call")
        ended = ", ".join(
            f"{e.get('task') or e.get('title')}: {e.get('status')}" for e in ends[-3:]
        )
        status.last_session_summary = (
            f"{len(ends)} task(s) ended ({ended}), {calls} model call(s)"
            if ends
            else f"{calls} model call(s), no task ended"
        )
    for folder in reversed(found[-look_back:]):
        for event in read_events(folder / "events.jsonl"):
            if event.get("type") == "model_call":
                status.speeds[str(event.get("role"))] = event
    return status
