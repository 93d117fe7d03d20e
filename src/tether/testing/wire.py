"""Responses of the scripted server in the OpenAI and Anthropic wire formats.

A reply is built once as a list of ``Piece`` (an SSE event and how many output tokens
it carries); the server paces the pieces at the configured speed. Non-streamed replies
are one JSON body. Shapes follow the public API references: OpenAI
``chat.completion``/``chat.completion.chunk``; Anthropic ``message`` and the
``message_start`` … ``message_stop`` event sequence.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from tether.testing.script import Turn
from tether.testing.tokens import count_tokens, split_tokens


@dataclass(frozen=True)
class Piece:
    data: bytes
    tokens: int


@dataclass(frozen=True)
class ReplyUsage:
    input_tokens: int
    cached_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Reply:
    """A turn resolved for one request: text (possibly cut to max_tokens) and calls."""

    turn: Turn
    text: str
    truncated: bool
    call_ids: tuple[str, ...]

    @property
    def output_tokens(self) -> int:
        calls = sum(count_tokens(c.name) + count_tokens(c.arguments) for c in self.turn.tool_calls)
        return count_tokens(self.text) + calls


def make_reply(turn: Turn, max_tokens: int | None, serial: int) -> Reply:
    text = turn.content
    truncated = False
    if max_tokens is not None and count_tokens(text) > max_tokens:
        text = text[: max_tokens * 4]
        truncated = True
    ids = tuple(f"call_{serial}_{i}" for i in range(len(turn.tool_calls)))
    return Reply(turn=turn, text=text, truncated=truncated, call_ids=ids)


def _sse(data: Any, event: str | None = None) -> bytes:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {body}\n\n".encode()


# --- OpenAI Chat Completions -------------------------------------------------------


def openai_usage(usage: ReplyUsage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def openai_finish(reply: Reply) -> str:
    if reply.turn.tool_calls:
        return "tool_calls"
    return "length" if reply.truncated else "stop"


def openai_body(reply: Reply, model: str, usage: ReplyUsage, serial: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.turn.tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for cid, c in zip(reply.call_ids, reply.turn.tool_calls, strict=True)
        ]
    return {
        "id": f"chatcmpl-{serial}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": openai_finish(reply),
                "logprobs": None,
            }
        ],
        "usage": openai_usage(usage),
    }


def openai_stream(
    reply: Reply, model: str, usage: ReplyUsage, serial: int, include_usage: bool
) -> list[Piece]:
    base = {
        "id": f"chatcmpl-{serial}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _sse({**base, "choices": [choice]})

    pieces = [Piece(chunk({"role": "assistant", "content": ""}), 0)]
    pieces += [Piece(chunk({"content": part}), 1) for part in split_tokens(reply.text)]
    for index, (cid, call) in enumerate(zip(reply.call_ids, reply.turn.tool_calls, strict=True)):
        head = {
            "index": index,
            "id": cid,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        pieces.append(Piece(chunk({"tool_calls": [head]}), count_tokens(call.name)))
        for part in split_tokens(call.arguments):
            delta = {"tool_calls": [{"index": index, "function": {"arguments": part}}]}
            pieces.append(Piece(chunk(delta), 1))
    pieces.append(Piece(chunk({}, openai_finish(reply)), 0))
    if include_usage:
        pieces.append(Piece(_sse({**base, "choices": [], "usage": openai_usage(usage)}), 0))
    pieces.append(Piece(b"data: [DONE]\n\n", 0))
    return pieces


def openai_error(status: int, message: str) -> dict[str, Any]:
    kind = {429: "rate_limit_exceeded", 500: "server_error"}.get(status, "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


# --- Anthropic Messages ----------------------------------------------------------------


def anthropic_usage(usage: ReplyUsage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens - usage.cached_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "cache_creation_input_tokens": 0,
        "output_tokens": usage.output_tokens,
    }


def anthropic_stop(reply: Reply) -> str:
    if reply.turn.tool_calls:
        return "tool_use"
    return "max_tokens" if reply.truncated else "end_turn"


def _tool_input(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except json.JSONDecodeError:
        return {}


def anthropic_body(reply: Reply, model: str, usage: ReplyUsage, serial: int) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    for cid, call in zip(reply.call_ids, reply.turn.tool_calls, strict=True):
        content.append(
            {"type": "tool_use", "id": cid, "name": call.name, "input": _tool_input(call.arguments)}
        )
    return {
        "id": f"msg_{serial}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": anthropic_stop(reply),
        "stop_sequence": None,
        "usage": anthropic_usage(usage),
    }


def anthropic_stream(reply: Reply, model: str, usage: ReplyUsage, serial: int) -> list[Piece]:
    start_usage = {**anthropic_usage(usage), "output_tokens": 1}
    message: dict[str, Any] = {
        "id": f"msg_{serial}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    pieces = [Piece(_sse({"type": "message_start", "message": message}, "message_start"), 0)]
    index = 0
    if reply.text:
        pieces += _block(
            index, {"type": "text", "text": ""}, "text_delta", "text", split_tokens(reply.text), 0
        )
        index += 1
    for cid, call in zip(reply.call_ids, reply.turn.tool_calls, strict=True):
        block = {"type": "tool_use", "id": cid, "name": call.name, "input": {}}
        pieces += _block(
            index,
            block,
            "input_json_delta",
            "partial_json",
            split_tokens(call.arguments),
            count_tokens(call.name),
        )
        index += 1
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": anthropic_stop(reply), "stop_sequence": None},
        "usage": {"output_tokens": usage.output_tokens},
    }
    pieces.append(Piece(_sse(delta, "message_delta"), 0))
    pieces.append(Piece(_sse({"type": "message_stop"}, "message_stop"), 0))
    return pieces


def _block(
    index: int, block: dict[str, Any], delta_type: str, field: str, parts: list[str], head: int
) -> list[Piece]:
    start = {"type": "content_block_start", "index": index, "content_block": block}
    out = [Piece(_sse(start, "content_block_start"), head)]
    for part in parts:
        delta = {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": delta_type, field: part},
        }
        out.append(Piece(_sse(delta, "content_block_delta"), 1))
    stop = {"type": "content_block_stop", "index": index}
    out.append(Piece(_sse(stop, "content_block_stop"), 0))
    return out


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = {429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}.get(
        status, "invalid_request_error"
    )
    return {"type": "error", "error": {"type": kind, "message": message}}


def models_list(names: list[str]) -> dict[str, Any]:
    """A models list both SDKs can read (OpenAI and Anthropic field names together)."""
    now = int(time.time())
    data = [
        {
            "id": n,
            "object": "model",
            "created": now,
            "owned_by": "tether-scripted",
            "type": "model",
            "display_name": n,
            "created_at": "2026-01-01T00:00:00Z",
        }
        for n in names
    ]
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "first_id": names[0] if names else None,
        "last_id": names[-1] if names else None,
    }
