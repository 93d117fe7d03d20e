"""Where tether works: the repository root, its ``.tether/`` state dir, its config."""

from __future__ import annotations

import fcntl
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tether.config import LoadedConfig, load_config
from tether.errors import UsageError
from tether.layout import STATE_DIR, StateLayout
from tether.telemetry import EventLog, new_session_id, open_session_log

__all__ = ["STATE_DIR", "StateLayout", "Workspace", "git_root", "state_dir", "work_tree_lock"]


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
    """``root/.tether``, created (see ``StateLayout.ensure``)."""
    return StateLayout(root).ensure()


@contextmanager
def work_tree_lock(root: Path) -> Iterator[None]:
    """One tether task at a time per work tree (released by the OS if tether dies)."""
    state_dir(root)
    fd = os.open(StateLayout(root).lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"another tether task is running in {root}",
                hint="wait for it, or stop it (Ctrl-C); a killed run releases the lock",
            ) from None
        yield
    finally:
        os.close(fd)


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
        return self.layout.state

    @property
    def layout(self) -> StateLayout:
        return StateLayout(self.root)

    @property
    def evidence_dir(self) -> Path:
        """Where this session's gates keep their evidence."""
        return self.layout.evidence(self.session_id)

    @property
    def log(self) -> EventLog:
        if self._log is None:
            state_dir(self.root)
            self._log = open_session_log(self.layout.events(self.session_id))
        return self._log

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
