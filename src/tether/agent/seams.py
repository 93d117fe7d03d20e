"""Every dependency of the executor, as a small Protocol (after mini-swe-agent's
``Environment`` and httpx's transport): the loop is tested in process by handing it
other implementations, and it knows nothing of git, HTTP or a terminal.

The model seam is ``tether.models.types.Model``; the rest are here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from tether.gates.results import GateResult, GateVerdict
from tether.guard.contract import Violation
from tether.guard.stepguard import StepVerdict
from tether.models.types import ModelRequest, ToolCall
from tether.tools.toolbox import ToolOutcome
from tether.vcs.diff import FileChange


class Tools(Protocol):
    """Carries out a turn's tool calls in order (each: parse, action policy, apply)."""

    def may_write(self, call: ToolCall) -> bool:
        """Whether the call may change the tree (asked before it runs)."""
        ...

    async def execute_turn(self, calls: tuple[ToolCall, ...]) -> list[ToolOutcome]: ...


class WorkTree(Protocol):
    """The tree the task changes: snapshots, checkpoints, the task's commit."""

    def snapshot(self) -> str:
        """An id of the tree as it is now (nothing is moved or staged)."""
        ...

    def changes(self, base: str, tree: str) -> list[FileChange]: ...

    def checkpoint(
        self, kind: str, tree: str, *, task: str, step: int = 0, extra: dict[str, str] | None = None
    ) -> str:
        """Record ``tree`` as a checkpoint; returns its id."""
        ...

    def checkpoint_later(self, kind: str, tree: str, *, task: str, step: int = 0) -> None:
        """Record a checkpoint off the critical path (it overlaps the next model call)."""
        ...

    async def settle(self) -> None:
        """Wait until every checkpoint asked for is recorded."""
        ...

    def tree_of(self, checkpoint: str) -> str: ...

    def keep_snapshot(self, checkpoint: str) -> str:
        """Keep the user's state at ``checkpoint`` under its own name; returns it."""
        ...

    def commit(self, paths: list[str], message: str) -> str | None: ...


class StepGuard(Protocol):
    """Guard layer 3 for one task: judges each step on the real tree, rolls back a
    violating one, counts violations in a row."""

    def begin(self, base: str, current: str) -> None: ...

    def judge(self, wrote: bool, blocked: list[Violation]) -> StepVerdict: ...

    def observe(self) -> list[str]:
        """Take what changed since the last good tree (not by the model) into the base;
        returns those paths."""
        ...

    def reject(self) -> list[str]:
        """Roll the last kept step back (the developer said no); returns the paths."""
        ...

    def rejudge(self) -> StepVerdict:
        """Judge the last kept step again, under the rules as they are now."""
        ...

    @property
    def base(self) -> str: ...

    @property
    def good(self) -> str: ...


class Gates(Protocol):
    """Fix tier after a step's edits, step tier after a step that changed files, task
    tier before done."""

    @property
    def verifies(self) -> bool:
        """Whether there is a task tier that can prove the task done."""
        ...

    @property
    def fixes(self) -> bool:
        """Whether there are fixers to run after a step's edits."""
        ...

    async def fix(self, changed: list[str]) -> list[GateResult]: ...

    async def step(self, changed: list[str], before: str, after: str) -> GateVerdict: ...

    async def task(self, changed: list[str], base: str, final: str) -> GateVerdict: ...


class Events(Protocol):
    """Where the loop reports what happens (the session's event log)."""

    def emit(self, type: str, **fields: Any) -> dict[str, Any]: ...


class RequestShaper(Protocol):
    """Narrows a request before it is sent (constrained decoding for tiny models)."""

    def shape(
        self, request: ModelRequest, *, changed: bool, step: int, last_tool: str
    ) -> ModelRequest: ...


@dataclass(frozen=True)
class Review:
    """The developer's word on one step: keep it, roll it back (``note`` says why), or
    ``rejudge`` it under rules they just added."""

    keep: bool = True
    note: str = ""
    rejudge: bool = False


class Steering(Protocol):
    """The developer, live (the session): a stop at the next step boundary, what they
    said since the last step (rules that changed), a review of each step that changed
    files when review mode is on."""

    def stop_requested(self) -> bool: ...

    def said(self) -> list[str]:
        """Messages for the model since the last call (each is taken once)."""
        ...

    async def review(self, step: int, changed: list[str], before: str, after: str) -> Review:
        """Whether to keep the step (returns at once when review mode is off)."""
        ...
