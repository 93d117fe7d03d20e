"""``tether status``: the plan; the newest session that ran tasks (not a ``verify``):
its duration, where the time went, tokens, how its tasks ended; each role's newest
speed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tether.memory.plan_md import Plan
from tether.report.session import Session
from tether.report.sessions import newest_speeds, newest_with_tasks
from tether.workspace import Workspace


@dataclass
class Status:
    plan: Plan
    session: Session | None = None
    speeds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        found = {"done": 0, "open": 0, "in_progress": 0, "failed": 0}
        for task in self.plan.tasks:
            found[task.status] = found.get(task.status, 0) + 1
        return found

    def to_json(self) -> dict[str, Any]:
        """What scripts read: the same figures as the screen, in seconds and tokens."""
        return {
            "plan": {
                "counts": self.counts(),
                "tasks": [
                    {"id": t.id, "title": t.title, "status": t.status} for t in self.plan.tasks
                ],
            },
            "session": session_json(self.session) if self.session else None,
            "speeds": {
                role: {
                    "model": call.get("model"),
                    "provider": call.get("provider"),
                    "ttft_s": call.get("ttft_s"),
                    "output_tps": call.get("output_tps"),
                    "cached_share": _share(call.get("cached_tokens"), call.get("input_tokens")),
                    "at": call.get("ts"),
                }
                for role, call in sorted(self.speeds.items())
            },
        }


def session_json(session: Session) -> dict[str, Any]:
    split = session.split()
    tokens_in, cached, tokens_out = session.tokens()
    return {
        "id": session.id,
        "command": session.command,
        "started": datetime.fromtimestamp(session.started, UTC).isoformat(timespec="seconds"),
        "seconds": round(split.wall, 3),
        "outcome": session.outcome(),
        "exit_code": session.exit_code,
        "split_s": {
            "model": round(split.model, 3),
            "tools": round(split.tools, 3),
            "gates": round(split.gates, 3),
            "tether": round(split.tether, 3),
            "startup": round(split.startup, 3),
            "exit": round(split.exit, 3),
            "guard": round(split.guard, 3),
        },
        "tokens": {
            "input": tokens_in,
            "cached": cached,
            "output": tokens_out,
            "cached_share": _share(cached, tokens_in),
        },
        "tasks": session.counts(),
        "steps": len(session.steps()),
        "model_calls": len(session.calls),
    }


def _share(part: Any, whole: Any) -> float | None:
    whole = int(whole or 0)
    return round(int(part or 0) / whole, 4) if whole else None


def collect(ws: Workspace, plan: Plan) -> Status:
    return Status(plan=plan, session=newest_with_tasks(ws.root), speeds=newest_speeds(ws.root))
