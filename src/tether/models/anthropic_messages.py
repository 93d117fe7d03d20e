"""Adapter for the Anthropic Messages API, spoken over httpx (``http.py``):
``POST {base_url}/v1/messages`` with ``x-api-key`` and ``anthropic-version``.

Streaming accumulates ``tool_use`` content blocks from ``input_json_delta`` events.
The stable prefix is marked with ``cache_control`` (system block, end of the stable
messages, and the newest message) so prompt caching works here too.
"""

from __future__ import annotations

import json
from typing import Any

from tether.errors import ModelError
from tether.models.adapter import AttemptResult, StreamClock, WireAdapter, classify
from tether.models.http import StreamBroke, WireClient
from tether.models.retry import Retryable, RetryPolicy
from tether.models.types import Message, ModelInfo, ModelRequest, ToolCall, Usage

OFFICIAL_URL = "https://api.anthropic.com"
PATH = "/v1/messages"
API_VERSION = "2023-06-01"
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


class AnthropicModel(WireAdapter):
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
        self._key_env = key_env
        headers = {"x-api-key": api_key, "anthropic-version": API_VERSION}
        self._wire = WireClient(base_url or OFFICIAL_URL, headers, timeout_s)

    async def aclose(self) -> None:
        await self._wire.aclose()

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model or self.info.model,
            "max_tokens": request.max_output_tokens,
            "system": [{"type": "text", "text": request.system, "cache_control": _CACHE}],
            "messages": wire_messages(request),
        }
        if request.temperature is not None:
            params["temperature"] = min(request.temperature, 1.0)  # the API's range is 0-1
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
        async with self._wire.events(PATH, {**params, "stream": True}) as events:
            async for _, event in events:
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
        response = await self._wire.post_json(PATH, params)
        text: list[str] = []
        calls: list[ToolCall] = []
        for block in response.get("content") or ():
            if block.get("type") == "text":
                text.append(str(block.get("text") or ""))
            elif block.get("type") == "tool_use":
                arguments = json.dumps(block.get("input") or {})
                calls.append(ToolCall(id=str(block.get("id")), name=str(block.get("name")),
                                      arguments=arguments))  # fmt: skip
        usage = response.get("usage") or {}
        return AttemptResult(
            content="".join(text),
            tool_calls=tuple(calls),
            usage=_usage(usage, int(usage.get("output_tokens") or 0)),
            stop_reason=response.get("stop_reason") or "end_turn",
            first_token_at=None,
            last_token_at=None,
            model=str(response.get("model") or ""),
        )

    def _classify(self, exc: Exception) -> Retryable | ModelError | None:
        return classify(exc, self, self._key_env)


class _StreamState:
    """Folds Messages stream events into text, tool calls and usage: ``message_start``
    (the input usage), ``content_block_start`` (a tool_use's id and name),
    ``content_block_delta`` (``text_delta``, ``input_json_delta``), ``message_delta``
    (stop reason, output tokens), ``message_stop``; ``ping`` is ignored and an
    ``error`` event (``overloaded_error`` mid-stream) breaks the attempt."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.blocks: dict[int, dict[str, str]] = {}
        self.raw_usage: dict[str, Any] | None = None
        self.output_tokens = 0
        self.stop_reason = "end_turn"
        self.stopped = False
        self.model = ""

    def feed(self, event: dict[str, Any]) -> bool:
        """Take one event; True when it carried output."""
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self.raw_usage = message.get("usage") or {}
            self.model = str(message.get("model") or "")
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                self.blocks[int(event.get("index", 0))] = {
                    "id": str(block.get("id")), "name": str(block.get("name")), "arguments": "",
                }  # fmt: skip
                return True
        elif kind == "content_block_delta":
            return self._delta(int(event.get("index", 0)), event.get("delta") or {})
        elif kind == "message_delta":
            self.stop_reason = (event.get("delta") or {}).get("stop_reason") or self.stop_reason
            self.output_tokens = int((event.get("usage") or {}).get("output_tokens") or 0)
        elif kind == "message_stop":
            self.stopped = True
        elif kind == "error":
            error = event.get("error") or {}
            raise StreamBroke(f"{error.get('type', 'error')}: {error.get('message', '')}")
        return False

    def _delta(self, index: int, delta: dict[str, Any]) -> bool:
        if delta.get("type") == "text_delta":
            self.text.append(str(delta.get("text") or ""))
            return True
        if delta.get("type") == "input_json_delta" and index in self.blocks:
            self.blocks[index]["arguments"] += str(delta.get("partial_json") or "")
            return True
        return False

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(id=b["id"], name=b["name"], arguments=b["arguments"] or "{}")
            for _, b in sorted(self.blocks.items())
        )

    def usage(self) -> Usage:
        return _usage(self.raw_usage, self.output_tokens)


def _usage(raw: dict[str, Any] | None, output_tokens: int) -> Usage:
    """Anthropic counts cache reads and writes apart from ``input_tokens``; tether's
    input is all three, its cached share the reads."""
    if raw is None:
        return Usage(output_tokens=output_tokens)
    read = int(raw.get("cache_read_input_tokens") or 0)
    write = int(raw.get("cache_creation_input_tokens") or 0)
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0) + read + write,
        cached_tokens=read,
        output_tokens=output_tokens,
        cache_write_tokens=write,
    )
