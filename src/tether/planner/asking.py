"""Asking the planner model for one tool call and asking again with what was wrong:
the one loop behind ``submit_plan`` and ``submit_rules``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from tether.models.types import Message, Model, ModelRequest, ToolCall, ToolSpec

T = TypeVar("T")
Reader = Callable[[tuple[ToolCall, ...]], tuple[T, list[str]]]


async def ask(
    model: Model,
    system: str,
    prompt: str,
    tool: ToolSpec,
    read: Reader[T],
    asks: int,
    max_output_tokens: int = 4096,
    what: str = "answer",
    again: str = "",
) -> tuple[T, list[str]]:
    """Ask until ``read`` finds no problem, at most ``asks`` times; returns the last
    reading and its problems (empty when it was accepted)."""
    messages: list[Message] = [Message("user", prompt)]
    again = again or f"Fix these problems and call {tool.name} again."
    for number in range(asks):
        request = ModelRequest(
            system=system,
            messages=tuple(messages),
            tools=(tool,),
            max_output_tokens=max_output_tokens,
            prefix_messages=1,
        )
        completion = await model.complete(request)
        value, problems = read(completion.tool_calls)
        if not problems or number == asks - 1:
            return value, problems
        messages.append(Message("assistant", completion.content, completion.tool_calls))
        report = f"The {what} was rejected:\n" + "\n".join(f"- {p}" for p in problems)
        messages += [Message("tool", report, tool_call_id=c.id) for c in completion.tool_calls]
        messages.append(Message("user", f"{report}\n{again}"))
    raise ValueError("asks must be at least 1")


def arguments(calls: tuple[ToolCall, ...], name: str, key: str) -> tuple[list[Any], list[str]]:
    """The non-empty list under ``key`` in the arguments of the ``name`` call, or why
    there is none."""
    call = next((c for c in calls if c.name == name), None)
    if call is None:
        return [], [f"answer with one {name} tool call, not text"]
    try:
        data = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        return [], [f"the {name} arguments are not valid JSON ({exc.msg})"]
    raw = data.get(key) if isinstance(data, dict) else None
    if not isinstance(raw, list) or not raw:
        return [], [f"'{key}' must be a non-empty list"]
    return raw, []
