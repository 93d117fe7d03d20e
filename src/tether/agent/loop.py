"""The executor loop. A step is one model call → its tool calls (each through the
action policy) → the diff contract on the real tree → step gates → a checkpoint.
The loop leaves through ``TaskEnded`` exceptions that carry their reason; it knows no
CLI, no git commands and no retries (those live in vcs, guard and models)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from tether.agent.guidance import guide
from tether.agent.outcomes import (
    BudgetSpent,
    Completed,
    GatesFailed,
    GaveUp,
    HandoffNeeded,
    Interrupted,
    TaskEnded,
    TaskResult,
    Tokens,
    TooManyViolations,
)
from tether.agent.prompt import TaskPrompt
from tether.gates.results import GateVerdict
from tether.guard.contract import Contract, Violation
from tether.guard.diffcheck import DiffContract
from tether.models.types import Completion, Model, ModelRequest
from tether.telemetry import EventLog
from tether.tools.toolbox import Toolbox, ToolOutcome
from tether.vcs.branch import commit_paths
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.diff import tree_changes

NO_TOOL_LIMIT = 3


@dataclass(frozen=True)
class Task:
    title: str
    instruction: str = ""
    contract: Contract = field(default_factory=Contract)
    max_steps: int = 30
    task_id: str = ""
    model: str | None = None
    base_checkpoint: str | None = None


class Gates(Protocol):
    """The gates seam: step tier after a step that changed files, task tier before done."""

    async def step(self, changed: list[str], before: str, after: str) -> GateVerdict: ...

    async def task(self, changed: list[str], base: str, final: str) -> GateVerdict: ...


@dataclass(frozen=True)
class LoopSettings:
    max_output_tokens: int = 4096
    temperature: float | None = None
    max_violations: int = 3
    max_gate_attempts: int = 3
    commit: bool = True
    context_window: int = 32_768
    handoff_at: float = 0.6
    # For tiny local models: constrained decoding may not call `done` or `run` before the
    # task changed something, nor delete_file when deletion is not allowed, and paths
    # must name real files.
    guide_small_model: bool = False


@dataclass
class _State:
    base_tree: str
    good_tree: str
    base_checkpoint: str
    prev_tree: str = ""
    good_changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    tokens: Tokens = field(default_factory=Tokens)
    violation_streak: int = 0
    silent_streak: int = 0
    gate_failures: int = 0
    steps: int = 0
    gates: list[dict[str, Any]] = field(default_factory=list)
    pending: asyncio.Task[Any] | None = None
    last_feedback: str = ""
    mark: float = field(default_factory=time.perf_counter)
    context_started: float = field(default_factory=time.perf_counter)
    context_first_used: int | None = None
    history_mark: int = 0
    last_text: str = ""
    last_tool: str = ""


class Executor:
    """Runs one task in one executor context."""

    def __init__(
        self,
        *,
        model: Model,
        toolbox: Toolbox,
        checkpoints: ShadowCheckpoints,
        diff_contract: DiffContract,
        log: EventLog,
        session: str,
        settings: LoopSettings | None = None,
        gates: Gates | None = None,
    ):
        self.model = model
        self.toolbox = toolbox
        self.checkpoints = checkpoints
        self.git = checkpoints.git
        self.diff_contract = diff_contract
        self.log = log
        self.session = session
        self.settings = settings or LoopSettings()
        self.gates = gates

    async def run(self, task: Task, prompt: TaskPrompt) -> TaskResult:
        """Carry out ``task``; never raises for how the task ends (see the result)."""
        started = time.perf_counter()
        state = self._begin(task)
        try:
            for number in range(1, task.max_steps + 1):
                state.steps = number
                await self._step(number, task, prompt, state)
            raise BudgetSpent(f"the step budget ({task.max_steps} steps) is spent")
        except TaskEnded as ended:
            return await self._end(task, state, ended, started)
        except (asyncio.CancelledError, KeyboardInterrupt):
            return await self._end(task, state, Interrupted("interrupted by the user"), started)

    # --- one step ---------------------------------------------------------------------

    async def _step(self, number: int, task: Task, prompt: TaskPrompt, state: _State) -> None:
        request = self._guided(
            prompt.request(self.settings.max_output_tokens, self.settings.temperature, task.model),
            number,
            state,
        )
        model_started = time.perf_counter()
        completion = await self.model.complete(request)
        model_s = time.perf_counter() - model_started
        usage = completion.usage
        state.tokens.add(usage.input_tokens, usage.cached_tokens, usage.output_tokens)
        prompt.add_reply(completion)
        state.history_mark = len(prompt.history)
        if completion.content.strip():
            state.last_text = completion.content.strip()
        outcomes = await self._run_tools(completion, prompt, number)
        state.last_tool = outcomes[-1].name if outcomes and outcomes[-1].ok else ""
        tools_s = sum(o.seconds for o in outcomes)
        guard_started = time.perf_counter()
        violations = [o.violation for o in outcomes if o.violation is not None]
        changed, diff_violations = await self._diff_contract(number, task, outcomes, state)
        violations += diff_violations
        guard_s = time.perf_counter() - guard_started
        gates_started = time.perf_counter()
        gate_feedback: list[str] = []
        if changed and not violations and self.gates is not None:
            verdict = await self.gates.step(changed, state.prev_tree, state.good_tree)
            state.gates.extend(verdict.evidence)
            if not verdict.passed:
                gate_feedback.append(verdict.feedback)
        done = next((o.done for o in outcomes if o.done is not None), None)
        gates_s = time.perf_counter() - gates_started
        self._emit_step(
            number,
            completion,
            outcomes,
            changed,
            violations,
            {"model_s": model_s, "tools_s": tools_s, "guard_s": guard_s, "gates_s": gates_s},
            state,
        )
        # after the step's event, so a step that ends the task is still on record
        feedback = self._violation_feedback(violations, state)
        feedback += self._silence_feedback(completion, state) + gate_feedback
        if done is not None and not violations:
            feedback += await self._try_finish(task, done, state)
        if feedback:
            state.last_feedback = "\n\n".join(feedback)
            prompt.add_feedback(state.last_feedback)
        self._check_context(prompt, completion, number, state)

    def _guided(self, request: ModelRequest, number: int, state: _State) -> ModelRequest:
        if not self.settings.guide_small_model:
            return request
        return guide(
            request,
            self.toolbox.policy,
            self.toolbox.root,
            changed=state.good_tree != state.base_tree,
            step=number,
            last_tool=state.last_tool,
        )

    async def _run_tools(
        self, completion: Completion, prompt: TaskPrompt, number: int
    ) -> list[ToolOutcome]:
        outcomes: list[ToolOutcome] = []
        blocked = False
        for call in completion.tool_calls:
            if blocked:
                outcome = ToolOutcome(
                    call.name,
                    "skipped: an earlier call in this turn was blocked by the guard",
                    ok=False,
                    summary="skipped",
                )
            else:
                outcome = await self.toolbox.execute(call)
            if outcome.violation is not None:
                blocked = True
                v = outcome.violation
                self.log.emit(
                    "violation",
                    layer=v.layer,
                    rule=v.rule,
                    detail=v.detail,
                    step=number,
                    tool=call.name,
                )
            outcomes.append(outcome)
            prompt.add_tool_result(call.id, outcome.text)
        return outcomes

    async def _diff_contract(
        self, number: int, task: Task, outcomes: list[ToolOutcome], state: _State
    ) -> tuple[list[str], list[Violation]]:
        """Check the real tree; roll back a violating step, checkpoint a good one."""
        if not any(o.may_write for o in outcomes):
            return [], []
        tree = self.checkpoints.snapshot_tree()
        if tree == state.good_tree:
            return [], []
        changes = tree_changes(self.git, state.base_tree, tree)
        violations = self.diff_contract.check(changes)
        if violations:
            for v in violations:
                self.log.emit("violation", layer=v.layer, rule=v.rule, detail=v.detail, step=number)
            restored = self.checkpoints.restore(state.good_tree)
            self.log.emit("rollback", step=number, to_tree=state.good_tree, paths=restored)
            return [], violations
        # this step's own changes, from the two diffs against the base (no third diff)
        now = {c.path: (c.mode, c.blob) for c in changes}
        step_changes = sorted(
            p
            for p in now.keys() | state.good_changes.keys()
            if now.get(p) != state.good_changes.get(p)
        )
        state.prev_tree, state.good_tree, state.good_changes = state.good_tree, tree, now
        await self._await_pending(state)
        state.pending = asyncio.ensure_future(
            asyncio.to_thread(
                self.checkpoints.record,
                "step",
                tree,
                session=self.session,
                task=task.title,
                step=number,
            )
        )
        return step_changes, []

    @staticmethod
    async def _await_pending(state: _State) -> None:
        if state.pending is not None:
            await state.pending
            state.pending = None

    def _violation_feedback(self, violations: list[Violation], state: _State) -> list[str]:
        if not violations:
            state.violation_streak = 0
            return []
        state.violation_streak += 1
        rules = "\n".join(f"- {v.message()}" for v in violations)
        left = self.settings.max_violations - state.violation_streak
        if left <= 0:
            raise TooManyViolations(
                f"{state.violation_streak} steps in a row broke the "
                f"contract; last: {violations[-1].rule}"
            )
        rolled = any(v.layer == "diff" for v in violations)
        head = "This step was rolled back." if rolled else "The guard blocked this."
        return [
            f"{head}\n{rules}\nStay inside the contract ({left} more violation(s) in a "
            "row end the task)."
        ]

    def _silence_feedback(self, completion: Completion, state: _State) -> list[str]:
        if completion.tool_calls:
            state.silent_streak = 0
            return []
        state.silent_streak += 1
        if state.silent_streak >= NO_TOOL_LIMIT:
            raise GaveUp(
                f"the model answered {NO_TOOL_LIMIT} times without a tool call",
                summary=completion.content[:500],
            )
        return ["Use the tools to make progress, or call done(summary) when the task is complete."]

    async def _try_finish(self, task: Task, summary: str, state: _State) -> list[str]:
        """Task gates, then commit; raises Completed, or returns feedback to go on."""
        await self._await_pending(state)
        changed = [c.path for c in tree_changes(self.git, state.base_tree, state.good_tree)]
        if self.gates is not None:
            verdict = await self.gates.task(changed, state.base_tree, state.good_tree)
            state.gates.extend(verdict.evidence)
            if not verdict.passed:
                state.gate_failures += 1
                if state.gate_failures >= self.settings.max_gate_attempts:
                    raise GatesFailed(
                        f"task gates failed {state.gate_failures} times", summary=verdict.feedback
                    )
                return [
                    f"You called done, but the task gates failed (attempt "
                    f"{state.gate_failures} of {self.settings.max_gate_attempts}):\n"
                    f"{verdict.feedback}"
                ]
        raise Completed(
            "the model declared the task done"
            + (" and the task gates passed" if self.gates else ""),
            summary=summary,
        )

    def _check_context(
        self, prompt: TaskPrompt, completion: Completion, number: int, state: _State
    ) -> None:
        """Tokens in the next request: the provider's count for this call plus an estimate
        (4 characters a token) of what was appended since. Emits the growth rate and the
        time left before the handoff threshold; raises HandoffNeeded past it."""
        usage = completion.usage
        added = sum(len(m.content) for m in prompt.history[state.history_mark :]) // 4
        state.history_mark = len(prompt.history)
        used = usage.input_tokens + usage.output_tokens + added
        window = self.settings.context_window
        limit = int(window * self.settings.handoff_at)
        elapsed = max(time.perf_counter() - state.context_started, 1e-6)
        if state.context_first_used is None:
            state.context_first_used = usage.input_tokens
        rate = max(0.0, (used - state.context_first_used) / elapsed)
        eta = (limit - used) / rate if rate > 0 and used < limit else None
        self.log.emit(
            "context",
            step=number,
            used=used,
            window=window,
            limit=limit,
            rate_tps=round(rate, 1),
            eta_s=round(eta, 1) if eta is not None else None,
        )
        if used >= limit:
            raise HandoffNeeded(
                f"the context holds ~{used} tokens, over the handoff "
                f"threshold of {limit} ({self.settings.handoff_at:.0%} of "
                f"{window})"
            )

    def _emit_step(
        self,
        number: int,
        completion: Completion,
        outcomes: list[ToolOutcome],
        changed: list[str],
        violations: list[Violation],
        times: dict[str, float],
        state: _State,
    ) -> None:
        """One event a step. ``wall_s`` runs from the previous step's event to this one,
        so every moment of the loop (prompt assembly, bookkeeping) belongs to a step."""
        now = time.perf_counter()
        wall, state.mark = now - state.mark, now
        busy = sum(times.values())
        self.log.emit(
            "step",
            step=number,
            tools=[{"name": o.name, "ok": o.ok, "summary": o.summary} for o in outcomes],
            text=completion.content[:300],
            changed=changed,
            violations=len(violations),
            input_tokens=completion.usage.input_tokens,
            cached_tokens=completion.usage.cached_tokens,
            output_tokens=completion.usage.output_tokens,
            ttft_s=round(completion.timing.ttft_s, 4),
            output_tps=round(completion.timing.output_tps, 1),
            harness_s=round(max(0.0, wall - busy), 5),
            wall_s=round(wall, 5),
            **{k: round(v, 5) for k, v in times.items()},
        )

    # --- begin and end ---------------------------------------------------------------

    def _begin(self, task: Task) -> _State:
        """A new task attempt starts with a ``task-start`` checkpoint (its base, and a ref
        keeping the user's state); a further context of the same attempt (after a handoff
        or a resume) starts with ``context-start`` and keeps the attempt's base."""
        tree = self.checkpoints.snapshot_tree()
        extra = {"task_id": task.task_id} if task.task_id else {}
        if task.base_checkpoint:
            base = self.checkpoints.get(task.base_checkpoint)
            checkpoint = self.checkpoints.record(
                "context-start", tree, session=self.session, task=task.title, extra=extra
            )
            base_tree, base_sha, ref = base.tree, base.sha, ""
        else:
            checkpoint = self.checkpoints.record(
                "task-start", tree, session=self.session, task=task.title, extra=extra
            )
            base_tree, base_sha = tree, checkpoint.sha
            ref = self.checkpoints.keep_snapshot(self.session, checkpoint)
        contract = task.contract
        self.log.emit(
            "task_start",
            task=task.task_id,
            title=task.title,
            session=self.session,
            checkpoint=checkpoint.sha,
            base=base_sha,
            snapshot_ref=ref,
            contract={
                "scope": list(contract.scope),
                "protect": list(contract.protect),
                "max_diff": contract.max_diff,
                "allow_delete": contract.allow_delete,
            },
            model=task.model or self.model.info.model,
            max_steps=task.max_steps,
        )
        return _State(base_tree=base_tree, good_tree=tree, base_checkpoint=base_sha)

    async def _end(self, task: Task, state: _State, ended: TaskEnded, started: float) -> TaskResult:
        if state.pending is not None:
            await asyncio.shield(state.pending)
            state.pending = None
        final = self.checkpoints.snapshot_tree()
        changed = [c.path for c in tree_changes(self.git, state.base_tree, final)]
        commit = None
        if isinstance(ended, Completed) and self.settings.commit:
            commit = commit_paths(self.git, changed, f"tether: {task.title}")
        kind = {"done": "task-done", "interrupted": "interrupted"}.get(ended.status, "task-end")
        self.checkpoints.record(
            kind,
            final,
            session=self.session,
            task=task.title,
            step=state.steps,
            extra={"commit": commit or "", "base": state.base_checkpoint},
        )
        result = TaskResult(
            status=ended.status,
            reason=ended.reason,
            steps=state.steps,
            summary=ended.summary,
            commit=commit,
            base_checkpoint=state.base_checkpoint,
            final_tree=final,
            changed=changed,
            tokens=state.tokens,
            seconds=time.perf_counter() - started,
            gates=state.gates,
        )
        result.handoff = {
            "last_text": state.last_text,
            "last_feedback": state.last_feedback,
            "gates": state.gates[-6:],
        }
        self.log.emit(
            "task_end",
            task=task.task_id,
            title=task.title,
            status=result.status,
            reason=result.reason,
            steps=result.steps,
            commit=commit,
            changed=changed,
            seconds=round(result.seconds, 3),
            input_tokens=state.tokens.input,
            cached_tokens=state.tokens.cached,
            output_tokens=state.tokens.output,
        )
        return result
