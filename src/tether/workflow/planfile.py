"""The memory files as a run reads and writes them: PLAN.md (re-read before every
change, so hand edits made meanwhile are kept), PROGRESS.md, AGENTS.md."""

from __future__ import annotations

from pathlib import Path

from tether.fsutil import atomic_write, read_input
from tether.memory import progress_md
from tether.memory.locations import memory_file
from tether.memory.plan_md import Plan, parse_plan
from tether.workspace import Workspace


def plan_path(ws: Workspace) -> Path:
    return memory_file(ws.root, ws.config.config, "PLAN.md")


def progress_path(ws: Workspace) -> Path:
    return memory_file(ws.root, ws.config.config, "PROGRESS.md")


def load_plan(ws: Workspace) -> Plan:
    path = plan_path(ws)
    if not path.is_file():
        return Plan()
    return parse_plan(read_input(path, _display(ws, path)), _display(ws, path))


def save_plan(ws: Workspace, plan: Plan) -> None:
    atomic_write(plan_path(ws), plan.render().encode("utf-8"))


def mark(ws: Workspace, task_id: str, status: str) -> bool:
    """Set a task's box (re-reading PLAN.md first); False if there was nothing to do."""
    plan = load_plan(ws)
    task = plan.get(task_id)
    if task is None or task.status == status:
        return False
    task.status = status
    save_plan(ws, plan)
    return True


def reopen(ws: Workspace, task_id: str) -> bool:
    """Set a task's box back to [ ] (after its work was undone); False if nothing to do."""
    return mark(ws, task_id, "open")


def ledger(ws: Workspace) -> list[progress_md.ParsedEntry]:
    path = progress_path(ws)
    if not path.exists():
        return []
    return progress_md.parse_progress(read_input(path, _display(ws, path)))


def read_agents_md(ws: Workspace) -> str | None:
    path = ws.root / "AGENTS.md"
    return read_input(path, "AGENTS.md") if path.is_file() else None


def _display(ws: Workspace, path: Path) -> str:
    return str(path.relative_to(ws.root)) if path.is_relative_to(ws.root) else str(path)
