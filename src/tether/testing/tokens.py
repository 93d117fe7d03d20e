"""Token accounting of the scripted server.

Tokens are approximate and the same rule is used for input and output: one token per
4 characters (rounded up) of text. A request's prompt text is the JSON of its tools,
then its system prompt, then each message, one per line, with ``cache_control``
markers removed (they steer caching, they are not prompt text). Two requests whose
prompts start with the same bytes therefore share a token prefix, which is what the
simulated prefix cache measures.
"""

from __future__ import annotations

import json
from typing import Any

CHARS_PER_TOKEN = 4


def count_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def split_tokens(text: str) -> list[str]:
    """Split text into token-sized pieces, as they are streamed."""
    return [text[i : i + CHARS_PER_TOKEN] for i in range(0, len(text), CHARS_PER_TOKEN)]


def _strip_cache_control(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_cache_control(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_strip_cache_control(v) for v in value]
    return value


def prompt_text(body: dict[str, Any]) -> str:
    """The prompt of an OpenAI or Anthropic request body, as one canonical string."""
    lines = [json.dumps(_strip_cache_control(body.get("tools") or []), ensure_ascii=False)]
    if "system" in body:
        lines.append(json.dumps(_strip_cache_control(body["system"]), ensure_ascii=False))
    for message in body.get("messages") or []:
        lines.append(json.dumps(_strip_cache_control(message), ensure_ascii=False))
    return "\n".join(lines)


def message_text(body: dict[str, Any]) -> str:
    """All text of the request's system prompt and messages (for ``when`` matching)."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key not in (
                    "role",
                    "type",
                    "id",
                    "tool_use_id",
                    "tool_call_id",
                    "cache_control",
                ):
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(body.get("system"))
    walk(body.get("messages"))
    return "\n".join(parts)


def count_assistant_turns(body: dict[str, Any]) -> int:
    return sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")
