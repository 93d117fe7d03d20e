"""Exact replay: the recorded net edits, said again as tool calls by a "model" that
calls no provider. It goes through the same loop as any task, so the action policy,
the step guard, the gates, the commit and the failure policy all apply unchanged; only
the answers are known in advance."""

from __future__ import annotations

import json

from tether.models.types import Completion, ModelInfo, ModelRequest, Timing, ToolCall, Usage
from tether.skills.edits import FileEdit

EXACT = ModelInfo(role="executor", provider="replay", model="exact", host="in-process")


def tool_calls(edits: list[FileEdit], summary: str) -> tuple[ToolCall, ...]:
    """One call per hunk, created file and deleted file, then ``done``."""
    calls: list[tuple[str, dict[str, str]]] = []
    for edit in edits:
        if edit.kind == "delete":
            calls.append(("delete_file", {"path": edit.path}))
        elif edit.kind == "create":
            calls.append(("create_file", {"path": edit.path, "content": edit.content}))
        else:
            calls += [
                ("edit_file", {"path": edit.path, "search": s, "replace": r}) for s, r in edit.hunks
            ]
    calls.append(("done", {"summary": summary}))
    return tuple(
        ToolCall(f"replay_{n}", name, json.dumps(args))
        for n, (name, args) in enumerate(calls, start=1)
    )


class ExactReplay:
    """Answers the first request with every edit and ``done`` in one turn; anything
    after that (gate feedback) gets no tool call, and the one-step budget ends it."""

    def __init__(self, edits: list[FileEdit], summary: str):
        self.info = EXACT
        self.calls = tool_calls(edits, summary)
        self.answered = 0

    async def complete(self, request: ModelRequest) -> Completion:
        first = self.answered == 0
        self.answered += 1
        return Completion(
            content="" if first else "The exact replay has no other edits.",
            tool_calls=self.calls if first else (),
            usage=Usage(),
            timing=Timing(0.0, 0.0, 0.0),
            model=self.info.model,
        )

    async def aclose(self) -> None:
        return None
