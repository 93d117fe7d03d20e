"""Where tether works: the repository root, its ``.tether/`` state dir, its config."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tether.config import LoadedConfig, load_config
from tether.errors import UsageError
from tether.telemetry import EventLog, new_session_id

STATE_DIR = ".tether"


def git_root(start: Path) -> Path | None:
    """The top of the git work tree containing ``start``, or None."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=start,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    if out.returncode != 0:
        return None
    return Path(out.stdout.strip())


def state_dir(root: Path) -> Path:
    """``root/.tether``, created with a ``.gitignore`` of ``*`` so it stays out of
    ``git status`` without touching the user's own .gitignore."""
    folder = root / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    return folder


@dataclass
class Workspace:
    """A directory tether works in, with its configuration and session log."""

    root: Path
    config: LoadedConfig
    is_repo: bool
    session_id: str
    _log: EventLog | None = None

    @classmethod
    def open(cls, start: Path | None = None, *, need_repo: bool = False) -> Workspace:
        here = (start or Path.cwd()).resolve()
        root = git_root(here)
        if root is None and need_repo:
            raise UsageError(
                f"{here} is not inside a git repository",
                hint="tether checkpoints every step with git: run `git init` first",
            )
        return cls(
            root=root or here,
            config=load_config(here),
            is_repo=root is not None,
            session_id=new_session_id(),
        )

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def log(self) -> EventLog:
        if self._log is None:
            self._log = EventLog.for_session(state_dir(self.root), self.session_id)
        return self._log

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
