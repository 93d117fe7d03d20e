"""Parsing a tool call into a typed action: pure, no I/O, tested on literal strings.

A malformed call (bad JSON, an unknown tool, a missing or mistyped argument) becomes a
``CallError`` whose message goes back to the model as is.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from tether.models.types import ToolCall, ToolSpec
from tether.tools.specs import EXECUTOR_TOOLS


class ReadFile(msgspec.Struct, frozen=True):
    path: str
    start_line: int | None = None
    end_line: int | None = None


class ListFiles(msgspec.Struct, frozen=True):
    glob: str | None = None


class Search(msgspec.Struct, frozen=True):
    pattern: str
    glob: str | None = None


class EditFile(msgspec.Struct, frozen=True):
    path: str
    search: str
    replace: str


class CreateFile(msgspec.Struct, frozen=True):
    path: str
    content: str


class DeleteFile(msgspec.Struct, frozen=True):
    path: str


class Run(msgspec.Struct, frozen=True):
    command: str
    timeout_s: float | None = None


class Done(msgspec.Struct, frozen=True):
    summary: str


class UseSkill(msgspec.Struct, frozen=True):
    name: str


Action = ReadFile | ListFiles | Search | EditFile | CreateFile | DeleteFile | Run | Done | UseSkill

ACTIONS: dict[str, type[Action]] = {
    "read_file": ReadFile,
    "list_files": ListFiles,
    "search": Search,
    "edit_file": EditFile,
    "create_file": CreateFile,
    "delete_file": DeleteFile,
    "run": Run,
    "done": Done,
    "use_skill": UseSkill,
}


class CallError(msgspec.Struct, frozen=True):
    message: str


_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float)}


def parse_call(call: ToolCall, tools: tuple[ToolSpec, ...] = EXECUTOR_TOOLS) -> Action | CallError:
    """The action a tool call asks for, or a precise error for the model."""
    spec = next((t for t in tools if t.name == call.name), None)
    if spec is None or call.name not in ACTIONS:
        names = ", ".join(t.name for t in tools)
        return CallError(f"unknown tool {call.name!r}; the tools are: {names}")
    try:
        args = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        return CallError(
            f"the arguments of {call.name} are not valid JSON ({exc.msg} at "
            f"character {exc.pos}); send one JSON object"
        )
    if not isinstance(args, dict):
        return CallError(f"the arguments of {call.name} must be a JSON object")
    problem = _check_args(spec, args)
    if problem:
        return CallError(problem)
    return ACTIONS[call.name](**args)


def _check_args(spec: ToolSpec, args: dict[str, Any]) -> str | None:
    props: dict[str, Any] = spec.parameters["properties"]
    takes = ", ".join(props) or "no arguments"
    for name in spec.parameters.get("required", []):
        if name not in args:
            return f"{spec.name} needs the argument {name!r} (it takes: {takes})"
    for name, value in args.items():
        if name not in props:
            return f"{spec.name} has no argument {name!r} (it takes: {takes})"
        kind = props[name]["type"]
        if value is None and name not in spec.parameters.get("required", []):
            continue
        if isinstance(value, bool) or not isinstance(value, _TYPES[kind]):
            return f"{spec.name}: {name!r} must be a {kind}, got {type(value).__name__}"
        if isinstance(value, (int, float)) and value <= 0:
            return f"{spec.name}: {name!r} must be positive"
    return None
