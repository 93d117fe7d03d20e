"""The model seam: normalised messages, tool calls, usage and timing, and ``Model``.

Every provider adapter turns its wire format into these types, so nothing above the
models package knows which provider answered.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import msgspec

Role = Literal["user", "assistant", "tool"]


class ToolSpec(msgspec.Struct, frozen=True):
    """A tool offered to the model: name, description, JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


class ToolCall(msgspec.Struct, frozen=True):
    """A tool call as the model sent it. ``arguments`` is the raw JSON text, unparsed:
    parsing (and reporting malformed JSON back to the model) is the tools layer's job."""

    id: str
    name: str
    arguments: str


class Message(msgspec.Struct, frozen=True):
    """One conversation message after the system prompt."""

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


class ModelRequest(msgspec.Struct, frozen=True):
    """One call. ``prefix_messages`` counts the leading messages that form the stable
    prompt prefix (system and tools always do); adapters mark it for prefix caching."""

    system: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    max_output_tokens: int = 4096
    temperature: float | None = None
    stream: bool = True
    prefix_messages: int = 0
    model: str | None = None
    # Hints for in-process models (the embedded model uses them; hosted ones ignore
    # them): the tools this turn may call; per tool, alternatives of allowed argument
    # values for constrained decoding; and the turns of a worked example, shown after the
    # system prompt as part of the stable prefix (a tiny model imitates an example far
    # better than it follows a description).
    allowed_tools: tuple[str, ...] | None = None
    choices: dict[str, tuple[dict[str, tuple[str, ...]], ...]] = msgspec.field(default_factory=dict)
    example: tuple[Message, ...] = ()


class Usage(msgspec.Struct, frozen=True):
    """Token counts. ``input_tokens`` is the whole prompt; ``cached_tokens`` the part of it
    served from the provider's prefix cache; ``cache_write_tokens`` the part written to it."""

    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def cached_share(self) -> float:
        return self.cached_tokens / self.input_tokens if self.input_tokens else 0.0


class Timing(msgspec.Struct, frozen=True):
    """``ttft_s``: request sent to first output token (of the attempt that succeeded);
    ``output_tps``: output tokens per second after the first; ``seconds``: the whole call,
    retries included."""

    ttft_s: float
    output_tps: float
    seconds: float


class Completion(msgspec.Struct, frozen=True):
    """A model's answer."""

    content: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    timing: Timing
    stop_reason: str = "stop"
    attempts: int = 1
    model: str = ""


class ModelInfo(msgspec.Struct, frozen=True):
    """What a model is, for reports and events."""

    role: str
    provider: str
    model: str
    host: str
    context_window: int = 32_768
    extra: dict[str, Any] = msgspec.field(default_factory=dict)


class Model(Protocol):
    """Anything that can answer a ModelRequest."""

    info: ModelInfo

    async def complete(self, request: ModelRequest) -> Completion:
        """Answer one request (retries included); raise ModelError when it cannot."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
