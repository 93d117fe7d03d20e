"""Append-only session event logs: ``.tether/sessions/<session-id>/events.jsonl``.

One JSON object a line, flushed per event, so a killed process leaves every event it
emitted readable. Every event carries ``type`` and ``ts`` (UTC, ISO 8601).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tether.layout import StateLayout


def new_session_id() -> str:
    """Sortable, unique enough: ``20261130-084830-a1b2``."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class EventLog:
    """Writes events for one session. Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str] | None = path.open("a", encoding="utf-8")
        self._listeners: list[Callable[[dict[str, Any]], None]] = []

    def note_once(self, key: str, text: str) -> None:
        """A ``note`` event the user should see once per session (e.g. a fallback)."""
        noted: set[str] = self.__dict__.setdefault("_noted", set())
        if key not in noted:
            noted.add(key)
            self.emit("note", text=text)

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with every event after it is written (progress displays)."""
        self._listeners.append(listener)

    def emit(self, type: str, **fields: Any) -> dict[str, Any]:
        """Append one event and flush it to the OS; returns the event."""
        event = {"type": type, "ts": utc_now(), **fields}
        line = json.dumps(event, ensure_ascii=False, default=str)
        with self._lock:
            if self._file is None:
                raise ValueError(f"event log {self.path} is closed")
            self._file.write(line + "\n")
            self._file.flush()
        for listener in self._listeners:
            listener(event)
        return event

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NullLog(EventLog):
    """An EventLog that keeps nothing (library use without a session)."""

    def __init__(self) -> None:
        self.path = Path(os.devnull)
        self._lock = threading.Lock()
        self._file = None
        self._listeners = []

    def emit(self, type: str, **fields: Any) -> dict[str, Any]:
        event = {"type": type, "ts": utc_now(), **fields}
        for listener in self._listeners:
            listener(event)
        return event


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """Events of one log; a torn last line (a kill mid-write) or a line that is no
    JSON object is skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):  # an event is an object; anything else is damage
                yield event


def sessions(root: Path) -> list[Path]:
    """Session directories of the work tree at ``root``, oldest first."""
    root = StateLayout(root).sessions
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir())


def monotonic() -> float:
    return time.perf_counter()


# --- the process a session runs in -------------------------------------------------------

_argv: list[str] | None = None  # None: not run from the command line
_session_logs: list[EventLog] = []  # held until the CLI ends them (the command's own
# objects are gone by then)


def process_started() -> float:
    """When this process was spawned (epoch seconds): the kernel's start time on Linux, so
    the interpreter's own start-up counts; the first call's time elsewhere."""
    try:
        stat = Path("/proc/self/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return _IMPORTED


_IMPORTED = time.time()


def set_invocation(argv: list[str]) -> None:
    """The command line the CLI runs; a session's ``session_start`` event records it."""
    global _argv
    _argv = list(argv)


def open_session_log(path: Path) -> EventLog:
    """A session's log, started with ``session_start`` (command, pid, spawn time); the
    CLI ends it with ``end_sessions`` as the process leaves."""
    log = EventLog(path)
    # run from the CLI, the process began with this session; in a library, now
    started = process_started() if _argv is not None else time.time()
    log.emit(
        "session_start",
        command=shlex.join(["tether", *_argv]) if _argv is not None else "",
        argv=list(_argv or []),
        pid=os.getpid(),
        process_start=datetime.fromtimestamp(started, UTC).isoformat(timespec="milliseconds"),
        cwd=os.getcwd(),
    )
    if _argv is not None:  # library use keeps no log open for good
        _session_logs.append(log)
    return log


def end_sessions(exit_code: int) -> None:
    """``session_end`` with the exit code in each session this process opened."""
    while _session_logs:
        log = _session_logs.pop()
        with contextlib.suppress(ValueError):  # closed already
            log.emit("session_end", exit_code=exit_code)
        log.close()
