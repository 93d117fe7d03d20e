"""The real OpenAI and Anthropic SDK adapters, driven over HTTP by the scripted server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tether.config import ResolvedRole, RoleConfig
from tether.errors import ModelError
from tether.models.registry import build_model
from tether.models.types import Completion, Message, ModelRequest, ToolSpec
from tether.telemetry import EventLog, read_events
from tether.testing.server import ScriptedServer

PROVIDERS = ["openai", "anthropic"]
EDIT_TOOL = ToolSpec(
    name="edit_file",
    description="Replace text in a file.",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}},
)
TOOL_SCRIPT = {
    "default": [
        {
            "content": "Reading first.",
            "tool_calls": [
                {"name": "read_file", "arguments": {"path": "a.py"}},
                {"name": "edit_file", "arguments": {"path": "a.py", "search": "x", "replace": "y"}},
            ],
        },
        {"content": "All done."},
    ]
}


def role_for(server: ScriptedServer, provider: str, **options: Any) -> ResolvedRole:
    url = server.openai_url if provider == "openai" else server.url
    config = RoleConfig(
        provider=provider,  # type: ignore[arg-type]
        model=options.pop("model", "m"),
        base_url=url,
        retry_backoff_s=options.pop("retry_backoff_s", 0.01),
        **options,
    )
    return ResolvedRole(name="executor", config=config, source="test")


def call(
    server: ScriptedServer,
    provider: str,
    request: ModelRequest,
    log: EventLog | None = None,
    **options: Any,
) -> Completion:
    async def go() -> Completion:
        model = build_model(role_for(server, provider, **options), log)
        try:
            return await model.complete(request)
        finally:
            await model.aclose()

    return asyncio.run(go())


def ask(text: str = "hello", stream: bool = True, **kw: Any) -> ModelRequest:
    return ModelRequest(
        system="sys", messages=(Message(role="user", content=text),), stream=stream, **kw
    )


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("stream", [True, False])
def test_text_reply_usage_and_timing(
    scripted: Callable[..., ScriptedServer], provider: str, stream: bool
) -> None:
    server = scripted({"default": [{"content": "x" * 400}]}, tps=2000, ttft_ms=20)
    done = call(server, provider, ask(stream=stream))
    assert done.content == "x" * 400
    assert done.tool_calls == ()
    assert done.usage.output_tokens == 100
    assert done.usage.input_tokens > 0
    assert done.attempts == 1
    assert done.timing.ttft_s >= 0.02
    assert done.timing.seconds >= 0.02 + 100 / 2000 * 0.9


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("stream", [True, False])
def test_tool_calls_are_normalised(
    scripted: Callable[..., ScriptedServer], provider: str, stream: bool
) -> None:
    server = scripted(TOOL_SCRIPT)
    done = call(server, provider, ask(stream=stream, tools=(EDIT_TOOL,)))
    assert done.content == "Reading first."
    assert [c.name for c in done.tool_calls] == ["read_file", "edit_file"]
    assert json.loads(done.tool_calls[1].arguments) == {
        "path": "a.py",
        "search": "x",
        "replace": "y",
    }
    assert all(c.id for c in done.tool_calls)
    assert done.stop_reason in ("tool_calls", "tool_use")
    body = server.requests[-1]["body"]
    assert body["tools"], "the tool schema must be in the request"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_history_with_tool_results_follows_the_script(
    scripted: Callable[..., ScriptedServer], provider: str
) -> None:
    server = scripted(TOOL_SCRIPT)
    first = call(server, provider, ask(tools=(EDIT_TOOL,)))
    history = (
        Message(role="user", content="do it"),
        Message(role="assistant", content=first.content, tool_calls=first.tool_calls),
        Message(role="tool", content="1: x = 1", tool_call_id=first.tool_calls[0].id),
        Message(role="tool", content="edited", tool_call_id=first.tool_calls[1].id),
    )
    second = call(
        server, provider, ModelRequest(system="sys", messages=history, tools=(EDIT_TOOL,))
    )
    assert second.content == "All done."


@pytest.mark.parametrize("provider", PROVIDERS)
def test_cached_tokens_reported_for_a_repeated_prefix(
    scripted: Callable[..., ScriptedServer], provider: str
) -> None:
    server = scripted({"default": [{"content": "ok"}, {"content": "ok again"}]})
    prefix = Message(role="user", content="context " * 500)
    first = call(
        server, provider, ModelRequest(system="sys", messages=(prefix,), prefix_messages=1)
    )
    assert first.usage.cached_tokens == 0
    longer = (prefix, Message(role="assistant", content="ok"), Message(role="user", content="more"))
    second = call(server, provider, ModelRequest(system="sys", messages=longer, prefix_messages=1))
    assert second.usage.cached_share > 0.9
    assert second.usage.cached_tokens <= second.usage.input_tokens


def test_anthropic_marks_the_stable_prefix_for_caching(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted({"default": [{"content": "ok"}]})
    messages = (Message(role="user", content="contract"), Message(role="user", content="go"))
    call(server, "anthropic", ModelRequest(system="sys", messages=messages, prefix_messages=1))
    body = server.requests[-1]["body"]
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    blocks = body["messages"][0]["content"]
    assert blocks[0]["cache_control"] == {"type": "ephemeral"}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["429", "500", "truncate", "timeout"])
def test_each_fault_is_recovered(
    scripted: Callable[..., ScriptedServer], provider: str, fault: str
) -> None:
    text = "the complete answer " * 20
    # seed 1 with rate 0.5: the first request draws the fault, a later one succeeds
    server = scripted(
        {"default": [{"content": text}]}, faults=f"{fault}:0.5", seed=1, retry_after_ms=10, hang_s=5
    )
    done = call(server, provider, ask(), timeout_s=0.5, max_retries=6)
    assert server.state.faults.injected[fault] >= 1
    assert done.attempts == server.state.faults.injected[fault] + 1
    assert done.content == text, "partial output of a broken attempt must never be used"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_truncated_non_streamed_body_is_retried(
    scripted: Callable[..., ScriptedServer], provider: str
) -> None:
    server = scripted({"default": [{"content": "whole"}]}, faults="truncate:0.5", seed=1)
    done = call(server, provider, ask(stream=False), max_retries=6)
    assert done.content == "whole" and done.attempts >= 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_badjson_reaches_the_caller_raw(
    scripted: Callable[..., ScriptedServer], provider: str
) -> None:
    server = scripted(TOOL_SCRIPT, faults="badjson:1.0")
    done = call(server, provider, ask(tools=(EDIT_TOOL,)))
    with pytest.raises(json.JSONDecodeError):
        json.loads(done.tool_calls[0].arguments)


def test_retry_after_is_honoured(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(
        {"default": [{"content": "ok"}]}, faults="429:0.5", seed=1, retry_after_ms=300
    )
    done = call(server, "openai", ask(), retry_backoff_s=0.0, max_retries=6)
    waits = server.state.faults.injected["429"]
    assert waits >= 1
    assert done.timing.seconds >= 0.3 * waits


@pytest.mark.parametrize("provider", PROVIDERS)
def test_persistent_failure_is_reported_clearly(
    scripted: Callable[..., ScriptedServer], provider: str, tmp_path: Path
) -> None:
    server = scripted({"default": [{"content": "ok"}]}, faults="500:1.0")
    log = EventLog(tmp_path / "events.jsonl")
    with pytest.raises(ModelError) as caught:
        call(server, provider, ask(), log=log, max_retries=2)
    message = caught.value.render()
    assert "executor model" in message
    assert server.url.split("//")[1] in message
    assert "after 3 attempt(s)" in message and "HTTP 500" in message
    assert len(server.requests) == 3
    events = list(read_events(tmp_path / "events.jsonl"))
    assert events[-1]["type"] == "model_error"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_client_errors_are_not_retried(
    scripted: Callable[..., ScriptedServer], provider: str
) -> None:
    server = scripted({"default": [{"content": "ok"}]})
    role = role_for(server, provider)
    assert role.config is not None
    broken = role.config.with_changes(base_url=server.url + "/nowhere")

    async def go() -> None:
        model = build_model(ResolvedRole(name="executor", config=broken, source="test"))
        try:
            await model.complete(ask())
        finally:
            await model.aclose()

    with pytest.raises(ModelError) as caught:
        asyncio.run(go())
    assert "HTTP 404" in caught.value.render()
    assert "check model and base_url" in caught.value.render()


def test_every_call_is_an_event(scripted: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    server = scripted({"default": [{"content": "hello there"}]})
    log = EventLog(tmp_path / "events.jsonl")
    call(server, "openai", ask(), log=log)
    (event,) = list(read_events(tmp_path / "events.jsonl"))
    assert event["type"] == "model_call"
    expected = {
        "role",
        "provider",
        "model",
        "input_tokens",
        "cached_tokens",
        "output_tokens",
        "ttft_s",
        "output_tps",
        "seconds",
        "attempts",
        "ts",
    }
    assert expected <= set(event)
    assert event["role"] == "executor" and event["attempts"] == 1


def test_loopback_guard_refuses_remote_urls() -> None:
    config = RoleConfig(provider="openai", model="m", base_url="https://api.example.com/v1")
    with pytest.raises(ModelError) as caught:
        build_model(ResolvedRole(name="executor", config=config, source="test"))
    assert "TETHER_LOOPBACK_ONLY" in caught.value.render()
    official = RoleConfig(provider="anthropic", model="m", api_key_env="HOME")
    with pytest.raises(ModelError):
        build_model(ResolvedRole(name="planner", config=official, source="test"))


# --- what the providers' API references say the wire must carry ------------------------
# (OpenAI Chat Completions: bearer key, `stream_options.include_usage` for usage in a
# stream, `max_completion_tokens` on api.openai.com; Anthropic Messages: `x-api-key`,
# `anthropic-version`, `cache_control` blocks, temperature in 0..1)


@pytest.mark.parametrize("stream", [True, False])
def test_openai_wire_carries_the_key_and_asks_for_usage(
    scripted: Callable[..., ScriptedServer], stream: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIRE_TEST_KEY", "sk-wire-test")
    server = scripted({"default": [{"content": "ok"}]})
    call(server, "openai", ask(stream=stream, temperature=0.3), api_key_env="WIRE_TEST_KEY")
    (request,) = server.requests
    assert request["path"].endswith("/chat/completions")
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["authorization"] == "Bearer sk-wire-test"
    body = request["body"]
    assert body["messages"][0] == {"role": "system", "content": "sys"}
    assert body["temperature"] == 0.3 and "max_tokens" in body  # a compatible host
    if stream:
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    else:
        assert "stream" not in body


def test_openai_itself_gets_max_completion_tokens() -> None:
    from tether.models.openai_chat import OpenAIChatModel
    from tether.models.retry import RetryPolicy
    from tether.models.types import ModelInfo

    info = ModelInfo(role="executor", provider="openai", model="m", host="api.openai.com")
    official = OpenAIChatModel(info, api_key="k", base_url=None, timeout_s=5, policy=RetryPolicy())
    assert official._wire.base_url == "https://api.openai.com/v1"
    params = official._params(ask(max_output_tokens=77))
    assert params["max_completion_tokens"] == 77 and "max_tokens" not in params
    asyncio.run(official.aclose())


@pytest.mark.parametrize("stream", [True, False])
def test_anthropic_wire_carries_version_key_and_a_clamped_temperature(
    scripted: Callable[..., ScriptedServer], stream: bool
) -> None:
    server = scripted({"default": [{"content": "ok"}]})
    call(server, "anthropic", ask(stream=stream, temperature=1.4))
    (request,) = server.requests
    assert request["path"] == "/v1/messages"
    headers = request["headers"]
    assert headers["anthropic-version"] == "2023-06-01" and "x-api-key" in headers
    body = request["body"]
    assert body["temperature"] == 1.0 and body["max_tokens"] > 0
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert body.get("stream", False) is stream


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_sdk_is_imported_to_call_a_model(
    scripted: Callable[..., ScriptedServer], provider: str
) -> None:
    import subprocess
    import sys

    server = scripted({"default": [{"content": "ok"}]})
    url = server.openai_url if provider == "openai" else server.url
    code = (
        "import asyncio, sys\n"
        "from tether.config import ResolvedRole, RoleConfig\n"
        "from tether.models.registry import build_model\n"
        "from tether.models.types import Message, ModelRequest\n"
        f"cfg = RoleConfig(provider={provider!r}, model='m', base_url={url!r})\n"
        "async def go():\n"
        "    model = build_model(ResolvedRole(name='executor', config=cfg, source='t'))\n"
        "    done = await model.complete(ModelRequest(system='s', "
        "messages=(Message(role='user', content='hi'),)))\n"
        "    await model.aclose()\n"
        "    return done.content\n"
        "print(asyncio.run(go()))\n"
        "print(sorted(m for m in ('openai', 'anthropic') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["ok", "[]"], out.stderr


def test_a_remote_provider_may_use_the_proxy_a_loopback_model_never_does() -> None:
    from tether.models.http import WireClient

    async def go() -> tuple[bool, bool, bool]:
        remote = WireClient("https://api.example.com/v1", {}, 5)
        local = WireClient("http://127.0.0.1:9/v1", {}, 5)
        try:
            return (
                remote._client.trust_env,
                local._client.trust_env,
                remote.url("/x") == ("https://api.example.com/v1/x"),
            )
        finally:
            await remote.aclose()
            await local.aclose()

    assert asyncio.run(go()) == (True, False, True)


CALLS_WITHOUT_IMPORTS = """
import asyncio, sys
from tether.config import ResolvedRole, RoleConfig
from tether.models.registry import build_model
from tether.models.types import Message, ModelRequest
from tether.testing.script import Script
from tether.testing.server import ScriptedServer

provider = sys.argv[1]
tried = []
script = Script.from_data({"default": [{"content": "ok"}] * 8})
with ScriptedServer(script, tps=0, ttft_ms=0) as server:
    url = server.openai_url if provider == "openai" else server.url
    role = ResolvedRole(name="executor", source="test",
                        config=RoleConfig(provider=provider, model="m", base_url=url))
    request = ModelRequest(system="s", messages=(Message(role="user", content="hi"),))

    async def go():
        model = build_model(role)
        for k in range(8):
            if k == 3:  # the first calls load what they use
                sys.addaudithook(lambda e, a: tried.append(a[0]) if e == "import" else None)
            await model.complete(request)
        await model.aclose()

    asyncio.run(go())
print(len(tried), sorted(set(tried))[:5])
"""


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_call_imports_nothing_once_the_client_is_warm(provider: str) -> None:
    """httpcore asks sniffio for the event loop at every lock; without it installed each
    request searched sys.path four times (81 us each). A warm call imports nothing."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", CALLS_WITHOUT_IMPORTS, provider], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "0", out.stdout
