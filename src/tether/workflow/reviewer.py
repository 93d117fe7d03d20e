"""A reviewer model behind the review gate: it must answer with one tool call,
``submit_review(verdict, comments)``."""

from __future__ import annotations

import json

from tether.errors import ModelError
from tether.gates.context import ReviewVerdict
from tether.models.types import Message, Model, ModelRequest, ToolCall, ToolSpec

SUBMIT_REVIEW = ToolSpec(
    "submit_review",
    "Submit your review of the diff.",
    {
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["approve", "request_changes"]},
            "comments": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["verdict", "comments"],
        "additionalProperties": False,
    },
)
SYSTEM = (
    "You review one task's diff in a git repository against the task's contract. Check "
    "that the change does what the task asks, stays inside the contract, and has no bugs "
    "you can see. Answer only by calling submit_review: verdict 'approve' or "
    "'request_changes', and comments (each one concrete, actionable problem; empty when "
    "approving)."
)
MAX_DIFF_CHARS = 60_000


class ModelReviewer:
    def __init__(self, model: Model, max_output_tokens: int = 2048):
        self.model = model
        self.max_output_tokens = max_output_tokens

    async def review(self, contract: str, diff: str) -> ReviewVerdict:
        if len(diff) > MAX_DIFF_CHARS:
            diff = diff[:MAX_DIFF_CHARS] + "\n[diff cut: too long]"
        messages = [
            Message(
                "user",
                f"# Task contract\n{contract or '(none given)'}\n\n# Diff\n```diff\n{diff}\n```",
            )
        ]
        problem = ""
        for _ in range(2):
            request = ModelRequest(
                system=SYSTEM,
                messages=tuple(messages),
                tools=(SUBMIT_REVIEW,),
                max_output_tokens=self.max_output_tokens,
                prefix_messages=1,
            )
            completion = await self.model.complete(request)
            parsed, problem = parse_review(completion.tool_calls)
            if parsed is not None:
                return parsed
            messages += [Message("assistant", completion.content, completion.tool_calls)]
            messages += [
                Message("tool", f"error: {problem}", tool_call_id=c.id)
                for c in completion.tool_calls
            ]
            messages.append(
                Message(
                    "user",
                    f"Your answer was not usable: {problem}. Call "
                    "submit_review(verdict, comments) now.",
                )
            )
        raise ModelError(f"the reviewer did not submit a usable review: {problem}")


def parse_review(calls: tuple[ToolCall, ...]) -> tuple[ReviewVerdict | None, str]:
    call = next((c for c in calls if c.name == "submit_review"), None)
    if call is None:
        return None, "no submit_review call"
    try:
        args = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        return None, f"arguments are not valid JSON ({exc.msg})"
    verdict = args.get("verdict") if isinstance(args, dict) else None
    comments = args.get("comments", []) if isinstance(args, dict) else None
    if verdict not in ("approve", "request_changes"):
        return None, "verdict must be 'approve' or 'request_changes'"
    if not isinstance(comments, list) or not all(isinstance(c, str) for c in comments):
        return None, "comments must be a list of strings"
    return ReviewVerdict(verdict=verdict, comments=comments), ""
