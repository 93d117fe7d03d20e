"""What the rule compiler could not read goes to the planner model: one
``submit_rules(rules)`` call whose schema is the rule set, validated, asked again once
with the problems. The answer is a proposal: the caller echoes it and the developer
confirms it before it applies."""

from __future__ import annotations

from typing import Any

from tether.memory.plan_md import outside_repo
from tether.models.types import Model, ToolCall, ToolSpec
from tether.planner.asking import arguments, ask
from tether.rules.rule import KEEPS, KINDS, Rule

SUBMIT_RULES = ToolSpec(
    "submit_rules",
    "Submit the rules that the developer's constraint means. Use only what it says; "
    "a wish that no rule can check is one rule of kind 'advice' with the wish as 'what'.",
    {
        "type": "object",
        "properties": {
            "rules": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "enum": list(KINDS)},
                        "paths": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "repo-relative globs (scope, protect, deletes, keep)",
                        },
                        "what": {
                            "type": "string",
                            "description": "keep/allow: one of "
                            + ", ".join(KEEPS)
                            + "; no_run: the command; advice: the text",
                        },
                        "limit": {"type": "integer", "description": "max_diff: lines"},
                    },
                    "required": ["kind"],
                },
            }
        },
        "required": ["rules"],
    },
)
SYSTEM = (
    "You turn a software developer's constraint on a coding task into rules a harness "
    "enforces on the diff. Kinds: scope (the only paths that may change), protect (paths "
    "that may not change), no_delete, may_delete, max_diff (limit: lines), keep (what: "
    "types | signatures | deps | tests stay unchanged, optionally in paths), allow (what: "
    "cancels a keep), no_network, no_run (what: a command), advice (what: anything no "
    "rule can check). Answer only by calling submit_rules."
)
MAX_ASKS = 2


class RulesAnswerError(ValueError):
    """The planner's answer was not a rule set."""


async def ask_rules(model: Model, text: str, files: list[str]) -> list[Rule]:
    """The planner's rules for ``text`` (``files``: some of the repo's, for paths)."""
    shown = "\n".join(files[:200])
    prompt = f"The repository's files (first 200):\n{shown}\n\nConstraint: {text}"
    rules, problems = await ask(
        model, SYSTEM, prompt, SUBMIT_RULES, read_answer, MAX_ASKS, what="rule set"
    )
    if problems:
        raise RulesAnswerError("; ".join(problems[:3]))
    return [r.said("planner") for r in rules]


def read_answer(calls: tuple[ToolCall, ...]) -> tuple[list[Rule], list[str]]:
    """The rules of a ``submit_rules`` call, or what is wrong with it."""
    raw, problems = arguments(calls, "submit_rules", "rules")
    rules: list[Rule] = []
    for number, item in enumerate(raw, start=1):
        try:
            rules.append(_rule(item))
        except (ValueError, TypeError) as exc:
            problems.append(f"rule {number}: {exc}")
    return rules, problems


def _rule(item: Any) -> Rule:
    if not isinstance(item, dict):
        raise TypeError("each rule is an object")
    paths = item.get("paths") or []
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise TypeError("'paths' is a list of strings")
    problem = next((found for p in paths if (found := outside_repo(p))), "")
    if problem:
        raise ValueError(problem)
    rule = Rule(
        kind=str(item.get("kind")),
        paths=tuple(p.strip() for p in paths if p.strip()),
        what=str(item.get("what") or "").strip(),
        limit=int(item.get("limit") or 0),
    )
    if rule.kind in ("scope", "protect") and not rule.paths:
        raise ValueError(f"a {rule.kind} rule needs paths")
    if rule.kind == "max_diff" and rule.limit <= 0:
        raise ValueError("a max_diff rule needs a positive limit")
    if rule.kind in ("no_run", "advice") and not rule.what:
        raise ValueError(f"a {rule.kind} rule needs 'what'")
    return rule
