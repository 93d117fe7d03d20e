"""The planner writes a skill's SKILL.md from a verified session: one
``submit_skill(description, procedure)`` call, validated, asked again once with the
problems. The parameters are the developer's (``--param``); the planner's words must
use them as placeholders."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tether.models.types import Model, ToolCall, ToolSpec
from tether.planner.asking import ask

MAX_DESCRIPTION = 1024  # the Agent Skills limit
SUBMIT_SKILL = ToolSpec(
    "submit_skill",
    "Submit the skill: what it does and when to use it (one or two sentences), and the "
    "procedure in plain words, as numbered steps a small model can follow.",
    {
        "type": "object",
        "properties": {
            "description": {
                "type": "string",
                "description": "what the skill does and when to use it (at most 1024 characters)",
            },
            "procedure": {
                "type": "string",
                "description": "Markdown: numbered steps, with the parameters in braces",
            },
        },
        "required": ["description", "procedure"],
    },
)
SYSTEM = (
    "You turn a verified coding session into a reusable skill for smaller, faster "
    "models. Generalise: where the session used a parameter's value, write the "
    "parameter in braces ({name}). Name the files, the edits, the checks, in order; "
    "say what to look for before editing. Answer only by calling submit_skill."
)
MAX_ASKS = 2


@dataclass(frozen=True)
class SkillText:
    description: str
    procedure: str


class SkillAnswerError(ValueError):
    """The planner's answer was not a skill."""


async def ask_skill(model: Model, session: str, params: tuple[str, ...]) -> SkillText:
    """The planner's SKILL.md text for ``session`` (the trajectory, placeholders in)."""
    named = ", ".join(f"{{{p}}}" for p in params) or "none"
    prompt = f"Parameters: {named}\n\nThe verified session:\n{session}"

    def read(calls: tuple[ToolCall, ...]) -> tuple[SkillText, list[str]]:
        return read_answer(calls, params)

    text, problems = await ask(model, SYSTEM, prompt, SUBMIT_SKILL, read, MAX_ASKS, what="skill")
    if problems:
        raise SkillAnswerError("; ".join(problems[:3]))
    return text


def read_answer(
    calls: tuple[ToolCall, ...], params: tuple[str, ...]
) -> tuple[SkillText, list[str]]:
    """The text of a ``submit_skill`` call, or what is wrong with it."""
    empty = SkillText("", "")
    call = next((c for c in calls if c.name == "submit_skill"), None)
    if call is None:
        return empty, ["answer with one submit_skill tool call, not text"]
    try:
        data = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        return empty, [f"the submit_skill arguments are not valid JSON ({exc.msg})"]
    if not isinstance(data, dict):
        return empty, ["the submit_skill arguments must be an object"]
    description = " ".join(str(data.get("description") or "").split())
    procedure = str(data.get("procedure") or "").strip()
    problems = []
    if not description:
        problems.append("'description' is empty")
    elif len(description) > MAX_DESCRIPTION:
        problems.append(f"'description' has {len(description)} characters, over {MAX_DESCRIPTION}")
    if not procedure:
        problems.append("'procedure' is empty")
    unused = [p for p in params if f"{{{p}" not in procedure]
    if procedure and unused:
        problems.append(
            "the procedure never names "
            + ", ".join(f"{{{p}}}" for p in unused)
            + "; write the parameter where its value was used"
        )
    return SkillText(description, procedure), problems
