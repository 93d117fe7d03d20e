"""What the executor sees of skills. Every task: an index of names and descriptions
in the stable prefix (small, sorted, the same bytes at every step) and ``use_skill``
to load one. A guided replay: the procedure with this use's values, and the verified
session's calls as turns of a worked example, also in the stable prefix."""

from __future__ import annotations

import json
from collections.abc import Callable

from tether.models.types import Message, ToolCall
from tether.skills.store import Skill
from tether.skills.trajectory import Trajectory

INDEX_HEAD = (
    "# Skills\nVerified procedures from earlier sessions in this repository. If one fits "
    "your task, call use_skill(name) to read it before you start."
)
READ_TOOLS = ("read_file", "list_files", "search")


def index(skills: list[Skill]) -> str:
    """The prefix's list of skills ("" for none); ordered by name, so it is stable."""
    usable = sorted((s for s in skills if not s.problems), key=lambda s: s.name)
    if not usable:
        return ""
    lines = [f"- {s.name}: {s.description}" for s in usable]
    return INDEX_HEAD + "\n" + "\n".join(lines)


def loaded(skill: Skill) -> str:
    """What ``use_skill(name)`` answers: the procedure, its parameters, the recorded
    edits (placeholders in braces) and the gates that proved it."""
    contract = skill.contract()
    trajectory = skill.trajectory()
    parts = [f"# Skill {skill.name}", skill.description, skill.body.strip()]
    if skill.params:
        captured = ", ".join(f"{{{p}}} was {contract.params.get(p, '?')}" for p in skill.params)
        parts.append(f"Parameters (fill in your task's values): {captured}")
    edits = [_edit_text(call.args) for call in trajectory.calls if call.ok and _writes(call.tool)]
    if edits:
        parts.append("The verified session's edits:\n" + "\n".join(e for e in edits if e))
    if contract.accept or contract.proved:
        parts.append("Gates that proved it: " + "; ".join((*contract.accept, *contract.proved)))
    return "\n\n".join(p for p in parts if p.strip())


def _writes(tool: str) -> bool:
    return tool in ("edit_file", "create_file", "delete_file")


def _edit_text(args: dict[str, object]) -> str:
    return "- " + json.dumps(args, ensure_ascii=False)[:1500]


def guided_prefix(
    skill: Skill,
    trajectory: Trajectory,
    fill: Callable[[str], str],
    read: Callable[[dict[str, object]], str | None] = lambda args: None,
) -> tuple[Message, ...]:
    """The procedure (values filled in), then the session's successful calls as turns,
    ``done`` last: a small model copies a worked example far better than it follows
    prose. ``read`` gives a read_file call's result as the tree holds it now (the
    recording keeps only a summary), so the example shows this use's file."""
    procedure = fill(skill.body.strip())
    head = Message(
        "user",
        f"# Skill {skill.name}: {fill(skill.description)}\n\n{procedure}\n\n"
        "Below is a verified session of this skill, with your task's values filled in.",
    )
    turns: list[Message] = [head]
    for number, call in enumerate((c for c in trajectory.calls if c.ok), start=1):
        args = {k: (fill(v) if isinstance(v, str) else v) for k, v in call.args.items()}
        tool_id = f"skill_{number}"
        turns.append(Message("assistant", "", (ToolCall(tool_id, call.tool, json.dumps(args)),)))
        shown = (read(args) if call.tool == "read_file" else None) or fill(call.result) or "ok"
        turns.append(Message("tool", shown, tool_call_id=tool_id))
    turns.append(
        Message("user", "That was the verified session. Now do the task below the same way.")
    )
    return tuple(turns)
