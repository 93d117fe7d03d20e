"""Adapter for OpenAI-compatible Chat Completions endpoints, on the official SDK.

``base_url`` reaches any compatible host: OpenAI, Cerebras, Groq, Together, Fireworks,
OpenRouter, vLLM, Ollama, llama.cpp server. Streaming accumulates ``tool_calls``
deltas by index; usage comes from ``stream_options.include_usage``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tether.errors import ModelError
from tether.models.adapter import AttemptResult, SdkAdapter, StreamClock, estimate_tokens
from tether.models.adapter import hint_for_status as _hint
from tether.models.retry import Retryable, RetryPolicy, retry_after_from, status_is_retryable
from tether.models.types import Message, ModelInfo, ModelRequest, ToolCall, ToolSpec, Usage

if TYPE_CHECKING:
    from openai import AsyncOpenAI


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


class OpenAIChatModel(SdkAdapter):
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
        from openai import AsyncOpenAI

        self._key_env = key_env
        self._official = base_url is None
        self._client: AsyncOpenAI = AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )

    async def aclose(self) -> None:
        await self._client.close()

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
        stream = await self._client.chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True}
        )
        content: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage: Any = None
        finish: str | None = None
        model = ""
        async for chunk in stream:
            model = chunk.model or model
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content:
                    clock.tick()
                    content.append(delta.content)
                for part in delta.tool_calls or ():
                    clock.tick()
                    slot = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                    slot["id"] = part.id or slot["id"]
                    if part.function is not None:
                        slot["name"] += part.function.name or ""
                        slot["arguments"] += part.function.arguments or ""
                if choice.finish_reason:
                    finish = choice.finish_reason
        if finish is None:
            raise Retryable("the stream ended before the answer was complete")
        text = "".join(content)
        tool_calls = tuple(
            ToolCall(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["arguments"])
            for i, c in sorted(calls.items())
        )
        return AttemptResult(
            content=text,
            tool_calls=tool_calls,
            usage=_usage(usage, params, text, tool_calls),
            stop_reason=finish,
            first_token_at=clock.first,
            last_token_at=clock.last,
            model=model,
        )

    async def _once(self, params: dict[str, Any]) -> AttemptResult:
        response = await self._client.chat.completions.create(**params)
        if not response.choices:
            raise Retryable("the response held no choices")
        choice = response.choices[0]
        message = choice.message
        tool_calls = tuple(
            ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments)
            for c in message.tool_calls or ()
            if getattr(c, "function", None) is not None
        )
        text = message.content or ""
        return AttemptResult(
            content=text,
            tool_calls=tool_calls,
            usage=_usage(response.usage, params, text, tool_calls),
            stop_reason=choice.finish_reason or "stop",
            first_token_at=None,
            last_token_at=None,
            model=response.model,
        )

    def _classify(self, exc: Exception) -> Retryable | ModelError | None:
        import openai

        if isinstance(exc, openai.APIStatusError):
            cause = f"HTTP {exc.status_code}: {_short(exc.message)}"
            if status_is_retryable(exc.status_code):
                return Retryable(cause, retry_after_from(dict(exc.response.headers)))
            return self.fatal(cause, _hint(exc.status_code, self.info.role, self._key_env))
        if isinstance(exc, openai.APITimeoutError):
            return Retryable("timed out waiting for the model")
        if isinstance(exc, openai.APIConnectionError):
            return Retryable(f"connection failed ({_short(str(exc.__cause__ or exc))})")
        if isinstance(exc, openai.APIError):
            return Retryable(f"the stream broke: {_short(exc.message)}")
        return None


def _usage(raw: Any, params: dict[str, Any], text: str, calls: tuple[ToolCall, ...]) -> Usage:
    if raw is None:
        prompt = sum(estimate_tokens(str(m.get("content") or "")) for m in params["messages"])
        output = estimate_tokens(text + "".join(c.arguments for c in calls))
        return Usage(input_tokens=prompt, output_tokens=output)
    details = getattr(raw, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) or 0
    return Usage(
        input_tokens=raw.prompt_tokens or 0,
        cached_tokens=cached,
        output_tokens=raw.completion_tokens or 0,
    )


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
