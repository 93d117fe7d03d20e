"""``ScriptedModel``: an in-process ``Model`` that plays the scripted server's script
format (after pydantic-ai's ``FunctionModel`` and mini-swe-agent's
``DeterministicModel``). For unit tests of the loop, the step guard and the failure
policy: no socket, no thread, no subprocess. Adapters, wire formats and faults are
tested against the HTTP server instead."""

from __future__ import annotations

import json
from typing import Any

from tether.models.types import (
    Completion,
    ModelInfo,
    ModelRequest,
    Timing,
    ToolCall,
    Usage,
)
from tether.testing.faults import PrefixCache
from tether.testing.script import Script
from tether.testing.tokens import CHARS_PER_TOKEN, count_tokens


class ScriptedModel:
    """Answers each request with the script's turn for it: the turn whose index is the
    number of assistant messages in the request (so parallel conversations each follow
    the script), its ``cases`` matched against the request's text. Every request is
    kept in ``requests``; prompt tokens and a simulated prefix cache are counted as the
    server counts them."""

    def __init__(self, script: Script | dict[str, Any], model: str = "scripted"):
        self.script = script if isinstance(script, Script) else Script.from_data(script)
        self.info = ModelInfo(role="executor", provider="scripted", model=model, host="in-process")
        self.requests: list[ModelRequest] = []
        self._cache = PrefixCache()
        self.closed = False

    async def complete(self, request: ModelRequest) -> Completion:
        self.requests.append(request)
        model = request.model or self.info.model
        index = sum(1 for m in request.messages if m.role == "assistant")
        turn = self.script.reply(model, index, _text(request))
        calls = tuple(
            ToolCall(f"call_{len(self.requests)}_{i}", c.name, c.arguments)
            for i, c in enumerate(turn.tool_calls)
        )
        prompt = _prompt(request)
        input_tokens = count_tokens(prompt)
        cached = min(self._cache.lookup_and_add(model, prompt) // CHARS_PER_TOKEN, input_tokens)
        output = count_tokens(turn.content + "".join(c.name + c.arguments for c in calls))
        return Completion(
            content=turn.content,
            tool_calls=calls,
            usage=Usage(input_tokens=input_tokens, cached_tokens=cached, output_tokens=output),
            timing=Timing(ttft_s=0.0, output_tps=0.0, seconds=0.0),
            stop_reason="tool_calls" if calls else "stop",
            model=model,
        )

    async def aclose(self) -> None:
        self.closed = True


def _text(request: ModelRequest) -> str:
    """The request's system prompt and messages, for ``when`` matching."""
    parts = [request.system]
    for message in request.messages:
        parts.append(message.content)
        parts += [part for call in message.tool_calls for part in (call.name, call.arguments)]
    return "\n".join(parts)


def _prompt(request: ModelRequest) -> str:
    """One canonical string of the prompt (for token and prefix-cache accounting)."""
    lines = [json.dumps([[t.name, t.description, t.parameters] for t in request.tools])]
    lines.append(json.dumps(request.system))
    for message in request.messages:
        calls = [[c.id, c.name, c.arguments] for c in message.tool_calls]
        lines.append(json.dumps([message.role, message.content, calls, message.tool_call_id]))
    return "\n".join(lines)
