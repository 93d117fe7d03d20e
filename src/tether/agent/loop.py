"""The executor loop. A step is one model call → its tool calls (each through the
action policy) → fixers → the step guard on the real tree → step gates → a checkpoint.

The loop leaves through ``TaskEnded`` exceptions that carry their reason. Every
dependency is a Protocol (``seams.py``): it knows no git, no HTTP, no terminal."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from tether.agent.context import ContextMeter
from tether.agent.events import end_fields, start_fields, step_fields
from tether.agent.outcomes import (
    BudgetSpent,
    Completed,
    CompletedUnverified,
    GatesFailed,
    GaveUp,
    Handoff,
    HandoffNeeded,
    Interrupted,
    NothingChanged,
    Stopped,
    TaskEnded,
    TaskResult,
    TooManyViolations,
)
from tether.agent.prompt import TaskPrompt, user_note
from tether.agent.seams import (
    Events,
    Gates,
    RequestShaper,
    Steering,
    StepGuard,
    Tools,
    WorkTree,
)
from tether.agent.state import LoopSettings, RunState
from tether.agent.task import Task
from tether.gates.results import GateVerdict
from tether.guard.stepguard import StepVerdict
from tether.models.types import Completion, Model, ModelRequest
from tether.tools.toolbox import ToolOutcome

# the first request in flight, when it was sent, when its answer was complete
_Pending = tuple["asyncio.Future[Completion]", float, list[float]]

NO_TOOL_LIMIT = 3
NUDGE = "Use the tools to make progress, or call done(summary) when the task is complete."
NOTHING_DONE = (
    "You called done, but nothing in the work tree changed. Make the change the task asks "
    "for; call done again only if the task truly needs no change."
)


class Executor:
    """Runs one task in one executor context."""

    def __init__(
        self,
        *,
        model: Model,
        tools: Tools,
        worktree: WorkTree,
        guard: StepGuard,
        events: Events,
        gates: Gates | None = None,
        shaper: RequestShaper | None = None,
        settings: LoopSettings | None = None,
        steering: Steering | None = None,
        began: Callable[[], None] | None = None,
    ):
        """``began``: called once the task's base is on record, before any tool runs."""
        self.model = model
        self.tools = tools
        self.worktree = worktree
        self.guard = guard
        self.events = events
        self.gates = gates
        self.shaper = shaper
        self.settings = settings or LoopSettings()
        self.steering = steering
        self.began = began
        self._first: _Pending | None = None

    async def run(self, task: Task, prompt: TaskPrompt) -> TaskResult:
        """Carry out ``task``; never raises for how the task ends (see the result)."""
        started = time.perf_counter()
        stopped: Stopped | None = None
        try:
            self._steer(prompt)  # step 1's boundary: what was said goes with its request
        except Stopped as ended:
            stopped = ended
        # the base's git work starts in a thread first, so it runs while the request goes
        recording = asyncio.get_running_loop().run_in_executor(None, self._record_base, task)
        self._first = None if stopped else self._send_first(task, prompt)
        try:
            run, interrupted = await self._begin(task, recording)
        except BaseException:
            await self._drop_first()
            raise
        try:
            if stopped or interrupted:
                raise stopped or Interrupted("interrupted by the user")
            for number in range(1, task.max_steps + 1):
                if number > 1:
                    self._steer(prompt)
                run.steps = number
                await self._step(number, task, prompt, run)
            raise BudgetSpent(f"the step budget ({task.max_steps} steps) is spent")
        except TaskEnded as ended:
            return await self._end(task, run, ended, started)
        except (asyncio.CancelledError, KeyboardInterrupt):
            return await self._end(task, run, Interrupted("interrupted by the user"), started)
        finally:
            await self._drop_first()

    def _send_first(self, task: Task, prompt: TaskPrompt) -> _Pending | None:
        """A context's first request goes out before its base is on record: the snapshot
        and the checkpoint (git work, in a thread) overlap the model's first answer, and
        no tool runs before both are done. Not for a further context whose request a
        shaper bases on the guard's trees."""
        if self.shaper is not None and task.base_checkpoint:
            return None
        request = self._request(1, task, prompt, last_tool="", changed=False)
        sent, answered = time.perf_counter(), list[float]()
        pending = asyncio.ensure_future(self.model.complete(request))
        pending.add_done_callback(lambda _: answered.append(time.perf_counter()))
        return pending, sent, answered

    async def _drop_first(self) -> None:
        """A first request the task ended without reading (stopped, a git error)."""
        if self._first is None:
            return
        (pending, _, _), self._first = self._first, None
        pending.cancel()
        with contextlib.suppress(BaseException):
            await pending

    # --- one step ---------------------------------------------------------------------

    async def _step(self, number: int, task: Task, prompt: TaskPrompt, run: RunState) -> None:
        completion, model_s = await self._complete(number, task, prompt, run)
        usage = completion.usage
        run.tokens.add(usage.input_tokens, usage.cached_tokens, usage.output_tokens)
        prompt.add_reply(completion)
        run.meter.replied(prompt.history)
        run.last_text = completion.content.strip() or run.last_text
        if any(self.tools.may_write(call) for call in completion.tool_calls):
            self._observe_user(number, task, run)
        outcomes = await self._run_tools(completion, prompt, number)
        run.last_tool = outcomes[-1].name if outcomes and outcomes[-1].ok else ""
        fix_started = time.perf_counter()
        await self._fix(outcomes, run)
        fix_s = time.perf_counter() - fix_started
        guard_started = time.perf_counter()
        verdict = self._judge(number, task, outcomes)
        guard_s = time.perf_counter() - guard_started
        verdict, reviewed = await self._review(number, verdict)
        times = {
            "model_s": model_s,
            "tools_s": sum(o.seconds for o in outcomes),
            "fix_s": fix_s,
            "guard_s": guard_s,
        }
        # the step is on record before its gates run: its line shows above theirs
        self._emit_step(number, completion, outcomes, verdict, times, run)
        feedback = await self._step_gates(verdict, run)
        # after the step's event, so a step that ends the task is still on record
        self._after_step(verdict, completion, run, feedback)
        feedback[:0] = reviewed
        if run.user_changed:
            feedback.insert(0, user_note(run.user_changed))
            run.user_changed = []
        done = next((o.done for o in outcomes if o.done is not None), None)
        if done is not None and not verdict.violations:
            feedback += await self._try_finish(task, done, run)
        if feedback:
            run.last_feedback = "\n\n".join(feedback)
            prompt.add_feedback(run.last_feedback)
        self._check_context(prompt, completion, number, run)

    def _steer(self, prompt: TaskPrompt) -> None:
        """At a step boundary: stop if asked; what the developer said goes to the model."""
        if self.steering is None:
            return
        if self.steering.stop_requested():
            raise Stopped("stopped by the developer at a step boundary")
        said = self.steering.said()
        if said:
            prompt.add_feedback("\n\n".join(said))

    async def _review(self, number: int, verdict: StepVerdict) -> tuple[StepVerdict, list[str]]:
        """Review mode: the developer keeps the step, rolls it back (the model hears why)
        or adds a rule the step is judged by again."""
        if self.steering is None or not verdict.changed or verdict.violations:
            return verdict, []
        review = await self.steering.review(number, verdict.changed, verdict.before, verdict.after)
        if review.rejudge:
            verdict = self.guard.rejudge()
            if verdict.restored is not None:
                for v in verdict.violations:
                    fields = {"layer": v.layer, "rule": v.rule, "detail": v.detail}
                    self.events.emit("violation", **fields, step=number)
                self.events.emit(
                    "rollback", step=number, to_tree=verdict.after, paths=verdict.restored
                )
            return verdict, []
        if review.keep:
            return verdict, []
        restored = self.guard.reject()
        self.events.emit(
            "rollback", step=number, to_tree=verdict.before, paths=restored, by="review"
        )
        why = f": {review.note}" if review.note else "."
        told = f"The developer reviewed this step and rolled it back{why} Try another way."
        return replace(verdict, after=verdict.before, changed=[], restored=restored), [told]

    async def _complete(
        self, number: int, task: Task, prompt: TaskPrompt, run: RunState
    ) -> tuple[Completion, float]:
        """The step's answer and the model's seconds, from the request to the answer
        (step 1's went out early: its seconds end when its answer was complete, not when
        the start's work let the loop read it)."""
        if self._first is not None:
            (pending, sent, answered), self._first = self._first, None
            completion = await pending
            return completion, (answered[0] if answered else time.perf_counter()) - sent
        sent = time.perf_counter()
        completion = await self.model.complete(self._request(number, task, prompt, run.last_tool))
        return completion, time.perf_counter() - sent

    def _request(
        self,
        number: int,
        task: Task,
        prompt: TaskPrompt,
        last_tool: str,
        changed: bool | None = None,
    ) -> ModelRequest:
        s = self.settings
        request = prompt.request(s.max_output_tokens, s.temperature, task.model)
        if self.shaper is None:
            return request
        if changed is None:
            changed = self.guard.good != self.guard.base
        return self.shaper.shape(request, changed=changed, step=number, last_tool=last_tool)

    async def _run_tools(
        self, completion: Completion, prompt: TaskPrompt, number: int
    ) -> list[ToolOutcome]:
        outcomes = await self.tools.execute_turn(completion.tool_calls)
        for call, outcome in zip(completion.tool_calls, outcomes, strict=True):
            if (v := outcome.violation) is not None:
                fields = {"layer": v.layer, "rule": v.rule, "detail": v.detail}
                self.events.emit("violation", **fields, step=number, tool=call.name)
            prompt.add_tool_result(call.id, outcome.text)
        return outcomes

    def _observe_user(self, number: int, task: Task, run: RunState) -> None:
        """What changed while no tool of the model ran is the user's: it joins the base
        (kept at a ``user-edit`` checkpoint) and the model hears of it."""
        paths = self.guard.observe()
        if not paths:
            return
        self.worktree.checkpoint(
            "user-edit",
            self.guard.good,
            task=task.title,
            step=number,
            extra={"base_tree": self.guard.base},
        )
        self.events.emit("user_edit", step=number, paths=paths)
        run.user_changed += [p for p in paths if p not in run.user_changed]

    def _judge(self, number: int, task: Task, outcomes: list[ToolOutcome]) -> StepVerdict:
        """The step guard on the real tree; a kept change is checkpointed off the
        critical path, a violating step was rolled back."""
        blocked = [o.violation for o in outcomes if o.violation is not None]
        verdict = self.guard.judge(any(o.may_write for o in outcomes), blocked)
        for v in verdict.violations[len(blocked) :]:
            self.events.emit("violation", layer=v.layer, rule=v.rule, detail=v.detail, step=number)
        if verdict.restored is not None:
            self.events.emit("rollback", step=number, to_tree=verdict.after, paths=verdict.restored)
        if verdict.changed:
            self.worktree.checkpoint_later("step", verdict.after, task=task.title, step=number)
        return verdict

    async def _fix(self, outcomes: list[ToolOutcome], run: RunState) -> None:
        """The fix tier on what this step's tools changed; its edits join the step (the
        step guard judges them with the model's)."""
        if self.gates is None or not self.gates.fixes or not any(o.may_write for o in outcomes):
            return
        tree = self.worktree.snapshot()
        changed = [c.path for c in self.worktree.changes(self.guard.good, tree)]
        if changed:
            run.gates.extend(await self.gates.fix(changed))

    async def _step_gates(self, verdict: StepVerdict, run: RunState) -> list[str]:
        if not verdict.changed or verdict.violations or self.gates is None:
            return []
        gates = await self._timed(
            "step", run, self.gates.step(verdict.changed, verdict.before, verdict.after)
        )
        run.gates.extend(gates.results)
        return [gates.feedback] if gates.feedback else []

    async def _timed(self, tier: str, run: RunState, work: Awaitable[GateVerdict]) -> GateVerdict:
        """A tier of gates with its own event (``step_gates`` / ``task_gates``): its time
        is its own, not the next step's (``RunState.mark`` moves past it)."""
        started = time.perf_counter()
        verdict = await work
        seconds = time.perf_counter() - started
        run.mark += seconds
        self.events.emit(
            f"{tier}_gates", step=run.steps, seconds=round(seconds, 5), passed=verdict.passed
        )
        return verdict

    def _after_step(
        self, verdict: StepVerdict, completion: Completion, run: RunState, feedback: list[str]
    ) -> None:
        """Violations and silence go back to the model; too many in a row end the task."""
        if verdict.exhausted:
            raise TooManyViolations(
                f"{verdict.streak} steps in a row broke the contract; "
                f"last: {verdict.violations[-1].rule}"
            )
        if verdict.violations:
            feedback.insert(0, verdict.feedback())
        if completion.tool_calls:
            run.silent_streak = 0
            return
        run.silent_streak += 1
        if run.silent_streak >= NO_TOOL_LIMIT:
            raise GaveUp(
                f"the model answered {NO_TOOL_LIMIT} times without a tool call",
                summary=completion.content[:500],
            )
        feedback.insert(1 if verdict.violations else 0, NUDGE)

    async def _try_finish(self, task: Task, summary: str, run: RunState) -> list[str]:
        """Task gates, then commit; raises Completed, or returns feedback to go on."""
        await self.worktree.settle()
        self._observe_user(run.steps, task, run)
        base, good = self.guard.base, self.guard.good
        changed = [c.path for c in self.worktree.changes(base, good)]
        if not changed:
            run.empty_dones += 1
            if run.empty_dones >= 2:
                raise NothingChanged("the model called done twice and changed nothing")
            return [NOTHING_DONE]
        if self.gates is not None and self.gates.verifies:
            verdict = await self._timed("task", run, self.gates.task(changed, base, good))
            run.gates.extend(verdict.results)
            if not verdict.passed:
                run.gate_failures += 1
                attempts = self.settings.max_gate_attempts
                if run.gate_failures >= attempts:
                    raise GatesFailed(
                        f"task gates failed {run.gate_failures} times", summary=verdict.feedback
                    )
                return [
                    f"You called done, but the task gates failed (attempt "
                    f"{run.gate_failures} of {attempts}):\n{verdict.feedback}"
                ]
            if not verdict.verified:
                raise CompletedUnverified(
                    f"the task gates passed, but no test covers {', '.join(verdict.uncovered)}",
                    summary=summary,
                )
        if self.gates is None or not self.gates.verifies:
            raise CompletedUnverified(
                "the model declared the task done; no task gate checked it", summary=summary
            )
        raise Completed("the model declared the task done and the task gates passed", summary)

    def _check_context(
        self, prompt: TaskPrompt, completion: Completion, number: int, run: RunState
    ) -> None:
        """Emits the context meter; raises HandoffNeeded past the threshold."""
        reading = run.meter.read(completion.usage, prompt.history)
        self.events.emit("context", step=number, **reading.fields())
        if reading.full:
            raise HandoffNeeded(
                f"the context holds ~{reading.used} tokens, over the handoff "
                f"threshold of {reading.limit} ({self.settings.handoff_at:.0%} of "
                f"{reading.window})"
            )

    def _emit_step(
        self,
        number: int,
        completion: Completion,
        outcomes: list[ToolOutcome],
        verdict: StepVerdict,
        times: dict[str, float],
        run: RunState,
    ) -> None:
        """``wall_s`` runs from the previous step's event to this one, so every moment of
        the loop (prompt assembly, bookkeeping) belongs to a step."""
        now = time.perf_counter()
        wall, run.mark = now - run.mark, now
        self.events.emit("step", **step_fields(number, completion, outcomes, verdict, times, wall))

    # --- begin and end ---------------------------------------------------------------

    async def _begin(
        self, task: Task, recording: asyncio.Future[tuple[str, str, str, str, str]]
    ) -> tuple[RunState, bool]:
        """A new task attempt starts with a ``task-start`` checkpoint (its base, and a ref
        keeping the user's state); a further context of the same attempt (after a handoff
        or a resume) starts with ``context-start`` and keeps the attempt's base. The git
        work (``recording``, ``_record_base`` in a thread) is waited for; Ctrl-C meanwhile
        lets it finish, then the task ends."""
        interrupted = False
        while not recording.done():
            try:
                await asyncio.shield(recording)
            except asyncio.CancelledError:
                interrupted = True
        tree, checkpoint, base_tree, base, ref = recording.result()
        self.guard.begin(base_tree, tree)
        self.events.emit(
            "task_start",
            **start_fields(
                task, self.settings.session, checkpoint, base, ref, self.model.info.model
            ),
        )
        if self.began is not None:
            self.began()
        meter = ContextMeter(self.settings.context_window, self.settings.handoff_at)
        return RunState(base_checkpoint=base, meter=meter), interrupted

    def _record_base(self, task: Task) -> tuple[str, str, str, str, str]:
        """(tree, checkpoint, base tree, base checkpoint, snapshot ref) of the start."""
        tree = self.worktree.snapshot()
        extra = {"task_id": task.task_id} if task.task_id else {}
        if task.base_checkpoint:
            checkpoint = self.worktree.checkpoint(
                "context-start", tree, task=task.title, extra=extra
            )
            base_tree = task.base_tree or self.worktree.tree_of(task.base_checkpoint)
            return tree, checkpoint, base_tree, task.base_checkpoint, ""
        checkpoint = self.worktree.checkpoint("task-start", tree, task=task.title, extra=extra)
        return tree, checkpoint, tree, checkpoint, self.worktree.keep_snapshot(checkpoint)

    async def _end(self, task: Task, run: RunState, ended: TaskEnded, started: float) -> TaskResult:
        await self.worktree.settle()
        if isinstance(ended, Interrupted):  # a tool may have been cut off: judge nothing
            final = self.worktree.snapshot()
        else:
            self._observe_user(run.steps, task, run)
            final = self.guard.good
        changed = [c.path for c in self.worktree.changes(self.guard.base, final)]
        commit = None
        if isinstance(ended, Completed) and self.settings.commit:
            commit = self.worktree.commit(changed, f"tether: {task.title}")
        self.worktree.checkpoint(
            ended.status.checkpoint_kind,
            final,
            task=task.title,
            step=run.steps,
            extra={"commit": commit or "", "base": run.base_checkpoint},
        )
        result = TaskResult(
            status=ended.status,
            reason=ended.reason,
            steps=run.steps,
            summary=ended.summary,
            commit=commit,
            base_checkpoint=run.base_checkpoint,
            base_tree=self.guard.base,
            final_tree=final,
            changed=changed,
            tokens=run.tokens,
            seconds=time.perf_counter() - started,
            gates=run.gates,
            handoff=Handoff(run.last_text, run.last_feedback, tuple(run.gates[-6:])),
        )
        self.events.emit("task_end", **end_fields(task, result))
        return result
