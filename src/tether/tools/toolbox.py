"""The executor's toolbox: parse → guard (layer 1) → apply, one call at a time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tether.guard.contract import Violation
from tether.guard.policy import ActionPolicy
from tether.models.types import ToolCall, ToolSpec
from tether.sandbox import Sandbox
from tether.tools import files
from tether.tools.actions import (
    ACTIONS,
    Action,
    CallError,
    CreateFile,
    DeleteFile,
    Done,
    EditFile,
    ListFiles,
    ReadFile,
    Run,
    Search,
    UseSkill,
    parse_call,
)
from tether.tools.specs import offered

WRITES = (EditFile, CreateFile, DeleteFile, Run)
WRITE_TOOLS = frozenset(name for name, action in ACTIONS.items() if action in WRITES)


@dataclass(frozen=True)
class ToolOutcome:
    """What one tool call did, as the model will read it."""

    name: str
    text: str
    ok: bool
    violation: Violation | None = None
    done: str | None = None
    may_write: bool = False
    seconds: float = 0.0
    summary: str = ""


class Toolbox:
    def __init__(
        self,
        root: Path,
        policy: ActionPolicy,
        sandbox: Sandbox,
        command_timeout_s: float = 60.0,
        skills: Callable[[str], str] | None = None,
    ):
        self.root = root
        self.policy = policy
        self.sandbox = sandbox
        self.command_timeout_s = command_timeout_s
        self.skills = skills  # use_skill(name) → the skill's text (raises LookupError)

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        """The tools offered: use_skill only where there are skills."""
        return offered(self.skills is not None)

    def may_write(self, call: ToolCall) -> bool:
        """Whether the call may change the tree (before it runs)."""
        return call.name in WRITE_TOOLS

    async def execute_turn(self, calls: tuple[ToolCall, ...]) -> list[ToolOutcome]:
        """A turn's calls, in order; after one the guard blocked, the rest are skipped."""
        outcomes: list[ToolOutcome] = []
        for call in calls:
            if any(o.violation is not None for o in outcomes):
                outcomes.append(
                    ToolOutcome(
                        call.name,
                        "skipped: an earlier call in this turn was blocked by the guard",
                        ok=False,
                        summary="skipped",
                    )
                )
            else:
                outcomes.append(await self.execute(call))
        return outcomes

    async def execute(self, call: ToolCall) -> ToolOutcome:
        started = time.perf_counter()
        action = parse_call(call, self.specs)
        if isinstance(action, CallError):
            return ToolOutcome(
                call.name, f"error: {action.message}", ok=False, summary="malformed call"
            )
        violation, rel = self._check(action)
        if violation is not None:
            return ToolOutcome(
                call.name,
                violation.message(),
                ok=False,
                violation=violation,
                summary=f"blocked: {violation.rule}",
            )
        try:
            text, done = await self._apply(action, rel)
            ok = True
        except files.ToolFailure as failure:
            text, done, ok = f"error: {failure}", None, False
        return ToolOutcome(
            call.name,
            text,
            ok=ok,
            done=done,
            may_write=isinstance(action, WRITES),
            seconds=time.perf_counter() - started,
            summary=_summary(action, ok, text),
        )

    def _check(self, action: Action) -> tuple[Violation | None, str]:
        if isinstance(action, Run):
            return self.policy.check_command(action.command), ""
        if isinstance(action, ReadFile):
            rel, violation = self.policy.check_read(action.path)
        elif isinstance(action, (EditFile, CreateFile)):
            rel, violation = self.policy.check_write(action.path)
        elif isinstance(action, DeleteFile):
            rel, violation = self.policy.check_delete(action.path)
        else:
            return None, ""
        return violation, rel or ""

    async def _apply(self, action: Action, rel: str) -> tuple[str, str | None]:
        root = self.root
        match action:
            case ReadFile(_, start, end):
                return files.read_file(root, rel, start, end), None
            case ListFiles(glob):
                return files.list_files(root, glob), None
            case Search(pattern, glob):
                return files.search(root, pattern, glob), None
            case EditFile(_, search_text, replace):
                return files.edit_file(root, rel, search_text, replace), None
            case CreateFile(_, content):
                return files.create_file(root, rel, content), None
            case DeleteFile():
                return files.delete_file(root, rel), None
            case Run(command, timeout_s):
                limit = min(timeout_s or self.command_timeout_s, self.command_timeout_s)
                result = await self.sandbox.run(command, root, limit)
                return result.tail(), None
            case Done(summary):
                return "noted: the task is declared done; the harness will verify it", summary
            case UseSkill(name):
                return self._skill(name), None
        raise AssertionError(f"unhandled action {action!r}")

    def _skill(self, name: str) -> str:
        if self.skills is None:
            raise files.ToolFailure("there are no skills in this repository")
        try:
            return self.skills(name)
        except LookupError as exc:
            raise files.ToolFailure(str(exc).strip("'\"")) from None


def _summary(action: Action, ok: bool, text: str) -> str:
    """A short line for progress displays."""
    match action:
        case ReadFile(path) | EditFile(path) | CreateFile(path) | DeleteFile(path):
            target = path
        case Run(command):
            target = command[:60]
            return f"{target} → {text.splitlines()[0] if text else ''}"
        case Search(pattern):
            target = pattern[:40]
        case ListFiles(glob):
            target = glob or "."
        case Done(summary):
            return summary[:60]
        case UseSkill(name):
            target = f"skill {name}"
    return target if ok else f"{target}: {text.removeprefix('error: ')[:80]}"
