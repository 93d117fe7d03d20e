"""Adapter for the Anthropic Messages API, on the official SDK.

Streaming accumulates ``tool_use`` content blocks from ``input_json_delta`` events.
The stable prefix is marked with ``cache_control`` (system block, end of the stable
messages, and the newest message) so prompt caching works here too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tether.errors import ModelError
from tether.models.adapter import AttemptResult, SdkAdapter, StreamClock
from tether.models.adapter import hint_for_status as _hint
from tether.models.retry import Retryable, RetryPolicy, retry_after_from, status_is_retryable
from tether.models.types import Message, ModelInfo, ModelRequest, ToolCall, Usage

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

_CACHE = {"type": "ephemeral"}


def wire_messages(request: ModelRequest) -> list[dict[str, Any]]:
    """Normalised messages → Anthropic ``messages`` with alternating roles.

    Tool results become ``tool_result`` blocks in a user turn; consecutive user-side
    blocks merge into one turn, as the API requires.
    """
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(request.messages):
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if index + 1 == request.prefix_messages and blocks:
            blocks[-1] = {**blocks[-1], "cache_control": _CACHE}
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if turns and turns[-1]["content"]:
        last = turns[-1]["content"][-1]
        turns[-1]["content"][-1] = {**last, "cache_control": _CACHE}
    return turns


def _blocks(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content or "(no output)",
            }
        ]
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call)})
    if not blocks:
        blocks.append({"type": "text", "text": "(empty)"})
    return blocks


def _input(call: ToolCall) -> dict[str, Any]:
    try:
        value = json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


class AnthropicModel(SdkAdapter):
    """A role served by Anthropic (or an Anthropic-compatible host)."""

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
        from anthropic import AsyncAnthropic

        self._key_env = key_env
        self._client: AsyncAnthropic = AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )

    async def aclose(self) -> None:
        await self._client.close()

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model or self.info.model,
            "max_tokens": request.max_output_tokens,
            "system": [{"type": "text", "text": request.system, "cache_control": _CACHE}],
            "messages": wire_messages(request),
        }
        if request.temperature is not None:
            # Newer SDKs dropped the keyword (newer models fix sampling themselves);
            # the field still reaches hosts that take it.
            params["extra_body"] = {"temperature": min(request.temperature, 1.0)}
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        return params

    async def _attempt(self, request: ModelRequest) -> AttemptResult:
        params = self._params(request)
        if not request.stream:
            return await self._once(params)
        clock = StreamClock()
        state = _StreamState()
        stream = await self._client.messages.create(**params, stream=True)
        async for event in stream:
            if state.feed(event):
                clock.tick()
        if not state.stopped:
            raise Retryable("the stream ended before message_stop")
        return AttemptResult(
            content="".join(state.text),
            tool_calls=state.tool_calls(),
            usage=state.usage(),
            stop_reason=state.stop_reason,
            first_token_at=clock.first,
            last_token_at=clock.last,
            model=state.model,
        )

    async def _once(self, params: dict[str, Any]) -> AttemptResult:
        response = await self._client.messages.create(**params)
        text: list[str] = []
        calls: list[ToolCall] = []
        for block in response.content:
            if block.type == "text":
                text.append(block.text)
            elif block.type == "tool_use":
                calls.append(
                    ToolCall(id=block.id, name=block.name, arguments=json.dumps(block.input))
                )
        return AttemptResult(
            content="".join(text),
            tool_calls=tuple(calls),
            usage=_usage(response.usage, response.usage.output_tokens),
            stop_reason=response.stop_reason or "end_turn",
            first_token_at=None,
            last_token_at=None,
            model=response.model,
        )

    def _classify(self, exc: Exception) -> Retryable | ModelError | None:
        import anthropic

        if isinstance(exc, anthropic.APIStatusError):
            cause = f"HTTP {exc.status_code}: {' '.join(str(exc.message).split())[:200]}"
            if status_is_retryable(exc.status_code):
                return Retryable(cause, retry_after_from(dict(exc.response.headers)))
            return self.fatal(cause, _hint(exc.status_code, self.info.role, self._key_env))
        if isinstance(exc, anthropic.APITimeoutError):
            return Retryable("timed out waiting for the model")
        if isinstance(exc, anthropic.APIConnectionError):
            return Retryable(f"connection failed ({exc.__cause__ or exc})")
        if isinstance(exc, anthropic.APIError):
            return Retryable(f"the stream broke: {exc.message}")
        return None


class _StreamState:
    """Folds Messages stream events into text, tool calls and usage."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.blocks: dict[int, dict[str, str]] = {}
        self.raw_usage: Any = None
        self.output_tokens = 0
        self.stop_reason = "end_turn"
        self.stopped = False
        self.model = ""

    def feed(self, event: Any) -> bool:
        """Take one event; True when it carried output."""
        kind = event.type
        if kind == "message_start":
            self.raw_usage = event.message.usage
            self.model = event.message.model
        elif kind == "content_block_start" and event.content_block.type == "tool_use":
            block = event.content_block
            self.blocks[event.index] = {"id": block.id, "name": block.name, "arguments": ""}
            return True
        elif kind == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                self.text.append(delta.text)
                return True
            if delta.type == "input_json_delta":
                self.blocks[event.index]["arguments"] += delta.partial_json
                return True
        elif kind == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            self.output_tokens = event.usage.output_tokens
        elif kind == "message_stop":
            self.stopped = True
        return False

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(id=b["id"], name=b["name"], arguments=b["arguments"] or "{}")
            for _, b in sorted(self.blocks.items())
        )

    def usage(self) -> Usage:
        return _usage(self.raw_usage, self.output_tokens)


def _usage(raw: Any, output_tokens: int) -> Usage:
    if raw is None:
        return Usage(output_tokens=output_tokens)
    read = getattr(raw, "cache_read_input_tokens", None) or 0
    write = getattr(raw, "cache_creation_input_tokens", None) or 0
    return Usage(
        input_tokens=(raw.input_tokens or 0) + read + write,
        cached_tokens=read,
        output_tokens=output_tokens,
        cache_write_tokens=write,
    )
