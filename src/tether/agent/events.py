"""The fields of the loop's events (``task_start``, ``step``, ``task_end`` in
events.jsonl), built apart from the loop so it reads as the data path."""

from __future__ import annotations

import json
from typing import Any

from tether.agent.outcomes import TaskResult
from tether.agent.task import Task
from tether.guard.stepguard import StepVerdict
from tether.models.types import Completion
from tether.tools.toolbox import ToolOutcome


def start_fields(
    task: Task, session: str, checkpoint: str, base: str, ref: str, model: str
) -> dict[str, Any]:
    c = task.contract
    return {
        "task": task.task_id,
        "title": task.title,
        "instruction": task.instruction[:ARG_CHARS],
        "session": session,
        "checkpoint": checkpoint,
        "base": base,
        "snapshot_ref": ref,
        "contract": {
            "scope": list(c.scope),
            "protect": list(c.protect),
            "max_diff": c.max_diff,
            "allow_delete": c.allow_delete,
            "accept": list(c.accept),
            "rules": [r.exact() for r in c.rules],
        },
        "model": task.model or model,
        "max_steps": task.max_steps,
    }


def step_fields(
    number: int,
    completion: Completion,
    outcomes: list[ToolOutcome],
    verdict: StepVerdict,
    times: dict[str, float],
    wall: float,
) -> dict[str, Any]:
    usage = completion.usage
    return {
        "step": number,
        "tools": [
            {"name": o.name, "ok": o.ok, "summary": o.summary, "args": _args(call.arguments)}
            for call, o in zip(completion.tool_calls, outcomes, strict=False)
        ],
        "text": completion.content[:300],
        "changed": verdict.changed,
        "diff_lines": verdict.diff_lines,
        "violations": len(verdict.violations),
        "input_tokens": usage.input_tokens,
        "cached_tokens": usage.cached_tokens,
        "output_tokens": usage.output_tokens,
        "ttft_s": round(completion.timing.ttft_s, 4),
        "output_tps": round(completion.timing.output_tps, 1),
        "harness_s": round(max(0.0, wall - sum(times.values())), 5),
        "wall_s": round(wall, 5),
        **{k: round(v, 5) for k, v in times.items()},
    }


def end_fields(task: Task, result: TaskResult) -> dict[str, Any]:
    return {
        "task": task.task_id,
        "title": task.title,
        "status": str(result.status),
        "reason": result.reason,
        "steps": result.steps,
        "commit": result.commit,
        "changed": result.changed,
        "base_tree": result.base_tree,
        "final_tree": result.final_tree,
        "gates": [
            {"tier": g.tier, "gate": g.gate, "status": g.status, "seconds": round(g.seconds, 2)}
            for g in result.gates
            if g.tier == "task"
        ],
        "summary": result.summary[:ARG_CHARS],
        "seconds": round(result.seconds, 3),
        "input_tokens": result.tokens.input,
        "cached_tokens": result.tokens.cached,
        "output_tokens": result.tokens.output,
    }


# A call's arguments as the step event keeps them: long texts cut (a skill's worked
# example shows them; the net change comes from the trees, not from here).
ARG_CHARS = 4000


def _args(raw: str) -> dict[str, Any] | str:
    try:
        data = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return raw[:ARG_CHARS]
    if not isinstance(data, dict):
        return raw[:ARG_CHARS]
    return {
        k: v[:ARG_CHARS] + "…" if isinstance(v, str) and len(v) > ARG_CHARS else v
        for k, v in data.items()
    }
