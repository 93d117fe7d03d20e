"""Adapter for OpenAI-compatible Chat Completions endpoints, spoken over httpx
(``http.py``): ``POST {base_url}/chat/completions`` with a bearer key.

``base_url`` reaches any compatible host: OpenAI, Cerebras, Groq, Together, Fireworks,
OpenRouter, vLLM, Ollama, llama.cpp server. Streaming accumulates ``tool_calls``
deltas by index; usage comes from ``stream_options.include_usage``.
"""

from __future__ import annotations

from typing import Any

from tether.errors import ModelError
from tether.models.adapter import (
    AttemptResult,
    StreamClock,
    WireAdapter,
    classify,
    estimate_tokens,
)
from tether.models.http import WireClient
from tether.models.retry import Retryable, RetryPolicy
from tether.models.types import Message, ModelInfo, ModelRequest, ToolCall, ToolSpec, Usage

OFFICIAL_URL = "https://api.openai.com/v1"
PATH = "/chat/completions"


def wire_messages(request: ModelRequest) -> list[dict[str, Any]]:
    """Normalised messages → Chat Completions ``messages``."""
    out: list[dict[str, Any]] = [{"role": "system", "content": request.system}]
    for message in request.messages:
        out.append(_wire_message(message))
    return out


def _wire_message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def wire_tools(tools: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


class OpenAIChatModel(WireAdapter):
    """A role served by an OpenAI-compatible endpoint."""

    def __init__(
        self,
        info: ModelInfo,
        *,
        api_key: str,
        base_url: str | None,
        timeout_s: float,
        policy: RetryPolicy,
        key_env: str | None = None,
    ):
        super().__init__(info, policy)
        self._key_env = key_env
        self._official = base_url is None
        self._wire = WireClient(
            base_url or OFFICIAL_URL, {"authorization": f"Bearer {api_key}"}, timeout_s
        )

    async def aclose(self) -> None:
        await self._wire.aclose()

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model or self.info.model,
            "messages": wire_messages(request),
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        # OpenAI's own newer models only take max_completion_tokens; compatible hosts
        # (vLLM, Ollama, llama.cpp) all take max_tokens.
        limit_key = "max_completion_tokens" if self._official else "max_tokens"
        params[limit_key] = request.max_output_tokens
        if request.tools:
            params["tools"] = wire_tools(request.tools)
        return params

    async def _attempt(self, request: ModelRequest) -> AttemptResult:
        params = self._params(request)
        if not request.stream:
            return await self._once(params)
        clock = StreamClock()
        stream = _Stream()
        body = {**params, "stream": True, "stream_options": {"include_usage": True}}
        async with self._wire.events(PATH, body) as events:
            async for _, chunk in events:
                if stream.feed(chunk):
                    clock.tick()
        if stream.finish is None:
            raise Retryable("the stream ended before the answer was complete")
        text = "".join(stream.content)
        tool_calls = stream.tool_calls()
        return AttemptResult(
            content=text,
            tool_calls=tool_calls,
            usage=_usage(stream.usage, params, text, tool_calls),
            stop_reason=stream.finish,
            first_token_at=clock.first,
            last_token_at=clock.last,
            model=stream.model,
        )

    async def _once(self, params: dict[str, Any]) -> AttemptResult:
        response = await self._wire.post_json(PATH, params)
        choices = response.get("choices") or []
        if not choices:
            raise Retryable("the response held no choices")
        choice = choices[0]
        message = choice.get("message") or {}
        tool_calls = tuple(
            ToolCall(
                id=str(c.get("id") or f"call_{i}"),
                name=str(c["function"].get("name") or ""),
                arguments=str(c["function"].get("arguments") or ""),
            )
            for i, c in enumerate(message.get("tool_calls") or ())
            if isinstance(c.get("function"), dict)
        )
        text = message.get("content") or ""
        return AttemptResult(
            content=text,
            tool_calls=tool_calls,
            usage=_usage(response.get("usage"), params, text, tool_calls),
            stop_reason=choice.get("finish_reason") or "stop",
            first_token_at=None,
            last_token_at=None,
            model=str(response.get("model") or ""),
        )

    def _classify(self, exc: Exception) -> Retryable | ModelError | None:
        return classify(exc, self, self._key_env)


class _Stream:
    """Folds Chat Completions chunks: text deltas, tool-call deltas by index (the id and
    name come in the first delta of a call, the arguments in pieces), usage in the last
    chunk (``stream_options.include_usage``)."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.usage: dict[str, Any] | None = None
        self.finish: str | None = None
        self.model = ""

    def feed(self, chunk: dict[str, Any]) -> bool:
        """Take one chunk; True when it carried output."""
        self.model = chunk.get("model") or self.model
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        output = False
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("content"):
                output = True
                self.content.append(delta["content"])
            for part in delta.get("tool_calls") or ():
                output = True
                slot = self.calls.setdefault(
                    int(part.get("index", 0)), {"id": "", "name": "", "arguments": ""}
                )
                slot["id"] = part.get("id") or slot["id"]
                function = part.get("function") or {}
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return output

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["arguments"])
            for i, c in sorted(self.calls.items())
        )


def _usage(
    raw: dict[str, Any] | None, params: dict[str, Any], text: str, calls: tuple[ToolCall, ...]
) -> Usage:
    """The host's usage; estimated when it reports none. Cached prompt tokens are in
    ``prompt_tokens_details.cached_tokens`` (OpenAI, and hosts that copy it)."""
    if not raw:
        prompt = sum(estimate_tokens(str(m.get("content") or "")) for m in params["messages"])
        output = estimate_tokens(text + "".join(c.arguments for c in calls))
        return Usage(input_tokens=prompt, output_tokens=output)
    details = raw.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0,
        output_tokens=int(raw.get("completion_tokens") or 0),
    )
