"""What a task attempt leaves in the memory files: its PROGRESS.md entry (what was
done, what remains, what to know) and, for a failed one, a follow-up PLAN.md task."""

from __future__ import annotations

from datetime import UTC, datetime

from tether.agent.outcomes import TaskResult, TaskStatus
from tether.agent.task import Task
from tether.config import TetherConfig
from tether.memory.plan_md import Plan, PlanTask, task_from_contract
from tether.memory.progress_md import LedgerEntry, ModelUse
from tether.models.types import ModelInfo
from tether.workflow.failure import rollback_note


def ledger_entry(
    plan_task: PlanTask,
    attempt: int,
    result: TaskResult,
    task: Task,
    info: ModelInfo,
    session: str,
    skill: str = "",
) -> LedgerEntry:
    """The ledger entry of one context of an attempt (``skill``: the skill replayed and
    the way that ran)."""
    last = " ".join(result.handoff.last_text.split())
    feedback = result.handoff.last_feedback.split("\n\n")[0]
    status = result.status
    if status.finished:
        done, remains, must_know = result.summary or last, "nothing", ""
    elif status is TaskStatus.HANDOFF:
        done, remains = last or "see the files touched", last or result.reason
        must_know = "the context was full; the edits so far are kept in the tree. " + (
            f"Last gate feedback: {feedback}" if feedback else ""
        )
    else:
        done, remains, must_know = last, result.reason, feedback or result.reason
    if result.rollback is not None:
        must_know += " " + rollback_note(result.rollback)
    usage = ModelUse(
        task.model or info.model,
        info.provider,
        result.tokens.input,
        result.tokens.cached,
        result.tokens.output,
    )
    return LedgerEntry(
        task_id=plan_task.id,
        attempt=attempt,
        status=str(status),
        time=datetime.now(UTC),
        session=session,
        title=plan_task.title,
        steps=result.steps,
        models=[usage],
        gates=list(result.gates),
        commit=result.commit or "",
        checkpoint=result.rollback.checkpoint if result.rollback else "",
        files=result.changed,
        done=done,
        remains=remains,
        must_know=must_know,
        skill=skill,
    )


def follow_up_task(
    plan: Plan, plan_task: PlanTask, result: TaskResult, attempt: int, config: TetherConfig
) -> PlanTask:
    """``Tn.k: Fix: <what failed>``, with the evidence in its notes."""
    feedback = " ".join(result.handoff.last_feedback.split())[:300]
    notes = (
        f"{plan_task.id} failed (attempt {attempt}): {result.reason}. "
        f"{feedback} See PROGRESS.md, {plan_task.id} attempt {attempt}."
    )
    follow = task_from_contract(
        plan.follow_up_id(plan_task.id),
        f"Fix: {result.reason}"[:100],
        scope=list(plan_task.scope),
        protect=list(plan_task.protect),
        max_diff=plan_task.max_diff or config.guard.max_diff,
        accept=list(plan_task.accept),
        notes=notes,
    )
    if plan_task.max_steps:
        follow.items.append(("max-steps", str(plan_task.max_steps)))
    return follow
