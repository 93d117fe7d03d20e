"""Where tether keeps its own state in a work tree: one value, every path from here.

.tether/
  .gitignore                 "*": the folder stays out of `git status`
  lock                       one task at a time per work tree
  sessions/<id>/events.jsonl the append-only event log of a session
  sessions/<id>/gates/       gate evidence (logs, screenshots)
  runs/<run>/                a variants run: run.json, galleries, per-variant logs
  worktrees/<run>/<k>/       the variants' git worktrees
  cache/                     test timings, the import graph
  pair/state.json            the live session: its rules, review mode, the current task
  pair/history               what was typed in the session (its line editor's history)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".tether"


@dataclass(frozen=True)
class StateLayout:
    """The ``.tether/`` folder of the work tree at ``root`` (nothing is created here)."""

    root: Path

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    @property
    def lock(self) -> Path:
        return self.state / "lock"

    @property
    def sessions(self) -> Path:
        return self.state / "sessions"

    def session(self, session_id: str) -> Path:
        return self.sessions / session_id

    def events(self, session_id: str) -> Path:
        return self.session(session_id) / "events.jsonl"

    def evidence(self, session_id: str) -> Path:
        """Where a session's gates keep their logs and screenshots."""
        return self.session(session_id) / "gates"

    @property
    def runs(self) -> Path:
        return self.state / "runs"

    def run(self, run_id: str) -> Path:
        return self.runs / run_id

    def worktrees(self, run_id: str) -> Path:
        return self.state / "worktrees" / run_id

    def cache(self, name: str) -> Path:
        return self.state / "cache" / name

    @property
    def pair(self) -> Path:
        """The live session's folder (``tether`` with no arguments, ``tether pair``)."""
        return self.state / "pair"

    def ensure(self) -> Path:
        """Create ``.tether/`` with a ``.gitignore`` of ``*`` (so it stays out of
        ``git status`` without touching the user's own .gitignore); returns it."""
        folder = self.state
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")
        return folder
