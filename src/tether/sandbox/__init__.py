"""Running commands isolated: bubblewrap when present, a scrubbed plain process
otherwise. Policy (what a task may touch) stays in ``tether.guard``; this package only
carries it out for one command at a time."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

from tether.sandbox.isolation import (
    BwrapSandbox,
    Isolation,
    PlainSandbox,
    bwrap_for,
    command_env,
    make_sandbox,
)
from tether.sandbox.process import CommandResult, clip_tail

__all__ = [
    "BwrapSandbox",
    "CommandResult",
    "Isolation",
    "PlainSandbox",
    "Sandbox",
    "bwrap_for",
    "clip_tail",
    "command_env",
    "make_sandbox",
]


class Sandbox(Protocol):
    """Runs a shell command in a work tree (the seam every command and gate goes
    through; ``name`` is ``bwrap`` or ``none``)."""

    name: str

    async def run(
        self,
        command: str,
        cwd: Path,
        timeout_s: float,
        *,
        env: dict[str, str] | None = None,
        writable: tuple[Path, ...] = (),
    ) -> CommandResult: ...

    def background(
        self, command: str, cwd: Path, log: Path
    ) -> AbstractAsyncContextManager[int]: ...

    def with_network(self) -> Sandbox: ...

    def steps(self) -> AbstractAsyncContextManager[Sandbox]: ...
