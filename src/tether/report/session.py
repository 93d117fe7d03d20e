"""One session read back from its events.jsonl: its command, tasks, steps, model calls
and gates, and where its wall time went (model, tools, gates, tether, start-up, exit).

Older sessions (before ``session_start``/``session_end`` and the gate-tier events) read
too: their span runs from the first event to the last."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tether.telemetry import read_events

# events that are work; the session's start-up ends at the first, its exit begins after
# the last
_WORK = {
    "task_start",
    "model_call",
    "gates_start",
    "gate",
    "step",
    "task_end",
    "plan",
    "variants_start",
    "variants_end",
    "certify_start",
    "certify_end",
    "pick",
}


def when(event: dict[str, Any]) -> float:
    """An event's time, epoch seconds."""
    return datetime.fromisoformat(str(event.get("ts"))).timestamp()


@dataclass
class Step:
    number: int
    event: dict[str, Any]
    step_gates_s: float = 0.0
    task_gates_s: float = 0.0
    violations: list[dict[str, Any]] = field(default_factory=list)
    rolled_back: bool = False
    context: dict[str, Any] = field(default_factory=dict)

    def seconds(self, key: str) -> float:
        return float(self.event.get(key) or 0.0)

    @property
    def wall_s(self) -> float:
        return self.seconds("wall_s") + self.step_gates_s + self.task_gates_s

    @property
    def gates_s(self) -> float:
        """Fix, step and task tier (an older event's ``gates_s`` when it has one)."""
        return (
            self.seconds("fix_s")
            + self.seconds("gates_s")
            + self.step_gates_s
            + (self.task_gates_s)
        )

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.event.get("tools") or [])


@dataclass
class TaskRun:
    """One context of a task: from ``task_start`` to its ``task_end`` (or the log's end)."""

    start: dict[str, Any]
    steps: list[Step] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] = field(default_factory=dict)
    user_edits: list[dict[str, Any]] = field(default_factory=list)
    handoff: str = ""
    pending: list[dict[str, Any]] = field(default_factory=list)  # before the step's event

    @property
    def key(self) -> str:
        return str(self.start.get("task") or self.start.get("title") or "task")

    @property
    def title(self) -> str:
        return str(self.start.get("title") or "")

    @property
    def status(self) -> str:
        return str(self.end.get("status") or "cut off")

    @property
    def seconds(self) -> float:
        return float(self.end.get("seconds") or sum(s.wall_s for s in self.steps))

    def tokens(self) -> tuple[int, int, int]:
        return (
            sum(int(s.event.get("input_tokens") or 0) for s in self.steps),
            sum(int(s.event.get("cached_tokens") or 0) for s in self.steps),
            sum(int(s.event.get("output_tokens") or 0) for s in self.steps),
        )


@dataclass
class Split:
    """Where a session's wall time went, in seconds. ``tether`` is what is left once the
    model, the tools (commands the model ran), the gates and the start-up are taken out:
    the guard, the loop, work between tasks and the exit."""

    wall: float = 0.0
    model: float = 0.0
    tools: float = 0.0
    gates: float = 0.0
    tether: float = 0.0
    startup: float = 0.0
    exit: float = 0.0
    guard: float = 0.0

    def shares(self) -> dict[str, float]:
        parts = {
            "model": self.model,
            "tools": self.tools,
            "gates": self.gates,
            "tether": self.tether,
            "start-up": self.startup,
        }
        return {k: (v / self.wall if self.wall else 0.0) for k, v in parts.items()}


@dataclass
class Session:
    id: str
    folder: Path
    events: list[dict[str, Any]]
    tasks: list[TaskRun] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def started(self) -> float:
        """Process spawn (``session_start``), else the first event."""
        first = self.events[0] if self.events else {"ts": "1970-01-01T00:00:00+00:00"}
        spawn = first.get("process_start") if first.get("type") == "session_start" else None
        return datetime.fromisoformat(str(spawn)).timestamp() if spawn else when(first)

    @property
    def ended(self) -> float:
        return when(self.events[-1]) if self.events else self.started

    @property
    def finished(self) -> bool:
        return bool(self.events) and self.events[-1].get("type") == "session_end"

    @property
    def exit_code(self) -> int | None:
        return int(self.events[-1].get("exit_code") or 0) if self.finished else None

    @property
    def command(self) -> str:
        first = self.events[0] if self.events else {}
        if first.get("type") == "session_start" and first.get("command"):
            return str(first["command"])
        return _guess_command(self.events)

    def outcome(self) -> str:
        """What the session came to, in a word or three."""
        code = self.exit_code
        if code is None:
            return "no end on record (still running, or killed)"
        if code == 130:
            return "interrupted"
        statuses = [t.status for t in self.tasks if t.end]
        if code == 0:
            return "ok"
        bad = [s for s in statuses if s not in ("done", "done-unverified", "handoff")]
        return f"{bad[-1]} (exit {code})" if bad else f"exit {code}"

    def counts(self) -> dict[str, int]:
        """Tasks done, failed, handed off, unfinished (contexts, by how they ended)."""
        found = {"done": 0, "failed": 0, "handoff": 0, "other": 0}
        for task in self.tasks:
            status = task.status
            if status in ("done", "done-unverified"):
                found["done"] += 1
            elif status == "handoff":
                found["handoff"] += 1
            elif status in ("interrupted", "cut off"):
                found["other"] += 1
            else:
                found["failed"] += 1
        return found

    def tokens(self) -> tuple[int, int, int]:
        """Input, cached, output tokens of every model call (planner and reviewer too)."""
        return (
            sum(int(c.get("input_tokens") or 0) for c in self.calls),
            sum(int(c.get("cached_tokens") or 0) for c in self.calls),
            sum(int(c.get("output_tokens") or 0) for c in self.calls),
        )

    def steps(self) -> list[Step]:
        return [step for task in self.tasks for step in task.steps]

    def split(self) -> Split:
        work = [when(e) for e in self.events if e.get("type") in _WORK]
        first_work = min(
            [when(c) - float(c.get("seconds") or 0) for c in self.calls] + work,
            default=self.ended,
        )
        last_work = max(work, default=self.ended)
        s = Split(wall=max(0.0, self.ended - self.started))
        s.startup = max(0.0, first_work - self.started)
        s.exit = max(0.0, self.ended - last_work) if self.finished else 0.0
        s.model = sum(float(c.get("seconds") or 0) for c in self.calls)
        steps = self.steps()
        s.tools = sum(step.seconds("tools_s") for step in steps)
        s.guard = sum(step.seconds("guard_s") for step in steps)
        s.gates = _gates_time(self.events, steps)
        s.tether = max(0.0, s.wall - s.startup - s.model - s.tools - s.gates)
        return s


def _gates_time(events: list[dict[str, Any]], steps: list[Step]) -> float:
    """Each tier's own wall time (its gates run in parallel), the fix tier from the
    steps; gates outside a task (``tether verify``): ``gates_start`` to its last gate."""
    total = sum(step.gates_s for step in steps)
    inside = False
    group: list[float] = []  # the open tier's start, then its last gate's time
    for event in events:
        kind = event.get("type")
        if kind in ("task_start", "task_end"):
            inside = kind == "task_start"
        elif inside:
            continue
        elif kind == "gates_start":
            total += group[-1] - group[0] if group else 0.0
            group = [when(event)]
        elif kind == "gate" and group:
            group[1:] = [when(event)]
        elif kind == "gate":  # an older log: no tier start on record
            total += float(event.get("seconds") or 0)
    return total + (group[-1] - group[0] if group else 0.0)


_NUMBERS = {"seconds", "step", "steps", "exit_code", "used", "limit", "window", "output_tps"}


def clean(event: dict[str, Any]) -> dict[str, Any] | None:
    """An event as the report reads it: None when it cannot be placed in time (a
    hand-edited line), and a figure that is not a number (``"model_s": "fast"``) as
    missing, so a damaged log still reports."""
    try:
        when(event)
    except (TypeError, ValueError):
        return None
    return {
        k: v
        for k, v in event.items()
        if not (k in _NUMBERS or k.endswith(("_s", "_tokens", "_tps")))
        or (isinstance(v, (int, float)) and not isinstance(v, bool))
    }


def _guess_command(events: list[dict[str, Any]]) -> str:
    kinds = {e.get("type") for e in events}
    if "variants_start" in kinds:
        return "tether variants"
    if "plan" in kinds:
        return "tether plan"
    if "task_start" in kinds:
        return "tether do/run"
    if "gate" in kinds:
        return "tether verify"
    return "tether"


def load_session(folder: Path) -> Session:
    """Read ``folder/events.jsonl`` into tasks and steps (a torn last line is skipped)."""
    events = [e for e in map(clean, read_events(folder / "events.jsonl")) if e is not None]
    session = Session(folder.name, folder, events)
    current: TaskRun | None = None
    for event in events:
        kind = event.get("type")
        if kind == "task_start":
            current = TaskRun(event)
            session.tasks.append(current)
        elif kind == "model_call":
            session.calls.append(event)
        elif kind == "gate":
            session.gates.append(event)
            if current is not None:
                current.gates.append(event)
        elif kind == "handoff":
            for task in reversed(session.tasks):
                if task.key == event.get("task"):
                    task.handoff = str(event.get("reason") or "")
                    break
        elif current is not None:
            _into_task(current, event)
            if kind == "task_end":
                current = None
    return session


def _into_task(task: TaskRun, event: dict[str, Any]) -> None:
    """A step's violations and rollbacks come before its ``step`` event, its gate tiers
    and context reading after."""
    kind = event.get("type")
    number = int(event.get("step") or 0)
    if kind == "step":
        step = Step(number, event)
        step.violations = [v for v in task.pending if v.get("type") == "violation"]
        step.rolled_back = any(v.get("type") == "rollback" for v in task.pending)
        task.pending = []
        task.steps.append(step)
    elif kind == "task_end":
        task.end = event
    elif kind == "user_edit":
        task.user_edits.append(event)
    elif kind in ("violation", "rollback"):
        if task.steps and task.steps[-1].number == number:  # a review rejudged the step
            task.steps[-1].violations += [event] if kind == "violation" else []
            task.steps[-1].rolled_back |= kind == "rollback"
        else:
            task.pending.append(event)
    elif not task.steps or task.steps[-1].number != number:
        return
    elif kind == "step_gates":
        task.steps[-1].step_gates_s += float(event.get("seconds") or 0)
    elif kind == "task_gates":
        task.steps[-1].task_gates_s += float(event.get("seconds") or 0)
    elif kind == "context":
        task.steps[-1].context = event
