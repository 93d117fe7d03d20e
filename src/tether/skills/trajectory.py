"""``references/trajectory.jsonl``: what a verified session did, one JSON object a line.

    {"kind": "task", "title": ..., "instruction": ..., "model": ..., "steps": N, ...}
    {"kind": "call", "step": 1, "tool": "read_file", "args": {...}, "ok": true,
     "result": "src/app/users.py (40 lines)"}
    {"kind": "file", "path": ..., "change": "edit", "before": sha, "after": sha,
     "hunks": [{"search": ..., "replace": ...}]}

The calls are the model's (tool results summarised); the files are the task's net
change, from the trees before and after it. Both carry the skill's placeholders.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from tether.errors import UsageError
from tether.skills.edits import FileEdit

# What a worked example shows of a call; longer texts are cut (the files' net change
# holds the whole edit).
ARG_LIMIT = 2000


class Call(msgspec.Struct, frozen=True):
    step: int
    tool: str
    args: dict[str, Any]
    ok: bool
    result: str

    def record(self) -> dict[str, Any]:
        return {
            "kind": "call",
            "step": self.step,
            "tool": self.tool,
            "args": self.args,
            "ok": self.ok,
            "result": self.result,
        }

    def mapped(self, fill: Callable[[str], str]) -> Call:
        return Call(self.step, self.tool, _map(self.args, fill), self.ok, fill(self.result))


def _map(value: Any, fill: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fill(value)
    if isinstance(value, dict):
        return {k: _map(v, fill) for k, v in value.items()}
    if isinstance(value, list):
        return [_map(v, fill) for v in value]
    return value


class Trajectory(msgspec.Struct):
    task: dict[str, Any] = msgspec.field(default_factory=dict)
    calls: list[Call] = msgspec.field(default_factory=list)
    files: list[FileEdit] = msgspec.field(default_factory=list)

    def mapped(self, fill: Callable[[str], str]) -> Trajectory:
        return Trajectory(
            _map(self.task, fill),
            [c.mapped(fill) for c in self.calls],
            [f.mapped(fill) for f in self.files],
        )

    def texts(self) -> list[str]:
        """Every text in it (to look for placeholders the code has already)."""
        return [
            json.dumps(self.task),
            *(json.dumps(c.args) for c in self.calls),
            *(t for f in self.files for t in (f.path, f.content, *(s + r for s, r in f.hunks))),
        ]

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [{"kind": "task", **self.task}, *(c.record() for c in self.calls)]
        lines += [f.record() for f in self.files]
        path.write_text(
            "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines),
            encoding="utf-8",
        )

    @classmethod
    def read(cls, path: Path) -> Trajectory:
        found = cls()
        if not path.is_file():
            return found
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                kind = data.pop("kind")
                if kind == "task":
                    found.task = data
                elif kind == "call":
                    found.calls.append(
                        Call(int(data["step"]), str(data["tool"]), dict(data.get("args") or {}),
                             bool(data.get("ok")), str(data.get("result", "")))
                    )  # fmt: skip
                elif kind == "file":
                    found.files.append(FileEdit.from_record({"kind": kind, **data}))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
                raise UsageError(
                    f"{path}:{number}: not a trajectory line ({exc})",
                    hint="restore the file from git, or capture the skill again",
                ) from exc
        return found


def calls_of(steps: list[dict[str, Any]]) -> list[Call]:
    """The model's tool calls from a task's ``step`` events (arguments cut at
    ``ARG_LIMIT`` characters; ``done`` included, it carries the summary)."""
    calls: list[Call] = []
    for step in steps:
        for tool in step.get("tools", []):
            args = tool.get("args")
            calls.append(
                Call(
                    int(step.get("step", 0)),
                    str(tool.get("name", "")),
                    _clip(args) if isinstance(args, dict) else {},
                    bool(tool.get("ok")),
                    str(tool.get("summary", ""))[:200],
                )
            )
    return calls


def _clip(args: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v if not isinstance(v, str) or len(v) <= ARG_LIMIT else v[:ARG_LIMIT] + "…")
        for k, v in args.items()
    }
