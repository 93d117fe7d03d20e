"""Prompt assembly in a fixed order: system, tools, AGENTS.md, task contract, history.

Nothing volatile (times, ids, counters) comes before the history, and the history is
only ever appended to, so each step's prompt extends the previous one byte for byte
and provider prefix caches hit on every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tether.guard.contract import Contract
from tether.models.types import Completion, Message, ModelRequest, ToolCall, ToolSpec

EXECUTOR_SYSTEM = """\
You are the executor of tether: you carry out ONE small, bounded coding task in a git \
repository, using only the tools you are given.

How to work:
- Look before you change: list_files, search and read_file show you the code.
- Change files only with edit_file (exact search/replace), create_file and delete_file.
- Keep the change small and inside the task's contract; the harness checks the contract \
after every step and rolls back any step that breaks it.
- Run the tests or checks that prove the change works (run), and fix what fails.
- When the task is complete and checks pass, call done(summary). Do not call done before.
- Several tool calls in one turn run in order; after a blocked call the rest are skipped."""


def _call(n: int, name: str, arguments: str) -> Message:
    return Message("assistant", "", (ToolCall(f"example_{n}", name, arguments),))


# Model quirk: a small model imitates one worked example of the call format far better
# than it follows a description of it. Sent with requests to tiny local models only, as
# part of the stable prefix, so it costs one evaluation.
WORKED_EXAMPLE = (
    Message(
        "user",
        "# Task: In util.py, set RETRIES to 5\n\n# Contract\n"
        "- scope (paths you may change): util.py",
    ),
    _call(1, "read_file", '{"path": "util.py"}'),
    Message("tool", "    1| RETRIES = 3\n    2| DELAY = 1", tool_call_id="example_1"),
    _call(2, "edit_file", '{"path": "util.py", "search": "RETRIES = 3", "replace": "RETRIES = 5"}'),
    Message("tool", "edited util.py (replaced 1 line(s) with 1)", tool_call_id="example_2"),
    _call(3, "done", '{"summary": "util.py: RETRIES is 5"}'),
    Message("user", "That task is finished. Now the real task."),
)


def user_note(paths: list[str]) -> str:
    """What the model hears when the user changed files while it worked."""
    shown = ", ".join(paths[:20]) + (f" and {len(paths) - 20} more" if len(paths) > 20 else "")
    return (
        f"The user changed these files while you worked: {shown}. Those changes are the "
        "user's: keep them, and read a file again before you edit it."
    )


@dataclass
class TaskPrompt:
    """The conversation of one executor context."""

    system: str
    tools: tuple[ToolSpec, ...]
    prefix: tuple[Message, ...]
    history: list[Message] = field(default_factory=list)

    @classmethod
    def for_task(
        cls,
        title: str,
        instruction: str,
        contract: Contract,
        tools: tuple[ToolSpec, ...],
        agents_md: str | None = None,
        handoff: str = "",
        system: str = EXECUTOR_SYSTEM,
        brief: str = "",
        skills: str = "",
        example: tuple[Message, ...] = (),
    ) -> TaskPrompt:
        """``skills``: the index of the repository's skills; ``example``: a skill's
        verified session as turns (a guided replay). Both are part of the stable prefix."""
        prefix: list[Message] = []
        if agents_md and agents_md.strip():
            prefix.append(Message("user", f"# Repository rules (AGENTS.md)\n\n{agents_md.strip()}"))
        if skills.strip():
            prefix.append(Message("user", skills.strip()))
        prefix += example
        body = [f"# Task: {title}"]
        if instruction.strip() and instruction.strip() != title.strip():
            body.append(instruction.strip())
        body.append(f"# Contract\n{contract.describe()}")
        if handoff.strip():
            body.append(f"# Handoff from earlier work on this task\n{handoff.strip()}")
        prefix.append(Message("user", "\n\n".join(body)))
        # a variant's brief comes after the prefix, so all variants share the prefix
        history = [Message("user", f"Variant brief: {brief}")] if brief.strip() else []
        return cls(system=system, tools=tools, prefix=tuple(prefix), history=history)

    def request(
        self, max_output_tokens: int, temperature: float | None, model: str | None = None
    ) -> ModelRequest:
        return ModelRequest(
            system=self.system,
            messages=(*self.prefix, *self.history),
            tools=self.tools,
            max_output_tokens=max_output_tokens,
            temperature=temperature,
            prefix_messages=len(self.prefix),
            model=model,
        )

    def add_reply(self, completion: Completion) -> None:
        self.history.append(Message("assistant", completion.content, completion.tool_calls))

    def add_tool_result(self, call_id: str, text: str) -> None:
        self.history.append(Message("tool", text, tool_call_id=call_id))

    def add_feedback(self, text: str) -> None:
        self.history.append(Message("user", text))
