"""The sessions of a work tree: find one by id, the newest that ran tasks, each role's
newest speed, pruning the old ones."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.errors import UsageError
from tether.layout import StateLayout
from tether.report.session import Session, clean, load_session
from tether.telemetry import read_events, sessions


def find_session(root: Path, wanted: str | None = None, *, newest: bool = False) -> Session:
    """A session by id (or a unique part of it); with no id the newest that ran tasks
    (``newest``: the newest of all)."""
    found = sessions(root)
    if not found:
        raise UsageError(
            f"no session in {StateLayout(root).sessions}",
            hint="run a task first (`tether do`, `tether run`)",
        )
    if wanted:
        matches = [f for f in found if wanted in f.name]
        exact = [f for f in matches if f.name == wanted]
        if exact or len(matches) == 1:
            return load_session((exact or matches)[0])
        if not matches:
            raise UsageError(f"no session matches {wanted!r}", hint="`tether sessions` lists them")
        names = ", ".join(f.name for f in matches[-5:])
        raise UsageError(
            f"{wanted!r} matches {len(matches)} sessions ({names})", hint="give more of the id"
        )
    if newest:
        return load_session(found[-1])
    task_session = newest_with_tasks(root)
    return task_session if task_session is not None else load_session(found[-1])


def newest_with_tasks(root: Path, look_back: int = 200) -> Session | None:
    """The newest session that ran a task (not a `tether verify` or `tether status`)."""
    for folder in reversed(sessions(root)[-look_back:]):
        session = load_session(folder)
        if session.tasks:
            return session
    return None


def newest_speeds(root: Path, look_back: int = 20) -> dict[str, dict[str, Any]]:
    """Each role's newest ``model_call`` over the last ``look_back`` sessions."""
    speeds: dict[str, dict[str, Any]] = {}
    for folder in reversed(sessions(root)[-look_back:]):
        events = map(clean, read_events(folder / "events.jsonl"))
        calls = [e for e in events if e is not None and e.get("type") == "model_call"]
        for call in reversed(calls):
            speeds.setdefault(str(call.get("role")), call)
    return speeds


@dataclass
class Pruned:
    removed: list[str]
    kept: int
    freed_bytes: int
    running: list[str]


def prune_sessions(root: Path, keep: int) -> Pruned:
    """Remove all but the ``keep`` newest sessions; a session whose process still runs
    is never removed."""
    found = sessions(root)
    old = found[: max(0, len(found) - keep)]
    removed, running, freed = [], [], 0
    for folder in old:
        if _still_running(folder):
            running.append(folder.name)
            continue
        freed += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return Pruned(removed, len(found) - len(removed), freed, running)


def _still_running(folder: Path) -> bool:
    events = list(read_events(folder / "events.jsonl"))
    if not events or events[-1].get("type") == "session_end":
        return False
    start = events[0]
    pid = start.get("pid") if start.get("type") == "session_start" else None
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
